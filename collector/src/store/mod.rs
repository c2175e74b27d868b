//! Where the collector keeps devices, enrolment codes, responses and batch replies. A trait,
//! so that a PostgreSQL store can be added when one machine is outgrown; SQLite in one file is
//! the default.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use earshot_protocol::{BatchReply, DeviceStatus, ItemResult, ItemStatus};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use earshot_protocol::random::{self, random_hex};
use earshot_protocol::time::{rfc3339, unix_ms};
use earshot_protocol::{DeviceId, SiteId};

use crate::clocks::{BootClocks, SyncedReading};
use crate::ingest::{Accepted, Judged};
use crate::status::ReportedStatus;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("collector database {path}: {detail}")]
    Database { path: PathBuf, detail: String },
    /// What `Store::each_response_since` handed each response to stopped, for this reason.
    #[error("{0}")]
    Stopped(String),
}

/// An enrolled device, as found by its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: String,
    pub site: String,
    pub revoked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolled {
    pub device_id: String,
    pub site: String,
    pub token: String,
    /// The site the device id was enrolled at before, when this enrolment moved it.
    pub moved_from: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnrollError {
    /// Unknown, already used, or expired: the message says which.
    InvalidCode(String),
    SiteMismatch {
        code_site: String,
        asked: String,
    },
    /// The device id is enrolled at another site, and the request did not ask to move it.
    /// The code is not used up.
    EnrolledElsewhere {
        current_site: String,
        code_site: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestOutcome {
    Stored(BatchReply),
    /// This batch id was answered before, for the same body: the same reply again.
    Replayed(BatchReply),
    /// This batch id was used before with different responses.
    KeyReused,
}

/// A device as listed for the service team.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceRow {
    pub id: String,
    pub site: String,
    pub enrolled_at: String,
    pub revoked_at: Option<String>,
    pub last_seen_at: Option<String>,
    pub last_status: Option<DeviceStatus>,
    pub responses: u64,
}

/// A stored response, for export, borrowed from the row being read: an export of a million
/// copies none of it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StoredResponse<'a> {
    /// The record as ingest stored it: the typed record's own encoding.
    pub record_json: &'a str,
    pub device_id: &'a str,
    pub received_at: &'a str,
    pub started_at: &'a str,
    pub finished_at: &'a str,
    pub time_basis: &'a str,
}

pub trait Store: Accounts + Cases + PersonalData + Results + Send + Sync + 'static {
    /// Makes a one-time enrolment code for `site`, valid until `expires_at`.
    fn create_enrollment_code(
        &self,
        site: &SiteId,
        expires_at: SystemTime,
    ) -> Result<String, StoreError>;
    /// Exchanges a code for a device token. Enrolling a device id again replaces its token
    /// (the old one stops working) and lifts a revocation. A device id enrolled at another
    /// site than the code's moves only when `reassign` says so. Every enrolment is kept in
    /// the enrolment log.
    fn enroll(
        &self,
        code: &str,
        device_id: &DeviceId,
        site: Option<&SiteId>,
        reassign: bool,
        now: SystemTime,
    ) -> Result<Result<Enrolled, EnrollError>, StoreError>;
    fn authenticate(&self, token: &str) -> Result<Option<Device>, StoreError>;
    /// Returns whether a device with that id existed (and is now revoked).
    fn revoke(&self, device_id: &str, now: SystemTime) -> Result<bool, StoreError>;
    /// Stores the valid responses of a batch and its reply, all in one transaction.
    fn ingest(
        &self,
        device: &Device,
        batch_id: Uuid,
        body_hash: &str,
        judged: &[Judged],
        status: &ReportedStatus,
        now: SystemTime,
    ) -> Result<IngestOutcome, StoreError>;
    /// Keeps the device's status as its latest, and the synchronised clock readings it gives
    /// (as `ingest` does for a batch's status).
    fn record_status(
        &self,
        device: &Device,
        status: &ReportedStatus,
        now: SystemTime,
    ) -> Result<(), StoreError>;
    /// The synchronised readings kept for these boots of the device (`clocks`): the earliest
    /// of each, from any request stored before. Boots with none are left out.
    fn boot_clocks(&self, device_id: &str, boots: &[Uuid]) -> Result<BootClocks, StoreError>;
    fn devices(&self) -> Result<Vec<DeviceRow>, StoreError>;
    /// Hands `each` the responses whose (true) start is at or after `since`, oldest first,
    /// one at a time as they are read, so that memory stays that of one response however many
    /// there are; returns how many it was handed. An error from `each` stops the walk and is
    /// returned as `StoreError::Stopped`. The store is held for the whole walk: `each` must
    /// not use it.
    fn each_response_since(
        &self,
        since: Option<SystemTime>,
        each: &mut dyn FnMut(StoredResponse<'_>) -> Result<(), String>,
    ) -> Result<u64, StoreError>;
    /// The deployment's receipt secret (hex), made on first use. Every kiosk enrolled gets
    /// it, so that one receipt gives one keyed value whichever kiosk scanned it, and the
    /// service team keys their till data with it to join.
    fn receipt_secret(&self) -> Result<String, StoreError>;
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Letters and digits that cannot be mistaken for one another when read off a screen or
/// typed (no 0/O, 1/I/L, 5/S, 8/B, 2/Z, U/V).
const CODE_ALPHABET: &[u8] = b"ACDEFGHJKMNPQRTWXY34679";

/// A 12-character enrolment code in groups of four, e.g. `K7MX-C4PA-TR9W`.
fn new_enrollment_code() -> Result<String, String> {
    let mut buf = [0u8; 12];
    random::fill(&mut buf)?;
    let mut code = String::new();
    for (i, b) in buf.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            code.push('-');
        }
        // 256 is not a multiple of 23: the first few letters are a little more likely, a
        // negligible loss against 23^12 codes that also expire and work once.
        code.push(CODE_ALPHABET[*b as usize % CODE_ALPHABET.len()] as char);
    }
    Ok(code)
}

/// Codes are compared without case, spaces or dashes: people type them.
fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

mod accounts;
mod cases;
mod personal;
pub use cases::{AuditEntry, CaseFilter, CaseRow, Cases, Contact, Note, RuleRow, Tracking};
pub use personal::{Erased, PersonalData, RETENTION_EVERY};
mod bulk;
mod results;
pub(crate) mod rollup;
mod schema;
pub use accounts::{Accounts, Session};
pub use bulk::Loaded;
pub use results::{Aggregates, Comment, Results, ResultsFilter, Site, MAX_COMMENTS};
use schema::MIGRATIONS;

pub struct SqliteStore {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let fail = |e: rusqlite::Error| StoreError::Database {
            path: path.to_path_buf(),
            detail: e.to_string(),
        };
        crate::files::prepare_private_database(path).map_err(|e| StoreError::Database {
            path: path.to_path_buf(),
            detail: format!(
                "cannot create it or its folder owner-only (0600 in 0700): {e}; check who owns \
                 the folder"
            ),
        })?;
        let mut conn = Connection::open(path).map_err(fail)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(fail)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(fail)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(fail)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(fail)?;
        if version > MIGRATIONS.len() as i64 {
            return Err(StoreError::Database {
                path: path.to_path_buf(),
                detail: format!(
                    "made by a newer earshot-collector (version {version}; this one knows up to {}); \
                     run the newer collector",
                    MIGRATIONS.len()
                ),
            });
        }
        for (i, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(fail)?;
            tx.execute_batch(migration.sql).map_err(fail)?;
            if let Some(then) = migration.then {
                then(&tx).map_err(fail)?;
            }
            tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))
                .map_err(fail)?;
            tx.commit().map_err(fail)?;
        }
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fail(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError::Database {
            path: self.path.clone(),
            detail: e.to_string(),
        }
    }
}

/// Stores one judged response: its row, then its indexed columns and child rows
/// (`schema::write_index`) and the case it calls for (`cases::open_if_due`), in the
/// caller's transaction. `Ok(false)`, with nothing written,
/// when a response with its id is stored already.
fn insert_response(
    tx: &rusqlite::Transaction,
    device_id: &str,
    batch_id: &str,
    received_at: &str,
    a: &Accepted,
) -> rusqlite::Result<bool> {
    let record = &a.record;
    let id = record.id.to_string();
    let n = tx
        .prepare_cached(
            "INSERT INTO responses (id, device_id, site_id, survey_id, survey_version,
                 outcome, started_at, finished_at, started_ms, time_basis, received_at,
                 batch_id, record_json)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
             ON CONFLICT (id) DO NOTHING",
        )?
        .execute(params![
            id,
            device_id,
            record.site_id,
            record.survey_id,
            record.survey_version,
            record.outcome.as_str(),
            rfc3339(a.started_at),
            rfc3339(a.finished_at),
            unix_ms(a.started_at),
            a.basis.as_str(),
            received_at,
            batch_id,
            a.record_json,
        ])?;
    if n == 1 {
        let indexed = crate::indexed::IndexedResponse::of(record);
        schema::write_index(tx, &id, &indexed)?;
        rollup::count_response(
            tx,
            &rollup::Counted {
                site: &record.site_id,
                survey: &record.survey_id,
                service: indexed.service.as_deref(),
                started_ms: unix_ms(a.started_at),
                completed: record.outcome.as_str() == "completed",
                misuse: indexed.misuse,
                rating: indexed
                    .rating
                    .as_ref()
                    .map(|(s, v)| (s.as_str(), i64::from(*v))),
                nps: indexed.nps.map(i64::from),
                choices: &indexed.choices,
            },
        )?;
        // Due dates count from when the visitor asked: the visit's end.
        cases::open_if_due(tx, &id, &record.site_id, &indexed, a.finished_at)?;
    }
    Ok(n == 1)
}

fn status_json(status: &ReportedStatus) -> String {
    serde_json::to_string(status.status()).unwrap_or_else(|_| "null".into())
}

/// Keeps the synchronised clock readings a status received at `now` gives, each only if it
/// is the first of its boot or earlier than the one kept.
fn remember_boot_clocks(
    conn: &Connection,
    device_id: &str,
    status: &ReportedStatus,
    now: SystemTime,
) -> rusqlite::Result<()> {
    for (boot, reading) in crate::clocks::synchronised_readings(&status.status().clock, now) {
        let Ok(boot_ms) = i64::try_from(reading.boot_ms) else {
            continue;
        };
        conn.prepare_cached(
            "INSERT INTO boot_clocks (device_id, boot_id, boot_ms, wall_ms, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (device_id, boot_id) DO UPDATE SET boot_ms = excluded.boot_ms,
                 wall_ms = excluded.wall_ms, received_at = excluded.received_at
             WHERE excluded.boot_ms < boot_clocks.boot_ms",
        )?
        .execute(params![
            device_id,
            boot.to_string(),
            boot_ms,
            reading.wall_ms,
            rfc3339(now)
        ])?;
    }
    Ok(())
}

impl Store for SqliteStore {
    fn receipt_secret(&self) -> Result<String, StoreError> {
        let fresh = random_hex(32).map_err(|e| self.fail(e))?;
        let conn = self.lock();
        conn.execute(
            "INSERT INTO deployment (name, value) VALUES ('receipt_secret', ?1)
             ON CONFLICT (name) DO NOTHING",
            [fresh],
        )
        .map_err(|e| self.fail(e))?;
        conn.query_row(
            "SELECT value FROM deployment WHERE name = 'receipt_secret'",
            [],
            |r| r.get(0),
        )
        .map_err(|e| self.fail(e))
    }

    fn create_enrollment_code(
        &self,
        site: &SiteId,
        expires_at: SystemTime,
    ) -> Result<String, StoreError> {
        let code = new_enrollment_code().map_err(|e| self.fail(e))?;
        let conn = self.lock();
        // A site is known from its first code on; its name, time zone and area can be set
        // later.
        conn.execute(
            "INSERT OR IGNORE INTO sites (id, name) VALUES (?1, ?1)",
            [site.as_str()],
        )
        .map_err(|e| self.fail(e))?;
        conn.execute(
            "INSERT INTO enrollment_codes (code_hash, site, created_at, expires_ms) VALUES (?1, ?2, ?3, ?4)",
            params![
                sha256_hex(normalise_code(&code).as_bytes()),
                site.as_str(),
                rfc3339(SystemTime::now()),
                unix_ms(expires_at)
            ],
        )
        .map_err(|e| self.fail(e))?;
        Ok(code)
    }

    fn enroll(
        &self,
        code: &str,
        device_id: &DeviceId,
        site: Option<&SiteId>,
        reassign: bool,
        now: SystemTime,
    ) -> Result<Result<Enrolled, EnrollError>, StoreError> {
        let device_id = device_id.as_str();
        let token = random_hex(32).map_err(|e| self.fail(e))?;
        let code_hash = sha256_hex(normalise_code(code).as_bytes());
        let mut conn = self.lock();
        let result = (|| -> rusqlite::Result<Result<Enrolled, EnrollError>> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let found: Option<(String, i64, Option<String>)> = tx
                .query_row(
                    "SELECT site, expires_ms, used_at FROM enrollment_codes WHERE code_hash = ?1",
                    [&code_hash],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let (code_site, expires_ms, used_at) = match found {
                None => {
                    return Ok(Err(EnrollError::InvalidCode(
                        "this enrolment code is not known; check it was typed as printed".into(),
                    )))
                }
                Some(f) => f,
            };
            if let Some(used) = used_at {
                return Ok(Err(EnrollError::InvalidCode(format!(
                    "this enrolment code was already used ({used}); make a new one with \
                     `earshot-collector enroll-code`"
                ))));
            }
            if unix_ms(now) > expires_ms {
                return Ok(Err(EnrollError::InvalidCode(
                    "this enrolment code has expired; make a new one with `earshot-collector enroll-code`"
                        .into(),
                )));
            }
            if let Some(asked) = site {
                if asked.as_str() != code_site {
                    return Ok(Err(EnrollError::SiteMismatch {
                        code_site,
                        asked: asked.to_string(),
                    }));
                }
            }
            let current_site: Option<String> = tx
                .query_row("SELECT site FROM devices WHERE id = ?1", [device_id], |r| {
                    r.get(0)
                })
                .optional()?;
            let moved_from = current_site.filter(|current| *current != code_site);
            if let (Some(current_site), false) = (&moved_from, reassign) {
                return Ok(Err(EnrollError::EnrolledElsewhere {
                    current_site: current_site.clone(),
                    code_site,
                }));
            }
            let now_text = rfc3339(now);
            tx.execute(
                "INSERT INTO enrolments (at, device_id, site, moved_from) VALUES (?1, ?2, ?3, ?4)",
                params![now_text, device_id, code_site, moved_from],
            )?;
            tx.execute(
                "UPDATE enrollment_codes SET used_at = ?1, used_by = ?2 WHERE code_hash = ?3",
                params![now_text, device_id, code_hash],
            )?;
            tx.execute(
                "INSERT INTO devices (id, site, token_hash, enrolled_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET site = excluded.site, token_hash = excluded.token_hash,
                     enrolled_at = excluded.enrolled_at, revoked_at = NULL",
                params![device_id, code_site, sha256_hex(token.as_bytes()), now_text],
            )?;
            tx.commit()?;
            Ok(Ok(Enrolled {
                device_id: device_id.to_string(),
                site: code_site,
                token: token.clone(),
                moved_from,
            }))
        })();
        result.map_err(|e| self.fail(e))
    }

    fn authenticate(&self, token: &str) -> Result<Option<Device>, StoreError> {
        let conn = self.lock();
        conn.query_row(
            "SELECT id, site, revoked_at IS NOT NULL FROM devices WHERE token_hash = ?1",
            [sha256_hex(token.as_bytes())],
            |r| {
                Ok(Device {
                    id: r.get(0)?,
                    site: r.get(1)?,
                    revoked: r.get(2)?,
                })
            },
        )
        .optional()
        .map_err(|e| self.fail(e))
    }

    fn revoke(&self, device_id: &str, now: SystemTime) -> Result<bool, StoreError> {
        let conn = self.lock();
        conn.execute(
            "UPDATE devices SET revoked_at = ?1 WHERE id = ?2",
            params![rfc3339(now), device_id],
        )
        .map(|n| n > 0)
        .map_err(|e| self.fail(e))
    }

    fn ingest(
        &self,
        device: &Device,
        batch_id: Uuid,
        body_hash: &str,
        judged: &[Judged],
        status: &ReportedStatus,
        now: SystemTime,
    ) -> Result<IngestOutcome, StoreError> {
        let mut conn = self.lock();
        let result = (|| -> Result<IngestOutcome, String> {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| e.to_string())?;
            let earlier: Option<(String, String)> = tx
                .query_row(
                    "SELECT body_hash, reply_json FROM batches WHERE device_id = ?1 AND batch_id = ?2",
                    params![device.id, batch_id.to_string()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(|e| e.to_string())?;
            if let Some((hash, reply)) = earlier {
                if hash != body_hash {
                    return Ok(IngestOutcome::KeyReused);
                }
                let reply: BatchReply = serde_json::from_str(&reply)
                    .map_err(|e| format!("stored reply of batch {batch_id} unreadable: {e}"))?;
                return Ok(IngestOutcome::Replayed(reply));
            }
            let now_text = rfc3339(now);
            let mut results = Vec::with_capacity(judged.len());
            let batch_text = batch_id.to_string();
            for j in judged {
                results.push(match j {
                    Judged::Valid(a) => {
                        let record = &a.record;
                        let stored = insert_response(&tx, &device.id, &batch_text, &now_text, a)
                            .map_err(|e| e.to_string())?;
                        ItemResult {
                            id: Some(record.id),
                            index: a.index,
                            status: if stored {
                                ItemStatus::Accepted
                            } else {
                                ItemStatus::Duplicate
                            },
                            reason: None,
                        }
                    }
                    Judged::RepeatInBatch { index, id } => ItemResult {
                        id: Some(*id),
                        index: *index,
                        status: ItemStatus::Duplicate,
                        reason: None,
                    },
                    Judged::Rejected { index, id, reason } => ItemResult {
                        id: *id,
                        index: *index,
                        status: ItemStatus::Rejected,
                        reason: Some(reason.clone()),
                    },
                });
            }
            let reply = BatchReply {
                batch_id,
                server_time: now_text.clone(),
                results,
            };
            let reply_json = serde_json::to_string(&reply).map_err(|e| e.to_string())?;
            tx.execute(
                "INSERT INTO batches (device_id, batch_id, body_hash, reply_json, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    device.id,
                    batch_id.to_string(),
                    body_hash,
                    reply_json,
                    now_text
                ],
            )
            .map_err(|e| e.to_string())?;
            tx.execute(
                "UPDATE devices SET last_seen_at = ?1, last_status_json = ?2 WHERE id = ?3",
                params![now_text, status_json(status), device.id],
            )
            .map_err(|e| e.to_string())?;
            remember_boot_clocks(&tx, &device.id, status, now).map_err(|e| e.to_string())?;
            tx.commit().map_err(|e| e.to_string())?;
            Ok(IngestOutcome::Stored(reply))
        })();
        result.map_err(|e| self.fail(e))
    }

    fn record_status(
        &self,
        device: &Device,
        status: &ReportedStatus,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let result = (|| -> rusqlite::Result<()> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "UPDATE devices SET last_seen_at = ?1, last_status_json = ?2 WHERE id = ?3",
                params![rfc3339(now), status_json(status), device.id],
            )?;
            remember_boot_clocks(&tx, &device.id, status, now)?;
            tx.commit()
        })();
        result.map_err(|e| self.fail(e))
    }

    fn boot_clocks(&self, device_id: &str, boots: &[Uuid]) -> Result<BootClocks, StoreError> {
        let conn = self.lock();
        let result = (|| -> rusqlite::Result<BootClocks> {
            let mut known = BootClocks::default();
            let mut stmt = conn.prepare_cached(
                "SELECT boot_ms, wall_ms FROM boot_clocks WHERE device_id = ?1 AND boot_id = ?2",
            )?;
            for boot in boots {
                let found: Option<(i64, i64)> = stmt
                    .query_row(params![device_id, boot.to_string()], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()?;
                if let Some((boot_ms, wall_ms)) = found {
                    if let Ok(boot_ms) = u64::try_from(boot_ms) {
                        known.learn(*boot, SyncedReading { boot_ms, wall_ms });
                    }
                }
            }
            Ok(known)
        })();
        result.map_err(|e| self.fail(e))
    }

    fn devices(&self) -> Result<Vec<DeviceRow>, StoreError> {
        let conn = self.lock();
        let result = (|| -> rusqlite::Result<Vec<DeviceRow>> {
            let mut stmt = conn.prepare(
                "SELECT d.id, d.site, d.enrolled_at, d.revoked_at, d.last_seen_at, d.last_status_json,
                        (SELECT COUNT(*) FROM responses r WHERE r.device_id = d.id)
                 FROM devices d ORDER BY d.site, d.id",
            )?;
            let rows = stmt.query_map([], |r| {
                let status: Option<String> = r.get(5)?;
                Ok(DeviceRow {
                    id: r.get(0)?,
                    site: r.get(1)?,
                    enrolled_at: r.get(2)?,
                    revoked_at: r.get(3)?,
                    last_seen_at: r.get(4)?,
                    last_status: status.and_then(|s| serde_json::from_str(&s).ok()),
                    responses: r.get::<_, i64>(6)?.max(0) as u64,
                })
            })?;
            rows.collect()
        })();
        result.map_err(|e| self.fail(e))
    }

    fn each_response_since(
        &self,
        since: Option<SystemTime>,
        each: &mut dyn FnMut(StoredResponse<'_>) -> Result<(), String>,
    ) -> Result<u64, StoreError> {
        let conn = self.lock();
        let mut stopped = None;
        let result = (|| -> rusqlite::Result<u64> {
            // In the order of `responses_by_start`: read as stepped, never sorted whole (only
            // responses that started in the same millisecond are put in id order).
            let mut stmt = conn.prepare(
                "SELECT record_json, device_id, received_at, started_at, finished_at, time_basis
                 FROM responses WHERE started_ms >= ?1 ORDER BY started_ms, id",
            )?;
            let mut rows = stmt.query([since.map(unix_ms).unwrap_or(i64::MIN)])?;
            let mut handed = 0;
            while let Some(r) = rows.next()? {
                let text = |i: usize| -> rusqlite::Result<&str> {
                    r.get_ref(i)?.as_str().map_err(|e| {
                        rusqlite::Error::FromSqlConversionFailure(
                            i,
                            rusqlite::types::Type::Text,
                            Box::new(e),
                        )
                    })
                };
                let response = StoredResponse {
                    record_json: text(0)?,
                    device_id: text(1)?,
                    received_at: text(2)?,
                    started_at: text(3)?,
                    finished_at: text(4)?,
                    time_basis: text(5)?,
                };
                if let Err(e) = each(response) {
                    stopped = Some(e);
                    break;
                }
                handed += 1;
            }
            Ok(handed)
        })();
        match (result, stopped) {
            (_, Some(reason)) => Err(StoreError::Stopped(reason)),
            (Ok(handed), None) => Ok(handed),
            (Err(e), None) => Err(self.fail(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(s: &str) -> SiteId {
        SiteId::parse(s).unwrap()
    }

    fn id(s: &str) -> DeviceId {
        DeviceId::parse(s).unwrap()
    }

    #[test]
    fn enrolment_codes_work_once_ignore_case_and_dashes_and_expire() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("c.db")).unwrap();
        let now = SystemTime::now();
        let code = store
            .create_enrollment_code(&site("library"), now + Duration::from_secs(60))
            .unwrap();
        assert_eq!(code.len(), 14);
        let typed = code.replace('-', " ").to_lowercase();
        let enrolled = store
            .enroll(&typed, &id("kiosk-1"), None, false, now)
            .unwrap()
            .unwrap();
        assert_eq!(enrolled.site, "library");
        let device = store.authenticate(&enrolled.token).unwrap().unwrap();
        assert_eq!(device.id, "kiosk-1");
        assert!(!device.revoked);
        assert!(matches!(
            store.enroll(&code, &id("kiosk-2"), None, false, now).unwrap(),
            Err(EnrollError::InvalidCode(m)) if m.contains("already used")
        ));
        let late = store.create_enrollment_code(&site("library"), now).unwrap();
        assert!(matches!(
            store.enroll(&late, &id("kiosk-2"), None, false, now + Duration::from_secs(1)).unwrap(),
            Err(EnrollError::InvalidCode(m)) if m.contains("expired")
        ));
        let other = store
            .create_enrollment_code(&site("town-hall"), now + Duration::from_secs(60))
            .unwrap();
        assert!(matches!(
            store
                .enroll(&other, &id("kiosk-2"), Some(&site("library")), false, now)
                .unwrap(),
            Err(EnrollError::SiteMismatch { .. })
        ));
        // The token itself is never stored.
        let conn = store.lock();
        let stored: String = conn
            .query_row("SELECT token_hash FROM devices", [], |r| r.get(0))
            .unwrap();
        assert_ne!(stored, enrolled.token);
    }

    #[test]
    fn re_enrolment_replaces_the_token_and_lifts_a_revocation() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("c.db")).unwrap();
        let now = SystemTime::now();
        let first = store
            .create_enrollment_code(&site("s"), now + Duration::from_secs(60))
            .unwrap();
        let old = store
            .enroll(&first, &id("k"), None, false, now)
            .unwrap()
            .unwrap();
        assert!(store.revoke("k", now).unwrap());
        assert!(store.authenticate(&old.token).unwrap().unwrap().revoked);
        let second = store
            .create_enrollment_code(&site("s"), now + Duration::from_secs(60))
            .unwrap();
        let new = store
            .enroll(&second, &id("k"), None, false, now)
            .unwrap()
            .unwrap();
        assert_eq!(store.authenticate(&old.token).unwrap(), None);
        assert!(!store.authenticate(&new.token).unwrap().unwrap().revoked);
    }

    #[test]
    fn moving_a_device_to_another_site_needs_reassign_and_is_logged() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("c.db")).unwrap();
        let now = SystemTime::now();
        let soon = now + Duration::from_secs(60);
        let a = store.create_enrollment_code(&site("site-a"), soon).unwrap();
        let at_a = store
            .enroll(&a, &id("k"), None, false, now)
            .unwrap()
            .unwrap();
        assert_eq!(at_a.moved_from, None);
        let b = store.create_enrollment_code(&site("site-b"), soon).unwrap();
        assert_eq!(
            store.enroll(&b, &id("k"), None, false, now).unwrap(),
            Err(EnrollError::EnrolledElsewhere {
                current_site: "site-a".into(),
                code_site: "site-b".into()
            })
        );
        // Refused without a word changed: the old token works, the code is still good.
        assert_eq!(
            store.authenticate(&at_a.token).unwrap().unwrap().site,
            "site-a"
        );
        let moved = store
            .enroll(&b, &id("k"), None, true, now)
            .unwrap()
            .unwrap();
        assert_eq!(moved.moved_from.as_deref(), Some("site-a"));
        assert_eq!(
            store.authenticate(&moved.token).unwrap().unwrap().site,
            "site-b"
        );
        assert_eq!(store.authenticate(&at_a.token).unwrap(), None);
        let log: Vec<(String, Option<String>)> = {
            let conn = store.lock();
            let mut stmt = conn
                .prepare("SELECT site, moved_from FROM enrolments ORDER BY rowid")
                .unwrap();
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            rows
        };
        assert_eq!(
            log,
            [
                ("site-a".to_string(), None),
                ("site-b".to_string(), Some("site-a".to_string()))
            ]
        );
    }

    #[test]
    fn the_earliest_synchronised_reading_of_each_boot_is_kept_per_device() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("c.db")).unwrap();
        let now = humantime::parse_rfc3339("2026-11-23T12:00:00Z").unwrap();
        let code = store
            .create_enrollment_code(&site("s"), now + Duration::from_secs(60))
            .unwrap();
        let enrolled = store
            .enroll(&code, &id("k"), None, false, now)
            .unwrap()
            .unwrap();
        let device = store.authenticate(&enrolled.token).unwrap().unwrap();
        let boot = Uuid::from_u128(0x6c1e0c1a_3b1f_4a53_9a55_1f3bd1c0e0aa);
        let status = |boot_ms: u64, at: &str, synchronized: bool| {
            ReportedStatus::from_wire(
                serde_json::from_value(serde_json::json!({
                    "app_version": "0.1.0", "survey_id": "s", "survey_version": "1",
                    "queue_depth": 0, "oldest_unsent_age_s": null, "dead_letters": 0,
                    "scanner": "x", "hardware": "x", "uptime_s": 1, "last_error": null,
                    "alarms": [],
                    "clock": {"sent_at": at, "synchronized": synchronized,
                              "run_id": Uuid::nil(), "mono_ms": 1,
                              "boot_id": boot, "boot_ms": boot_ms}
                }))
                .unwrap(),
            )
        };
        for (boot_ms, at, synchronized) in [
            (900_000, "2026-11-23T11:45:00Z", true),
            (120_000, "2026-11-23T11:32:00Z", true),
            (1_000_000, "2026-11-23T11:46:40Z", true),
            // Not synchronised: its wall clock places nothing.
            (60_000, "1970-01-01T00:01:00Z", false),
        ] {
            store
                .record_status(&device, &status(boot_ms, at, synchronized), now)
                .unwrap();
        }
        let known = store.boot_clocks("k", &[boot, Uuid::from_u128(7)]).unwrap();
        assert_eq!(known.len(), 1);
        let wall = humantime::parse_rfc3339("2026-11-23T11:32:00Z").unwrap();
        assert_eq!(
            known.get(boot),
            Some(SyncedReading {
                boot_ms: 120_000,
                wall_ms: unix_ms(wall)
            })
        );
        // Another device's boots are its own.
        assert!(store.boot_clocks("other", &[boot]).unwrap().is_empty());
    }

    #[test]
    fn the_database_and_its_wal_are_owner_only_whatever_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/c.db");
        let store = SqliteStore::open(&path).unwrap();
        store.receipt_secret().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join("state/c.db-wal")), 0o600);
        assert_eq!(mode(&dir.path().join("state/c.db-shm")), 0o600);
        assert_eq!(mode(&dir.path().join("state")), 0o700);
    }
}

#[cfg(test)]
mod upgrade_tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    /// `tests/fixtures/collector-v2.db` was written by the collector before responses were
    /// stored for questions (schema 2): one device, three responses through the real
    /// `/v1/batches`, with reasons, a comment, a contact request and a misuse flag.
    #[test]
    fn a_database_of_the_previous_schema_is_upgraded_with_nothing_lost() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        std::fs::copy(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/collector-v2.db"
            ),
            &path,
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let before: Vec<String> = {
            let conn = Connection::open(&path).unwrap();
            assert_eq!(
                conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
                    .unwrap(),
                2
            );
            let mut stmt = conn
                .prepare("SELECT record_json FROM responses ORDER BY id")
                .unwrap();
            let rows = stmt
                .query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            rows
        };
        assert_eq!(before.len(), 3);
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let conn = store.lock();
        let after: Vec<String> = conn
            .prepare("SELECT record_json FROM responses ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(after, before, "every record is kept as it was received");
        type Columns = (String, String, bool, Option<String>, Option<i64>);
        let columns: Vec<Columns> = conn
            .prepare(
                "SELECT reference, language, misuse, service, rating_value FROM responses
                 ORDER BY reference",
            )
            .unwrap()
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            columns,
            [
                (
                    "K7M2-Q".into(),
                    "en".into(),
                    false,
                    Some("checkout".into()),
                    Some(1)
                ),
                (
                    "P3X9-T".into(),
                    "cy".into(),
                    false,
                    Some("checkout".into()),
                    Some(5)
                ),
                ("W4C7-A".into(), "en".into(), true, None, Some(5)),
            ]
        );
        let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
        assert_eq!(count("SELECT COUNT(*) FROM response_choices"), 3);
        assert_eq!(
            count("SELECT COUNT(*) FROM response_choices WHERE option_id = 'staff'"),
            2
        );
        assert_eq!(count("SELECT COUNT(*) FROM response_texts"), 1);
        // Counted for results by migration 9, each in its day and its month: three in all,
        // one flagged as misuse, two ratings of five faces.
        assert_eq!(
            count("SELECT SUM(total) FROM rollup_counts WHERE span = 0"),
            3
        );
        assert_eq!(
            count("SELECT SUM(total) FROM rollup_counts WHERE span = 1"),
            3
        );
        assert_eq!(
            count("SELECT SUM(misuse) FROM rollup_counts WHERE span = 0"),
            1
        );
        assert_eq!(count("SELECT SUM(n) FROM rollup_ratings WHERE span = 0"), 2);
        assert_eq!(
            count("SELECT SUM(n) FROM rollup_choices WHERE span = 1 AND option_id = 'staff'"),
            2
        );
        assert_eq!(
            count("SELECT COUNT(*) FROM response_contacts WHERE reach = '07700 900123'"),
            1
        );
        assert_eq!(
            count("SELECT COUNT(*) FROM sites WHERE id = 'central-library'"),
            1
        );
        assert_eq!(count("SELECT COUNT(*) FROM devices"), 1);
        assert_eq!(count("PRAGMA user_version"), MIGRATIONS.len() as i64);
    }
}
