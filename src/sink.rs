//! Where finished responses go. The kiosk hands each record to a [`ResponseSink`] and learns
//! later, on another thread, whether it was stored; the UI thread never waits for the disk.
//!
//! [`JsonlFileSink`] appends one JSON object per line to a file and syncs it to disk before
//! confirming. (The durable SQLite queue with upload takes this place in a later version;
//! the trait is the seam.)

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Mutex;

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

struct Job {
    record: ResponseRecord,
    done: StoreCallback,
}

/// Appends records as JSON lines on a dedicated thread, each synced to disk before `done`.
pub struct JsonlFileSink {
    jobs: Mutex<mpsc::Sender<Job>>,
    path: PathBuf,
}

impl JsonlFileSink {
    /// Starts the writer thread. The file (and its directory) is created on first use, so a
    /// missing or read-only directory shows up as a store failure with a clear message rather
    /// than stopping the kiosk from starting.
    pub fn start(path: impl Into<PathBuf>) -> JsonlFileSink {
        let path = path.into();
        let (tx, rx) = mpsc::channel::<Job>();
        let thread_path = path.clone();
        std::thread::Builder::new()
            .name("response-sink".into())
            .spawn(move || writer(thread_path, rx))
            .expect("the OS lets the kiosk start a thread");
        JsonlFileSink {
            jobs: Mutex::new(tx),
            path,
        }
    }
}

impl ResponseSink for JsonlFileSink {
    fn submit(&self, record: ResponseRecord, done: StoreCallback) {
        let jobs = self
            .jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Err(mpsc::SendError(job)) = jobs.send(Job { record, done }) {
            (job.done)(Err(StoreError {
                message: "the response writer has stopped".into(),
            }));
        }
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }
}

fn writer(path: PathBuf, jobs: mpsc::Receiver<Job>) {
    let mut file: Option<File> = None;
    // After a failed write the file may end in half a line; the next record starts on a
    // fresh line so that it stays readable.
    let mut needs_newline = false;
    for job in jobs {
        let result = append(&path, &mut file, &mut needs_newline, &job.record);
        if let Err(e) = &result {
            tracing::error!(path = %path.display(), error = %e, "response not stored");
            file = None;
            needs_newline = true;
        }
        (job.done)(result);
    }
}

fn append(
    path: &Path,
    file: &mut Option<File>,
    needs_newline: &mut bool,
    record: &ResponseRecord,
) -> StoreResult {
    let fail = |what: &str, e: std::io::Error| StoreError {
        message: format!("cannot {what} {}: {e}", path.display()),
    };
    if file.is_none() {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| fail("create the folder for", e))?;
        }
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| fail("open", e))?;
        *file = Some(f);
    }
    let Some(f) = file.as_mut() else {
        unreachable!("opened above")
    };
    let mut line = Vec::with_capacity(512);
    if *needs_newline {
        line.push(b'\n');
    }
    serde_json::to_writer(&mut line, record).map_err(|e| StoreError {
        message: e.to_string(),
    })?;
    line.push(b'\n');
    f.write_all(&line).map_err(|e| fail("write to", e))?;
    f.sync_data().map_err(|e| fail("sync", e))?;
    *needs_newline = false;
    Ok(())
}

/// Reads a JSON-lines response file: the records, and the numbers of lines that are not a
/// record (kept in the file, reported, never dropped silently).
pub fn read_jsonl(path: &Path) -> std::io::Result<(Vec<ResponseRecord>, Vec<usize>)> {
    let mut records = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in BufReader::new(File::open(path)?).split(b'\n').enumerate() {
        let line = line?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice(&line) {
            Ok(r) => records.push(r),
            Err(_) => bad.push(i + 1),
        }
    }
    Ok((records, bad))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::record::{ClockInfo, Flags, Outcome};

    pub(crate) fn record(n: u64) -> ResponseRecord {
        ResponseRecord {
            id: uuid::Uuid::from_u64_pair(7, n),
            reference: "ABCD-EFG".into(),
            survey_id: "s".into(),
            survey_version: "1".into(),
            language: "en".into(),
            site_id: "site".into(),
            device_id: "dev".into(),
            started_at: "2026-01-01T00:00:00.000Z".into(),
            finished_at: "2026-01-01T00:00:01.000Z".into(),
            clock: ClockInfo {
                synchronized: true,
                started_mono_ms: 0,
                finished_mono_ms: 1000,
                visit_number: n,
            },
            outcome: Outcome::Completed,
            service: None,
            answers: vec![],
            flags: Flags::default(),
        }
    }

    fn submit_and_wait(sink: &JsonlFileSink, r: ResponseRecord) -> StoreResult {
        let (tx, rx) = mpsc::channel();
        sink.submit(r, Box::new(move |res| tx.send(res).unwrap()));
        rx.recv().unwrap()
    }

    #[test]
    fn records_are_appended_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/dir/responses.jsonl");
        let sink = JsonlFileSink::start(&path);
        for n in 1..=3 {
            submit_and_wait(&sink, record(n)).unwrap();
        }
        let (records, bad) = read_jsonl(&path).unwrap();
        assert_eq!(records, vec![record(1), record(2), record(3)]);
        assert!(bad.is_empty());
    }

    #[test]
    fn an_unwritable_place_is_reported_and_the_next_record_still_works_once_fixed() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("not-a-dir");
        std::fs::write(&blocker, b"a file where a folder should be").unwrap();
        let path = blocker.join("responses.jsonl");
        let sink = JsonlFileSink::start(&path);
        let err = submit_and_wait(&sink, record(1)).unwrap_err();
        assert!(err.message.contains("not-a-dir"), "{}", err.message);
        std::fs::remove_file(&blocker).unwrap();
        submit_and_wait(&sink, record(2)).unwrap();
        assert_eq!(read_jsonl(&path).unwrap().0, vec![record(2)]);
    }

    #[test]
    fn a_torn_line_is_reported_not_hidden() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        std::fs::write(&path, b"{\"id\": \"half a rec").unwrap();
        let sink = JsonlFileSink::start(&path);
        // The existing file ends mid-line; a fresh writer does not know, so the reader must
        // cope with the joined line: it is reported as bad, not silently lost.
        submit_and_wait(&sink, record(1)).unwrap();
        let (_, bad) = read_jsonl(&path).unwrap();
        assert_eq!(bad, vec![1]);
    }
}
