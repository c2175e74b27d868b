//! The durable response store: one SQLite file in WAL mode with full sync, so a response
//! that was confirmed survives a power cut. Records wait there as `pending` until an upload
//! batch claims them, and stay on disk until the receiver acknowledges them; records the
//! receiver refuses are kept as `dead` where staff can see and retry them.
//!
//! [`Queue`] is the store; [`StorageError`] says what went wrong in words a facilities person
//! can act on.

mod error;
mod queue;
mod schema;
mod sink;

use std::path::PathBuf;

pub use error::StorageError;
pub use queue::{
    Batch, EnqueueOutcome, Export, ExportedRow, Opened, Queue, QueueOptions, QueueStats, RowState,
};
pub use schema::LATEST_VERSION;
pub use sink::{open_store, QueueSink};

/// The folder beside the database where damaged files are moved, kept for inspection.
pub const QUARANTINE_DIR: &str = "quarantine";

/// Where a store at `db_path` puts damaged files.
pub fn quarantine_dir(db_path: &std::path::Path) -> PathBuf {
    db_path
        .parent()
        .map(|p| p.join(QUARANTINE_DIR))
        .unwrap_or_else(|| PathBuf::from(QUARANTINE_DIR))
}

#[cfg(test)]
mod tests;
