//! Cases in the store: opened in the same transaction as the response that calls for one,
//! moved, assigned and noted by case handlers, every change written to the audit log.
//!
//! Invariants: the audit log is append-only (the database refuses to change or delete a row
//! of it); every change to a case writes its audit row in the same transaction as the change;
//! every view of a visitor's contact details is audited too.

use std::collections::BTreeSet;
use std::time::SystemTime;

use earshot_protocol::time::{rfc3339, unix_ms};
use jiff::civil::Date;
use rusqlite::{params, OptionalExtension, Transaction};

use super::{SqliteStore, StoreError};
use crate::accounts::User;
use crate::cases::{
    add_working_days, case_for, next_state, CaseRule, CaseState, LowRating, Move, RuleSource, Rules,
};
use crate::indexed::IndexedResponse;

/// A case as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRow {
    pub id: i64,
    pub reference: String,
    pub site: String,
    pub reason: String,
    pub state: CaseState,
    pub team: String,
    pub owner: Option<String>,
    pub opened_at: String,
    pub acknowledge_due: String,
    pub reply_due: String,
    pub language: String,
    pub root_cause: Option<String>,
    pub resolved: Option<bool>,
}

impl CaseRow {
    /// Past its acknowledgement date while still new, or past its reply date while open.
    pub fn overdue(&self, today: &str) -> bool {
        (self.state == CaseState::New && self.acknowledge_due.as_str() < today)
            || (self.state.is_open() && self.reply_due.as_str() < today)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub at: String,
    pub by: Option<String>,
    pub public: bool,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: String,
    pub by: Option<String>,
    pub action: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub name: String,
    pub reach: String,
    pub consent_text: String,
}

/// What the visitor's tracking page may show: nothing personal, no staff names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracking {
    pub received: String,
    pub state: CaseState,
    pub reply_due: String,
    pub language: String,
    pub public_notes: Vec<(String, String)>,
}

/// A case rule as set: a site's (`service` is `None`) or one service's at a site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRow {
    pub site: String,
    pub service: Option<String>,
    pub rule: CaseRule,
}

/// A case with its notes and its history, as its page shows it.
pub type CaseFile = (CaseRow, Vec<Note>, Vec<AuditEntry>);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFilter {
    pub team: Option<String>,
    pub owner: Option<i64>,
    pub state: Option<CaseState>,
    pub open_only: bool,
}

pub trait Cases: Send + Sync {
    /// The rule in force for a response of `service` at `site`, and whose it is.
    fn case_rule(
        &self,
        site: &str,
        service: Option<&str>,
    ) -> Result<(CaseRule, RuleSource), StoreError>;
    /// Sets the site's rule (`service` `None`), or the rule for one service at the site. The
    /// site's retention is left as it is.
    fn set_case_rule(
        &self,
        site: &str,
        service: Option<&str>,
        rule: &CaseRule,
    ) -> Result<(), StoreError>;
    /// Removes a service's rule, so that the site's applies to it again; false when there
    /// was none.
    fn remove_service_rule(&self, site: &str, service: &str) -> Result<bool, StoreError>;
    /// Every rule set, by site: the site's own first, then its services'.
    fn case_rules(&self) -> Result<Vec<RuleRow>, StoreError>;
    fn add_holiday(&self, site: &str, day: Date) -> Result<(), StoreError>;
    fn cases(&self, filter: &CaseFilter) -> Result<Vec<CaseRow>, StoreError>;
    fn case(&self, id: i64) -> Result<Option<CaseFile>, StoreError>;
    /// Moves a case; `Ok(Err(why))` when the case cannot take that step.
    fn move_case(
        &self,
        id: i64,
        by: &User,
        step: &Move,
        now: SystemTime,
    ) -> Result<Result<CaseState, String>, StoreError>;
    fn assign(
        &self,
        ids: &[i64],
        by: &User,
        team: Option<&str>,
        owner: Option<Option<i64>>,
        now: SystemTime,
    ) -> Result<usize, StoreError>;
    fn add_note(
        &self,
        id: i64,
        by: &User,
        public: bool,
        text: &str,
        now: SystemTime,
    ) -> Result<bool, StoreError>;
    /// The contact details of a case's response; the view is audited.
    fn contact_details(
        &self,
        id: i64,
        by: &User,
        now: SystemTime,
    ) -> Result<Vec<Contact>, StoreError>;
    fn tracking(&self, reference: &str) -> Result<Option<Tracking>, StoreError>;
}

fn audit(
    tx: &Transaction,
    now: SystemTime,
    by: Option<&str>,
    case_id: i64,
    action: &str,
    before: Option<&str>,
    after: Option<&str>,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO audit (at, user_email, case_id, action, before, after)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![rfc3339(now), by, case_id, action, before, after],
    )
    .map(|_| ())
}

/// The columns of a rule, in the order `rule_of` reads them, in both rule tables.
const RULE_COLUMNS: &str =
    "unhappy, comment_required, low_faces, low_nps, team, acknowledge_days, reply_days";

fn rule_of(r: &rusqlite::Row, first: usize) -> rusqlite::Result<CaseRule> {
    Ok(CaseRule {
        unhappy: r.get(first)?,
        comment_required: r.get(first + 1)?,
        low: LowRating {
            faces: r.get(first + 2)?,
            nps: r.get(first + 3)?,
        },
        team: r.get(first + 4)?,
        acknowledge_days: r.get(first + 5)?,
        reply_days: r.get(first + 6)?,
    })
}

/// The rules that may apply to a response of `service` at `site`.
fn rules_in(tx: &Transaction, site: &str, service: Option<&str>) -> rusqlite::Result<Rules> {
    let site_rule = tx
        .prepare_cached(&format!(
            "SELECT {RULE_COLUMNS} FROM case_rules WHERE site_id = ?1"
        ))?
        .query_row([site], |r| rule_of(r, 0))
        .optional()?;
    let service_rule = match service {
        Some(service) => tx
            .prepare_cached(&format!(
                "SELECT {RULE_COLUMNS} FROM service_case_rules WHERE site_id = ?1 AND service = ?2"
            ))?
            .query_row([site, service], |r| rule_of(r, 0))
            .optional()?
            .map(|rule| (service.to_string(), rule)),
        None => None,
    };
    Ok(Rules {
        service: service_rule,
        site: site_rule,
    })
}

fn holidays_in(tx: &Transaction, site: &str) -> rusqlite::Result<BTreeSet<Date>> {
    let mut stmt = tx.prepare_cached("SELECT day FROM site_holidays WHERE site_id = ?1")?;
    let days = stmt
        .query_map([site], |r| r.get::<_, String>(0))?
        .filter_map(|d| d.ok()?.parse().ok())
        .collect();
    Ok(days)
}

/// The site's local date of `at`.
fn local_date(tx: &Transaction, site: &str, at: SystemTime) -> rusqlite::Result<Date> {
    let zone: Option<String> = tx
        .query_row("SELECT time_zone FROM sites WHERE id = ?1", [site], |r| {
            r.get(0)
        })
        .optional()?;
    let zone = zone
        .and_then(|z| jiff::tz::TimeZone::get(&z).ok())
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let ts = jiff::Timestamp::from_millisecond(unix_ms(at)).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    Ok(ts.to_zoned(zone).date())
}

/// Opens a case for a newly stored response if the rule in force for it (its service's at
/// its site, else its site's) calls for one. Part of the ingest transaction: a response and
/// its case are stored together or not at all.
pub fn open_if_due(
    tx: &Transaction,
    response_id: &str,
    site: &str,
    indexed: &IndexedResponse,
    received: SystemTime,
) -> rusqlite::Result<()> {
    let (rule, source) = rules_in(tx, site, indexed.service.as_deref())?.in_force();
    let Some(reason) = case_for(indexed, &rule) else {
        return Ok(());
    };
    let day = local_date(tx, site, received)?;
    let holidays = holidays_in(tx, site)?;
    let acknowledge = add_working_days(day, rule.acknowledge_days, &holidays);
    let reply = add_working_days(day, rule.reply_days, &holidays);
    tx.execute(
        "INSERT INTO cases (response_id, reference, site_id, reason, state, team, language,
             opened_at, acknowledge_due, reply_due)
         VALUES (?1, ?2, ?3, ?4, 'new', ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (response_id) DO NOTHING",
        params![
            response_id,
            indexed.reference,
            site,
            reason.as_str(),
            rule.team,
            indexed.language,
            rfc3339(received),
            acknowledge.to_string(),
            reply.to_string()
        ],
    )?;
    let id = tx.last_insert_rowid();
    audit(
        tx,
        received,
        None,
        id,
        "opened",
        None,
        Some(&format!(
            "{} for team {}, under {source}",
            reason.label(),
            rule.team
        )),
    )
}

const CASE_COLUMNS: &str = "c.id, c.reference, c.site_id, c.reason, c.state, c.team, u.email,
    c.opened_at, c.acknowledge_due, c.reply_due, c.language, c.root_cause, c.resolved";

fn case_row(r: &rusqlite::Row) -> rusqlite::Result<CaseRow> {
    let state: String = r.get(4)?;
    Ok(CaseRow {
        id: r.get(0)?,
        reference: r.get(1)?,
        site: r.get(2)?,
        reason: r.get(3)?,
        state: CaseState::parse(&state).unwrap_or(CaseState::New),
        team: r.get(5)?,
        owner: r.get(6)?,
        opened_at: r.get(7)?,
        acknowledge_due: r.get(8)?,
        reply_due: r.get(9)?,
        language: r.get(10)?,
        root_cause: r.get(11)?,
        resolved: r.get(12)?,
    })
}

fn case_in(tx: &Transaction, id: i64) -> rusqlite::Result<Option<CaseRow>> {
    tx.query_row(
        &format!(
            "SELECT {CASE_COLUMNS} FROM cases c LEFT JOIN users u ON u.id = c.owner_user_id
             WHERE c.id = ?1"
        ),
        [id],
        case_row,
    )
    .optional()
}

impl Cases for SqliteStore {
    fn case_rule(
        &self,
        site: &str,
        service: Option<&str>,
    ) -> Result<(CaseRule, RuleSource), StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(|e| self.fail(e))?;
        rules_in(&tx, site, service)
            .map(Rules::in_force)
            .map_err(|e| self.fail(e))
    }

    fn set_case_rule(
        &self,
        site: &str,
        service: Option<&str>,
        rule: &CaseRule,
    ) -> Result<(), StoreError> {
        let conn = self.lock();
        let set = "unhappy = excluded.unhappy, comment_required = excluded.comment_required,
             low_faces = excluded.low_faces, low_nps = excluded.low_nps, team = excluded.team,
             acknowledge_days = excluded.acknowledge_days, reply_days = excluded.reply_days";
        let (sql, key) = match service {
            // The site's row also holds its retention, which this leaves as it is.
            None => (
                format!(
                    "INSERT INTO case_rules (site_id, {RULE_COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (site_id) DO UPDATE SET {set}"
                ),
                vec![site],
            ),
            Some(service) => (
                format!(
                    "INSERT INTO service_case_rules (site_id, service, {RULE_COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                     ON CONFLICT (site_id, service) DO UPDATE SET {set}"
                ),
                vec![site, service],
            ),
        };
        let mut values: Vec<&dyn rusqlite::ToSql> =
            key.iter().map(|k| k as &dyn rusqlite::ToSql).collect();
        values.extend([
            &rule.unhappy as &dyn rusqlite::ToSql,
            &rule.comment_required,
            &rule.low.faces,
            &rule.low.nps,
            &rule.team,
            &rule.acknowledge_days,
            &rule.reply_days,
        ]);
        conn.execute(&sql, values.as_slice())
            .map(|_| ())
            .map_err(|e| self.fail(e))
    }

    fn remove_service_rule(&self, site: &str, service: &str) -> Result<bool, StoreError> {
        let conn = self.lock();
        conn.execute(
            "DELETE FROM service_case_rules WHERE site_id = ?1 AND service = ?2",
            [site, service],
        )
        .map(|n| n > 0)
        .map_err(|e| self.fail(e))
    }

    fn case_rules(&self) -> Result<Vec<RuleRow>, StoreError> {
        let conn = self.lock();
        let result = (|| {
            let mut stmt = conn.prepare(&format!(
                "SELECT site_id, NULL, {RULE_COLUMNS} FROM case_rules
                 UNION ALL
                 SELECT site_id, service, {RULE_COLUMNS} FROM service_case_rules
                 ORDER BY 1, 2 NULLS FIRST"
            ))?;
            let rows = stmt.query_map([], |r| {
                Ok(RuleRow {
                    site: r.get(0)?,
                    service: r.get(1)?,
                    rule: rule_of(r, 2)?,
                })
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })();
        result.map_err(|e| self.fail(e))
    }

    fn add_holiday(&self, site: &str, day: Date) -> Result<(), StoreError> {
        let conn = self.lock();
        conn.execute(
            "INSERT OR IGNORE INTO site_holidays (site_id, day) VALUES (?1, ?2)",
            params![site, day.to_string()],
        )
        .map(|_| ())
        .map_err(|e| self.fail(e))
    }

    fn cases(&self, filter: &CaseFilter) -> Result<Vec<CaseRow>, StoreError> {
        let conn = self.lock();
        let result = (|| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {CASE_COLUMNS} FROM cases c LEFT JOIN users u ON u.id = c.owner_user_id
                 WHERE (?1 IS NULL OR c.team = ?1) AND (?2 IS NULL OR c.owner_user_id = ?2)
                   AND (?3 IS NULL OR c.state = ?3)
                   AND (NOT ?4 OR c.state NOT IN ('resolved', 'closed'))
                 ORDER BY c.reply_due, c.id LIMIT 1000"
            ))?;
            let rows = stmt.query_map(
                params![
                    filter.team,
                    filter.owner,
                    filter.state.map(|s| s.as_str()),
                    filter.open_only
                ],
                case_row,
            )?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })();
        result.map_err(|e| self.fail(e))
    }

    fn case(&self, id: i64) -> Result<Option<CaseFile>, StoreError> {
        let mut conn = self.lock();
        let result = (|| {
            let tx = conn.transaction()?;
            let Some(row) = case_in(&tx, id)? else {
                return Ok(None);
            };
            let notes = tx
                .prepare(
                    "SELECT n.at, u.email, n.public, n.text FROM case_notes n
                     LEFT JOIN users u ON u.id = n.user_id WHERE n.case_id = ?1 ORDER BY n.id",
                )?
                .query_map([id], |r| {
                    Ok(Note {
                        at: r.get(0)?,
                        by: r.get(1)?,
                        public: r.get(2)?,
                        text: r.get(3)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let audit = tx
                .prepare(
                    "SELECT at, user_email, action, before, after FROM audit WHERE case_id = ?1
                     ORDER BY id",
                )?
                .query_map([id], |r| {
                    Ok(AuditEntry {
                        at: r.get(0)?,
                        by: r.get(1)?,
                        action: r.get(2)?,
                        before: r.get(3)?,
                        after: r.get(4)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Some((row, notes, audit)))
        })();
        result.map_err(|e: rusqlite::Error| self.fail(e))
    }

    fn move_case(
        &self,
        id: i64,
        by: &User,
        step: &Move,
        now: SystemTime,
    ) -> Result<Result<CaseState, String>, StoreError> {
        let mut conn = self.lock();
        let result = (|| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let Some(case) = case_in(&tx, id)? else {
                return Ok(Err("There is no such case.".to_string()));
            };
            let next = match next_state(case.state, step) {
                Ok(next) => next,
                Err(why) => return Ok(Err(why)),
            };
            tx.execute(
                "UPDATE cases SET state = ?2, closed_ms = ?3 WHERE id = ?1",
                params![
                    id,
                    next.as_str(),
                    (next == CaseState::Closed).then(|| unix_ms(now))
                ],
            )?;
            if let Move::Close {
                root_cause,
                resolved,
            } = step
            {
                tx.execute(
                    "UPDATE cases SET root_cause = ?2, resolved = ?3 WHERE id = ?1",
                    params![id, root_cause.trim(), resolved],
                )?;
            }
            let after = match step {
                Move::Close {
                    root_cause,
                    resolved,
                } => format!(
                    "{next}; root cause: {}; {}",
                    root_cause.trim(),
                    if *resolved {
                        "resolved"
                    } else {
                        "not resolved"
                    }
                ),
                _ => next.to_string(),
            };
            audit(
                &tx,
                now,
                Some(&by.email),
                id,
                step.name(),
                Some(case.state.as_str()),
                Some(&after),
            )?;
            tx.commit()?;
            Ok(Ok(next))
        })();
        result.map_err(|e: rusqlite::Error| self.fail(e))
    }

    fn assign(
        &self,
        ids: &[i64],
        by: &User,
        team: Option<&str>,
        owner: Option<Option<i64>>,
        now: SystemTime,
    ) -> Result<usize, StoreError> {
        let mut conn = self.lock();
        let result = (|| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut changed = 0;
            for id in ids {
                let Some(case) = case_in(&tx, *id)? else {
                    continue;
                };
                if let Some(team) = team.filter(|t| *t != case.team) {
                    tx.execute(
                        "UPDATE cases SET team = ?2 WHERE id = ?1",
                        params![id, team],
                    )?;
                    audit(
                        &tx,
                        now,
                        Some(&by.email),
                        *id,
                        "assign team",
                        Some(&case.team),
                        Some(team),
                    )?;
                    changed += 1;
                }
                if let Some(owner) = owner {
                    tx.execute(
                        "UPDATE cases SET owner_user_id = ?2 WHERE id = ?1",
                        params![id, owner],
                    )?;
                    let email: Option<String> = match owner {
                        Some(user) => tx
                            .query_row("SELECT email FROM users WHERE id = ?1", [user], |r| {
                                r.get(0)
                            })
                            .optional()?,
                        None => None,
                    };
                    audit(
                        &tx,
                        now,
                        Some(&by.email),
                        *id,
                        "assign person",
                        case.owner.as_deref(),
                        email.as_deref(),
                    )?;
                    changed += 1;
                }
            }
            tx.commit()?;
            Ok(changed)
        })();
        result.map_err(|e: rusqlite::Error| self.fail(e))
    }

    fn add_note(
        &self,
        id: i64,
        by: &User,
        public: bool,
        text: &str,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let mut conn = self.lock();
        let result = (|| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            if case_in(&tx, id)?.is_none() {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO case_notes (case_id, at, user_id, public, text) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, rfc3339(now), by.id, public, text],
            )?;
            let kind = if public {
                "public note"
            } else {
                "internal note"
            };
            audit(&tx, now, Some(&by.email), id, kind, None, Some(text))?;
            tx.commit()?;
            Ok(true)
        })();
        result.map_err(|e: rusqlite::Error| self.fail(e))
    }

    fn contact_details(
        &self,
        id: i64,
        by: &User,
        now: SystemTime,
    ) -> Result<Vec<Contact>, StoreError> {
        let mut conn = self.lock();
        let result = (|| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let contacts = tx
                .prepare(
                    "SELECT k.name, k.reach, k.consent_text FROM response_contacts k
                     JOIN cases c ON c.response_id = k.response_id WHERE c.id = ?1",
                )?
                .query_map([id], |r| {
                    Ok(Contact {
                        name: r.get(0)?,
                        reach: r.get(1)?,
                        consent_text: r.get(2)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            if !contacts.is_empty() {
                audit(
                    &tx,
                    now,
                    Some(&by.email),
                    id,
                    "viewed contact details",
                    None,
                    None,
                )?;
            }
            tx.commit()?;
            Ok(contacts)
        })();
        result.map_err(|e: rusqlite::Error| self.fail(e))
    }

    fn tracking(&self, reference: &str) -> Result<Option<Tracking>, StoreError> {
        let mut conn = self.lock();
        let result = (|| {
            let tx = conn.transaction()?;
            let found: Option<(i64, String, String, String, String)> = tx
                .query_row(
                    "SELECT id, opened_at, state, reply_due, language FROM cases
                     WHERE reference = ?1 ORDER BY id DESC LIMIT 1",
                    [reference],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()?;
            let Some((id, received, state, reply_due, language)) = found else {
                return Ok(None);
            };
            let public_notes = tx
                .prepare(
                    "SELECT at, text FROM case_notes WHERE case_id = ?1 AND public ORDER BY id",
                )?
                .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Some(Tracking {
                received,
                state: CaseState::parse(&state).unwrap_or(CaseState::New),
                reply_due,
                language,
                public_notes,
            }))
        })();
        result.map_err(|e: rusqlite::Error| self.fail(e))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::accounts::{Email, Role};
    use crate::ingest::{judge, KnownSurveys, Sender};
    use crate::status::ReportedStatus;
    use crate::store::{Accounts, Device, Store};
    use serde_json::value::RawValue;

    fn record(reference: &str, answers: serde_json::Value) -> Box<RawValue> {
        record_for(reference, None, answers)
    }

    fn record_for(
        reference: &str,
        service: Option<&str>,
        answers: serde_json::Value,
    ) -> Box<RawValue> {
        RawValue::from_string(
            serde_json::json!({
                "id": uuid::Uuid::now_v7(), "reference": reference, "survey_id": "s",
                "survey_version": "1", "language": "cy", "site_id": "site", "device_id": "k",
                "started_at": "2026-11-27T10:00:00Z", "finished_at": "2026-11-27T10:00:30Z",
                "clock": {"synchronized": true, "started_mono_ms": 1, "finished_mono_ms": 2,
                          "visit_number": 1},
                "outcome": "completed", "service": service, "answers": answers,
                "flags": {"suspected_misuse": false}
            })
            .to_string(),
        )
        .unwrap()
    }

    fn status() -> earshot_protocol::DeviceStatus {
        serde_json::from_value(serde_json::json!({
            "app_version": "0.1.0", "survey_id": "s", "survey_version": "1", "queue_depth": 0,
            "oldest_unsent_age_s": null, "dead_letters": 0, "scanner": "x", "hardware": "x",
            "uptime_s": 1, "last_error": null, "alarms": [],
            "clock": {"sent_at": "2026-11-27T10:01:00Z", "synchronized": true,
                      "run_id": uuid::Uuid::nil(), "mono_ms": 1}
        }))
        .unwrap()
    }

    fn store_batch(store: &SqliteStore, responses: Vec<Box<RawValue>>) {
        let now = humantime::parse_rfc3339("2026-11-27T12:00:00Z").unwrap();
        let device = Device {
            id: "k".into(),
            site: "site".into(),
            revoked: false,
        };
        let sender = Sender {
            device_id: "k",
            site: "site",
        };
        let judged = judge(&responses, sender, &status(), now, &KnownSurveys::default());
        store
            .ingest(
                &device,
                uuid::Uuid::now_v7(),
                "hash",
                &judged,
                &ReportedStatus::from_wire(status()),
                now,
            )
            .unwrap();
    }

    #[test]
    fn a_contact_request_opens_a_case_that_is_worked_and_audited_to_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("c.db")).unwrap();
        store
            .add_holiday("site", "2026-12-01".parse().unwrap())
            .unwrap();
        let contact = serde_json::json!([
            {"step_id": "rating", "at_ms": 1, "value": {"type": "rating", "scale": "smiley5", "value": 1}},
            {"step_id": "contact", "at_ms": 2, "value": {"type": "contact", "name": "Ann",
                "reach": "07700 900123", "consent_text": "Cewch gysylltu"}}
        ]);
        let plain = serde_json::json!([
            {"step_id": "rating", "at_ms": 1, "value": {"type": "rating", "scale": "smiley5", "value": 1}},
            {"step_id": "comment", "at_ms": 2, "value": {"type": "text", "text": "slow"}}
        ]);
        store_batch(
            &store,
            vec![record("K7QM-4XP", contact), record("AAAA-AAA", plain)],
        );
        let open = store.cases(&CaseFilter::default()).unwrap();
        assert_eq!(
            open.len(),
            1,
            "the unhappy comment is no case by default: {open:?}"
        );
        let case = &open[0];
        assert_eq!(case.state, CaseState::New);
        assert_eq!(case.team, crate::cases::DEFAULT_TEAM);
        // Received Friday 27 November: Monday 30 is day 1, the site's holiday on Tuesday
        // 1 December does not count, Wednesday to Friday are days 2 to 4, Monday 7 is day 5.
        assert_eq!(case.acknowledge_due, "2026-12-07");

        store
            .add_user(
                &Email::parse("h@x.example").unwrap(),
                Role::CaseHandler,
                "x",
                SystemTime::now(),
            )
            .unwrap();
        let handler = store.user_for_sign_in("h@x.example").unwrap().unwrap().0;
        let now = SystemTime::now();
        assert_eq!(
            store
                .move_case(case.id, &handler, &Move::Acknowledge, now)
                .unwrap(),
            Ok(CaseState::Acknowledged)
        );
        assert!(store
            .move_case(case.id, &handler, &Move::Acknowledge, now)
            .unwrap()
            .is_err());
        assert_eq!(
            store
                .assign(
                    &[case.id],
                    &handler,
                    Some("housing"),
                    Some(Some(handler.id)),
                    now
                )
                .unwrap(),
            2
        );
        assert!(store
            .add_note(
                case.id,
                &handler,
                true,
                "We are calling you on Monday.",
                now
            )
            .unwrap());
        assert!(store
            .add_note(case.id, &handler, false, "Manager is away.", now)
            .unwrap());
        let contacts = store.contact_details(case.id, &handler, now).unwrap();
        assert_eq!(contacts[0].reach, "07700 900123");
        let tracking = store.tracking("K7QM-4XP").unwrap().unwrap();
        assert_eq!(tracking.state, CaseState::Acknowledged);
        assert_eq!(tracking.language, "cy");
        assert_eq!(
            tracking
                .public_notes
                .iter()
                .map(|n| n.1.as_str())
                .collect::<Vec<_>>(),
            ["We are calling you on Monday."],
            "internal notes never reach the visitor"
        );
        store
            .move_case(case.id, &handler, &Move::Resolve, now)
            .unwrap()
            .unwrap();
        store
            .move_case(
                case.id,
                &handler,
                &Move::Close {
                    root_cause: "staffing".into(),
                    resolved: true,
                },
                now + Duration::from_secs(1),
            )
            .unwrap()
            .unwrap();
        let (row, notes, audit) = store.case(case.id).unwrap().unwrap();
        assert_eq!(row.state, CaseState::Closed);
        assert_eq!(row.root_cause.as_deref(), Some("staffing"));
        assert_eq!(notes.len(), 2);
        let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "opened",
                "acknowledge",
                "assign team",
                "assign person",
                "public note",
                "internal note",
                "viewed contact details",
                "resolve",
                "close"
            ]
        );
        assert_eq!(audit[1].before.as_deref(), Some("new"));
        assert_eq!(audit[1].by.as_deref(), Some("h@x.example"));
        // The audit log cannot be rewritten, not even through SQL.
        let conn = store.lock();
        assert!(conn
            .execute("UPDATE audit SET action = 'nothing'", [])
            .is_err());
        assert!(conn.execute("DELETE FROM audit", []).is_err());
    }

    #[test]
    fn a_site_can_ask_for_cases_from_unhappy_comments() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("c.db")).unwrap();
        store
            .set_case_rule(
                "site",
                None,
                &CaseRule {
                    unhappy: true,
                    team: "complaints".into(),
                    ..CaseRule::default()
                },
            )
            .unwrap();
        let plain = serde_json::json!([
            {"step_id": "rating", "at_ms": 1, "value": {"type": "rating", "scale": "smiley5", "value": 2}},
            {"step_id": "comment", "at_ms": 2, "value": {"type": "text", "text": "slow"}}
        ]);
        store_batch(&store, vec![record("BBBB-BBB", plain)]);
        let cases = store.cases(&CaseFilter::default()).unwrap();
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].team, "complaints");
        assert_eq!(cases[0].reason, "unhappy-with-comment");
    }

    fn rated(value: i32, comment: Option<&str>, contact: bool) -> serde_json::Value {
        let mut answers = vec![serde_json::json!(
            {"step_id": "rating", "at_ms": 1, "value": {"type": "rating", "scale": "smiley5", "value": value}}
        )];
        if let Some(text) = comment {
            answers.push(serde_json::json!(
                {"step_id": "comment", "at_ms": 2, "value": {"type": "text", "text": text}}
            ));
        }
        if contact {
            answers.push(serde_json::json!(
                {"step_id": "contact", "at_ms": 3, "value": {"type": "contact", "name": "Ann",
                    "reach": "07700 900123", "consent_text": "ok"}}
            ));
        }
        serde_json::Value::Array(answers)
    }

    #[test]
    fn a_services_rule_overrides_the_sites_for_its_responses_and_retention_stays_the_sites() {
        use crate::cases::Retention;
        use crate::store::PersonalData;
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("c.db")).unwrap();
        let site_rule = CaseRule {
            unhappy: true,
            team: "complaints".into(),
            ..CaseRule::default()
        };
        let parking_rule = CaseRule {
            unhappy: true,
            comment_required: false,
            low: LowRating { faces: 1, nps: 4 },
            team: "parking".into(),
            acknowledge_days: 2,
            reply_days: 10,
        };
        store.set_case_rule("site", None, &site_rule).unwrap();
        store
            .set_retention(
                "site",
                &Retention {
                    contact_days: 30,
                    text_days: None,
                },
            )
            .unwrap();
        store
            .set_case_rule("site", Some("parking"), &parking_rule)
            .unwrap();
        // Setting a rule, the site's or a service's, leaves the site's retention as it was.
        store.set_case_rule("site", None, &site_rule).unwrap();
        assert_eq!(store.retention("site").unwrap().contact_days, 30);
        assert_eq!(store.retention("elsewhere").unwrap(), Retention::default());

        assert_eq!(
            store.case_rule("site", Some("parking")).unwrap(),
            (parking_rule.clone(), RuleSource::Service("parking".into()))
        );
        assert_eq!(
            store.case_rule("site", Some("housing")).unwrap(),
            (site_rule.clone(), RuleSource::Site)
        );
        assert_eq!(
            store.case_rule("site", None).unwrap(),
            (site_rule.clone(), RuleSource::Site)
        );
        assert_eq!(
            store.case_rule("elsewhere", Some("parking")).unwrap(),
            (CaseRule::default(), RuleSource::Default),
            "a service's rule is for its site only"
        );
        assert_eq!(
            store.case_rules().unwrap(),
            [
                RuleRow {
                    site: "site".into(),
                    service: None,
                    rule: site_rule.clone(),
                },
                RuleRow {
                    site: "site".into(),
                    service: Some("parking".into()),
                    rule: parking_rule.clone(),
                },
            ]
        );

        store_batch(
            &store,
            vec![
                // Parking's rule: the lowest face alone, no comment needed.
                record_for("PAAA-AAA", Some("parking"), rated(1, None, false)),
                record_for("PBBB-BBB", Some("parking"), rated(2, Some("dear"), false)),
                record_for("PCCC-CCC", Some("parking"), rated(5, None, true)),
                // The site's rule for every other service, and for no service.
                record_for("HAAA-AAA", Some("housing"), rated(1, None, false)),
                record_for("HBBB-BBB", Some("housing"), rated(2, Some("slow"), false)),
                record_for("NAAA-AAA", None, rated(2, Some("cold"), false)),
            ],
        );
        let mut cases = store.cases(&CaseFilter::default()).unwrap();
        cases.sort_by(|a, b| a.reference.cmp(&b.reference));
        let summary: Vec<(&str, &str, &str, &str, &str)> = cases
            .iter()
            .map(|c| {
                (
                    c.reference.as_str(),
                    c.team.as_str(),
                    c.reason.as_str(),
                    c.acknowledge_due.as_str(),
                    c.reply_due.as_str(),
                )
            })
            .collect();
        // Received on Friday 27 November 2026: parking's targets are 2 and 10 working days,
        // the site's 5 and 20.
        assert_eq!(
            summary,
            [
                (
                    "HBBB-BBB",
                    "complaints",
                    "unhappy-with-comment",
                    "2026-12-04",
                    "2026-12-25"
                ),
                (
                    "NAAA-AAA",
                    "complaints",
                    "unhappy-with-comment",
                    "2026-12-04",
                    "2026-12-25"
                ),
                ("PAAA-AAA", "parking", "unhappy", "2026-12-01", "2026-12-11"),
                (
                    "PCCC-CCC",
                    "parking",
                    "contact-request",
                    "2026-12-01",
                    "2026-12-11"
                ),
            ],
            "PBBB-BBB is not unhappy enough for parking; HAAA-AAA has no comment for the site"
        );
        let parking_case = &cases[2];
        let (_, _, audit) = store.case(parking_case.id).unwrap().unwrap();
        assert_eq!(
            audit[0].after.as_deref(),
            Some("Unhappy for team parking, under the rule for service parking")
        );
        let (_, _, audit) = store.case(cases[0].id).unwrap().unwrap();
        assert_eq!(
            audit[0].after.as_deref(),
            Some("Unhappy, with a comment for team complaints, under the site's rule")
        );

        // Parking's contact request closes; the site's 30 days apply to it, not the default 90.
        store
            .add_user(
                &Email::parse("h@x.example").unwrap(),
                Role::CaseHandler,
                "x",
                SystemTime::now(),
            )
            .unwrap();
        let handler = store.user_for_sign_in("h@x.example").unwrap().unwrap().0;
        let now = SystemTime::now();
        for step in [
            Move::Acknowledge,
            Move::Resolve,
            Move::Close {
                root_cause: "signs".into(),
                resolved: true,
            },
        ] {
            store
                .move_case(cases[3].id, &handler, &step, now)
                .unwrap()
                .unwrap();
        }
        let day = Duration::from_secs(24 * 3600);
        assert_eq!(store.apply_retention(now + 29 * day).unwrap().contacts, 0);
        assert_eq!(store.apply_retention(now + 31 * day).unwrap().contacts, 1);

        // Without its rule, parking's responses follow the site's again.
        assert!(store.remove_service_rule("site", "parking").unwrap());
        assert!(!store.remove_service_rule("site", "parking").unwrap());
        assert_eq!(
            store.case_rule("site", Some("parking")).unwrap(),
            (site_rule, RuleSource::Site)
        );
        store_batch(
            &store,
            vec![record_for(
                "PDDD-DDD",
                Some("parking"),
                rated(1, None, false),
            )],
        );
        assert!(
            !store
                .cases(&CaseFilter::default())
                .unwrap()
                .iter()
                .any(|c| c.reference == "PDDD-DDD"),
            "the site's rule waits for a comment"
        );
        assert_eq!(store.case_rules().unwrap().len(), 1);
        assert_eq!(store.retention("site").unwrap().contact_days, 30);
    }

    /// A site's rule set before rules per service existed keeps its meaning: the two lowest
    /// faces and NPS 0–6 count as unhappy, and only with a comment.
    #[test]
    fn a_sites_rule_from_before_service_rules_keeps_its_meaning() {
        use crate::store::schema::MIGRATIONS;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let before_service_rules = MIGRATIONS
            .iter()
            .position(|m| m.sql.contains("CREATE TABLE service_case_rules"))
            .expect("a migration adds rules per service");
        {
            let mut conn = rusqlite::Connection::open(&path).unwrap();
            for (i, migration) in MIGRATIONS[..before_service_rules].iter().enumerate() {
                let tx = conn.transaction().unwrap();
                tx.execute_batch(migration.sql).unwrap();
                if let Some(then) = migration.then {
                    then(&tx).unwrap();
                }
                tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))
                    .unwrap();
                tx.commit().unwrap();
            }
            conn.execute(
                "INSERT INTO case_rules (site_id, unhappy_with_comment, team, acknowledge_days,
                     reply_days, contact_retention_days, text_retention_days)
                 VALUES ('site', 1, 'housing', 3, 15, 60, 45)",
                [],
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let (rule, source) = store.case_rule("site", Some("council-tax")).unwrap();
        assert_eq!(source, RuleSource::Site);
        assert_eq!(
            rule,
            CaseRule {
                unhappy: true,
                comment_required: true,
                low: LowRating { faces: 2, nps: 6 },
                team: "housing".into(),
                acknowledge_days: 3,
                reply_days: 15,
            }
        );
        use crate::store::PersonalData;
        assert_eq!(
            store.retention("site").unwrap(),
            crate::cases::Retention {
                contact_days: 60,
                text_days: Some(45),
            }
        );
    }

    #[test]
    fn a_visitors_erasure_request_and_the_retention_rules_remove_personal_data_only() {
        use crate::store::PersonalData;
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("c.db")).unwrap();
        let answers = |n: &str| {
            serde_json::json!([
                {"step_id": "rating", "at_ms": 1, "value": {"type": "rating", "scale": "smiley5", "value": 1}},
                {"step_id": "comment", "at_ms": 2, "value": {"type": "text", "text": format!("comment {n}")}},
                {"step_id": "contact", "at_ms": 3, "value": {"type": "contact", "name": format!("Ann {n}"),
                    "reach": "07700 900123", "consent_text": "ok"}}
            ])
        };
        store_batch(
            &store,
            vec![
                record("K7QM-4XP", answers("one")),
                record("CCCC-CCC", answers("two")),
            ],
        );
        let now = SystemTime::now();
        let sar = store
            .subject_access("K7QM-4XP", "test", now)
            .unwrap()
            .unwrap();
        assert!(
            sar.contains("\"comment one\"") && sar.contains("Ann one, 07700 900123"),
            "{sar}"
        );
        assert!(
            !sar.contains("comment two"),
            "another visitor's data: {sar}"
        );
        assert_eq!(store.subject_access("DDDD-DDD", "test", now).unwrap(), None);

        let erased = store
            .erase_reference("K7QM-4XP", "h@x.example", "the visitor asked", now)
            .unwrap()
            .unwrap();
        assert_eq!((erased.responses, erased.texts, erased.contacts), (1, 1, 1));
        let sar = store
            .subject_access("K7QM-4XP", "test", now)
            .unwrap()
            .unwrap();
        assert!(
            !sar.contains("comment one") && !sar.contains("Ann one"),
            "{sar}"
        );
        assert!(
            sar.contains("1 (smiley5)"),
            "the anonymous rating stays: {sar}"
        );
        {
            let conn = store.lock();
            let json: String = conn
                .query_row(
                    "SELECT record_json FROM responses WHERE reference = 'K7QM-4XP'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert!(
                !json.contains("Ann one") && !json.contains("07700"),
                "{json}"
            );
            let rating: i64 = conn
                .query_row(
                    "SELECT rating_value FROM responses WHERE reference = 'K7QM-4XP'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(rating, 1);
        }
        let first = &store
            .cases(&CaseFilter {
                open_only: false,
                ..Default::default()
            })
            .unwrap()[0];
        let (_, _, audit) = store.case(first.id).unwrap().unwrap();
        assert!(
            audit.iter().any(|a| a.action == "erased personal data"
                && a.after
                    .as_deref()
                    .unwrap_or("")
                    .contains("the visitor asked")),
            "{audit:?}"
        );

        // The other case closes; 90 days later its contact details go, its comment stays.
        store
            .add_user(
                &Email::parse("h@x.example").unwrap(),
                Role::CaseHandler,
                "x",
                now,
            )
            .unwrap();
        let handler = store.user_for_sign_in("h@x.example").unwrap().unwrap().0;
        let other = store
            .cases(&CaseFilter::default())
            .unwrap()
            .into_iter()
            .find(|c| c.reference == "CCCC-CCC")
            .unwrap();
        for step in [
            Move::Acknowledge,
            Move::Resolve,
            Move::Close {
                root_cause: "x".into(),
                resolved: true,
            },
        ] {
            store
                .move_case(other.id, &handler, &step, now)
                .unwrap()
                .unwrap();
        }
        let day = Duration::from_secs(24 * 3600);
        assert_eq!(store.apply_retention(now + 89 * day).unwrap().contacts, 0);
        let swept = store.apply_retention(now + 91 * day).unwrap();
        assert_eq!((swept.contacts, swept.texts), (1, 0));
        let sar = store
            .subject_access("CCCC-CCC", "test", now)
            .unwrap()
            .unwrap();
        assert!(
            sar.contains("comment two") && !sar.contains("Ann two"),
            "{sar}"
        );
        // A site that keeps free text for 30 days loses it after 30.
        store
            .set_retention(
                "site",
                &crate::cases::Retention {
                    text_days: Some(30),
                    ..Default::default()
                },
            )
            .unwrap();
        let swept = store.apply_retention(now + 91 * day).unwrap();
        assert_eq!(swept.texts, 1);
        let sar = store
            .subject_access("CCCC-CCC", "test", now)
            .unwrap()
            .unwrap();
        assert!(!sar.contains("comment two"), "{sar}");
    }
}
