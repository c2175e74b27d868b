//! Kills the real binary with SIGKILL at random moments while it saves and uploads simulated
//! responses, many times in a row on one database file, and checks after every kill that each
//! response the process had confirmed is still there exactly once.
//!
//! This test fails when anything confirmed is lost or stored twice, when the file is damaged,
//! or when a claim of the dead process is left behind: each check is an assertion, not a
//! figure to read.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use earshot::storage::{Queue, LATEST_VERSION};

/// Kill rounds on the main database.
const ROUNDS: u64 = 150;
/// Every this many rounds, one extra round on a fresh version-1 file, killed near start-up so
/// that the kill can land inside the migration.
const MIGRATION_EVERY: u64 = 6;
/// Kills land up to this long after the first commit could have happened. When that is
/// (exec, config, opening and migrating the database: about 20 ms for a debug build on an
/// idle machine, several times that on a busy one) is measured at the start of the test.
const KILL_WINDOW_MS: u64 = 130;

/// Migration 1 exactly as released (migrations are append-only, so this text never changes):
/// the layout of a store made by the first release.
const V1_SCHEMA: &str = "CREATE TABLE responses (
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
);";

fn write_config(dir: &Path, name: &str, db: &Path) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "[device]\nid = \"crash-kiosk\"\nsite = \"crash-site\"\n[storage]\npath = \"{}\"\n",
            db.display()
        ),
    )
    .unwrap();
    path
}

struct Running {
    child: Child,
    reader: JoinHandle<()>,
    committed: Arc<Mutex<Vec<String>>>,
    spawned: Instant,
}

fn spawn(config: &Path, seed: u64) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_earshot"))
        .arg("--config")
        .arg(config)
        .args(["simulate", "--visits", "100000", "--seed"])
        .arg(seed.to_string())
        .args(["--print-committed", "--drain-every", "3"])
        .env("EARSHOT_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start earshot simulate");
    let spawned = Instant::now();
    let stdout = child.stdout.take().unwrap();
    let committed = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&committed);
    let reader = thread::spawn(move || {
        let mut lines = BufReader::new(stdout);
        let mut line = String::new();
        // Only whole lines count: a line cut by the kill names no id we can rely on.
        while lines.read_line(&mut line).unwrap_or(0) > 0 {
            if let Some(id) = line
                .strip_suffix('\n')
                .and_then(|l| l.strip_prefix("committed "))
            {
                uuid::Uuid::parse_str(id).expect("a committed line names a UUID");
                sink.lock().unwrap().push(id.to_string());
            }
            line.clear();
        }
    });
    Running {
        child,
        reader,
        committed,
        spawned,
    }
}

/// How long after its spawn a process first confirms a response, on this machine now.
fn time_to_first_commit(dir: &Path) -> Duration {
    let db = dir.join("calibration/responses.db");
    let config = write_config(dir, "calibration.toml", &db);
    let running = spawn(&config, 1);
    let deadline = Instant::now() + Duration::from_secs(30);
    let took = loop {
        if !running.committed.lock().unwrap().is_empty() {
            break running.spawned.elapsed();
        }
        assert!(
            Instant::now() < deadline,
            "no response confirmed within 30 s"
        );
        thread::sleep(Duration::from_millis(1));
    };
    kill_after(running, Duration::ZERO);
    took
}

/// Kills the process `after` its spawn and returns the ids it confirmed.
fn kill_after(mut running: Running, after: Duration) -> Vec<String> {
    if let Some(rest) = after.checked_sub(running.spawned.elapsed()) {
        thread::sleep(rest);
    }
    // SIGKILL on Unix: no destructors, no checkpoint, no flush, as in a power cut of the
    // process (the page cache survives, so this tests the commit protocol, not the card).
    running.child.kill().expect("kill earshot");
    running.child.wait().unwrap();
    running.reader.join().unwrap();
    let ids = running.committed.lock().unwrap().clone();
    ids
}

/// What a store held when reopened after a kill.
struct Reopened {
    total: usize,
    released_claims: usize,
}

/// Opens the store as the next start would and checks it against every id confirmed so far.
fn reopen_and_check(db: &Path, confirmed: &HashSet<String>, what: &str) -> Reopened {
    let opened = Queue::open(db).unwrap_or_else(|e| panic!("{what}: reopen failed: {e}"));
    assert!(
        opened.quarantined.is_none(),
        "{what}: the store was judged damaged and set aside"
    );
    let queue = opened.queue;
    queue
        .integrity_check()
        .unwrap_or_else(|e| panic!("{what}: integrity check failed: {e}"));
    let stats = queue.stats().unwrap();
    assert_eq!(
        stats.claimed, 0,
        "{what}: claims of the dead process were kept"
    );

    let export = queue.export(None).unwrap();
    assert!(
        export.problems.is_empty(),
        "{what}: unreadable rows: {:?}",
        export.problems
    );
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for row in &export.rows {
        *seen.entry(row.id.as_str()).or_default() += 1;
    }
    let twice: Vec<_> = seen
        .iter()
        .filter(|(_, &n)| n > 1)
        .map(|(id, _)| *id)
        .collect();
    assert!(twice.is_empty(), "{what}: stored more than once: {twice:?}");
    let lost: Vec<_> = confirmed
        .iter()
        .filter(|id| !seen.contains_key(id.as_str()))
        .collect();
    assert!(
        lost.is_empty(),
        "{what}: {} confirmed responses lost, e.g. {:?}",
        lost.len(),
        lost.first()
    );
    let total = stats.pending + stats.claimed + stats.acked + stats.dead;
    assert_eq!(
        total as usize,
        export.rows.len(),
        "{what}: counts disagree with the rows"
    );
    Reopened {
        total: export.rows.len(),
        released_claims: opened.released_claims,
    }
}

/// A store at version 1 holding `rows` (id, record JSON), as the first release left it.
fn make_v1_store(path: &Path, rows: &[(String, String)]) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(V1_SCHEMA).unwrap();
    conn.execute_batch("PRAGMA user_version = 1").unwrap();
    for (id, json) in rows {
        conn.execute(
            "INSERT INTO responses (id, record_json, size_bytes, created_ms) VALUES (?1, ?2, ?3, 0)",
            rusqlite::params![id, json, json.len() as i64],
        )
        .unwrap();
    }
}

fn user_version(path: &Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

/// The version a killed process left the file at, read from a copy: reading a WAL file left by
/// a crash recovers and checkpoints it, which must stay the job of the next real start.
fn version_left_by_kill(path: &Path, scratch: &Path) -> i64 {
    std::fs::create_dir_all(scratch).unwrap();
    let copy = scratch.join("copy.db");
    for suffix in ["", "-wal", "-shm"] {
        let from = PathBuf::from(format!("{}{suffix}", path.display()));
        let to = PathBuf::from(format!("{}{suffix}", copy.display()));
        let _ = std::fs::remove_file(&to);
        if from.exists() {
            std::fs::copy(&from, &to).unwrap();
        }
    }
    user_version(&copy)
}

#[test]
fn sigkill_at_random_moments_loses_and_duplicates_nothing() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data/responses.db");
    let config = write_config(dir.path(), "earshot.toml", &db);
    let mut rng = fastrand::Rng::with_seed(0x5eed_c4a5);
    let start_up_ms = time_to_first_commit(dir.path()).as_millis() as u64;
    let latest_kill_ms = start_up_ms + KILL_WINDOW_MS;

    let mut confirmed: HashSet<String> = HashSet::new();
    let mut last_total = 0;
    let mut killed_in_start_up = 0;
    let mut killed_later = 0;
    let mut rounds_with_released_claims = 0;
    let mut migration_rounds = 0;
    let mut killed_before_migrated = 0;

    for round in 0..ROUNDS {
        // A third of the kills land before the first commit can have happened.
        let delay_ms = if rng.u8(..3) == 0 {
            rng.u64(0..start_up_ms)
        } else {
            rng.u64(start_up_ms..=latest_kill_ms)
        };
        let ids = kill_after(spawn(&config, round), Duration::from_millis(delay_ms));
        if ids.is_empty() {
            killed_in_start_up += 1;
        } else {
            killed_later += 1;
        }
        confirmed.extend(ids);
        let what = format!("round {round} (killed after {delay_ms} ms)");
        let reopened = reopen_and_check(&db, &confirmed, &what);
        assert!(
            reopened.total >= last_total,
            "{what}: the store shrank from {last_total} to {}",
            reopened.total
        );
        last_total = reopened.total;
        if reopened.released_claims > 0 {
            rounds_with_released_claims += 1;
        }

        if round % MIGRATION_EVERY == MIGRATION_EVERY - 1 {
            migration_rounds += 1;
            let old_db = dir.path().join(format!("v1-{round}/responses.db"));
            std::fs::create_dir_all(old_db.parent().unwrap()).unwrap();
            // Records the main store already holds, copied as they are: the migration must
            // carry them over.
            let rows: Vec<(String, String)> = Queue::open(&db)
                .unwrap()
                .queue
                .export(None)
                .unwrap()
                .rows
                .into_iter()
                .take(30)
                .map(|r| (r.id, r.record_json))
                .collect();
            make_v1_store(&old_db, &rows);
            let old_config = write_config(dir.path(), "earshot-v1.toml", &old_db);
            let delay_ms = rng.u64(0..=start_up_ms);
            let ids = kill_after(spawn(&old_config, round), Duration::from_millis(delay_ms));
            if version_left_by_kill(&old_db, &dir.path().join("scratch")) < LATEST_VERSION {
                killed_before_migrated += 1;
            }
            let mut expected: HashSet<String> = rows.into_iter().map(|(id, _)| id).collect();
            expected.extend(ids);
            let what = format!("version-1 store of round {round} (killed after {delay_ms} ms)");
            let reopened = reopen_and_check(&old_db, &expected, &what);
            assert!(reopened.total >= expected.len());
            assert_eq!(
                user_version(&old_db),
                LATEST_VERSION,
                "{what}: not migrated"
            );
        }
    }

    println!(
        "crash test: {ROUNDS} kill rounds on one store + {migration_rounds} on version-1 stores \
         in {:.1} s; first commit {start_up_ms} ms after the spawn, kills up to {latest_kill_ms} ms",
        started.elapsed().as_secs_f64()
    );
    println!(
        "  confirmed responses checked: {} (store holds {last_total})",
        confirmed.len()
    );
    println!(
        "  killed during start-up (nothing confirmed yet): {killed_in_start_up}, later: {killed_later}"
    );
    println!("  rounds whose reopen released a batch claimed by the killed process: {rounds_with_released_claims}");
    println!(
        "  version-1 stores killed before reaching version {LATEST_VERSION} (before or during migrating): {killed_before_migrated} of {migration_rounds}"
    );
    assert!(
        confirmed.len() >= 200,
        "too few confirmed responses ({}) for the test to mean anything",
        confirmed.len()
    );
}
