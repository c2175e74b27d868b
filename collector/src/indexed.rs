//! What results ask about a response, taken from its record once, when it is stored, so that
//! no page ever parses JSON row by row. Pure: no I/O.
//!
//! Invariants: the main rating is the record's first rating answer; personal data (free text
//! and contact details) is kept apart from everything else, so that it can be shown only to
//! those allowed and erased on its own.

use earshot_protocol::{AnswerValue, ResponseRecord};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedResponse {
    pub reference: String,
    pub language: String,
    pub misuse: bool,
    pub service: Option<String>,
    /// The main rating: scale name and value.
    pub rating: Option<(String, i32)>,
    /// The first 0–10 "would you recommend" answer, main rating or not: NPS is asked as a
    /// question of its own as often as it is the main one.
    pub nps: Option<i32>,
    /// (step id, option id) of every option chosen at a choice, service or reasons step.
    pub choices: Vec<(String, String)>,
    /// (step id, 1–5) of every agree/disagree answer.
    pub agreements: Vec<(String, i32)>,
    pub personal: Personal,
}

/// The parts of a response that are personal data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Personal {
    /// (step id, text) of every free-text answer.
    pub texts: Vec<(String, String)>,
    /// (step id, name, how to reach them, the consent text shown).
    pub contacts: Vec<(String, String, String, String)>,
}

impl IndexedResponse {
    pub fn of(record: &ResponseRecord) -> IndexedResponse {
        let mut indexed = IndexedResponse {
            reference: record.reference.clone(),
            language: record.language.clone(),
            misuse: record.flags.suspected_misuse,
            service: record.service.clone(),
            rating: None,
            nps: None,
            choices: Vec::new(),
            agreements: Vec::new(),
            personal: Personal::default(),
        };
        for answer in &record.answers {
            let step = answer.step_id.clone();
            if let AnswerValue::Rating { scale, value } = &answer.value {
                if scale == "nps" && indexed.nps.is_none() {
                    indexed.nps = Some(*value);
                }
            }
            match &answer.value {
                AnswerValue::Rating { scale, value } if indexed.rating.is_none() => {
                    indexed.rating = Some((scale.clone(), *value))
                }
                AnswerValue::Choice { options } => indexed
                    .choices
                    .extend(options.iter().map(|o| (step.clone(), o.clone()))),
                AnswerValue::Agree { value } => indexed.agreements.push((step, *value)),
                AnswerValue::Text { text } => indexed.personal.texts.push((step, text.clone())),
                AnswerValue::Contact {
                    name,
                    reach,
                    consent_text,
                } => indexed.personal.contacts.push((
                    step,
                    name.clone(),
                    reach.clone(),
                    consent_text.clone(),
                )),
                AnswerValue::Rating { .. } | AnswerValue::Receipt { .. } | AnswerValue::Skipped => {
                }
            }
        }
        indexed.choices.sort();
        indexed.choices.dedup();
        indexed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_answer_lands_in_its_place_and_personal_data_apart() {
        let record: ResponseRecord = serde_json::from_value(serde_json::json!({
            "id": "0192f0c4-7d2a-7b3e-8f00-000000000001", "reference": "K7M2-Q",
            "survey_id": "shop", "survey_version": "1", "language": "cy", "site_id": "s",
            "device_id": "d", "started_at": "2026-11-23T10:00:00Z",
            "finished_at": "2026-11-23T10:00:20Z",
            "clock": {"synchronized": true, "started_mono_ms": 1, "finished_mono_ms": 2, "visit_number": 1},
            "outcome": "completed", "service": "checkout",
            "answers": [
                {"step_id": "rating", "at_ms": 1, "value": {"type": "rating", "scale": "smiley5", "value": 2}},
                {"step_id": "why", "at_ms": 2, "value": {"type": "choice", "options": ["queue", "staff", "queue"]}},
                {"step_id": "nps", "at_ms": 3, "value": {"type": "rating", "scale": "nps", "value": 9}},
                {"step_id": "clean", "at_ms": 4, "value": {"type": "agree", "value": 4}},
                {"step_id": "comment", "at_ms": 5, "value": {"type": "text", "text": "Slow"}},
                {"step_id": "contact", "at_ms": 6, "value": {"type": "contact", "name": "Ann",
                    "reach": "07700 900123", "consent_text": "You may contact me"}},
                {"step_id": "receipt", "at_ms": 7, "value": {"type": "skipped"}}
            ],
            "flags": {"suspected_misuse": true}
        }))
        .unwrap();
        let i = IndexedResponse::of(&record);
        assert_eq!(i.rating, Some(("smiley5".into(), 2)));
        assert_eq!(i.nps, Some(9));
        assert_eq!(i.service.as_deref(), Some("checkout"));
        assert!(i.misuse);
        assert_eq!(i.language, "cy");
        assert_eq!(
            i.choices,
            [
                ("why".into(), "queue".into()),
                ("why".into(), "staff".into())
            ]
        );
        assert_eq!(i.agreements, [("clean".to_string(), 4)]);
        assert_eq!(
            i.personal.texts,
            [("comment".to_string(), "Slow".to_string())]
        );
        assert_eq!(i.personal.contacts[0].2, "07700 900123");
    }
}
