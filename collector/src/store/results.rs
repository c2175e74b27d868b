//! What the results pages read from the store: counts the database adds up itself, by the
//! indexed columns, never by parsing records. The figures made from them are in
//! `crate::results`.
//!
//! Invariants: every query is bounded by the filter's time range and returns aggregates, not
//! rows (comments excepted, at most `MAX_COMMENTS`); misuse-flagged responses are counted
//! apart and left out of every other aggregate. Adding up a range reads the index
//! `responses_for_results` (schema migration 8), never the records, and needs no sort where
//! the index's order is the grouping's; which services and surveys a range has is found by
//! a seek per value, not by reading the range.

use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection};

use super::{SqliteStore, StoreError};

pub const MAX_COMMENTS: usize = 200;

/// Which responses a view is about. Times are Unix milliseconds, `to_ms` exclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultsFilter {
    pub from_ms: i64,
    pub to_ms: i64,
    /// Only these sites; `None`: all.
    pub sites: Option<Vec<String>>,
    pub service: Option<String>,
    pub survey: Option<String>,
    /// Comments containing this text (without case).
    pub search: Option<String>,
}

/// A site as the workspace knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub id: String,
    pub name: String,
    pub time_zone: String,
    pub area: String,
    pub organisation: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Aggregates {
    /// All responses in the filter, misuse included.
    pub total: u64,
    /// Of those not flagged as misuse: all, and completed.
    pub counted: u64,
    pub completed: u64,
    pub misuse: u64,
    /// (site, scale, value, count) of main ratings.
    pub ratings: Vec<(String, String, i64, u64)>,
    /// (value, count) of NPS answers, main rating or not.
    pub nps: Vec<(i64, u64)>,
    /// (survey, step, option, mood, count): options chosen, by the mood of the main rating
    /// ("unhappy", "happy", "neutral" or "" without one).
    pub choices: Vec<(String, String, String, String, u64)>,
    /// (site, hour since the epoch (UTC), count, sum of index values, how many had one).
    pub hours: Vec<(String, i64, u64, f64, u64)>,
    pub comments: Vec<Comment>,
    /// Services and surveys seen in the time range, for the filter's choices.
    pub services: Vec<String>,
    pub surveys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub started_ms: i64,
    pub site: String,
    pub service: Option<String>,
    pub rating: Option<(String, i64)>,
    pub text: String,
    pub misuse: bool,
}

pub trait Results: Send + Sync {
    fn sites(&self) -> Result<Vec<Site>, StoreError>;
    /// Creates the site or changes it; `Ok(false)` when nothing was there to change and
    /// `create` was false.
    fn set_site(&self, site: &Site) -> Result<(), StoreError>;
    fn aggregates(&self, filter: &ResultsFilter) -> Result<Aggregates, StoreError>;
}

/// The 0–100 value of a face or star rating, as SQL. NPS has no index: it has its own score.
const INDEX_SQL: &str = "CASE r.rating_scale
    WHEN 'smiley4' THEN (r.rating_value - 1) * 100.0 / 3
    WHEN 'smiley5' THEN (r.rating_value - 1) * 25.0
    WHEN 'stars5' THEN (r.rating_value - 1) * 25.0 END";

/// The mood of a main rating, as SQL: unhappy for the two lowest faces or stars and NPS 0–6,
/// happy for the two highest and NPS 9–10.
const MOOD_SQL: &str = "CASE
    WHEN r.rating_scale = 'nps' AND r.rating_value <= 6 THEN 'unhappy'
    WHEN r.rating_scale = 'nps' AND r.rating_value >= 9 THEN 'happy'
    WHEN r.rating_scale = 'nps' THEN 'neutral'
    WHEN r.rating_scale IS NULL THEN ''
    WHEN r.rating_value <= 2 THEN 'unhappy'
    WHEN r.rating_scale = 'smiley4' AND r.rating_value >= 3 THEN 'happy'
    WHEN r.rating_value >= 4 THEN 'happy'
    ELSE 'neutral' END";

/// The hour a response started, as `responses_for_results` is ordered by.
const HOUR_SQL: &str = "r.started_ms / 3600000";
const HOUR_MS: i64 = 3_600_000;

/// The WHERE clause of a filter over `responses r`, and its parameters. `by_hour` states the
/// time range again in hours started: that counts nothing differently (each hour bound
/// follows from its millisecond bound, integer division being monotonic) but lets the range
/// be read from `responses_for_results`.
fn where_clause(filter: &ResultsFilter, by_hour: bool) -> (String, Vec<Value>) {
    let mut sql = String::from("r.started_ms >= ? AND r.started_ms < ?");
    let mut values = vec![Value::Integer(filter.from_ms), Value::Integer(filter.to_ms)];
    if by_hour {
        sql.push_str(&format!(" AND {HOUR_SQL} >= ? AND {HOUR_SQL} <= ?"));
        values.push(Value::Integer(filter.from_ms / HOUR_MS));
        values.push(Value::Integer(filter.to_ms.saturating_sub(1) / HOUR_MS));
    }
    if let Some(sites) = &filter.sites {
        sql.push_str(" AND r.site_id IN (");
        for (i, site) in sites.iter().enumerate() {
            sql.push_str(if i == 0 { "?" } else { ", ?" });
            values.push(Value::Text(site.clone()));
        }
        if sites.is_empty() {
            sql.push_str("NULL");
        }
        sql.push(')');
    }
    if let Some(service) = &filter.service {
        sql.push_str(" AND r.service = ?");
        values.push(Value::Text(service.clone()));
    }
    if let Some(survey) = &filter.survey {
        sql.push_str(" AND r.survey_id = ?");
        values.push(Value::Text(survey.clone()));
    }
    (sql, values)
}

fn aggregates(conn: &Connection, filter: &ResultsFilter) -> rusqlite::Result<Aggregates> {
    let (filter_sql, values) = where_clause(filter, true);
    let params = || params_from_iter(values.iter());
    let mut a = Aggregates::default();
    conn.query_row(
        &format!(
            "SELECT COUNT(*), COALESCE(SUM(misuse), 0),
                    COALESCE(SUM(outcome = 'completed' AND NOT misuse), 0)
             FROM responses r WHERE {filter_sql}"
        ),
        params(),
        |row| {
            let total: i64 = row.get(0)?;
            let misuse: i64 = row.get(1)?;
            a.total = total as u64;
            a.misuse = misuse as u64;
            a.counted = (total - misuse) as u64;
            a.completed = row.get::<_, i64>(2)? as u64;
            Ok(())
        },
    )?;
    let mut stmt = conn.prepare(&format!(
        "SELECT r.site_id, r.rating_scale, r.rating_value, COUNT(*) FROM responses r
         WHERE {filter_sql} AND NOT r.misuse AND r.rating_scale IS NOT NULL
         GROUP BY r.site_id, r.rating_scale, r.rating_value"
    ))?;
    a.ratings = stmt
        .query_map(params(), |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get::<_, i64>(3)? as u64,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut stmt = conn.prepare(&format!(
        "SELECT r.nps_value, COUNT(*) FROM responses r
         WHERE {filter_sql} AND NOT r.misuse AND r.nps_value IS NOT NULL
         GROUP BY r.nps_value"
    ))?;
    a.nps = stmt
        .query_map(params(), |row| {
            Ok((row.get(0)?, row.get::<_, i64>(1)? as u64))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut stmt = conn.prepare(&format!(
        "SELECT r.survey_id, c.step_id, c.option_id, {MOOD_SQL} AS mood, COUNT(*)
         FROM response_choices c JOIN responses r ON r.id = c.response_id
         WHERE {filter_sql} AND NOT r.misuse
         GROUP BY r.survey_id, c.step_id, c.option_id, mood"
    ))?;
    a.choices = stmt
        .query_map(params(), |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get::<_, i64>(4)? as u64,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut stmt = conn.prepare(&format!(
        "SELECT r.site_id, {HOUR_SQL}, COUNT(*),
                COALESCE(SUM({INDEX_SQL}), 0), COUNT({INDEX_SQL})
         FROM responses r WHERE {filter_sql} AND NOT r.misuse
         GROUP BY {HOUR_SQL}, r.site_id"
    ))?;
    a.hours = stmt
        .query_map(params(), |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get::<_, i64>(2)? as u64,
                row.get(3)?,
                row.get::<_, i64>(4)? as u64,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    // Newest first, read in time order until enough are found: the millisecond range alone,
    // which the indexes that start with the time (or the site, then the time) serve.
    let (filter_sql, mut comment_values) = where_clause(filter, false);
    let mut search_sql = String::new();
    if let Some(q) = filter.search.as_deref().filter(|q| !q.trim().is_empty()) {
        // LIKE without its wildcards: the search is for the text as typed.
        let escaped = q
            .trim()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        search_sql = " AND t.text LIKE ? ESCAPE '\\'".into();
        comment_values.push(Value::Text(format!("%{escaped}%")));
    }
    let mut stmt = conn.prepare(&format!(
        "SELECT r.started_ms, r.site_id, r.service, r.rating_scale, r.rating_value, t.text, r.misuse
         FROM response_texts t JOIN responses r ON r.id = t.response_id
         WHERE {filter_sql}{search_sql}
         ORDER BY r.started_ms DESC LIMIT {MAX_COMMENTS}"
    ))?;
    a.comments = stmt
        .query_map(params_from_iter(comment_values.iter()), |row| {
            let scale: Option<String> = row.get(3)?;
            let value: Option<i64> = row.get(4)?;
            Ok(Comment {
                started_ms: row.get(0)?,
                site: row.get(1)?,
                service: row.get(2)?,
                rating: scale.zip(value),
                text: row.get(5)?,
                misuse: row.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    a.services = services_in(conn, filter.from_ms, filter.to_ms)?;
    a.surveys = surveys_in(conn, filter.from_ms, filter.to_ms)?;
    Ok(a)
}

/// The services of responses started in [from_ms, to_ms), in order. Each service stored is
/// visited with one seek of `responses_by_service` and kept if a response in the range has it
/// (another seek), so the cost is that of the services, not of the responses.
fn services_in(conn: &Connection, from_ms: i64, to_ms: i64) -> rusqlite::Result<Vec<String>> {
    let mut next = conn.prepare_cached("SELECT MIN(service) FROM responses WHERE service > ?1")?;
    let mut in_range = conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM responses
             WHERE service = ?1 AND started_ms >= ?2 AND started_ms < ?3)",
    )?;
    let mut found = Vec::new();
    let mut service: Option<String> =
        conn.query_row("SELECT MIN(service) FROM responses", [], |r| r.get(0))?;
    while let Some(s) = service {
        if in_range.query_row(params![s, from_ms, to_ms], |r| r.get(0))? {
            found.push(s.clone());
        }
        service = next.query_row([&s], |r| r.get(0))?;
    }
    Ok(found)
}

/// The surveys of responses started in [from_ms, to_ms), in order, found as `services_in`
/// finds services: each survey and version by a seek of `responses_by_survey`.
fn surveys_in(conn: &Connection, from_ms: i64, to_ms: i64) -> rusqlite::Result<Vec<String>> {
    let mut next_survey =
        conn.prepare_cached("SELECT MIN(survey_id) FROM responses WHERE survey_id > ?1")?;
    let mut next_version = conn.prepare_cached(
        "SELECT MIN(survey_version) FROM responses WHERE survey_id = ?1 AND survey_version > ?2",
    )?;
    let mut first_version =
        conn.prepare_cached("SELECT MIN(survey_version) FROM responses WHERE survey_id = ?1")?;
    let mut in_range = conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM responses WHERE survey_id = ?1 AND survey_version = ?2
             AND started_ms >= ?3 AND started_ms < ?4)",
    )?;
    let mut found = Vec::new();
    let mut survey: Option<String> =
        conn.query_row("SELECT MIN(survey_id) FROM responses", [], |r| r.get(0))?;
    while let Some(s) = survey {
        let mut version: Option<String> = first_version.query_row([&s], |r| r.get(0))?;
        while let Some(v) = version {
            if in_range.query_row(params![s, v, from_ms, to_ms], |r| r.get(0))? {
                found.push(s.clone());
                break;
            }
            version = next_version.query_row(params![s, v], |r| r.get(0))?;
        }
        survey = next_survey.query_row([&s], |r| r.get(0))?;
    }
    Ok(found)
}

impl Results for SqliteStore {
    fn sites(&self) -> Result<Vec<Site>, StoreError> {
        let conn = self.lock();
        let result = (|| {
            let mut stmt = conn.prepare(
                "SELECT id, name, time_zone, area, organisation FROM sites
                 ORDER BY organisation, area, name",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(Site {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    time_zone: r.get(2)?,
                    area: r.get(3)?,
                    organisation: r.get(4)?,
                })
            })?;
            rows.collect::<rusqlite::Result<Vec<Site>>>()
        })();
        result.map_err(|e| self.fail(e))
    }

    fn set_site(&self, site: &Site) -> Result<(), StoreError> {
        let conn = self.lock();
        conn.execute(
            "INSERT INTO sites (id, name, time_zone, area, organisation) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, time_zone = excluded.time_zone,
                 area = excluded.area, organisation = excluded.organisation",
            rusqlite::params![site.id, site.name, site.time_zone, site.area, site.organisation],
        )
        .map(|_| ())
        .map_err(|e| self.fail(e))
    }

    fn aggregates(&self, filter: &ResultsFilter) -> Result<Aggregates, StoreError> {
        let conn = self.lock();
        aggregates(&conn, filter).map_err(|e| self.fail(e))
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use earshot_protocol::{Answer, AnswerValue, ClockInfo, Flags, Outcome, ResponseRecord};
    use uuid::Uuid;

    use super::*;
    use crate::ingest::{Accepted, TimeBasis};
    use crate::store::Loaded;

    const BASE_MS: i64 = 1_795_000_000_000;

    /// A few hundred responses over ten days, with every kind of value the figures count:
    /// sites, services or none, two surveys in two versions each, every scale, NPS answers,
    /// reasons, comments, misuse.
    fn store_with_responses() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("c.db")).unwrap();
        let mut seed = 12345u64;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let mut loaded = Vec::new();
        for i in 0..600u64 {
            let started_ms = BASE_MS + next(10 * 86_400_000) as i64;
            let site = ["north", "south", "east", "west"][next(4) as usize];
            let (survey, version) =
                [("shop", "1"), ("shop", "2"), ("council", "1")][next(3) as usize];
            // The council survey's second version only in the last days.
            let version = if survey == "council" && started_ms > BASE_MS + 8 * 86_400_000 {
                "2"
            } else {
                version
            };
            let service = [None, Some("till"), Some("door"), Some("help")][next(4) as usize];
            let mut answers = Vec::new();
            let mut answer = |step: &str, value| {
                answers.push(Answer {
                    step_id: step.into(),
                    at_ms: 1,
                    value,
                })
            };
            if let Some(s) = service {
                answer(
                    "touchpoint",
                    AnswerValue::Choice {
                        options: vec![s.into()],
                    },
                );
            }
            match next(5) {
                0 => {}
                1 => answer(
                    "overall",
                    AnswerValue::Rating {
                        scale: "smiley4".into(),
                        value: 1 + next(4) as i32,
                    },
                ),
                2 => answer(
                    "overall",
                    AnswerValue::Rating {
                        scale: "nps".into(),
                        value: next(11) as i32,
                    },
                ),
                _ => answer(
                    "overall",
                    AnswerValue::Rating {
                        scale: "smiley5".into(),
                        value: 1 + next(5) as i32,
                    },
                ),
            }
            if next(3) == 0 {
                answer(
                    "why",
                    AnswerValue::Choice {
                        options: vec![["queue", "staff", "clean"][next(3) as usize].into()],
                    },
                );
            }
            if next(4) == 0 {
                answer(
                    "recommend",
                    AnswerValue::Rating {
                        scale: "nps".into(),
                        value: next(11) as i32,
                    },
                );
            }
            if next(5) == 0 {
                answer(
                    "comment",
                    AnswerValue::Text {
                        text: format!("comment {i}"),
                    },
                );
            }
            let started = UNIX_EPOCH + Duration::from_millis(started_ms as u64);
            let record = ResponseRecord {
                id: uuid::Builder::from_unix_timestamp_millis(
                    started_ms as u64,
                    &[i as u8, (i >> 8) as u8, 0, 0, 0, 0, 0, 0, 0, 1],
                )
                .into_uuid(),
                reference: format!("R{i}"),
                survey_id: survey.into(),
                survey_version: version.into(),
                language: "en".into(),
                site_id: site.into(),
                device_id: format!("{site}-1"),
                started_at: crate::store::rfc3339(started),
                finished_at: crate::store::rfc3339(started),
                clock: ClockInfo {
                    synchronized: true,
                    started_mono_ms: 0,
                    finished_mono_ms: 1,
                    visit_number: i + 1,
                    run_id: None,
                },
                outcome: [
                    Outcome::Completed,
                    Outcome::Completed,
                    Outcome::Timeout,
                    Outcome::Abandoned,
                ][next(4) as usize],
                service: service.map(str::to_string),
                answers,
                flags: Flags {
                    suspected_misuse: next(10) == 0,
                },
            };
            loaded.push(Loaded {
                accepted: Accepted {
                    index: 0,
                    record_json: serde_json::to_string(&record).unwrap(),
                    record,
                    started_at: started,
                    finished_at: started,
                    basis: TimeBasis::Device,
                },
                device_id: format!("{site}-1"),
                batch_id: Uuid::nil(),
                received_at: SystemTime::now(),
            });
        }
        assert_eq!(store.load(&loaded).unwrap(), 600);
        (dir, store)
    }

    fn strings(conn: &Connection, sql: &str, values: &[Value]) -> Vec<String> {
        conn.prepare(sql)
            .unwrap()
            .query_map(params_from_iter(values.iter()), |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// What each figure's query counted before the index was used (every response of the
    /// range read whole): the same numbers, whatever the filter.
    #[test]
    fn figures_read_from_the_index_are_those_counted_from_the_responses() {
        let (_dir, store) = store_with_responses();
        let day = 86_400_000;
        let filters = [
            ResultsFilter {
                from_ms: 0,
                to_ms: i64::MAX,
                ..Default::default()
            },
            // Neither end on an hour.
            ResultsFilter {
                from_ms: BASE_MS + 5_400_123,
                to_ms: BASE_MS + 5 * day + 1_020_001,
                ..Default::default()
            },
            ResultsFilter {
                from_ms: BASE_MS,
                to_ms: BASE_MS + 10 * day,
                sites: Some(vec!["north".into(), "east".into()]),
                ..Default::default()
            },
            ResultsFilter {
                from_ms: BASE_MS + day,
                to_ms: BASE_MS + 9 * day,
                service: Some("till".into()),
                ..Default::default()
            },
            ResultsFilter {
                from_ms: BASE_MS + 2 * day,
                to_ms: BASE_MS + 10 * day,
                survey: Some("council".into()),
                ..Default::default()
            },
            // Only the council survey's second version, and the last days.
            ResultsFilter {
                from_ms: BASE_MS + 9 * day,
                to_ms: BASE_MS + 10 * day,
                ..Default::default()
            },
            ResultsFilter {
                from_ms: BASE_MS,
                to_ms: BASE_MS + 10 * day,
                sites: Some(vec![]),
                ..Default::default()
            },
            // Nothing in range.
            ResultsFilter {
                from_ms: BASE_MS - 5 * day,
                to_ms: BASE_MS - day,
                ..Default::default()
            },
        ];
        let conn = store.lock();
        for filter in &filters {
            let a = aggregates(&conn, filter).unwrap();
            let (old_sql, values) = where_clause(filter, false);
            let count = |sql: String| -> i64 {
                conn.query_row(&sql, params_from_iter(values.iter()), |r| r.get(0))
                    .unwrap()
            };
            assert_eq!(
                a.total as i64,
                count(format!("SELECT COUNT(*) FROM responses r WHERE {old_sql}")),
                "{filter:?}"
            );
            assert_eq!(
                a.misuse as i64,
                count(format!(
                    "SELECT COUNT(*) FROM responses r WHERE {old_sql} AND r.misuse"
                ))
            );
            let mut hours: Vec<(String, i64, u64, f64, u64)> = conn
                .prepare(&format!(
                    "SELECT r.site_id, r.started_ms / 3600000 AS hour, COUNT(*),
                            COALESCE(SUM({INDEX_SQL}), 0), COUNT({INDEX_SQL})
                     FROM responses r WHERE {old_sql} AND NOT r.misuse
                     GROUP BY r.site_id, hour"
                ))
                .unwrap()
                .query_map(params_from_iter(values.iter()), |row| {
                    Ok((
                        row.get(0)?,
                        row.get(1)?,
                        row.get::<_, i64>(2)? as u64,
                        row.get(3)?,
                        row.get::<_, i64>(4)? as u64,
                    ))
                })
                .unwrap()
                .map(Result::unwrap)
                .collect();
            let mut got = a.hours.clone();
            let order = |x: &(String, i64, u64, f64, u64), y: &(String, i64, u64, f64, u64)| {
                (&x.0, x.1).cmp(&(&y.0, y.1))
            };
            hours.sort_by(order);
            got.sort_by(order);
            assert_eq!(got, hours, "{filter:?}");
            let range = [Value::Integer(filter.from_ms), Value::Integer(filter.to_ms)];
            assert_eq!(
                a.services,
                strings(&conn, "SELECT DISTINCT service FROM responses WHERE started_ms >= ?1 AND started_ms < ?2 AND service IS NOT NULL ORDER BY service", &range),
                "{filter:?}"
            );
            assert_eq!(
                a.surveys,
                strings(&conn, "SELECT DISTINCT survey_id FROM responses WHERE started_ms >= ?1 AND started_ms < ?2 ORDER BY survey_id", &range),
                "{filter:?}"
            );
            let rated = count(format!("SELECT COUNT(*) FROM responses r WHERE {old_sql} AND NOT r.misuse AND r.rating_scale IS NOT NULL"));
            assert_eq!(a.ratings.iter().map(|r| r.3 as i64).sum::<i64>(), rated);
            let chosen = count(format!("SELECT COUNT(*) FROM response_choices c JOIN responses r ON r.id = c.response_id WHERE {old_sql} AND NOT r.misuse"));
            assert_eq!(a.choices.iter().map(|c| c.4 as i64).sum::<i64>(), chosen);
        }
        // The walk saw both survey versions and every service somewhere.
        let all = aggregates(&conn, &filters[0]).unwrap();
        assert_eq!(all.surveys, ["council", "shop"]);
        assert_eq!(all.services, ["door", "help", "till"]);
        assert_eq!(
            aggregates(&conn, &filters[5]).unwrap().surveys,
            ["council", "shop"]
        );
        assert!(aggregates(&conn, &filters[7]).unwrap().surveys.is_empty());
    }

    #[test]
    fn the_figures_queries_read_the_results_index_and_sort_nothing_by_hour() {
        let (_dir, store) = store_with_responses();
        let conn = store.lock();
        let filter = ResultsFilter {
            from_ms: BASE_MS,
            to_ms: BASE_MS + 86_400_000,
            ..Default::default()
        };
        let (sql, values) = where_clause(&filter, true);
        let plan_of = |query: String| -> String {
            conn.prepare(&format!("EXPLAIN QUERY PLAN {query}"))
                .unwrap()
                .query_map(params_from_iter(values.iter()), |r| r.get::<_, String>(3))
                .unwrap()
                .map(Result::unwrap)
                .collect::<Vec<_>>()
                .join("\n")
        };
        let counts = plan_of(format!(
            "SELECT COUNT(*), SUM(misuse) FROM responses r WHERE {sql}"
        ));
        assert!(
            counts.contains("COVERING INDEX responses_for_results"),
            "{counts}"
        );
        let hours = plan_of(format!(
            "SELECT r.site_id, {HOUR_SQL}, COUNT(*) FROM responses r WHERE {sql} AND NOT r.misuse
             GROUP BY {HOUR_SQL}, r.site_id"
        ));
        assert!(
            hours.contains("COVERING INDEX responses_for_results"),
            "{hours}"
        );
        assert!(!hours.contains("TEMP B-TREE"), "{hours}");
    }
}
