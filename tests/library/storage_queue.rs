//! The durable response queue against real files in temporary folders: every scenario ends
//! with SQLite's full integrity check.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use earshot::core::record::{Answer, AnswerValue, ResponseRecord};
use earshot::storage::{EnqueueOutcome, Opened, Queue, QueueOptions, RowState, StorageError};
use uuid::Uuid;

use earshot_protocol::testing::{record, record_with_comment};

/// A record whose stored JSON is about `bytes` long.
fn record_with_text(n: u64, bytes: usize) -> ResponseRecord {
    record_with_comment(n, "x".repeat(bytes))
}

fn json_len(r: &ResponseRecord) -> u64 {
    serde_json::to_string(r).unwrap().len() as u64
}

struct Store {
    dir: tempfile::TempDir,
    path: PathBuf,
}

fn store() -> Store {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data/responses.db");
    Store { dir, path }
}

fn open(path: &Path) -> Queue {
    let Opened {
        queue, quarantined, ..
    } = Queue::open(path).unwrap();
    assert_eq!(quarantined, None);
    queue
}

fn ids(records: &[ResponseRecord]) -> Vec<Uuid> {
    records.iter().map(|r| r.id).collect()
}

fn id(n: u64) -> Uuid {
    Uuid::from_u64_pair(7, n)
}

#[test]
fn an_enqueued_record_reads_back_after_reopening() {
    let s = store();
    let q = open(&s.path);
    assert_eq!(q.enqueue(&record(1)).unwrap(), EnqueueOutcome::Stored);
    drop(q);

    let q = open(&s.path);
    let export = q.export(None).unwrap();
    assert!(export.problems.is_empty());
    assert_eq!(export.rows.len(), 1);
    assert_eq!(export.rows[0].state, RowState::Pending);
    assert_eq!(
        serde_json::from_str::<ResponseRecord>(&export.rows[0].record_json).unwrap(),
        record(1)
    );
    let stats = q.stats().unwrap();
    assert_eq!(stats.pending, 1);
    assert!(stats.oldest_pending_created_ms.is_some());
    assert!(stats.db_bytes > 0);
    q.integrity_check().unwrap();
}

#[test]
fn a_second_enqueue_of_the_same_record_is_one_row() {
    let s = store();
    let q = open(&s.path);
    assert_eq!(q.enqueue(&record(1)).unwrap(), EnqueueOutcome::Stored);
    assert_eq!(q.enqueue(&record(1)).unwrap(), EnqueueOutcome::Duplicate);
    // Even with different content the id decides: the receiver deduplicates by it too.
    let mut changed = record(1);
    changed.reference = "ZZZZ-ZZZ".into();
    assert_eq!(q.enqueue(&changed).unwrap(), EnqueueOutcome::Duplicate);
    assert_eq!(q.stats().unwrap().pending, 1);
    assert_eq!(q.export(None).unwrap().rows.len(), 1);
    q.integrity_check().unwrap();
}

#[test]
fn batches_are_claimed_oldest_first_by_count() {
    let s = store();
    let q = open(&s.path);
    // Arrival order, not id order, decides.
    for n in [3, 1, 2, 5, 4] {
        q.enqueue(&record(n)).unwrap();
    }
    let first = q.claim_batch(2, u64::MAX).unwrap().unwrap();
    assert_eq!(ids(&first.records), vec![id(3), id(1)]);
    let second = q.claim_batch(2, u64::MAX).unwrap().unwrap();
    assert_eq!(ids(&second.records), vec![id(2), id(5)]);
    assert_ne!(first.id, second.id);
    let third = q.claim_batch(2, u64::MAX).unwrap().unwrap();
    assert_eq!(ids(&third.records), vec![id(4)]);
    assert_eq!(q.claim_batch(2, u64::MAX).unwrap(), None);
    let stats = q.stats().unwrap();
    assert_eq!((stats.pending, stats.claimed), (0, 5));
    assert_eq!(stats.oldest_pending_created_ms, None);
    q.integrity_check().unwrap();
}

#[test]
fn batches_stop_before_exceeding_the_byte_limit() {
    let s = store();
    let q = open(&s.path);
    let records: Vec<_> = (1..=4).map(|n| record_with_text(n, 1000)).collect();
    for r in &records {
        q.enqueue(r).unwrap();
    }
    let each = json_len(&records[0]);
    // Room for two and a half records: two are taken.
    let batch = q.claim_batch(10, each * 5 / 2).unwrap().unwrap();
    assert_eq!(ids(&batch.records), vec![id(1), id(2)]);
    assert_eq!(batch.bytes, each * 2);
    // Exactly two fit.
    let batch = q.claim_batch(10, each * 2).unwrap().unwrap();
    assert_eq!(ids(&batch.records), vec![id(3), id(4)]);
    q.integrity_check().unwrap();
}

#[test]
fn a_record_larger_than_the_byte_limit_is_still_claimed_alone() {
    let s = store();
    let q = open(&s.path);
    q.enqueue(&record_with_text(1, 50_000)).unwrap();
    q.enqueue(&record(2)).unwrap();
    let batch = q.claim_batch(10, 1000).unwrap().unwrap();
    assert_eq!(ids(&batch.records), vec![id(1)]);
    let batch = q.claim_batch(10, 1000).unwrap().unwrap();
    assert_eq!(ids(&batch.records), vec![id(2)]);
    q.integrity_check().unwrap();
}

#[test]
fn ack_affects_only_the_named_records_of_that_batch() {
    let s = store();
    let q = open(&s.path);
    for n in 1..=4 {
        q.enqueue(&record(n)).unwrap();
    }
    let a = q.claim_batch(2, u64::MAX).unwrap().unwrap();
    let b = q.claim_batch(2, u64::MAX).unwrap().unwrap();
    // Ids of batch b acknowledged under batch a's id change nothing.
    assert_eq!(q.ack(a.id, &ids(&b.records)).unwrap(), 0);
    // An unknown batch changes nothing.
    assert_eq!(q.ack(Uuid::now_v7(), &ids(&a.records)).unwrap(), 0);
    // Only the first record of batch a is acknowledged.
    assert_eq!(q.ack(a.id, &[id(1)]).unwrap(), 1);
    // A repeated acknowledgement is harmless.
    assert_eq!(q.ack(a.id, &[id(1)]).unwrap(), 0);
    let stats = q.stats().unwrap();
    assert_eq!((stats.acked, stats.claimed, stats.pending), (1, 3, 0));
    // The rest of batch a goes back; batch b is untouched.
    assert_eq!(q.release(a.id).unwrap(), 1);
    let stats = q.stats().unwrap();
    assert_eq!((stats.acked, stats.claimed, stats.pending), (1, 2, 1));
    q.integrity_check().unwrap();
}

#[test]
fn a_released_batch_is_claimed_again_in_its_order() {
    let s = store();
    let q = open(&s.path);
    for n in 1..=3 {
        q.enqueue(&record(n)).unwrap();
    }
    let batch = q.claim_batch(2, u64::MAX).unwrap().unwrap();
    assert_eq!(q.release(batch.id).unwrap(), 2);
    assert_eq!(q.release(batch.id).unwrap(), 0);
    let again = q.claim_batch(10, u64::MAX).unwrap().unwrap();
    assert_eq!(ids(&again.records), vec![id(1), id(2), id(3)]);
    assert_ne!(again.id, batch.id, "a new batch gets a new idempotency key");
    q.integrity_check().unwrap();
}

#[test]
fn a_dead_lettered_record_stays_visible_and_can_be_retried() {
    let s = store();
    let q = open(&s.path);
    for n in 1..=3 {
        q.enqueue(&record(n)).unwrap();
    }
    let batch = q.claim_batch(1, u64::MAX).unwrap().unwrap();
    assert!(q.dead_letter(id(1), "rejected: survey unknown").unwrap());
    assert!(q.dead_letter(id(2), "rejected: too large").unwrap());
    // The dead record is no longer part of its batch.
    assert_eq!(q.ack(batch.id, &[id(1)]).unwrap(), 0);
    // An unknown id is not an error.
    assert!(!q.dead_letter(id(99), "x").unwrap());

    let dead = q.export(Some(RowState::Dead)).unwrap().rows;
    assert_eq!(dead.len(), 2);
    assert_eq!(
        dead[0].dead_reason.as_deref(),
        Some("rejected: survey unknown")
    );
    // The queue behind the dead records keeps moving.
    let next = q.claim_batch(10, u64::MAX).unwrap().unwrap();
    assert_eq!(ids(&next.records), vec![id(3)]);

    assert_eq!(q.retry_dead(Some(id(2))).unwrap(), 1);
    assert_eq!(q.stats().unwrap().dead, 1);
    assert_eq!(q.retry_dead(None).unwrap(), 1);
    let stats = q.stats().unwrap();
    assert_eq!((stats.dead, stats.pending), (0, 2));
    let retried = q.claim_batch(10, u64::MAX).unwrap().unwrap();
    assert_eq!(ids(&retried.records), vec![id(1), id(2)]);
    q.integrity_check().unwrap();
}

#[test]
fn purge_removes_only_acknowledged_records_older_than_the_age() {
    let s = store();
    let q = open(&s.path);
    for n in 1..=4 {
        q.enqueue(&record(n)).unwrap();
    }
    let batch = q.claim_batch(2, u64::MAX).unwrap().unwrap();
    q.ack(batch.id, &ids(&batch.records)).unwrap();
    q.claim_batch(1, u64::MAX).unwrap().unwrap(); // record 3 stays claimed
    q.dead_letter(id(4), "refused").unwrap();

    let week = Duration::from_secs(7 * 24 * 3600);
    // Just acknowledged: not old enough.
    assert_eq!(
        q.purge_acked_older_than(week, SystemTime::now()).unwrap(),
        0
    );
    // A week and a day later, the two acknowledged records go; nothing else does.
    let later = SystemTime::now() + week + Duration::from_secs(24 * 3600);
    assert_eq!(q.purge_acked_older_than(week, later).unwrap(), 2);
    let stats = q.stats().unwrap();
    assert_eq!((stats.acked, stats.claimed, stats.dead), (0, 1, 1));
    q.integrity_check().unwrap();
}

#[test]
fn a_batch_claimed_by_a_process_that_died_is_claimable_again() {
    let s = store();
    let q = open(&s.path);
    for n in 1..=3 {
        q.enqueue(&record(n)).unwrap();
    }
    let lost = q.claim_batch(2, u64::MAX).unwrap().unwrap();
    // The process stops mid-upload: no ack, no release.
    drop(q);

    let opened = Queue::open(&s.path).unwrap();
    assert_eq!(opened.released_claims, 2);
    let q = opened.queue;
    let batch = q.claim_batch(10, u64::MAX).unwrap().unwrap();
    assert_eq!(ids(&batch.records), vec![id(1), id(2), id(3)]);
    // The old batch id no longer acknowledges anything.
    assert_eq!(q.ack(lost.id, &[id(1)]).unwrap(), 0);
    q.integrity_check().unwrap();
}

#[test]
fn a_corrupt_file_is_moved_to_quarantine_intact_and_a_fresh_store_works() {
    let s = store();
    std::fs::create_dir_all(s.path.parent().unwrap()).unwrap();
    let garbage: Vec<u8> = (0..20_000u32).map(|i| (i * 7 + 13) as u8).collect();
    std::fs::write(&s.path, &garbage).unwrap();

    let opened = Queue::open(&s.path).unwrap();
    let moved = opened.quarantined.clone().expect("the file is quarantined");
    assert_eq!(
        moved.parent().unwrap(),
        s.path.parent().unwrap().join("quarantine")
    );
    assert!(moved
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("responses.db."));
    assert_eq!(
        std::fs::read(&moved).unwrap(),
        garbage,
        "kept byte for byte"
    );

    let q = opened.queue;
    q.enqueue(&record(1)).unwrap();
    assert_eq!(q.stats().unwrap().pending, 1);
    q.integrity_check().unwrap();
    drop(q);
    // The fresh store opens cleanly next time.
    let q = open(&s.path);
    assert_eq!(q.stats().unwrap().pending, 1);
}

#[test]
fn a_database_with_damaged_pages_is_quarantined() {
    let s = store();
    let q = open(&s.path);
    for n in 1..=50 {
        q.enqueue(&record_with_text(n, 2000)).unwrap();
    }
    drop(q);
    // Overwrite the middle of the file (table pages) but keep the header valid.
    let mut bytes = std::fs::read(&s.path).unwrap();
    let page = 4096;
    assert!(bytes.len() > page * 10);
    for b in &mut bytes[page * 2..page * 6] {
        *b = 0xA5;
    }
    std::fs::write(&s.path, &bytes).unwrap();

    let opened = Queue::open(&s.path).unwrap();
    let moved = opened.quarantined.expect("the damaged file is quarantined");
    assert_eq!(std::fs::read(&moved).unwrap(), bytes);
    opened.queue.enqueue(&record(1)).unwrap();
    opened.queue.integrity_check().unwrap();
}

#[test]
fn a_store_from_a_newer_release_is_refused_and_left_untouched() {
    let s = store();
    std::fs::create_dir_all(s.path.parent().unwrap()).unwrap();
    {
        let conn = rusqlite::Connection::open(&s.path).unwrap();
        conn.execute_batch(
            "CREATE TABLE responses (id TEXT PRIMARY KEY, future_column BLOB);
             INSERT INTO responses VALUES ('a', x'00');
             PRAGMA user_version = 99;",
        )
        .unwrap();
    }
    let before = std::fs::read(&s.path).unwrap();

    let err = Queue::open(&s.path).unwrap_err();
    assert!(
        matches!(err, StorageError::NewerVersion { found: 99, .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("99"), "{message}");
    assert!(
        message.contains(&earshot::storage::LATEST_VERSION.to_string()),
        "{message}"
    );
    assert!(message.contains("update the kiosk software"), "{message}");

    assert_eq!(
        std::fs::read(&s.path).unwrap(),
        before,
        "the file is unchanged"
    );
    assert!(!s.path.parent().unwrap().join("quarantine").exists());
    let conn = rusqlite::Connection::open(&s.path).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

#[test]
fn a_full_store_refuses_new_records_keeps_old_ones_and_recovers_when_raised() {
    let s = store();
    let opened = Queue::open_with(
        &s.path,
        QueueOptions {
            max_db_bytes: Some(100 * 1024),
            ..QueueOptions::default()
        },
    )
    .unwrap();
    let q = opened.queue;
    let mut stored = Vec::new();
    let mut refused = None;
    for n in 1..=200 {
        let r = record_with_text(n, 3000);
        match q.enqueue(&r) {
            Ok(EnqueueOutcome::Stored) => stored.push(r),
            Ok(EnqueueOutcome::Duplicate) => panic!("no duplicates here"),
            Err(e) => {
                refused = Some((r, e));
                break;
            }
        }
    }
    let (refused, err) = refused.expect("the limit is reached");
    assert!(err.is_full(), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("is full"), "{message}");
    assert!(message.contains("MB allowed"), "{message}");
    assert!(message.contains("Fix:"), "{message}");
    assert!(!stored.is_empty());

    // Everything stored before is still there and readable, and the queue still works for
    // everything that does not need more room.
    let export = q.export(Some(RowState::Pending)).unwrap();
    assert_eq!(export.rows.len(), stored.len());
    for (row, r) in export.rows.iter().zip(&stored) {
        assert_eq!(row.record_json, serde_json::to_string(r).unwrap());
    }
    let batch = q.claim_batch(2, u64::MAX).unwrap().unwrap();
    q.release(batch.id).unwrap();
    q.integrity_check().unwrap();

    // More room, same open queue: the refused record is stored now, once.
    q.set_max_db_bytes(Some(10 * 1024 * 1024)).unwrap();
    assert_eq!(q.enqueue(&refused).unwrap(), EnqueueOutcome::Stored);
    assert_eq!(q.stats().unwrap().pending as usize, stored.len() + 1);
    q.integrity_check().unwrap();
}

/// Whether files can be created in `dir` despite its permission bits (root can).
fn can_write_into(dir: &Path) -> bool {
    let probe = dir.join("probe");
    let ok = std::fs::write(&probe, b"x").is_ok();
    let _ = std::fs::remove_file(&probe);
    ok
}

#[test]
fn a_read_only_store_reports_read_only_and_stays_readable() {
    use std::os::unix::fs::PermissionsExt;
    let s = store();
    let q = open(&s.path);
    q.enqueue(&record(1)).unwrap();
    q.enqueue(&record(2)).unwrap();
    drop(q);
    let dir = s.path.parent().unwrap().to_path_buf();
    std::fs::set_permissions(&s.path, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();

    // What this proves depends on who runs it. As an ordinary user, the permission bits
    // stop writes, so opening the store for writing must fail with ReadOnly and a message
    // saying so. As root (as in CI containers), permission bits do not stop writes, so
    // that half cannot be shown here; the rest of the test then proves that a store SQLite
    // can only read (opened read-only, as on a write-locked card) turns every write into
    // ReadOnly while what is stored stays readable.
    if !can_write_into(&dir) {
        let err = Queue::open(&s.path).unwrap_err();
        assert!(err.is_read_only(), "{err:?}");
        assert!(err.to_string().contains("read-only"), "{err}");
    }

    let q = Queue::open_read_only(&s.path).unwrap();
    let err = q.enqueue(&record(3)).unwrap_err();
    assert!(err.is_read_only(), "{err:?}");
    assert!(err.to_string().contains("Fix:"), "{err}");
    assert!(q.claim_batch(10, u64::MAX).unwrap_err().is_read_only());
    assert_eq!(q.stats().unwrap().pending, 2);
    let export = q.export(None).unwrap();
    assert_eq!(export.rows.len(), 2);
    q.integrity_check().unwrap();
    drop(q);

    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&s.path, std::fs::Permissions::from_mode(0o644)).unwrap();
    // Writable again: the kiosk carries on with everything intact.
    let q = open(&s.path);
    q.enqueue(&record(3)).unwrap();
    assert_eq!(q.stats().unwrap().pending, 3);
    q.integrity_check().unwrap();
    let _keep = &s.dir;
}

#[test]
fn large_text_and_emoji_round_trip_byte_identical() {
    let s = store();
    let q = open(&s.path);
    let mut big = record(1);
    let text: String = "Très bien 👍🏽 — 日本語 «quotes» \"escaped\" \\ \n\t\u{0}\u{1F600} "
        .chars()
        .cycle()
        .take(1_000_000)
        .collect();
    big.answers.push(Answer {
        step_id: "comment".into(),
        at_ms: 5,
        value: AnswerValue::Text { text },
    });
    big.answers.push(Answer {
        step_id: "contact".into(),
        at_ms: 9,
        value: AnswerValue::Contact {
            name: "Zoë 🦊 O'Brien".into(),
            reach: "zoë@example.org".into(),
            consent_text: "Oui, contactez-moi ✅".into(),
        },
    });
    let json = serde_json::to_string(&big).unwrap();
    assert!(json.len() > 1_000_000);
    q.enqueue(&big).unwrap();
    drop(q);

    let q = open(&s.path);
    let export = q.export(None).unwrap();
    assert_eq!(export.rows[0].record_json.as_bytes(), json.as_bytes());
    let batch = q.claim_batch(1, 1).unwrap().unwrap();
    assert_eq!(batch.records, vec![big]);
    assert_eq!(batch.bytes, json.len() as u64);
    q.integrity_check().unwrap();
}

#[test]
fn a_newer_store_with_unsaved_wal_changes_is_not_checkpointed_when_refused() {
    let s = store();
    std::fs::create_dir_all(s.path.parent().unwrap()).unwrap();
    {
        let conn = rusqlite::Connection::open(&s.path).unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        // Leave the changes in the WAL file, as a newer release stopped by a power cut would.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )
        .unwrap();
        conn.execute_batch(
            "CREATE TABLE responses (id TEXT PRIMARY KEY);
             INSERT INTO responses VALUES ('a');
             PRAGMA user_version = 7;",
        )
        .unwrap();
    }
    let wal = s.path.with_file_name("responses.db-wal");
    let main_before = std::fs::read(&s.path).unwrap();
    let wal_before = std::fs::read(&wal).unwrap();
    assert!(!wal_before.is_empty());

    let err = Queue::open(&s.path).unwrap_err();
    assert!(
        matches!(err, StorageError::NewerVersion { found: 7, .. }),
        "{err:?}"
    );
    assert_eq!(std::fs::read(&s.path).unwrap(), main_before);
    assert_eq!(std::fs::read(&wal).unwrap(), wal_before);
}

#[test]
fn the_queue_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Queue>();
    let s = store();
    let q = std::sync::Arc::new(open(&s.path));
    let writers: Vec<_> = (0..4u64)
        .map(|t| {
            let q = q.clone();
            std::thread::spawn(move || {
                for n in 0..25 {
                    q.enqueue(&record(t * 100 + n)).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    assert_eq!(q.stats().unwrap().pending, 100);
    q.integrity_check().unwrap();
}

/// Run by `a_kill_9_after_claiming_loses_nothing` in a child process: stores three records,
/// claims two, says so, and waits to be killed. Does nothing when run on its own.
#[test]
#[ignore = "helper for a_kill_9_after_claiming_loses_nothing"]
fn helper_claims_then_waits_to_be_killed() {
    let Some(path) = std::env::var_os("EARSHOT_QUEUE_HELPER_DB") else {
        return;
    };
    let q = open(Path::new(&path));
    for n in 1..=3 {
        q.enqueue(&record(n)).unwrap();
    }
    let batch = q.claim_batch(2, u64::MAX).unwrap().unwrap();
    println!("CLAIMED {}", batch.id);
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn a_kill_9_after_claiming_loses_nothing() {
    use std::io::BufRead;
    let s = store();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            // As the harness names it in this binary: with its module.
            "storage_queue::helper_claims_then_waits_to_be_killed",
            "--ignored",
            "--nocapture",
        ])
        .env("EARSHOT_QUEUE_HELPER_DB", &s.path)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let claimed = std::io::BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix("CLAIMED ").map(str::to_owned));
    // SIGKILL: no destructors, no checkpoint, the WAL left as it is.
    child.kill().unwrap();
    child.wait().unwrap();
    let claimed: Uuid = claimed
        .expect("the helper claimed a batch")
        .parse()
        .unwrap();

    let opened = Queue::open(&s.path).unwrap();
    assert_eq!(opened.quarantined, None);
    assert_eq!(opened.released_claims, 2);
    let q = opened.queue;
    assert_eq!(q.ack(claimed, &[id(1)]).unwrap(), 0);
    let batch = q.claim_batch(10, u64::MAX).unwrap().unwrap();
    assert_eq!(ids(&batch.records), vec![id(1), id(2), id(3)]);
    q.integrity_check().unwrap();
}

#[test]
fn a_corrupt_file_goes_to_quarantine_with_its_wal_and_twice_in_a_row_keeps_both() {
    let s = store();
    let dir = s.path.parent().unwrap().to_path_buf();
    std::fs::create_dir_all(&dir).unwrap();
    let wal = dir.join("responses.db-wal");
    let mut moved = Vec::new();
    for round in 0..2u8 {
        std::fs::write(&s.path, vec![0x5A ^ round; 9000]).unwrap();
        std::fs::write(&wal, vec![0xC3 ^ round; 500]).unwrap();
        let opened = Queue::open(&s.path).unwrap();
        let main = opened.quarantined.clone().unwrap();
        drop(opened);
        let mut main_wal = main.as_os_str().to_owned();
        main_wal.push("-wal");
        assert_eq!(std::fs::read(&main).unwrap(), vec![0x5A ^ round; 9000]);
        assert_eq!(std::fs::read(&main_wal).unwrap(), vec![0xC3 ^ round; 500]);
        moved.push(main);
    }
    assert_ne!(
        moved[0], moved[1],
        "the second quarantine does not overwrite the first"
    );
    let q = open(&s.path);
    q.enqueue(&record(1)).unwrap();
    q.integrity_check().unwrap();
}
