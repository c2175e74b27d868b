//! The response queue over one SQLite file. Every operation is one transaction, so a crash
//! or power cut leaves each record in exactly one state.
//!
//! The store holds visitors' answers and contact details: its file, the -wal and -shm files
//! beside it, and anything moved to quarantine are mode 0600, and the folders the store
//! creates 0700, whatever the umask (see [`crate::files`]). The kiosk makes the file itself
//! before SQLite opens it, because SQLite gives the -wal and -shm it creates later the mode
//! of the database file.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

// The store's times are unix milliseconds: a clock before 1970 (never set) gives 0, which
// keeps ordering sane; `seq` orders records anyway.
use earshot_protocol::time::{now_ms, rfc3339, unix_ms};
use rusqlite::config::DbConfig;
use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};
use uuid::Uuid;

use super::error::StorageError;
use super::schema::{self, LATEST_VERSION};
use crate::core::record::ResponseRecord;

/// Where a record is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RowState {
    /// Waiting to be uploaded.
    Pending,
    /// Taken into an upload batch that has not been answered yet.
    Claimed,
    /// The receiver confirmed it stored the record.
    Acked,
    /// The receiver refused it, or it could not be read; kept for staff to look at.
    Dead,
}

impl RowState {
    pub fn as_str(self) -> &'static str {
        match self {
            RowState::Pending => "pending",
            RowState::Claimed => "claimed",
            RowState::Acked => "acked",
            RowState::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<RowState> {
        Some(match s {
            "pending" => RowState::Pending,
            "claimed" => RowState::Claimed,
            "acked" => RowState::Acked,
            "dead" => RowState::Dead,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub struct QueueOptions {
    /// The largest the database may grow, in bytes; `None` lets it fill the storage card.
    /// Enforced by SQLite's page limit, so it is rounded down to whole pages.
    pub max_db_bytes: Option<u64>,
    /// How long an operation waits for another process (an export, the uploader in another
    /// process) that holds the file locked.
    pub busy_timeout: Duration,
}

impl Default for QueueOptions {
    fn default() -> Self {
        QueueOptions {
            max_db_bytes: None,
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// The result of opening: the queue, and what start-up had to repair, for the staff alarm.
#[derive(Debug)]
pub struct Opened {
    pub queue: Queue,
    /// A damaged file found at start-up was moved here (kept, not deleted) and a fresh store
    /// started in its place.
    pub quarantined: Option<PathBuf>,
    /// Records that a previous run had claimed for upload but never settled (it stopped
    /// mid-upload); they are pending again.
    pub released_claims: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnqueueOutcome {
    /// The record is now on disk.
    Stored,
    /// A record with this id was already stored; nothing was added.
    Duplicate,
}

/// Records claimed together for one upload. Its id is stored on the rows before the batch is
/// handed out, so it can be sent as the idempotency key of the upload.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub id: Uuid,
    /// Oldest first.
    pub records: Vec<ResponseRecord>,
    /// The records' stored JSON size, summed.
    pub bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueStats {
    pub pending: u64,
    pub claimed: u64,
    pub acked: u64,
    pub dead: u64,
    /// When the oldest waiting record was stored (unix ms, the device's clock at the time).
    pub oldest_pending_created_ms: Option<i64>,
    /// The database's size (pages in use times page size).
    pub db_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedRow {
    pub id: String,
    pub state: RowState,
    /// The record exactly as it was stored.
    pub record_json: String,
    pub dead_reason: Option<String>,
}

/// What an export could read. Rows that could not be read are described in `problems`
/// instead of stopping the export, so a partly damaged store still gives up what it has.
#[derive(Debug, Clone, Default)]
pub struct Export {
    pub rows: Vec<ExportedRow>,
    pub problems: Vec<String>,
}

/// The durable response queue. Safe to share between threads; each call is one transaction.
#[derive(Debug)]
pub struct Queue {
    conn: Mutex<Connection>,
    path: PathBuf,
}

/// SQLite's own ceiling for `max_page_count`, used for "no limit".
const UNLIMITED_PAGES: i64 = 4_294_967_294;

/// Unix milliseconds `span` before `now` (the store's times are kept as such).
fn ms_before(now: SystemTime, span: Duration) -> i64 {
    unix_ms(now).saturating_sub(i64::try_from(span.as_millis()).unwrap_or(i64::MAX))
}

/// A UTC timestamp usable in a file name on any file system (no colons), e.g.
/// `20261123T120806.123Z`.
fn file_timestamp(t: SystemTime) -> String {
    rfc3339(t).replace([':', '-'], "")
}

impl Queue {
    /// Opens (or creates) the store with default options. See [`Queue::open_with`].
    pub fn open(path: impl AsRef<Path>) -> Result<Opened, StorageError> {
        Queue::open_with(path, QueueOptions::default())
    }

    /// Opens (or creates) the store at `path`, creating its folder. A file that is damaged
    /// or not a database is moved to the quarantine folder beside it and a fresh store is
    /// started (reported in [`Opened::quarantined`]); a file from a newer release is refused
    /// and left untouched. Brings the file to the latest version and makes batches claimed
    /// by a previous run claimable again.
    pub fn open_with(
        path: impl AsRef<Path>,
        options: QueueOptions,
    ) -> Result<Opened, StorageError> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::files::create_private_dir_all(dir)
                .map_err(|e| StorageError::from_io("create the folder for", &path, e))?;
        }
        check_writable(&path)?;

        let mut quarantined = None;
        if path.exists() {
            match health_check(&path, &options) {
                Ok(Health::Good) => {}
                Ok(Health::Damaged(reason)) => {
                    quarantined = Some(quarantine(&path, &reason)?);
                }
                Err(e) => return Err(e),
            }
        }

        make_store_private(&path)?;
        let mut conn = open_connection(&path, &options, OpenFlags::default())
            .map_err(|e| StorageError::from_sqlite(&path, &e))?;
        let sql = |e: rusqlite::Error| StorageError::from_sqlite(&path, &e);
        // Refuse before anything writes to the file: not the journal mode change below, and
        // not the checkpoint SQLite makes when a connection closes.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
            .map_err(sql)?;
        refuse_newer(&conn, &path)?;
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, false)
            .map_err(sql)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(sql)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StorageError::Database {
                path,
                detail: format!("the file system does not support WAL mode (got {mode})"),
            });
        }
        // FULL: a transaction that returned is on the card, even across a power cut (NORMAL
        // may lose the last ones in WAL mode).
        conn.execute_batch("PRAGMA synchronous = FULL")
            .map_err(sql)?;
        schema::migrate(&mut conn, LATEST_VERSION).map_err(sql)?;

        let queue = Queue {
            conn: Mutex::new(conn),
            path,
        };
        queue.set_max_db_bytes(options.max_db_bytes)?;
        let released_claims = queue.release_all_claimed()?;
        Ok(Opened {
            queue,
            quarantined,
            released_claims,
        })
    }

    /// Opens an existing store for reading only (inspection and export from a shell): nothing
    /// is migrated, repaired or released, and every write fails with
    /// [`StorageError::ReadOnly`]. Works on a read-only folder or card too.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Queue, StorageError> {
        let path = path.as_ref().to_path_buf();
        if !path.is_file() {
            let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
            return Err(StorageError::from_io("open", &path, missing));
        }
        let options = QueueOptions::default();
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = match open_connection(&path, &options, flags).and_then(|c| {
            // A WAL file can only be read with its shared-memory index, which a read-only
            // folder may not let SQLite create; the first read shows whether it can.
            schema::user_version(&c).map(|_| c)
        }) {
            Ok(c) => c,
            Err(first) => {
                // Read the file as it is on disk, without the index. Safe only because the
                // kiosk, the only writer, checkpoints the WAL into the file when it closes;
                // changes still in a WAL left by a crash are not seen this way.
                let uri = format!("file:{}?immutable=1", uri_path(&path));
                open_connection(
                    Path::new(&uri),
                    &options,
                    flags | OpenFlags::SQLITE_OPEN_URI,
                )
                .and_then(|c| schema::user_version(&c).map(|_| c))
                .map_err(|_| StorageError::from_sqlite(&path, &first))?
            }
        };
        let found = refuse_newer(&conn, &path)?;
        if found < LATEST_VERSION {
            return Err(StorageError::Database {
                path,
                detail: format!(
                    "the store is at version {found} and needs upgrading to {LATEST_VERSION}, \
                     which happens when the kiosk opens it normally"
                ),
            });
        }
        Ok(Queue {
            conn: Mutex::new(conn),
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Turns an SQLite failure into a [`StorageError`], filling in the sizes of a full store.
    fn fail(&self, conn: &Connection, e: rusqlite::Error) -> StorageError {
        match StorageError::from_sqlite(&self.path, &e) {
            StorageError::Full { path, .. } => {
                let page_size = pragma_i64(conn, "page_size");
                let used = pragma_i64(conn, "page_count")
                    .zip(page_size)
                    .map(|(c, s)| (c * s) as u64);
                let limit = pragma_i64(conn, "max_page_count")
                    .filter(|&c| c < UNLIMITED_PAGES)
                    .zip(page_size)
                    .map(|(c, s)| (c * s) as u64);
                StorageError::Full {
                    path,
                    used_bytes: used,
                    limit_bytes: limit,
                }
            }
            other => other,
        }
    }

    /// Sets the size limit (`None`: no limit but the card's). Takes effect at once, so after
    /// raising it saving works again without reopening. A limit below the current size holds
    /// the store at its current size; nothing is removed. Returns the limit in force, in
    /// bytes (whole pages).
    pub fn set_max_db_bytes(&self, max_db_bytes: Option<u64>) -> Result<Option<u64>, StorageError> {
        let conn = self.lock();
        let page_size = conn
            .query_row("PRAGMA page_size", [], |r| r.get::<_, i64>(0))
            .map_err(|e| self.fail(&conn, e))?
            .max(1);
        let pages = match max_db_bytes {
            None => UNLIMITED_PAGES,
            Some(bytes) => {
                (i64::try_from(bytes).unwrap_or(i64::MAX) / page_size).clamp(1, UNLIMITED_PAGES)
            }
        };
        let in_force: i64 = conn
            .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
                r.get(0)
            })
            .map_err(|e| self.fail(&conn, e))?;
        Ok((in_force < UNLIMITED_PAGES).then(|| (in_force * page_size) as u64))
    }

    /// Stores the record. When this returns `Ok`, the record is on disk and survives a power
    /// cut. A record whose id is already stored is not stored again.
    pub fn enqueue(&self, record: &ResponseRecord) -> Result<EnqueueOutcome, StorageError> {
        let json = serde_json::to_string(record).map_err(|e| StorageError::Database {
            path: self.path.clone(),
            detail: format!("the response could not be encoded: {e}"),
        })?;
        let mut conn = self.lock();
        let receipt = record
            .receipt_transaction()
            .filter(|_| record.has_feedback());
        let result = (|| -> rusqlite::Result<usize> {
            let tx = rusqlite::Transaction::new(&mut conn, TransactionBehavior::Immediate)?;
            let now = now_ms();
            let changed = tx.execute(
                "INSERT INTO responses (id, record_json, size_bytes, created_ms, state)
                 VALUES (?1, ?2, ?3, ?4, 'pending')
                 ON CONFLICT (id) DO NOTHING",
                params![record.id.to_string(), json, json.len() as i64, now],
            )?;
            if let Some(key) = receipt {
                // The first response for a receipt is the one remembered.
                tx.execute(
                    "INSERT INTO receipts (transaction_key, response_id, seen_ms)
                     VALUES (?1, ?2, ?3) ON CONFLICT (transaction_key) DO NOTHING",
                    params![key, record.id.to_string(), now],
                )?;
            }
            tx.commit()?;
            Ok(changed)
        })();
        let changed = result.map_err(|e| self.fail(&conn, e))?;
        Ok(if changed == 0 {
            EnqueueOutcome::Duplicate
        } else {
            EnqueueOutcome::Stored
        })
    }

    /// Claims the oldest pending records for one upload: at most `max_count` (at least 1)
    /// and, after the first, no more than `max_bytes` in total. The first is always taken,
    /// so one large record cannot hold up the queue. The batch is recorded on disk before it
    /// is returned. A stored record that can no longer be read is dead-lettered (kept, with
    /// the reason) instead of blocking the queue. `None`: nothing is pending.
    pub fn claim_batch(
        &self,
        max_count: usize,
        max_bytes: u64,
    ) -> Result<Option<Batch>, StorageError> {
        let max_count = i64::try_from(max_count.max(1)).unwrap_or(i64::MAX);
        let mut conn = self.lock();
        let result = (|| -> rusqlite::Result<Option<Batch>> {
            let tx = rusqlite::Transaction::new(&mut conn, TransactionBehavior::Immediate)?;
            let batch_id = Uuid::now_v7();
            let batch_text = batch_id.to_string();
            let now = now_ms();
            let mut records = Vec::new();
            let mut bytes = 0u64;
            // Unreadable records are dead-lettered and skipped, so keep going until the
            // batch has something or nothing is pending.
            while records.is_empty() {
                let candidates: Vec<(i64, u64)> = {
                    let mut stmt = tx.prepare(
                        "SELECT seq, size_bytes FROM responses WHERE state = 'pending'
                         ORDER BY seq LIMIT ?1",
                    )?;
                    let rows = stmt.query_map([max_count], |r| {
                        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?.max(0) as u64))
                    })?;
                    rows.collect::<rusqlite::Result<_>>()?
                };
                if candidates.is_empty() {
                    break;
                }
                let mut chosen = Vec::new();
                let mut chosen_bytes = 0u64;
                for (seq, size) in candidates {
                    if !chosen.is_empty() && chosen_bytes.saturating_add(size) > max_bytes {
                        break;
                    }
                    chosen_bytes = chosen_bytes.saturating_add(size);
                    chosen.push(seq);
                }
                for seq in chosen {
                    let (id, json): (String, String) = tx.query_row(
                        "SELECT id, record_json FROM responses WHERE seq = ?1",
                        [seq],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )?;
                    match serde_json::from_str::<ResponseRecord>(&json) {
                        Ok(record) => {
                            tx.execute(
                                "UPDATE responses SET state = 'claimed', batch_id = ?1,
                                     claimed_at_ms = ?2, attempts = attempts + 1
                                 WHERE seq = ?3",
                                params![batch_text, now, seq],
                            )?;
                            bytes += json.len() as u64;
                            records.push(record);
                        }
                        Err(e) => {
                            tracing::error!(%id, error = %e, "stored response unreadable; dead-lettered");
                            tx.execute(
                                "UPDATE responses SET state = 'dead', batch_id = NULL,
                                     dead_reason = ?1
                                 WHERE seq = ?2",
                                params![format!("stored record cannot be read: {e}"), seq],
                            )?;
                        }
                    }
                }
            }
            tx.commit()?;
            Ok((!records.is_empty()).then_some(Batch {
                id: batch_id,
                records,
                bytes,
            }))
        })();
        result.map_err(|e| self.fail(&conn, e))
    }

    /// Marks the records `ids` of batch `batch_id` as received by the receiver. Records of
    /// other batches, or not claimed, are left alone. Returns how many were marked.
    pub fn ack(&self, batch_id: Uuid, ids: &[Uuid]) -> Result<usize, StorageError> {
        let mut conn = self.lock();
        let result = (|| -> rusqlite::Result<usize> {
            let tx = rusqlite::Transaction::new(&mut conn, TransactionBehavior::Immediate)?;
            let now = now_ms();
            let batch = batch_id.to_string();
            let mut n = 0;
            {
                let mut stmt = tx.prepare(
                    "UPDATE responses SET state = 'acked', acked_at_ms = ?1, batch_id = NULL
                     WHERE id = ?2 AND batch_id = ?3 AND state = 'claimed'",
                )?;
                for id in ids {
                    n += stmt.execute(params![now, id.to_string(), batch])?;
                }
            }
            tx.commit()?;
            Ok(n)
        })();
        result.map_err(|e| self.fail(&conn, e))
    }

    /// Puts the still-claimed records of a batch back in the queue (the upload failed).
    /// Returns how many.
    pub fn release(&self, batch_id: Uuid) -> Result<usize, StorageError> {
        let conn = self.lock();
        conn.execute(
            "UPDATE responses SET state = 'pending', batch_id = NULL, claimed_at_ms = NULL
             WHERE batch_id = ?1 AND state = 'claimed'",
            [batch_id.to_string()],
        )
        .map_err(|e| self.fail(&conn, e))
    }

    /// Puts every claimed record back in the queue. At start-up this makes batches of a run
    /// that stopped mid-upload claimable again.
    pub fn release_all_claimed(&self) -> Result<usize, StorageError> {
        let conn = self.lock();
        conn.execute(
            "UPDATE responses SET state = 'pending', batch_id = NULL, claimed_at_ms = NULL
             WHERE state = 'claimed'",
            [],
        )
        .map_err(|e| self.fail(&conn, e))
    }

    /// Sets a pending or claimed record aside as dead (the receiver refused it), with the
    /// reason. It stays on disk and visible. Returns whether a record was changed.
    pub fn dead_letter(&self, id: Uuid, reason: &str) -> Result<bool, StorageError> {
        let conn = self.lock();
        conn.execute(
            "UPDATE responses SET state = 'dead', dead_reason = ?1, batch_id = NULL,
                 claimed_at_ms = NULL
             WHERE id = ?2 AND state IN ('pending', 'claimed')",
            params![reason, id.to_string()],
        )
        .map(|n| n > 0)
        .map_err(|e| self.fail(&conn, e))
    }

    /// Puts dead records back in the queue: one (`Some(id)`) or all (`None`). Returns how
    /// many.
    pub fn retry_dead(&self, id: Option<Uuid>) -> Result<usize, StorageError> {
        let conn = self.lock();
        let result = match id {
            Some(id) => conn.execute(
                "UPDATE responses SET state = 'pending', dead_reason = NULL
                 WHERE state = 'dead' AND id = ?1",
                [id.to_string()],
            ),
            None => conn.execute(
                "UPDATE responses SET state = 'pending', dead_reason = NULL
                 WHERE state = 'dead'",
                [],
            ),
        };
        result.map_err(|e| self.fail(&conn, e))
    }

    /// Removes records the receiver acknowledged more than `age` before `now`. Only
    /// acknowledged records are ever removed. Returns how many.
    pub fn purge_acked_older_than(
        &self,
        age: Duration,
        now: SystemTime,
    ) -> Result<usize, StorageError> {
        let cutoff = ms_before(now, age);
        let conn = self.lock();
        conn.execute(
            "DELETE FROM responses WHERE state = 'acked' AND acked_at_ms < ?1",
            [cutoff],
        )
        .map_err(|e| self.fail(&conn, e))
    }

    /// Keyed transactions of receipts given a response within `window` before `now`.
    pub fn used_receipts(
        &self,
        window: Duration,
        now: SystemTime,
    ) -> Result<Vec<String>, StorageError> {
        let since = ms_before(now, window);
        let conn = self.lock();
        let result = (|| -> rusqlite::Result<Vec<String>> {
            let mut stmt =
                conn.prepare("SELECT transaction_key FROM receipts WHERE seen_ms >= ?1")?;
            let keys = stmt.query_map([since], |r| r.get(0))?;
            keys.collect()
        })();
        result.map_err(|e| self.fail(&conn, e))
    }

    /// Forgets receipts first seen more than `window` before `now`: past their age window
    /// they could not be used again anyway. Returns how many.
    pub fn forget_receipts_older_than(
        &self,
        window: Duration,
        now: SystemTime,
    ) -> Result<usize, StorageError> {
        self.forget_older(
            "DELETE FROM receipts WHERE seen_ms < ?1",
            ms_before(now, window),
        )
    }

    /// Remembers that when the clock of boot `boot` stood at `since_boot`, the wall clock,
    /// synchronised, read `wall`; unless a reading of that boot is remembered already (the
    /// first is kept: it is the nearest to the responses recorded before). Returns whether it
    /// was new.
    pub fn remember_boot_sync(
        &self,
        boot: Uuid,
        since_boot: Duration,
        wall: SystemTime,
    ) -> Result<bool, StorageError> {
        let conn = self.lock();
        conn.execute(
            "INSERT INTO boot_syncs (boot_id, boot_ms, wall_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (boot_id) DO NOTHING",
            params![
                boot.to_string(),
                i64::try_from(since_boot.as_millis()).unwrap_or(i64::MAX),
                unix_ms(wall)
            ],
        )
        .map(|n| n == 1)
        .map_err(|e| self.fail(&conn, e))
    }

    /// The readings remembered for these boots (those with none are left out).
    pub fn boot_syncs(
        &self,
        boots: &[Uuid],
    ) -> Result<Vec<earshot_protocol::BootSync>, StorageError> {
        let conn = self.lock();
        let result = (|| -> rusqlite::Result<Vec<earshot_protocol::BootSync>> {
            let mut stmt =
                conn.prepare_cached("SELECT boot_ms, wall_ms FROM boot_syncs WHERE boot_id = ?1")?;
            let mut found = Vec::new();
            for boot in boots {
                let row: Option<(i64, i64)> = stmt
                    .query_row([boot.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?;
                if let Some((boot_ms, wall_ms)) = row {
                    let wall = UNIX_EPOCH + Duration::from_millis(wall_ms.max(0) as u64);
                    found.push(earshot_protocol::BootSync {
                        boot_id: *boot,
                        boot_ms: boot_ms.max(0) as u64,
                        at: rfc3339(wall),
                    });
                }
            }
            Ok(found)
        })();
        result.map_err(|e| self.fail(&conn, e))
    }

    /// Forgets boots whose clock was first found synchronised more than `age` before `now`.
    /// Returns how many.
    pub fn forget_boot_syncs_older_than(
        &self,
        age: Duration,
        now: SystemTime,
    ) -> Result<usize, StorageError> {
        self.forget_older(
            "DELETE FROM boot_syncs WHERE wall_ms < ?1",
            ms_before(now, age),
        )
    }

    /// Runs one of the forgetting statements above with its cutoff (milliseconds since
    /// 1970). Returns how many rows went.
    fn forget_older(&self, delete: &str, cutoff: i64) -> Result<usize, StorageError> {
        let conn = self.lock();
        conn.execute(delete, [cutoff])
            .map_err(|e| self.fail(&conn, e))
    }

    pub fn stats(&self) -> Result<QueueStats, StorageError> {
        let conn = self.lock();
        let result = (|| -> rusqlite::Result<QueueStats> {
            let mut stats = QueueStats::default();
            let mut stmt = conn.prepare("SELECT state, COUNT(*) FROM responses GROUP BY state")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (state, n) = row?;
                let n = n.max(0) as u64;
                match RowState::parse(&state) {
                    Some(RowState::Pending) => stats.pending = n,
                    Some(RowState::Claimed) => stats.claimed = n,
                    Some(RowState::Acked) => stats.acked = n,
                    Some(RowState::Dead) => stats.dead = n,
                    None => {}
                }
            }
            stats.oldest_pending_created_ms = conn
                .query_row(
                    "SELECT created_ms FROM responses WHERE state = 'pending'
                     ORDER BY seq LIMIT 1",
                    [],
                    |r| r.get(0),
                )
                .optional()?;
            let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
            let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
            stats.db_bytes = (pages.max(0) * page_size.max(0)) as u64;
            Ok(stats)
        })();
        result.map_err(|e| self.fail(&conn, e))
    }

    /// Every record in the given state (all when `None`), oldest first, exactly as stored.
    /// Reads what is readable: a row that cannot be read is noted in [`Export::problems`],
    /// and a failure part-way keeps the rows read before it.
    pub fn export(&self, state: Option<RowState>) -> Result<Export, StorageError> {
        let conn = self.lock();
        let mut export = Export::default();
        let mut stmt = conn
            .prepare(
                "SELECT id, state, record_json, dead_reason FROM responses
                 WHERE ?1 IS NULL OR state = ?1 ORDER BY seq",
            )
            .map_err(|e| self.fail(&conn, e))?;
        let mut rows = stmt
            .query([state.map(RowState::as_str)])
            .map_err(|e| self.fail(&conn, e))?;
        loop {
            match rows.next() {
                Ok(None) => break,
                Ok(Some(row)) => {
                    let read =
                        (|| -> rusqlite::Result<(String, String, String, Option<String>)> {
                            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
                        })();
                    match read {
                        Ok((id, state_text, record_json, dead_reason)) => {
                            match RowState::parse(&state_text) {
                                Some(state) => export.rows.push(ExportedRow {
                                    id,
                                    state,
                                    record_json,
                                    dead_reason,
                                }),
                                None => export
                                    .problems
                                    .push(format!("record {id}: unknown state {state_text:?}")),
                            }
                        }
                        Err(e) => export
                            .problems
                            .push(format!("a record could not be read: {e}")),
                    }
                }
                Err(e) => {
                    export.problems.push(format!(
                        "reading stopped after {} records: {e}",
                        export.rows.len()
                    ));
                    break;
                }
            }
        }
        Ok(export)
    }

    /// Runs SQLite's full integrity check; `Ok(())` when the file is sound, otherwise the
    /// problems it found.
    pub fn integrity_check(&self) -> Result<(), StorageError> {
        let conn = self.lock();
        let problems =
            check_rows(&conn, "PRAGMA integrity_check").map_err(|e| self.fail(&conn, e))?;
        if problems.is_empty() {
            Ok(())
        } else {
            Err(StorageError::Corrupt {
                path: self.path.clone(),
                detail: problems.join("; "),
            })
        }
    }
}

/// Fails with [`StorageError::NewerVersion`] for a file from a newer release; otherwise
/// returns the file's version.
fn refuse_newer(conn: &Connection, path: &Path) -> Result<i64, StorageError> {
    let found = schema::user_version(conn).map_err(|e| StorageError::from_sqlite(path, &e))?;
    if found > LATEST_VERSION {
        return Err(StorageError::NewerVersion {
            path: path.to_path_buf(),
            found,
            known: LATEST_VERSION,
        });
    }
    Ok(found)
}

fn pragma_i64(conn: &Connection, name: &str) -> Option<i64> {
    conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
        .ok()
}

fn open_connection(
    path: &Path,
    options: &QueueOptions,
    flags: OpenFlags,
) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(options.busy_timeout)?;
    Ok(conn)
}

/// The rows of `quick_check` / `integrity_check` other than "ok" (empty: sound).
fn check_rows(conn: &Connection, sql: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    let mut problems = Vec::new();
    for row in rows.take(20) {
        let row = row?;
        if row != "ok" {
            problems.push(row);
        }
    }
    Ok(problems)
}

enum Health {
    Good,
    /// Damaged or not a database at all; the reason is kept for the log.
    Damaged(String),
}

/// Checks an existing file before it is used. Only damage counts: a busy or unreadable file
/// is an error for the caller, never a reason to move the file aside.
fn health_check(path: &Path, options: &QueueOptions) -> Result<Health, StorageError> {
    let damaged = |e: &rusqlite::Error| {
        matches!(
            e.sqlite_error_code(),
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
        )
    };
    let conn = match open_connection(path, options, OpenFlags::default()) {
        Ok(c) => c,
        Err(e) if damaged(&e) => return Ok(Health::Damaged(e.to_string())),
        Err(e) => return Err(StorageError::from_sqlite(path, &e)),
    };
    // Checking must not change the file: one that turns out to be from a newer release is
    // refused exactly as it was.
    if let Err(e) = conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true) {
        return Err(StorageError::from_sqlite(path, &e));
    }
    match check_rows(&conn, "PRAGMA quick_check") {
        Ok(problems) if problems.is_empty() => Ok(Health::Good),
        Ok(problems) => Ok(Health::Damaged(problems.join("; "))),
        Err(e) if damaged(&e) => Ok(Health::Damaged(e.to_string())),
        Err(e) => Err(StorageError::from_sqlite(path, &e)),
    }
}

/// The store's file and the -wal and -shm files SQLite keeps beside it.
fn store_files(path: &Path) -> [PathBuf; 3] {
    let side = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    [path.to_path_buf(), side("-wal"), side("-shm")]
}

/// Creates the store's file private (0600) if it is new, and makes an existing one and its
/// -wal and -shm private: a store made by an older release, or under a looser umask, is
/// tightened when the kiosk next opens it.
fn make_store_private(path: &Path) -> Result<(), StorageError> {
    crate::files::create_private_file(path)
        .map_err(|e| StorageError::from_io("create", path, e))?;
    for file in store_files(path) {
        match crate::files::make_private(&file) {
            Ok(None) => {}
            Ok(Some(mode)) => {
                tracing::warn!(file = %file.display(), mode = format!("{mode:o}"), "a response store file was readable by others; made private (0600)")
            }
            // Kept working: refusing to store responses would help no one. The check runs
            // again at every start.
            Err(e) => {
                tracing::warn!(file = %file.display(), error = %e, "a response store file is readable by others and could not be made private")
            }
        }
    }
    Ok(())
}

/// Moves a damaged store (and its WAL and index files, which belong to it) into the
/// quarantine folder under a UTC-stamped name. Moves, never deletes: the data may still be
/// recoverable by hand. Returns the new path of the main file.
fn quarantine(path: &Path, reason: &str) -> Result<PathBuf, StorageError> {
    let dir = super::quarantine_dir(path);
    let fail = |detail: String| StorageError::QuarantineFailed {
        path: path.to_path_buf(),
        quarantine: dir.clone(),
        detail,
    };
    crate::files::create_private_dir_all(&dir)
        .map_err(|e| fail(format!("cannot create the folder: {e}")))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "responses.db".into());
    let stamp = file_timestamp(SystemTime::now());
    // A second damaged file within the same millisecond must not overwrite the first.
    let mut target = dir.join(format!("{name}.{stamp}.damaged"));
    let mut n = 1;
    while target.exists() {
        n += 1;
        target = dir.join(format!("{name}.{stamp}-{n}.damaged"));
    }
    std::fs::rename(path, &target).map_err(|e| fail(format!("cannot move the file: {e}")))?;
    let [_, wal, shm] = store_files(path);
    let [_, wal_target, shm_target] = store_files(&target);
    for (side, side_target) in [(wal, wal_target), (shm, shm_target)] {
        if side.exists() {
            std::fs::rename(&side, &side_target)
                .map_err(|e| fail(format!("cannot move {}: {e}", side.display())))?;
        }
    }
    // Still visitors' answers: as private in quarantine as in the store. The files are safe
    // where they are even if this fails, so it is only logged.
    for file in store_files(&target) {
        if let Err(e) = crate::files::make_private(&file) {
            tracing::warn!(file = %file.display(), error = %e, "a quarantined file is readable by others and could not be made private");
        }
    }
    tracing::error!(
        path = %path.display(),
        moved_to = %target.display(),
        %reason,
        "damaged response store moved to quarantine; a new store was started"
    );
    Ok(target)
}

/// Fails early with [`StorageError::ReadOnly`] when the folder or the file cannot be
/// written, instead of SQLite's later and vaguer errors (it silently opens a write-protected
/// file read-only, and cannot create its WAL beside it in a read-only folder).
fn check_writable(path: &Path) -> Result<(), StorageError> {
    let dir = match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(d) => d.to_path_buf(),
        None => PathBuf::from("."),
    };
    let probe = dir.join(format!(".earshot-write-check-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            // Removes only the empty probe file made just above.
            let _ = std::fs::remove_file(&probe);
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(StorageError::from_io(
                "create files in the folder of",
                path,
                e,
            ))
        }
    }
    if path.exists() {
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| StorageError::from_io("open for writing", path, e))?;
    }
    Ok(())
}

/// A path as the path part of an SQLite `file:` URI.
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for &b in path.as_os_str().as_encoded_bytes() {
        match b {
            b'?' | b'#' | b'%' | 0x80.. => out.push_str(&format!("%{b:02X}")),
            _ => out.push(char::from(b)),
        }
    }
    out
}
