//! What the results pages read from the store: counts the database adds up itself, by the
//! indexed columns, never by parsing records. The figures made from them are in
//! `crate::results`.
//!
//! Invariants: every query is bounded by the filter's time range and returns aggregates, not
//! rows (comments excepted, at most `MAX_COMMENTS`); misuse-flagged responses are counted
//! apart and left out of every other aggregate.

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};

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

/// The WHERE clause of a filter over `responses r`, and its parameters.
fn where_clause(filter: &ResultsFilter) -> (String, Vec<Value>) {
    let mut sql = String::from("r.started_ms >= ? AND r.started_ms < ?");
    let mut values = vec![Value::Integer(filter.from_ms), Value::Integer(filter.to_ms)];
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
    let (filter_sql, values) = where_clause(filter);
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
        "SELECT r.site_id, r.started_ms / 3600000 AS hour, COUNT(*),
                COALESCE(SUM({INDEX_SQL}), 0), COUNT({INDEX_SQL})
         FROM responses r WHERE {filter_sql} AND NOT r.misuse
         GROUP BY r.site_id, hour"
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
    let mut comment_values = values.clone();
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
    let range = [Value::Integer(filter.from_ms), Value::Integer(filter.to_ms)];
    let mut stmt = conn.prepare(
        "SELECT DISTINCT service FROM responses
         WHERE started_ms >= ?1 AND started_ms < ?2 AND service IS NOT NULL ORDER BY service",
    )?;
    a.services = stmt
        .query_map(params_from_iter(range.iter()), |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut stmt = conn.prepare(
        "SELECT DISTINCT survey_id FROM responses
         WHERE started_ms >= ?1 AND started_ms < ?2 ORDER BY survey_id",
    )?;
    a.surveys = stmt
        .query_map(params_from_iter(range.iter()), |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(a)
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
