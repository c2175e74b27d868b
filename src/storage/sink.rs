//! The queue as the kiosk's response sink: records are stored on a dedicated storage thread,
//! so the UI thread never waits for the disk, and each verdict comes back once the commit is
//! durable. Staff are alarmed when the store is damaged, nearly full, or refuses a record.

use std::path::PathBuf;
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::alarms::{AlarmKind, Alarms};
use crate::config::Config;
use crate::core::record::ResponseRecord;
use crate::sink::{ResponseSink, StoreCallback, StoreError};

use super::{Queue, QueueOptions, StorageError};

/// Share of the size limit above which staff are told the store is filling up.
const NEARLY_FULL: f64 = 0.9;

/// Opens the store named by the configuration, telling staff what start-up had to repair.
pub fn open_store(config: &Config, alarms: &Alarms) -> Result<Arc<Queue>, StorageError> {
    let path = config.storage_path();
    let options = QueueOptions {
        max_db_bytes: Some(config.storage.max_db_mb.saturating_mul(1024 * 1024)),
        ..QueueOptions::default()
    };
    let opened = Queue::open_with(&path, options)?;
    if let Some(moved) = &opened.quarantined {
        alarms.raise(
            AlarmKind::StorageQuarantined,
            format!(
                "the response store {} was damaged; it was moved to {} and a new one started",
                path.display(),
                moved.display()
            ),
            format!(
                "keep the device on; copy what can still be read with `earshot queue export --db {} --out FILE` and send it to the service team",
                moved.display()
            ),
        );
    }
    if opened.released_claims > 0 {
        tracing::info!(
            released = opened.released_claims,
            "responses claimed by an upload that never finished are waiting again"
        );
    }
    Ok(Arc::new(opened.queue))
}

struct Job {
    record: ResponseRecord,
    done: StoreCallback,
}

/// Stores records in the queue on its own thread.
pub struct QueueSink {
    jobs: Mutex<mpsc::Sender<Job>>,
    path: PathBuf,
}

impl QueueSink {
    pub fn start(queue: Arc<Queue>, alarms: Alarms, max_db_bytes: u64) -> QueueSink {
        let path = queue.path().to_path_buf();
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("storage".into())
            .spawn(move || {
                for job in rx {
                    let result = store(&queue, &alarms, max_db_bytes, &job.record);
                    (job.done)(result);
                }
            })
            .expect("the OS lets the kiosk start a thread");
        QueueSink {
            jobs: Mutex::new(tx),
            path,
        }
    }
}

fn store(
    queue: &Queue,
    alarms: &Alarms,
    max_db_bytes: u64,
    record: &ResponseRecord,
) -> Result<(), StoreError> {
    let started = Instant::now();
    let outcome = queue.enqueue(record);
    let took = started.elapsed();
    match outcome {
        Ok(outcome) => {
            tracing::debug!(response = %record.id, ?outcome, commit_ms = ms(took), "response committed");
            if took > Duration::from_millis(500) {
                tracing::warn!(commit_ms = ms(took), "storing a response was slow");
            }
            check_size(queue, alarms, max_db_bytes);
            Ok(())
        }
        Err(e) => {
            tracing::error!(response = %record.id, error = %e, "response not stored");
            Err(StoreError {
                message: e.to_string(),
            })
        }
    }
}

fn check_size(queue: &Queue, alarms: &Alarms, max_db_bytes: u64) {
    let Ok(stats) = queue.stats() else { return };
    if max_db_bytes > 0 && stats.db_bytes as f64 >= max_db_bytes as f64 * NEARLY_FULL {
        alarms.raise(
            AlarmKind::StorageNearlyFull,
            format!(
                "the response store is {} MB of its {} MB limit",
                stats.db_bytes / (1024 * 1024),
                max_db_bytes / (1024 * 1024)
            ),
            "let the kiosk upload (check its network), or take the responses off with `earshot queue export` and raise [storage] max_db_mb",
        );
    } else {
        alarms.clear(AlarmKind::StorageNearlyFull);
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl ResponseSink for QueueSink {
    fn submit(&self, record: ResponseRecord, done: StoreCallback) {
        let jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(mpsc::SendError(job)) = jobs.send(Job { record, done }) {
            (job.done)(Err(StoreError {
                message: "the storage thread has stopped".into(),
            }));
        }
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }
}
