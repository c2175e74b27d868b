//! Where finished responses go. The kiosk hands each record to a [`ResponseSink`] and learns
//! later, on another thread, whether it was stored; the UI thread never waits for the disk.
//! The kiosk's sink is the durable queue (`storage::QueueSink`).

use crate::core::record::ResponseRecord;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StoreError {
    /// What went wrong, for the staff alarm.
    pub message: String,
}

pub type StoreResult = Result<(), StoreError>;
/// Called exactly once per submitted record, from the sink's own thread.
pub type StoreCallback = Box<dyn FnOnce(StoreResult) + Send>;

pub trait ResponseSink: Send + Sync {
    /// Takes the record for storage and returns at once; `done` reports the verdict once the
    /// record is durable (Ok) or could not be stored (Err, the record is not kept).
    fn submit(&self, record: ResponseRecord, done: StoreCallback);

    /// Where the records end up, for messages.
    fn describe(&self) -> String;
}
