//! Draining a large backlog into a local collector: how long 100,000 responses take to reach
//! `earshot-collector` on 127.0.0.1, how many bytes each costs on the wire, and how much
//! memory the uploading kiosk needs for it compared with an empty queue. Prints figures;
//! asserts only that every response arrived.
//!
//!   scripts/bench (builds the release binaries first), or
//!   cargo build --release --workspace --bins && cargo bench --locked --bench upload

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use earshot::app::simulate::{run, SimulateOptions};
use earshot::core::visit::DeviceIds;
use earshot::storage::Queue;

const BACKLOG: usize = 100_000;
const TARGET_EXTRA_MIB: f64 = 10.0;

fn bin(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_BIN_EXE_earshot")).with_file_name(name);
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build --release --workspace --bins`",
        path.display()
    );
    path
}

struct Sink(std::sync::Mutex<Vec<earshot::core::record::ResponseRecord>>);

impl earshot::seams::sink::ResponseSink for Sink {
    fn submit(
        &self,
        record: earshot::core::record::ResponseRecord,
        done: earshot::seams::sink::StoreCallback,
    ) {
        self.0.lock().unwrap().push(record);
        done(Ok(()));
    }
    fn describe(&self) -> String {
        "memory".into()
    }
}

/// Fills the kiosk's queue with realistic responses (the simulated visitor), each enqueued
/// durably as the kiosk would, under the kiosk's own device id (the collector accepts a
/// response only from the device it names).
fn fill(db: &Path, device_id: &str, count: usize) {
    let (_, text) = earshot::files::config::DEMO_SURVEYS[0];
    let survey = Arc::new(earshot::core::survey::parse(text, "shop").unwrap());
    let ids = DeviceIds {
        site_id: "bench-site".into(),
        device_id: device_id.into(),
        run_id: None,
    };
    let queue = Queue::open(db).unwrap().queue;
    let mut seed = 1;
    let mut stored = 0;
    while stored < count {
        let sink = Sink(Default::default());
        run(
            Arc::clone(&survey),
            ids.clone(),
            &sink,
            500,
            seed,
            &SimulateOptions::default(),
        );
        seed += 1;
        for record in sink.0.into_inner().unwrap() {
            if stored == count {
                break;
            }
            queue.enqueue(&record).unwrap();
            stored += 1;
        }
    }
}

/// Runs a command to completion and returns its standard output and its peak resident
/// memory (VmHWM, read from /proc while it runs: the last reading before it exits).
fn run_measured(mut command: Command) -> (String, u64, Duration) {
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status_path = format!("/proc/{}/status", child.id());
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        for line in BufReader::new(stdout).lines() {
            out.push_str(&line.unwrap());
            out.push('\n');
        }
        out
    });
    let mut peak_kib = 0;
    loop {
        if let Ok(status) = std::fs::read_to_string(&status_path) {
            if let Some(kib) = status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
            {
                peak_kib = peak_kib.max(kib);
            }
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let took = started.elapsed();
    (reader.join().unwrap(), peak_kib, took)
}

struct Kiosk {
    dir: PathBuf,
    config: PathBuf,
}

impl Kiosk {
    fn new(root: &Path, name: &str, server: &str) -> Kiosk {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("earshot.toml");
        std::fs::write(
            &config,
            format!(
                "[device]\nid = \"{name}\"\nsite = \"bench-site\"\n[storage]\npath = \"{}\"\n[upload]\nserver = \"{server}\"\n",
                dir.join("responses.db").display()
            ),
        )
        .unwrap();
        Kiosk { dir, config }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin("earshot"));
        c.arg("--config")
            .arg(&self.config)
            .args(args)
            .env("STATE_DIRECTORY", &self.dir)
            .env("EARSHOT_LOG", "warn");
        c
    }

    fn provision(&self, collector_db: &Path, server: &str) {
        let out = Command::new(bin("earshot-collector"))
            .arg("--db")
            .arg(collector_db)
            .args(["enroll-code", "--site", "bench-site"])
            .output()
            .unwrap();
        let code = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_string();
        let out = self
            .command(&["provision", "--server", server, "--code", &code])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn main() {
    // Under target/: a real disk, where fsync costs what it costs on a device.
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("upload-bench-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    let collector_db = root.join("collector.db");
    let mut collector = Command::new(bin("earshot-collector"))
        .arg("--db")
        .arg(&collector_db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("EARSHOT_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(collector.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let server = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();

    let empty = Kiosk::new(&root, "empty-kiosk", &server);
    empty.provision(&collector_db, &server);
    let backlog = Kiosk::new(&root, "backlog-kiosk", &server);
    backlog.provision(&collector_db, &server);
    eprintln!("filling the queue with {BACKLOG} responses...");
    let fill_started = Instant::now();
    fill(&backlog.dir.join("responses.db"), "backlog-kiosk", BACKLOG);
    let fill_s = fill_started.elapsed().as_secs_f64();
    let queue_bytes = std::fs::metadata(backlog.dir.join("responses.db"))
        .map(|m| m.len())
        .unwrap_or(0);

    let (_, empty_peak_kib, _) = run_measured(empty.command(&["upload", "--once"]));
    eprintln!("draining...");
    let (out, drain_peak_kib, took) = run_measured(backlog.command(&["upload", "--once"]));
    let mut sent_bytes = 0u64;
    let mut batches = 0;
    for l in out.lines().filter(|l| l.starts_with("sent ")) {
        batches += 1;
        sent_bytes += l
            .split('(')
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
    }
    assert!(
        out.contains(&format!("{BACKLOG} delivered ({BACKLOG} new")),
        "not everything was delivered:\n{}",
        out.lines().rev().take(3).collect::<Vec<_>>().join("\n")
    );
    let _ = collector.kill();
    let _ = collector.wait();
    let extra_mib = (drain_peak_kib as f64 - empty_peak_kib as f64) / 1024.0;
    println!(
        "upload benchmark: release build, {} CPU(s), collector and kiosk on 127.0.0.1",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    println!("{:<64} {:>16}", "figure", "measured");
    println!(
        "{:<64} {:>14.1} s",
        format!("drain {BACKLOG} responses into the collector ({batches} batches)"),
        took.as_secs_f64()
    );
    println!(
        "{:<64} {:>12.0} /s",
        "responses delivered per second",
        BACKLOG as f64 / took.as_secs_f64()
    );
    println!(
        "{:<64} {:>14.0} B",
        "bytes sent per response (gzip request bodies)",
        sent_bytes as f64 / BACKLOG as f64
    );
    println!(
        "{:<64} {:>14.0} B",
        "bytes per response in the kiosk's queue file (for comparison)",
        queue_bytes as f64 / BACKLOG as f64
    );
    println!(
        "{:<64} {:>12.1} MiB",
        "kiosk peak resident memory, empty queue (upload --once)",
        empty_peak_kib as f64 / 1024.0
    );
    println!(
        "{:<64} {:>12.1} MiB",
        format!("kiosk peak resident memory, draining {BACKLOG}"),
        drain_peak_kib as f64 / 1024.0
    );
    println!(
        "{:<64} {:>12.1} MiB  target < {TARGET_EXTRA_MIB} MiB: {}",
        "  difference",
        extra_mib,
        if extra_mib < TARGET_EXTRA_MIB {
            "ok"
        } else {
            "OVER"
        }
    );
    println!("(filling the queue took {fill_s:.1} s, one durable enqueue each; peak memory is VmHWM from /proc)");
    let _ = std::fs::remove_dir_all(&root);
}
