//! Response records made by hand, for tests that store records without running visits: the
//! kiosk's tests of its store and of its screens when the store fails. Not for the programs
//! themselves.

use uuid::Uuid;

use crate::record::{Answer, AnswerValue, ClockInfo, Flags, Outcome, ResponseRecord};

/// A completed response with no answers; `n` makes its id and visit number.
pub fn record(n: u64) -> ResponseRecord {
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
            boot_id: None,
            started_boot_ms: None,
            finished_boot_ms: None,
        },
        outcome: Outcome::Completed,
        service: None,
        answers: vec![],
        flags: Flags::default(),
    }
}

/// The same with a free-text comment.
pub fn record_with_comment(n: u64, text: String) -> ResponseRecord {
    let mut r = record(n);
    r.answers.push(Answer {
        step_id: "comment".into(),
        at_ms: 10,
        value: AnswerValue::Text { text },
    });
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_told_apart_by_their_number_and_read_back_as_written() {
        let (one, two) = (record(1), record(2));
        assert_ne!(one.id, two.id);
        assert_eq!(one.clock.visit_number, 1);
        assert_eq!(one.clock.duration_ms(), 1000);
        let json = serde_json::to_string(&one).unwrap();
        assert_eq!(serde_json::from_str::<ResponseRecord>(&json).unwrap(), one);
    }

    #[test]
    fn a_comment_is_the_records_one_answer() {
        let r = record_with_comment(3, "ż".repeat(5));
        assert_eq!(r.id, record(3).id);
        assert_eq!(
            r.answer("comment"),
            Some(&AnswerValue::Text {
                text: "żżżżż".into()
            })
        );
        assert!(r.has_feedback());
    }
}
