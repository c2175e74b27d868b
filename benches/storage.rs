//! The durable response store on a real file: how long a visitor's response takes to become
//! durable, how many the store takes per second, what each costs on disk, and how fast an
//! uploader can claim and acknowledge. Prints figures; asserts nothing.
//!
//!   cargo bench --locked --bench storage

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use earshot::app::simulate::{run, SimulateOptions};
use earshot::core::record::ResponseRecord;
use earshot::core::visit::DeviceIds;
use earshot::seams::sink::{ResponseSink, StoreCallback};
use earshot::storage::Queue;

const COMMAND: &str = "cargo bench --locked --bench storage";
const ENQUEUES: usize = 2000;
const CLAIM_RECORDS: usize = 20_000;
const CLAIM_BATCH: usize = 500;

/// Keeps what the simulated kiosk finishes, so the bench stores records shaped exactly like
/// real ones (answers, comments in several scripts, timeouts and abandoned visits).
#[derive(Default)]
struct Collect(Mutex<Vec<ResponseRecord>>);

impl ResponseSink for Collect {
    fn submit(&self, record: ResponseRecord, done: StoreCallback) {
        self.0.lock().unwrap().push(record);
        done(Ok(()));
    }

    fn describe(&self) -> String {
        "memory".into()
    }
}

fn realistic_records(count: usize) -> Vec<ResponseRecord> {
    let (_, text) = earshot::files::config::DEMO_SURVEYS[0];
    let survey = Arc::new(earshot::core::survey::parse(text, "shop").expect("demo survey"));
    let ids = DeviceIds {
        site_id: "central-library".into(),
        device_id: "library-lobby-1".into(),
        run_id: None,
    };
    let sink = Collect::default();
    let mut seed = 1;
    while sink.0.lock().unwrap().len() < count {
        run(
            Arc::clone(&survey),
            ids.clone(),
            &sink,
            200,
            seed,
            &SimulateOptions::default(),
        );
        seed += 1;
    }
    let mut records = sink.0.into_inner().unwrap();
    records.truncate(count);
    records
}

/// The file system holding `dir`, from the longest matching mount point in /proc/mounts:
/// fsync on tmpfs costs nothing, so the latency figures mean little there.
fn file_system_of(dir: &Path) -> String {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            (f.len() >= 3 && dir.starts_with(f[1]))
                .then(|| (f[1].len(), format!("{} ({} on {})", f[2], f[0], f[1])))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, fs)| fs)
        .unwrap_or_else(|| "unknown".into())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    // `cargo bench` passes `--bench`; any filter argument is ignored, the bench is one piece.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let file_system = file_system_of(dir.path());
    let records = realistic_records(ENQUEUES);
    let mean_json = records
        .iter()
        .map(|r| serde_json::to_string(r).unwrap().len())
        .sum::<usize>() as f64
        / records.len() as f64;
    let mean_answers =
        records.iter().map(|r| r.answers.len()).sum::<usize>() as f64 / records.len() as f64;

    // Durable enqueue, one after another as the kiosk does.
    let db = dir.path().join("enqueue/responses.db");
    let queue = Queue::open(&db).expect("open store").queue;
    let mut latencies = Vec::with_capacity(records.len());
    let all = Instant::now();
    for record in &records {
        let t = Instant::now();
        queue.enqueue(record).expect("enqueue");
        latencies.push(t.elapsed());
    }
    let enqueue_total = all.elapsed();
    latencies.sort();
    // Closing the last connection checkpoints the WAL into the file and removes it, so the
    // file's size is then everything the records take.
    drop(queue);
    let wal = db.with_extension("db-wal");
    let db_bytes = std::fs::metadata(&db).unwrap().len()
        + std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);

    // Claim and acknowledge: the same records again under new ids, enqueued first.
    let db = dir.path().join("claim/responses.db");
    let queue = Queue::open(&db).expect("open store").queue;
    let fill = Instant::now();
    for i in 0..CLAIM_RECORDS {
        let mut record = records[i % records.len()].clone();
        record.id = uuid::Uuid::now_v7();
        queue.enqueue(&record).expect("enqueue");
    }
    let fill_total = fill.elapsed();
    let claimed_at = Instant::now();
    let mut settled = 0;
    let mut batches = 0;
    while let Some(batch) = queue.claim_batch(CLAIM_BATCH, u64::MAX).expect("claim") {
        let ids: Vec<uuid::Uuid> = batch.records.iter().map(|r| r.id).collect();
        settled += queue.ack(batch.id, &ids).expect("ack");
        batches += 1;
    }
    let claim_total = claimed_at.elapsed();
    assert_eq!(
        settled, CLAIM_RECORDS,
        "every record claimed and acknowledged once"
    );

    let row = |what: &str, value: String| println!("{what:<58} {value}");
    println!();
    println!("earshot storage benchmark: `{COMMAND}`");
    println!(
        "file system: {file_system}; {} CPU(s); {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        std::env::consts::ARCH
    );
    println!(
        "records: {ENQUEUES} from `earshot simulate` (shop demo), mean {mean_json:.0} bytes of JSON, \
         {mean_answers:.1} answers"
    );
    row("figure", "measured".into());
    row(&"-".repeat(58), "-".repeat(16));
    row(
        "durable enqueue (WAL, synchronous=FULL), p50",
        ms(percentile(&latencies, 0.50)),
    );
    row("durable enqueue, p99", ms(percentile(&latencies, 0.99)));
    row("durable enqueue, max", ms(*latencies.last().unwrap()));
    row(
        &format!("enqueues per second, sequential, {ENQUEUES} records"),
        format!("{:.0} /s", ENQUEUES as f64 / enqueue_total.as_secs_f64()),
    );
    row(
        "bytes on disk per response (file after checkpoint / count)",
        format!("{:.0} B", db_bytes as f64 / ENQUEUES as f64),
    );
    row(
        &format!(
            "claim+ack, batches of {CLAIM_BATCH}, {CLAIM_RECORDS} records ({batches} batches)"
        ),
        format!(
            "{:.0} records/s",
            CLAIM_RECORDS as f64 / claim_total.as_secs_f64()
        ),
    );
    row(
        "claim+ack, time per batch",
        ms(claim_total / batches.max(1) as u32),
    );
    row(
        &format!("(filling the claim store: {CLAIM_RECORDS} enqueues)"),
        format!("{:.0} /s", CLAIM_RECORDS as f64 / fill_total.as_secs_f64()),
    );
}
