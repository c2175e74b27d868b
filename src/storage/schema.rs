//! The store's layout and its forward-only migrations. `PRAGMA user_version` holds the
//! version a file is at; each migration runs in its own transaction together with the version
//! bump, so a power cut leaves the file at one version or the next, never in between.

use rusqlite::{Connection, TransactionBehavior};

/// Migration `i` brings a file from version `i` to version `i + 1`. Append only: a released
/// migration is never edited, because files in the field were made by it.
const MIGRATIONS: &[&str] = &[
    // 1: the responses table. `seq` orders records by arrival (AUTOINCREMENT never reuses a
    // number, even after old rows are purged); `id` is the record's own UUID, made at
    // capture, and UNIQUE so that a second enqueue of the same record cannot add a row.
    "CREATE TABLE responses (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        record_json TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        created_ms INTEGER NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'claimed', 'acked', 'dead')),
        batch_id TEXT,
        claimed_at_ms INTEGER,
        acked_at_ms INTEGER,
        dead_reason TEXT
    );",
    // 2: how often each record was claimed for upload, so a record that keeps failing can be
    // told from one that is merely waiting; and an index for the uploader's "oldest pending
    // first" and the per-state counts, which otherwise scan the whole table.
    "ALTER TABLE responses ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
     CREATE INDEX responses_by_state ON responses (state, seq);
     CREATE INDEX responses_by_batch ON responses (batch_id) WHERE batch_id IS NOT NULL;",
    // 3: receipts that already have a response (one response per receipt), by their keyed
    // transaction only, never the number. Kept apart from `responses`, whose rows are
    // purged once uploaded while a receipt must be remembered for its whole age window.
    "CREATE TABLE receipts (
        transaction_key TEXT PRIMARY KEY,
        response_id TEXT NOT NULL,
        seen_ms INTEGER NOT NULL
    );
     CREATE INDEX receipts_by_time ON receipts (seen_ms);",
    // 4: for each boot of the device, the first moment the kiosk found its wall clock
    // synchronised: the boot-time clock then (ms since boot) and the wall clock. A batch
    // holding responses of an earlier boot recorded before the clock was synchronised carries
    // that boot's, so that the receiver can place them on true time after a reboot too.
    "CREATE TABLE boot_syncs (
        boot_id TEXT PRIMARY KEY,
        boot_ms INTEGER NOT NULL,
        wall_ms INTEGER NOT NULL
    );",
];

/// The newest store version this build can read and write.
pub const LATEST_VERSION: i64 = MIGRATIONS.len() as i64;

pub(crate) fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Brings the file up to `target` (at most [`LATEST_VERSION`]), one transaction per step.
/// The caller has already refused files newer than this build.
pub(crate) fn migrate(conn: &mut Connection, target: i64) -> rusqlite::Result<()> {
    let target = target.min(LATEST_VERSION);
    loop {
        let tx = rusqlite::Transaction::new(conn, TransactionBehavior::Immediate)?;
        // Read inside the write transaction: another process migrating at the same moment
        // is then seen, not repeated.
        let current = user_version(&tx)?;
        if current >= target {
            return Ok(());
        }
        let Some(sql) = usize::try_from(current)
            .ok()
            .and_then(|i| MIGRATIONS.get(i))
        else {
            return Ok(());
        };
        tx.execute_batch(sql)?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", current + 1))?;
        tx.commit()?;
    }
}
