//! Tests that need the store's internals: migrations from an older layout, and records that
//! can no longer be read.

use std::time::{Duration, UNIX_EPOCH};

use rusqlite::Connection;
use uuid::Uuid;

use super::schema::{self, LATEST_VERSION};
use super::{Queue, RowState};
use crate::core::record::ResponseRecord;
use earshot_protocol::testing::record;

fn insert_v1(conn: &Connection, r: &ResponseRecord, state: &str, batch: Option<&str>) {
    let json = serde_json::to_string(r).unwrap();
    conn.execute(
        "INSERT INTO responses (id, record_json, size_bytes, created_ms, state, batch_id)
         VALUES (?1, ?2, ?3, 1000, ?4, ?5)",
        rusqlite::params![r.id.to_string(), json, json.len() as i64, state, batch],
    )
    .unwrap();
}

#[test]
fn a_version_1_store_is_migrated_to_the_latest_with_its_rows_intact() {
    assert_eq!(LATEST_VERSION, 4);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("responses.db");
    {
        let mut conn = Connection::open(&path).unwrap();
        schema::migrate(&mut conn, 1).unwrap();
        assert_eq!(schema::user_version(&conn).unwrap(), 1);
        insert_v1(&conn, &record(1), "pending", None);
        insert_v1(&conn, &record(2), "claimed", Some("old-batch"));
        insert_v1(&conn, &record(3), "dead", None);
        conn.execute(
            "UPDATE responses SET dead_reason = 'refused' WHERE id = ?1",
            [record(3).id.to_string()],
        )
        .unwrap();
    }

    let opened = Queue::open(&path).unwrap();
    assert_eq!(opened.quarantined, None);
    assert_eq!(opened.released_claims, 1);
    let q = opened.queue;
    let export = q.export(None).unwrap();
    assert!(export.problems.is_empty());
    let states: Vec<_> = export.rows.iter().map(|r| r.state).collect();
    assert_eq!(
        states,
        [RowState::Pending, RowState::Pending, RowState::Dead]
    );
    assert_eq!(export.rows[2].dead_reason.as_deref(), Some("refused"));
    for (row, n) in export.rows.iter().zip(1..) {
        assert_eq!(row.record_json, serde_json::to_string(&record(n)).unwrap());
    }
    let batch = q.claim_batch(10, u64::MAX).unwrap().unwrap();
    assert_eq!(batch.records, vec![record(1), record(2)]);
    q.integrity_check().unwrap();
    drop(q);

    // Version 2's column and index are there, and the claim counted as an attempt.
    let conn = Connection::open(&path).unwrap();
    assert_eq!(schema::user_version(&conn).unwrap(), LATEST_VERSION);
    let attempts: i64 = conn
        .query_row(
            "SELECT attempts FROM responses WHERE id = ?1",
            [record(1).id.to_string()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(attempts, 1);
    let index: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'responses_by_state'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(index, 1);
}

fn with_receipt(n: u64, transaction: Option<&str>, feedback: bool) -> ResponseRecord {
    use crate::core::record::{Answer, AnswerValue};
    let mut r = record(n);
    r.answers.push(Answer {
        step_id: "receipt".into(),
        at_ms: 5,
        value: AnswerValue::Receipt {
            transaction: transaction.map(str::to_string),
            pattern: Some("p".into()),
            store: None,
            till: None,
            txn: None,
            date: None,
            time: None,
            code: transaction
                .is_none()
                .then(|| "0412 2611 2311 4107".to_string()),
        },
    });
    if feedback {
        r.answers.push(Answer {
            step_id: "overall".into(),
            at_ms: 9,
            value: AnswerValue::Rating {
                scale: "smiley5".into(),
                value: 4,
            },
        });
    }
    r
}

#[test]
fn a_version_2_store_with_a_receipt_code_is_migrated_and_remembers_new_receipts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("responses.db");
    // Version 2 as released: its records kept the receipt code as read.
    let old = with_receipt(1, None, true);
    {
        let mut conn = Connection::open(&path).unwrap();
        schema::migrate(&mut conn, 2).unwrap();
        insert_v1(&conn, &old, "pending", None);
    }
    let q = Queue::open(&path).unwrap().queue;
    let day = std::time::Duration::from_secs(86_400);
    let now = std::time::SystemTime::now();
    assert!(q.used_receipts(day * 31, now).unwrap().is_empty());
    let batch = q.claim_batch(10, u64::MAX).unwrap().unwrap();
    assert_eq!(
        batch.records,
        vec![old],
        "the old record reads back unchanged"
    );

    q.enqueue(&with_receipt(2, Some("hmac-sha256:aa"), true))
        .unwrap();
    // Scanned but nothing said: the receipt can still be used.
    q.enqueue(&with_receipt(3, Some("hmac-sha256:bb"), false))
        .unwrap();
    // A second response for the same receipt is kept all the same (nothing is lost).
    q.enqueue(&with_receipt(4, Some("hmac-sha256:aa"), true))
        .unwrap();
    assert_eq!(q.stats().unwrap().pending, 3);
    assert_eq!(
        q.used_receipts(day * 31, now).unwrap(),
        vec!["hmac-sha256:aa".to_string()]
    );
    drop(q);

    let conn = Connection::open(&path).unwrap();
    assert_eq!(schema::user_version(&conn).unwrap(), LATEST_VERSION);
    let first: String = conn
        .query_row(
            "SELECT response_id FROM receipts WHERE transaction_key = 'hmac-sha256:aa'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(first, record(2).id.to_string());
    drop(conn);

    // Remembered for the window, then forgotten.
    let q = Queue::open(&path).unwrap().queue;
    let later = now + day * 40;
    assert!(q.used_receipts(day * 31, later).unwrap().is_empty());
    assert_eq!(q.forget_receipts_older_than(day * 31, now).unwrap(), 0);
    assert_eq!(q.forget_receipts_older_than(day * 31, later).unwrap(), 1);
    assert!(q.used_receipts(day * 31, now).unwrap().is_empty());
}

#[test]
fn a_version_3_store_keeps_the_first_synchronised_reading_of_each_boot() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("responses.db");
    {
        let mut conn = Connection::open(&path).unwrap();
        schema::migrate(&mut conn, 3).unwrap();
    }
    let q = Queue::open(&path).unwrap().queue;
    let (boot, other) = (Uuid::from_u128(1), Uuid::from_u128(2));
    let synced = UNIX_EPOCH + Duration::from_secs(1_795_425_730);
    assert!(q
        .remember_boot_sync(boot, Duration::from_millis(61_250), synced)
        .unwrap());
    // A later run of the same boot finds it kept and leaves it.
    assert!(!q
        .remember_boot_sync(
            boot,
            Duration::from_secs(3600),
            synced + Duration::from_secs(3539)
        )
        .unwrap());
    drop(q);
    let q = Queue::open(&path).unwrap().queue;
    let kept = q.boot_syncs(&[other, boot]).unwrap();
    assert_eq!(
        kept,
        [earshot_protocol::BootSync {
            boot_id: boot,
            boot_ms: 61_250,
            at: "2026-11-23T09:22:10.000Z".into()
        }]
    );
    let year = Duration::from_secs(365 * 24 * 3600);
    assert_eq!(q.forget_boot_syncs_older_than(year, synced).unwrap(), 0);
    assert_eq!(
        q.forget_boot_syncs_older_than(year, synced + year * 2)
            .unwrap(),
        1
    );
    assert!(q.boot_syncs(&[boot]).unwrap().is_empty());
}

#[test]
fn migrating_twice_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("responses.db");
    let mut conn = Connection::open(&path).unwrap();
    schema::migrate(&mut conn, LATEST_VERSION).unwrap();
    schema::migrate(&mut conn, LATEST_VERSION).unwrap();
    assert_eq!(schema::user_version(&conn).unwrap(), LATEST_VERSION);
}

#[test]
fn an_unreadable_stored_record_is_dead_lettered_and_does_not_block_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("responses.db");
    let q = Queue::open(&path).unwrap().queue;
    q.enqueue(&record(1)).unwrap();
    q.enqueue(&record(2)).unwrap();
    {
        // A record written by hand or by a faulty release: valid text, not a record.
        let conn = Connection::open(&path).unwrap();
        conn.execute(
            "UPDATE responses SET record_json = '{\"not\": \"a record\"}' WHERE id = ?1",
            [record(1).id.to_string()],
        )
        .unwrap();
    }
    let batch = q.claim_batch(1, u64::MAX).unwrap().unwrap();
    assert_eq!(batch.records, vec![record(2)]);
    let dead = q.export(Some(RowState::Dead)).unwrap().rows;
    assert_eq!(dead.len(), 1);
    assert_eq!(
        dead[0].record_json, "{\"not\": \"a record\"}",
        "kept as it was"
    );
    assert!(dead[0]
        .dead_reason
        .as_deref()
        .unwrap()
        .starts_with("stored record cannot be read"));
    q.integrity_check().unwrap();
}

#[test]
fn a_full_store_names_its_size_and_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("responses.db");
    let q = Queue::open(&path).unwrap().queue;
    q.set_max_db_bytes(Some(64 * 1024)).unwrap();
    let mut big = record(1);
    big.reference = "x".repeat(200_000);
    let err = q.enqueue(&big).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("MB used of 0.1 MB allowed"), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
}

#[test]
fn opening_a_missing_store_for_reading_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("responses.db");
    let err = Queue::open_read_only(&path).unwrap_err();
    assert!(matches!(err, super::StorageError::Io { .. }), "{err:?}");
    assert!(!path.exists());
}
