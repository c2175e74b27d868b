//! Visitors' personal data (contact details and free text): erased on a visitor's request by
//! reference, erased on each site's schedule, and gathered for a subject access request.
//!
//! Invariants: erasing removes the contact details and free text everywhere the collector
//! keeps them (their own tables and the stored record, where they are blanked), keeps the
//! anonymous rest of the response (ratings, reasons, times), and writes an audit row in the
//! same transaction; nothing else of a response is ever deleted.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use earshot_protocol::time::{rfc3339, unix_ms};
use earshot_protocol::{AnswerValue, ResponseRecord};
use rusqlite::{params, OptionalExtension, Transaction};

use super::{SqliteStore, StoreError};
use crate::cases::{Retention, DEFAULT_TEAM};

/// What an erasure removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Erased {
    pub responses: usize,
    pub texts: usize,
    pub contacts: usize,
}

pub trait PersonalData: Send + Sync {
    /// Erases the contact details and free text of the responses with `reference`; `None`
    /// when no response has it.
    fn erase_reference(
        &self,
        reference: &str,
        by: &str,
        why: &str,
        now: SystemTime,
    ) -> Result<Option<Erased>, StoreError>;
    /// How long `site` keeps personal data (the defaults where it set nothing). Per site:
    /// the rules for its services do not change it.
    fn retention(&self, site: &str) -> Result<Retention, StoreError>;
    fn set_retention(&self, site: &str, retention: &Retention) -> Result<(), StoreError>;
    /// Erases what each site's retention rule says is due at `now`.
    fn apply_retention(&self, now: SystemTime) -> Result<Erased, StoreError>;
    /// Everything held about the responses with `reference`, as a text a person can read;
    /// `None` when no response has it. The export is audited under `by`.
    fn subject_access(
        &self,
        reference: &str,
        by: &str,
        now: SystemTime,
    ) -> Result<Option<String>, StoreError>;
}

/// Blanks the personal parts of a stored record, keeping every other answer.
fn blank(record_json: &str) -> Option<String> {
    let mut record: ResponseRecord = serde_json::from_str(record_json).ok()?;
    for answer in &mut record.answers {
        match &mut answer.value {
            AnswerValue::Text { text } => text.clear(),
            AnswerValue::Contact {
                name,
                reach,
                consent_text,
            } => {
                name.clear();
                reach.clear();
                consent_text.clear();
            }
            _ => {}
        }
    }
    serde_json::to_string(&record).ok()
}

/// Blanks only the contact details of a stored record.
fn blank_contacts(record_json: &str) -> Option<String> {
    let mut record: ResponseRecord = serde_json::from_str(record_json).ok()?;
    for answer in &mut record.answers {
        if let AnswerValue::Contact { name, reach, .. } = &mut answer.value {
            name.clear();
            reach.clear();
        }
    }
    serde_json::to_string(&record).ok()
}

fn blank_texts(record_json: &str) -> Option<String> {
    let mut record: ResponseRecord = serde_json::from_str(record_json).ok()?;
    for answer in &mut record.answers {
        if let AnswerValue::Text { text } = &mut answer.value {
            text.clear();
        }
    }
    serde_json::to_string(&record).ok()
}

#[derive(Clone, Copy)]
enum Part {
    Everything,
    Contacts,
    Texts,
}

/// Erases `part` of one response; returns (texts, contacts) removed.
fn erase_response(tx: &Transaction, id: &str, part: Part) -> rusqlite::Result<(usize, usize)> {
    let texts = match part {
        Part::Everything | Part::Texts => {
            tx.execute("DELETE FROM response_texts WHERE response_id = ?1", [id])?
        }
        Part::Contacts => 0,
    };
    let contacts = match part {
        Part::Everything | Part::Contacts => {
            tx.execute("DELETE FROM response_contacts WHERE response_id = ?1", [id])?
        }
        Part::Texts => 0,
    };
    let json: String = tx.query_row(
        "SELECT record_json FROM responses WHERE id = ?1",
        [id],
        |r| r.get(0),
    )?;
    let blanked = match part {
        Part::Everything => blank(&json),
        Part::Contacts => blank_contacts(&json),
        Part::Texts => blank_texts(&json),
    };
    if let Some(blanked) = blanked {
        tx.execute(
            "UPDATE responses SET record_json = ?2 WHERE id = ?1",
            params![id, blanked],
        )?;
    }
    Ok((texts, contacts))
}

fn case_of(tx: &Transaction, response_id: &str) -> rusqlite::Result<Option<i64>> {
    tx.query_row(
        "SELECT id FROM cases WHERE response_id = ?1",
        [response_id],
        |r| r.get(0),
    )
    .optional()
}

fn audit_erasure(
    tx: &Transaction,
    now: SystemTime,
    by: &str,
    case: Option<i64>,
    what: &str,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO audit (at, user_email, case_id, action, before, after)
         VALUES (?1, ?2, ?3, 'erased personal data', NULL, ?4)",
        params![rfc3339(now), by, case, what],
    )
    .map(|_| ())
}

fn responses_with(tx: &Transaction, reference: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = tx.prepare("SELECT id FROM responses WHERE reference = ?1 ORDER BY id")?;
    let ids = stmt
        .query_map([reference], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(ids)
}

impl PersonalData for SqliteStore {
    fn erase_reference(
        &self,
        reference: &str,
        by: &str,
        why: &str,
        now: SystemTime,
    ) -> Result<Option<Erased>, StoreError> {
        let mut conn = self.lock();
        let result = (|| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let ids = responses_with(&tx, reference)?;
            if ids.is_empty() {
                return Ok(None);
            }
            let mut erased = Erased::default();
            for id in &ids {
                let (texts, contacts) = erase_response(&tx, id, Part::Everything)?;
                erased.responses += 1;
                erased.texts += texts;
                erased.contacts += contacts;
                audit_erasure(
                    &tx,
                    now,
                    by,
                    case_of(&tx, id)?,
                    &format!(
                        "reference {reference}: {texts} comment(s), {contacts} contact request(s); {why}"
                    ),
                )?;
            }
            tx.commit()?;
            Ok(Some(erased))
        })();
        result.map_err(|e: rusqlite::Error| self.fail(e))
    }

    fn retention(&self, site: &str) -> Result<Retention, StoreError> {
        let conn = self.lock();
        conn.query_row(
            "SELECT contact_retention_days, text_retention_days FROM case_rules
             WHERE site_id = ?1",
            [site],
            |r| {
                Ok(Retention {
                    contact_days: r.get(0)?,
                    text_days: r.get(1)?,
                })
            },
        )
        .optional()
        .map(Option::unwrap_or_default)
        .map_err(|e| self.fail(e))
    }

    fn set_retention(&self, site: &str, retention: &Retention) -> Result<(), StoreError> {
        let conn = self.lock();
        // Kept in the site's case rule row; a site without a rule gets the default one.
        conn.execute(
            "INSERT INTO case_rules (site_id, team, contact_retention_days, text_retention_days)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (site_id) DO UPDATE SET
                 contact_retention_days = excluded.contact_retention_days,
                 text_retention_days = excluded.text_retention_days",
            params![
                site,
                DEFAULT_TEAM,
                retention.contact_days,
                retention.text_days
            ],
        )
        .map(|_| ())
        .map_err(|e| self.fail(e))
    }

    fn apply_retention(&self, now: SystemTime) -> Result<Erased, StoreError> {
        let mut conn = self.lock();
        let result = (|| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let now_ms = unix_ms(now);
            let day_ms = 24 * 3600 * 1000_i64;
            // Contact details of cases closed longer ago than the site keeps them (90 days
            // where the site set nothing). The site's period, whichever rule opened the case.
            let due_contacts: Vec<(String, i64)> = tx
                .prepare(
                    "SELECT c.response_id, c.id FROM cases c
                     LEFT JOIN case_rules r ON r.site_id = c.site_id
                     WHERE c.state = 'closed' AND c.closed_ms IS NOT NULL
                       AND c.closed_ms + COALESCE(r.contact_retention_days, ?3) * ?2 <= ?1
                       AND EXISTS (SELECT 1 FROM response_contacts k WHERE k.response_id = c.response_id)",
                )?
                .query_map(
                    params![now_ms, day_ms, Retention::default().contact_days],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?
                .collect::<rusqlite::Result<_>>()?;
            let mut erased = Erased::default();
            for (id, case) in due_contacts {
                let (_, contacts) = erase_response(&tx, &id, Part::Contacts)?;
                erased.responses += 1;
                erased.contacts += contacts;
                audit_erasure(
                    &tx,
                    now,
                    "retention",
                    Some(case),
                    "contact details, kept for the site's period after the case closed",
                )?;
            }
            // Free text older than the site keeps it, where the site set a period.
            let due_texts: Vec<String> = tx
                .prepare(
                    "SELECT DISTINCT t.response_id FROM response_texts t
                     JOIN responses p ON p.id = t.response_id
                     JOIN case_rules r ON r.site_id = p.site_id
                     WHERE r.text_retention_days IS NOT NULL
                       AND p.started_ms + r.text_retention_days * ?2 <= ?1",
                )?
                .query_map(params![now_ms, day_ms], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for id in due_texts {
                let (texts, _) = erase_response(&tx, &id, Part::Texts)?;
                erased.responses += 1;
                erased.texts += texts;
                let case = case_of(&tx, &id)?;
                audit_erasure(
                    &tx,
                    now,
                    "retention",
                    case,
                    "free text, older than the site keeps it",
                )?;
            }
            tx.commit()?;
            Ok(erased)
        })();
        result.map_err(|e: rusqlite::Error| self.fail(e))
    }

    fn subject_access(
        &self,
        reference: &str,
        by: &str,
        now: SystemTime,
    ) -> Result<Option<String>, StoreError> {
        let mut conn = self.lock();
        let result = (|| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let ids = responses_with(&tx, reference)?;
            if ids.is_empty() {
                return Ok(None);
            }
            let mut out = String::new();
            let _ = writeln!(
                out,
                "Earshot: the data held about feedback reference {reference}"
            );
            let _ = writeln!(out, "Made {}", rfc3339(now));
            for id in ids {
                let (json, site, received): (String, String, String) = tx.query_row(
                    "SELECT record_json, site_id, received_at FROM responses WHERE id = ?1",
                    [&id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )?;
                let _ = writeln!(out, "\nFeedback given at site {site}, received {received}");
                if let Ok(record) = serde_json::from_str::<ResponseRecord>(&json) {
                    let _ = writeln!(
                        out,
                        "Visit: {} to {}, in language {}, survey {} version {}, {}",
                        record.started_at,
                        record.finished_at,
                        record.language,
                        record.survey_id,
                        record.survey_version,
                        record.outcome.as_str()
                    );
                    let _ = writeln!(out, "Answers:");
                    for a in &record.answers {
                        let value = match &a.value {
                            AnswerValue::Choice { options } => options.join(", "),
                            AnswerValue::Rating { scale, value } => format!("{value} ({scale})"),
                            AnswerValue::Agree { value } => format!("{value} of 5"),
                            AnswerValue::Text { text } if text.is_empty() => "(erased)".into(),
                            AnswerValue::Text { text } => format!("\"{text}\""),
                            AnswerValue::Contact { name, reach, .. }
                                if name.is_empty() && reach.is_empty() =>
                            {
                                "(erased)".into()
                            }
                            AnswerValue::Contact {
                                name,
                                reach,
                                consent_text,
                            } => format!("{name}, {reach} (you agreed: \"{consent_text}\")"),
                            AnswerValue::Receipt { .. } => {
                                "a receipt was scanned (only a keyed code is kept)".into()
                            }
                            AnswerValue::Skipped => "skipped".into(),
                        };
                        let _ = writeln!(out, "  {}: {value}", a.step_id);
                    }
                }
                let case: Option<(i64, String, String, String)> = tx
                    .query_row(
                        "SELECT id, state, team, reply_due FROM cases WHERE response_id = ?1",
                        [&id],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                    )
                    .optional()?;
                if let Some((case, state, team, due)) = case {
                    let _ = writeln!(out, "Case: {state}, with team {team}, reply due {due}");
                    let mut notes = tx.prepare(
                        "SELECT at, public, text FROM case_notes WHERE case_id = ?1 ORDER BY id",
                    )?;
                    let notes = notes
                        .query_map([case], |r| {
                            Ok((
                                r.get::<_, String>(0)?,
                                r.get::<_, bool>(1)?,
                                r.get::<_, String>(2)?,
                            ))
                        })?
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    for (at, public, text) in notes {
                        let kind = if public { "note to you" } else { "staff note" };
                        let _ = writeln!(out, "  {at} {kind}: {text}");
                    }
                    let mut history =
                        tx.prepare("SELECT at, action FROM audit WHERE case_id = ?1 ORDER BY id")?;
                    let history = history
                        .query_map([case], |r| {
                            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                        })?
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    let _ = writeln!(out, "What was done:");
                    for (at, action) in history {
                        let _ = writeln!(out, "  {at} {action}");
                    }
                    tx.execute(
                        "INSERT INTO audit (at, user_email, case_id, action) VALUES (?1, ?2, ?3, ?4)",
                        params![rfc3339(now), by, case, "subject access export"],
                    )?;
                }
            }
            tx.commit()?;
            Ok(Some(out))
        })();
        result.map_err(|e: rusqlite::Error| self.fail(e))
    }
}

/// How often the collector applies the sites' retention rules while serving.
pub const RETENTION_EVERY: Duration = Duration::from_secs(3600);
