//! Many judged responses stored at once, in one transaction per call: for a store made large
//! in one go, such as the results benchmark's year of a deployment.
//!
//! Invariant: each response is written exactly as ingest writes it, through the same code
//! (`insert_response`): the same row, indexed columns and child rows, and a response whose
//! id is stored already is left as it is. Only the batch reply is not kept, since there was
//! no batch from a kiosk to answer.

use std::time::SystemTime;

use earshot_protocol::time::rfc3339;
use rusqlite::TransactionBehavior;
use uuid::Uuid;

use super::{insert_response, SqliteStore, StoreError};
use crate::ingest::Accepted;

/// A response to load: judged as `ingest::judge` judges one, with the device that sent it,
/// the batch it came in and when the collector received it.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub accepted: Accepted,
    pub device_id: String,
    pub batch_id: Uuid,
    pub received_at: SystemTime,
}

impl SqliteStore {
    /// Stores `responses` in one transaction: all of them, or on an error none. Returns how
    /// many were new.
    pub fn load(&self, responses: &[Loaded]) -> Result<u64, StoreError> {
        let mut conn = self.lock();
        let result = (|| -> rusqlite::Result<u64> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut stored = 0;
            for r in responses {
                if insert_response(
                    &tx,
                    &r.device_id,
                    &r.batch_id.to_string(),
                    &rfc3339(r.received_at),
                    &r.accepted,
                )? {
                    stored += 1;
                }
            }
            tx.commit()?;
            Ok(stored)
        })();
        result.map_err(|e| self.fail(e))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::ingest::TimeBasis;
    use crate::store::{Results, ResultsFilter, Store};

    fn loaded(started: SystemTime, text: &str) -> Loaded {
        let record: earshot_protocol::ResponseRecord = serde_json::from_value(serde_json::json!({
            "id": Uuid::now_v7(), "reference": "K7M2-Q", "survey_id": "shop",
            "survey_version": "1", "language": "en", "site_id": "library", "device_id": "kiosk-1",
            "started_at": rfc3339(started), "finished_at": rfc3339(started),
            "clock": {"synchronized": true, "started_mono_ms": 0, "finished_mono_ms": 9000, "visit_number": 1},
            "outcome": "completed", "service": "checkout",
            "answers": [
                {"step_id": "rating", "at_ms": 1, "value": {"type": "rating", "scale": "smiley5", "value": 1}},
                {"step_id": "why", "at_ms": 2, "value": {"type": "choice", "options": ["queue"]}},
                {"step_id": "comment", "at_ms": 3, "value": {"type": "text", "text": text}}
            ],
            "flags": {"suspected_misuse": false}
        }))
        .unwrap();
        Loaded {
            accepted: Accepted {
                index: 0,
                record_json: serde_json::to_string(&record).unwrap(),
                record,
                started_at: started,
                finished_at: started,
                basis: TimeBasis::Device,
            },
            device_id: "kiosk-1".into(),
            batch_id: Uuid::now_v7(),
            received_at: started + Duration::from_secs(60),
        }
    }

    #[test]
    fn loaded_responses_are_stored_and_counted_as_ingested_ones_are() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("c.db")).unwrap();
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        let first = loaded(start, "Slow at the till");
        assert_eq!(
            store
                .load(&[first.clone(), loaded(start, "Again")])
                .unwrap(),
            2
        );
        // The same id again is left as it is.
        assert_eq!(store.load(&[first]).unwrap(), 0);
        let a = store
            .aggregates(&ResultsFilter::days(
                jiff::civil::date(2026, 1, 1),
                jiff::civil::date(2027, 12, 31),
            ))
            .unwrap();
        assert_eq!((a.total, a.completed), (2, 2));
        assert_eq!(a.ratings, [("library".into(), "smiley5".into(), 1, 2)]);
        assert_eq!(
            a.choices,
            [(
                "shop".into(),
                "why".into(),
                "queue".into(),
                "unhappy".into(),
                2
            )]
        );
        assert_eq!(a.comments.len(), 2);
        assert_eq!(a.services, ["checkout"]);
        let mut exported = Vec::new();
        let handed = store
            .each_response_since(None, &mut |r| {
                exported.push(r.device_id.to_string());
                Ok(())
            })
            .unwrap();
        assert_eq!((handed, exported.len()), (2, 2));
    }
}
