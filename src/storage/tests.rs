//! Tests that need the store's internals: migrations from an older layout, and records that
//! can no longer be read.

use rusqlite::Connection;
use uuid::Uuid;

use super::schema::{self, LATEST_VERSION};
use super::{Queue, RowState};
use crate::core::record::{ClockInfo, Flags, Outcome, ResponseRecord};

fn record(n: u64) -> ResponseRecord {
    ResponseRecord {
        id: Uuid::from_u64_pair(7, n),
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
            run_id: None,
        },
        outcome: Outcome::Completed,
        service: None,
        answers: vec![],
        flags: Flags::default(),
    }
}

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
    assert_eq!(LATEST_VERSION, 2);
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
    assert_eq!(schema::user_version(&conn).unwrap(), 2);
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
