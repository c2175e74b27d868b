//! The queue as the kiosk's response sink: records are stored on a dedicated storage thread,
//! so the UI thread never waits for the disk, and each verdict comes back once the commit is
//! durable. Staff are alarmed when the store is damaged, nearly full, or refuses a record.

use std::path::PathBuf;
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::core::record::ResponseRecord;
use crate::files::config::StorageConfig;
use crate::seams::alarms::{AlarmKind, Alarms};
use crate::seams::sink::{ResponseSink, StoreCallback, StoreError};

use super::{Queue, QueueOptions, StorageError};

/// Share of the size limit above which staff are told the store is filling up.
const NEARLY_FULL: f64 = 0.9;

/// How long the first synchronised clock reading of each boot is remembered.
const BOOT_SYNC_MEMORY: Duration = Duration::from_secs(365 * 24 * 3600);

/// Opens the store named by the configuration, telling staff what start-up had to repair.
pub fn open_store(storage: &StorageConfig, alarms: &Alarms) -> Result<Arc<Queue>, StorageError> {
    let path = &storage.path;
    let options = QueueOptions {
        max_db_bytes: Some(storage.max_db_bytes),
        ..QueueOptions::default()
    };
    let opened = Queue::open_with(path, options)?;
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
    match opened
        .queue
        .purge_acked_older_than(storage.retention, std::time::SystemTime::now())
    {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            purged = n,
            days = storage.retention_days(),
            "uploaded responses past their retention removed"
        ),
        // Purging is housekeeping: a failure keeps more on disk, it loses nothing.
        Err(e) => tracing::warn!(error = %e, "could not purge old uploaded responses"),
    }
    match opened
        .queue
        .forget_receipts_older_than(storage.receipt_memory, std::time::SystemTime::now())
    {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            forgotten = n,
            "used receipts past their age window forgotten"
        ),
        Err(e) => tracing::warn!(error = %e, "could not forget old used receipts"),
    }
    // A boot's clock reading is sent for responses of that boot still waiting: after a year
    // there are none worth placing.
    if let Err(e) = opened
        .queue
        .forget_boot_syncs_older_than(BOOT_SYNC_MEMORY, std::time::SystemTime::now())
    {
        tracing::warn!(error = %e, "could not forget old boots' clock readings");
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
    shared: Arc<Shared>,
}

/// What the storage thread shares with the rest of the kiosk.
#[derive(Default)]
struct Shared {
    /// The open store, once it could be opened (the uploader works on it too).
    queue: Mutex<Option<Arc<Queue>>>,
    /// Called after each response is durably stored (wakes the uploader).
    on_stored: Mutex<Option<Box<dyn Fn() + Send>>>,
}

/// Opens the store when there is none yet (the kiosk started while it could not be opened).
type Reopen = Box<dyn Fn() -> Result<Arc<Queue>, StorageError> + Send>;

impl QueueSink {
    pub fn start(queue: Arc<Queue>, alarms: Alarms, max_db_bytes: u64) -> QueueSink {
        let path = queue.path().to_path_buf();
        Self::spawn(path, Some(queue), None, alarms, max_db_bytes)
    }

    /// The kiosk's sink. If the store cannot be opened now (a read-only or full card, a
    /// folder the kiosk may not write), the kiosk still runs: staff are alarmed, visitors are
    /// told honestly that their answers could not be saved, and each new response tries to
    /// open the store again, so the kiosk recovers by itself once the cause is fixed.
    pub fn start_for_kiosk(storage: &StorageConfig, alarms: Alarms) -> QueueSink {
        let max = storage.max_db_bytes;
        let path = storage.path.clone();
        let opened = match open_store(storage, &alarms) {
            Ok(queue) => Some(queue),
            Err(e) => {
                raise_unavailable(&alarms, &e);
                None
            }
        };
        let (storage, reopen_alarms) = (storage.clone(), alarms.clone());
        let reopen: Reopen = Box::new(move || open_store(&storage, &reopen_alarms));
        Self::spawn(path, opened, Some(reopen), alarms, max)
    }

    /// The store, once it is open.
    pub fn queue(&self) -> Option<Arc<Queue>> {
        self.shared
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Sets what to call after each response is durably stored.
    pub fn on_stored(&self, f: impl Fn() + Send + 'static) {
        *self
            .shared
            .on_stored
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Box::new(f));
    }

    fn spawn(
        path: PathBuf,
        mut queue: Option<Arc<Queue>>,
        reopen: Option<Reopen>,
        alarms: Alarms,
        max_db_bytes: u64,
    ) -> QueueSink {
        let (tx, rx) = mpsc::channel::<Job>();
        let shared = Arc::new(Shared::default());
        *shared.queue.lock().unwrap_or_else(PoisonError::into_inner) = queue.clone();
        let thread_shared = shared.clone();
        std::thread::Builder::new()
            .name("storage".into())
            .spawn(move || {
                for job in rx {
                    if queue.is_none() {
                        if let Some(reopen) = &reopen {
                            match reopen() {
                                Ok(q) => {
                                    tracing::info!("the response store can be used again");
                                    alarms.clear(AlarmKind::StorageUnavailable);
                                    *thread_shared
                                        .queue
                                        .lock()
                                        .unwrap_or_else(PoisonError::into_inner) = Some(q.clone());
                                    queue = Some(q);
                                }
                                Err(e) => raise_unavailable(&alarms, &e),
                            }
                        }
                    }
                    let result = match &queue {
                        Some(q) => store(q, &alarms, max_db_bytes, &job.record),
                        None => Err(StoreError {
                            message: "the response store cannot be opened".into(),
                        }),
                    };
                    let stored = result.is_ok();
                    (job.done)(result);
                    if stored {
                        if let Some(f) = thread_shared
                            .on_stored
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .as_ref()
                        {
                            f();
                        }
                    }
                }
            })
            .expect("the OS lets the kiosk start a thread");
        QueueSink {
            jobs: Mutex::new(tx),
            path,
            shared,
        }
    }
}

fn raise_unavailable(alarms: &Alarms, e: &StorageError) {
    alarms.raise(
        AlarmKind::StorageUnavailable,
        format!("the response store cannot be opened, so responses are not being kept: {e}"),
        "see the message for the cause; the kiosk tries again with every response and recovers by itself",
    );
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::config::Config;

    fn config_at(path: &std::path::Path) -> StorageConfig {
        StorageConfig {
            path: path.to_path_buf(),
            ..Config::demo().storage
        }
    }

    fn record() -> ResponseRecord {
        let text = include_str!("../../assets/surveys/shop.toml");
        let survey = std::sync::Arc::new(crate::core::survey::parse(text, "shop").unwrap());
        let ids = crate::core::visit::DeviceIds {
            site_id: "s".into(),
            device_id: "d".into(),
            run_id: None,
        };
        let mut kiosk = crate::core::visit::Kiosk::new(survey, ids, 5);
        let at = crate::core::record::Moment {
            mono: Duration::from_secs(1),
            wall: std::time::SystemTime::now(),
            wall_synchronized: true,
            boot: None,
        };
        kiosk.handle(crate::core::visit::Event::Start, at);
        kiosk
            .handle(crate::core::visit::Event::Cancel, at)
            .finished
            .unwrap()
    }

    fn submit(sink: &QueueSink, r: ResponseRecord) -> Result<(), StoreError> {
        let (tx, rx) = mpsc::channel();
        sink.submit(r, Box::new(move |res| tx.send(res).unwrap()));
        rx.recv().unwrap()
    }

    #[test]
    fn a_damaged_store_is_moved_aside_and_staff_are_told() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("responses.db");
        std::fs::write(&path, b"this is not a database, but it is someone's data").unwrap();
        let alarms = Alarms::default();
        let queue = open_store(&config_at(&path), &alarms).unwrap();
        assert!(alarms.is_active(AlarmKind::StorageQuarantined));
        let kept: Vec<_> = std::fs::read_dir(dir.path().join("quarantine"))
            .unwrap()
            .collect();
        assert_eq!(kept.len(), 1, "the damaged file is kept");
        let sink = QueueSink::start(queue, alarms, 0);
        submit(&sink, record()).unwrap();
    }

    #[test]
    fn a_store_that_cannot_be_opened_at_start_is_retried_with_each_response() {
        let dir = tempfile::tempdir().unwrap();
        // A file where the store's folder should be: nothing can be created below it.
        let blocker = dir.path().join("state");
        std::fs::write(&blocker, b"").unwrap();
        let config = config_at(&blocker.join("responses.db"));
        let alarms = Alarms::default();
        let sink = QueueSink::start_for_kiosk(&config, alarms.clone());
        assert!(alarms.is_active(AlarmKind::StorageUnavailable));
        assert!(
            submit(&sink, record()).is_err(),
            "refused honestly, the kiosk still runs"
        );
        // The cause is fixed: the next response is stored without a restart.
        std::fs::remove_file(&blocker).unwrap();
        submit(&sink, record()).unwrap();
        assert!(!alarms.is_active(AlarmKind::StorageUnavailable));
        let stored = Queue::open_read_only(blocker.join("responses.db"))
            .unwrap()
            .stats()
            .unwrap();
        assert_eq!(stored.pending, 1);
    }

    #[test]
    fn stored_records_are_confirmed_and_a_nearly_full_store_alarms() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("responses.db");
        let alarms = Alarms::default();
        let queue = open_store(&config_at(&path), &alarms).unwrap();
        let sink = QueueSink::start(Arc::clone(&queue), alarms.clone(), 1 << 30);
        let r = record();
        submit(&sink, r.clone()).unwrap();
        assert!(!alarms.is_active(AlarmKind::StorageNearlyFull));
        assert_eq!(queue.stats().unwrap().pending, 1);
        // The same store measured against a limit it is close to.
        let used = queue.stats().unwrap().db_bytes;
        let tight = QueueSink::start(Arc::clone(&queue), alarms.clone(), used);
        let mut second = record();
        second.id = uuid::Uuid::now_v7();
        submit(&tight, second).unwrap();
        assert!(alarms.is_active(AlarmKind::StorageNearlyFull));
        assert_eq!(queue.stats().unwrap().pending, 2);
    }
}
