//! What the results pages read from the store: counts kept as responses were stored
//! (`store::rollup`), never the responses themselves (comments excepted). The figures made
//! from them are in `crate::results`.
//!
//! Invariants: a filter is a range of whole days, and each site's responses count on its own
//! calendar (`crate::periods`): 1 March at a site in Sydney is Sydney's 1 March. Every query
//! is bounded by the range and returns aggregates, not rows (comments excepted, at most
//! `MAX_COMMENTS`); misuse-flagged responses are counted apart and left out of every other
//! aggregate. A range is read as its whole months from the month rollups and the days left
//! at either end from the day ones, so a year costs about what a month does.

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};

use super::{SqliteStore, StoreError};
use crate::periods::{day_number, pieces, zone_named, Piece, Span};

pub const MAX_COMMENTS: usize = 200;

/// Which responses a view is about: those started from the first day to the last, both
/// included, each on its site's calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultsFilter {
    pub from: Date,
    pub to: Date,
    /// Only these sites; `None`: all.
    pub sites: Option<Vec<String>>,
    pub service: Option<String>,
    pub survey: Option<String>,
    /// Comments containing this text (without case).
    pub search: Option<String>,
}

impl ResultsFilter {
    /// Every response of the days `from..=to`.
    pub fn days(from: Date, to: Date) -> ResultsFilter {
        ResultsFilter {
            from,
            to,
            sites: None,
            service: None,
            survey: None,
            search: None,
        }
    }
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
    /// (local day as days since 1970-01-01, responses, three times the sum of their index
    /// values, how many had one), in order of the day, every site added together.
    pub days: Vec<(i64, u64, i64, u64)>,
    /// [weekday, Monday 0][local hour]: responses.
    pub heat: [[u64; 24]; 7],
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

/// (SQL condition over a rollup table `g`, its parameters) for one piece of a filter's range.
fn piece_where(filter: &ResultsFilter, piece: &Piece) -> (String, Vec<Value>) {
    let mut sql = String::from("g.span = ? AND g.period BETWEEN ? AND ?");
    let mut values = vec![
        Value::Integer(piece.span.code()),
        Value::Integer(piece.first),
        Value::Integer(piece.last),
    ];
    push_choices(filter, "g", &mut sql, &mut values);
    (sql, values)
}

/// The filter's sites, service and survey, as conditions on table `t`.
fn push_choices(filter: &ResultsFilter, t: &str, sql: &mut String, values: &mut Vec<Value>) {
    if let Some(sites) = &filter.sites {
        sql.push_str(&format!(" AND {t}.site_id IN ("));
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
        sql.push_str(&format!(" AND {t}.service = ?"));
        values.push(Value::Text(service.clone()));
    }
    if let Some(survey) = &filter.survey {
        sql.push_str(&format!(" AND {t}.survey_id = ?"));
        values.push(Value::Text(survey.clone()));
    }
}

/// Rows of `sql` (a GROUP BY over one piece) for every piece of the range, added together by
/// their key.
fn over_pieces<K: Ord, F>(
    conn: &Connection,
    filter: &ResultsFilter,
    pieces: &[Piece],
    sql: impl Fn(&str) -> String,
    mut row: F,
) -> rusqlite::Result<BTreeMap<K, u64>>
where
    F: FnMut(&rusqlite::Row) -> rusqlite::Result<(K, u64)>,
{
    let mut sums = BTreeMap::new();
    for piece in pieces {
        let (condition, values) = piece_where(filter, piece);
        let mut stmt = conn.prepare_cached(&sql(&condition))?;
        let mut rows = stmt.query(params_from_iter(values.iter()))?;
        while let Some(r) = rows.next()? {
            let (key, n) = row(r)?;
            *sums.entry(key).or_insert(0) += n;
        }
    }
    Ok(sums)
}

fn count(r: &rusqlite::Row, i: usize) -> rusqlite::Result<u64> {
    Ok(r.get::<_, i64>(i)?.max(0) as u64)
}

fn aggregates(conn: &Connection, filter: &ResultsFilter) -> rusqlite::Result<Aggregates> {
    let mut a = Aggregates::default();
    if filter.to < filter.from {
        return Ok(a);
    }
    let pieces = pieces(filter.from, filter.to);
    // By day over the whole range: the trend needs every day, and the totals are their sum.
    let days = Piece {
        span: Span::Day,
        first: day_number(filter.from),
        last: day_number(filter.to),
    };
    let (condition, values) = piece_where(filter, &days);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT g.period, SUM(g.total), SUM(g.misuse), SUM(g.completed),
                SUM(g.index_thirds), SUM(g.index_n)
         FROM rollup_counts g WHERE {condition} GROUP BY g.period ORDER BY g.period"
    ))?;
    let mut rows = stmt.query(params_from_iter(values.iter()))?;
    while let Some(r) = rows.next()? {
        let (total, misuse, completed) = (count(r, 1)?, count(r, 2)?, count(r, 3)?);
        a.total += total;
        a.misuse += misuse;
        a.completed += completed;
        a.days
            .push((r.get(0)?, total - misuse, r.get(4)?, count(r, 5)?));
    }
    a.counted = a.total - a.misuse;

    a.ratings = over_pieces(
        conn,
        filter,
        &pieces,
        |c| {
            format!(
                "SELECT g.site_id, g.scale, g.value, SUM(g.n) FROM rollup_ratings g
                 WHERE {c} GROUP BY g.site_id, g.scale, g.value"
            )
        },
        |r| {
            Ok((
                (
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ),
                count(r, 3)?,
            ))
        },
    )?
    .into_iter()
    .map(|((site, scale, value), n)| (site, scale, value, n))
    .collect();
    a.nps = over_pieces(
        conn,
        filter,
        &pieces,
        |c| format!("SELECT g.value, SUM(g.n) FROM rollup_nps g WHERE {c} GROUP BY g.value"),
        |r| Ok((r.get::<_, i64>(0)?, count(r, 1)?)),
    )?
    .into_iter()
    .collect();
    a.choices = over_pieces(
        conn,
        filter,
        &pieces,
        |c| {
            format!(
                "SELECT g.survey_id, g.step_id, g.option_id, g.mood, SUM(g.n) FROM rollup_choices g
                 WHERE {c} GROUP BY g.survey_id, g.step_id, g.option_id, g.mood"
            )
        },
        |r| {
            Ok((
                (
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ),
                count(r, 4)?,
            ))
        },
    )?
    .into_iter()
    .map(|((survey, step, option, mood), n)| (survey, step, option, mood, n))
    .collect();
    for piece in &pieces {
        let (condition, values) = piece_where(filter, piece);
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT g.counts FROM rollup_hours g WHERE {condition}"
        ))?;
        let mut rows = stmt.query(params_from_iter(values.iter()))?;
        while let Some(r) = rows.next()? {
            let bytes: Vec<u8> = r.get(0)?;
            if let Some(heat) = super::rollup::Heat::from_bytes(&bytes) {
                for (row, counts) in a.heat.iter_mut().zip(heat.0.iter()) {
                    for (n, m) in row.iter_mut().zip(counts.iter()) {
                        *n += u64::from(*m);
                    }
                }
            }
        }
    }
    // Which services and surveys the range has, at any site: the filter's choices.
    let everywhere = ResultsFilter {
        sites: None,
        service: None,
        survey: None,
        ..filter.clone()
    };
    let seen = |column: &str| -> rusqlite::Result<Vec<String>> {
        let found = over_pieces(
            conn,
            &everywhere,
            &pieces,
            |c| {
                format!("SELECT DISTINCT g.{column}, 1 FROM rollup_counts g WHERE {c} AND g.{column} <> ''")
            },
            |r| Ok((r.get::<_, String>(0)?, 1)),
        )?;
        Ok(found.into_keys().collect())
    };
    a.services = seen("service")?;
    a.surveys = seen("survey_id")?;
    a.comments = comments(conn, filter)?;
    Ok(a)
}

/// The filter's days at each site as millisecond ranges: one per time zone among the sites,
/// so that every site's comments are those of its own days, as its figures are.
fn site_ranges(
    conn: &Connection,
    filter: &ResultsFilter,
) -> rusqlite::Result<(String, Vec<Value>)> {
    let start = |date: Date, zone: &TimeZone| -> i64 {
        date.to_zoned(zone.clone())
            .map(|z| z.timestamp().as_millisecond())
            .unwrap_or(i64::MAX)
    };
    let end_day = filter.to.tomorrow().unwrap_or(filter.to);
    let range_in = |zone: &TimeZone| (start(filter.from, zone), start(end_day, zone));
    let mut by_zone: BTreeMap<String, Vec<String>> = BTreeMap::new();
    {
        let mut stmt = conn.prepare_cached("SELECT id, time_zone FROM sites")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let (site, zone): (String, String) = (r.get(0)?, r.get(1)?);
            if filter.sites.as_ref().is_none_or(|s| s.contains(&site)) {
                let zone = if TimeZone::get(&zone).is_ok() {
                    zone
                } else {
                    "UTC".into()
                };
                by_zone.entry(zone).or_default().push(site);
            }
        }
    }
    let (mut low, mut high) = range_in(&TimeZone::UTC);
    let mut parts = Vec::new();
    let mut values = Vec::new();
    let mut zoned_sites: Vec<&String> = Vec::new();
    for (zone, sites) in &by_zone {
        if zone == "UTC" && filter.sites.is_none() {
            continue;
        }
        let (from, to) = range_in(&zone_named(zone));
        low = low.min(from);
        high = high.max(to);
        let marks = vec!["?"; sites.len()].join(", ");
        parts.push(format!(
            "(r.site_id IN ({marks}) AND r.started_ms >= ? AND r.started_ms < ?)"
        ));
        values.extend(sites.iter().map(|s| Value::Text(s.clone())));
        values.push(Value::Integer(from));
        values.push(Value::Integer(to));
        zoned_sites.extend(sites);
    }
    if filter.sites.is_none() {
        // Every other site, known in UTC or not known at all, counts UTC days.
        let (from, to) = range_in(&TimeZone::UTC);
        let others = if zoned_sites.is_empty() {
            String::new()
        } else {
            format!(
                "r.site_id NOT IN ({}) AND ",
                vec!["?"; zoned_sites.len()].join(", ")
            )
        };
        parts.push(format!("({others}r.started_ms >= ? AND r.started_ms < ?)"));
        values.extend(zoned_sites.iter().map(|s| Value::Text((*s).clone())));
        values.push(Value::Integer(from));
        values.push(Value::Integer(to));
    } else if let Some(sites) = &filter.sites {
        // A site asked for that is not known counts UTC days.
        let unknown: Vec<&String> = sites
            .iter()
            .filter(|s| !by_zone.values().any(|v| v.contains(s)))
            .collect();
        if !unknown.is_empty() {
            let (from, to) = range_in(&TimeZone::UTC);
            let marks = vec!["?"; unknown.len()].join(", ");
            parts.push(format!(
                "(r.site_id IN ({marks}) AND r.started_ms >= ? AND r.started_ms < ?)"
            ));
            values.extend(unknown.iter().map(|s| Value::Text((*s).clone())));
            values.push(Value::Integer(from));
            values.push(Value::Integer(to));
        }
    }
    if parts.is_empty() {
        parts.push("0".into());
    }
    // The outer bounds first, so that the time index serves the search.
    let mut all = vec![Value::Integer(low), Value::Integer(high)];
    all.extend(values);
    Ok((
        format!(
            "r.started_ms >= ? AND r.started_ms < ? AND ({})",
            parts.join(" OR ")
        ),
        all,
    ))
}

/// The newest comments of the filter, read in time order until enough are found.
fn comments(conn: &Connection, filter: &ResultsFilter) -> rusqlite::Result<Vec<Comment>> {
    let (mut sql, mut values) = site_ranges(conn, filter)?;
    let only_service_and_survey = ResultsFilter {
        sites: None,
        ..filter.clone()
    };
    push_choices(&only_service_and_survey, "r", &mut sql, &mut values);
    if let Some(q) = filter.search.as_deref().filter(|q| !q.trim().is_empty()) {
        // LIKE without its wildcards: the search is for the text as typed.
        let escaped = q
            .trim()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        sql.push_str(" AND t.text LIKE ? ESCAPE '\\'");
        values.push(Value::Text(format!("%{escaped}%")));
    }
    let mut stmt = conn.prepare(&format!(
        "SELECT r.started_ms, r.site_id, r.service, r.rating_scale, r.rating_value, t.text, r.misuse
         FROM response_texts t JOIN responses r ON r.id = t.response_id
         WHERE {sql}
         ORDER BY r.started_ms DESC LIMIT {MAX_COMMENTS}"
    ))?;
    let rows = stmt.query_map(params_from_iter(values.iter()), |row| {
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
    })?;
    rows.collect()
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
        let mut conn = self.lock();
        let result = (|| -> rusqlite::Result<()> {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let zone_before = super::rollup::zone_of_site(&tx, &site.id)?;
            tx.execute(
                "INSERT INTO sites (id, name, time_zone, area, organisation) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, time_zone = excluded.time_zone,
                     area = excluded.area, organisation = excluded.organisation",
                rusqlite::params![site.id, site.name, site.time_zone, site.area, site.organisation],
            )?;
            // Its days are counted on its new calendar from now on, and those counted before
            // again.
            if zone_named(&site.time_zone) != zone_before {
                super::rollup::rebuild_site(&tx, &site.id)?;
            }
            tx.commit()
        })();
        result.map_err(|e| self.fail(e))
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
    use jiff::civil::date;

    const BASE_MS: i64 = 1_795_000_000_000;

    /// A few hundred responses over ten days, with every kind of value the figures count:
    /// sites, services or none, two surveys in two versions each, every scale, NPS answers,
    /// reasons, comments, misuse.
    fn store_with_responses() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("c.db")).unwrap();
        // Sites on three calendars, and one the workspace has never been told of (UTC).
        for (id, zone) in [
            ("north", "Europe/London"),
            ("south", "America/New_York"),
            ("east", "Asia/Kolkata"),
        ] {
            store
                .set_site(&Site {
                    id: id.into(),
                    name: id.into(),
                    time_zone: zone.into(),
                    area: String::new(),
                    organisation: String::new(),
                })
                .unwrap();
        }
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
                started_at: earshot_protocol::time::rfc3339(started),
                finished_at: earshot_protocol::time::rfc3339(started),
                clock: ClockInfo {
                    synchronized: true,
                    started_mono_ms: 0,
                    finished_mono_ms: 1,
                    visit_number: i + 1,
                    run_id: None,
                    boot_id: None,
                    started_boot_ms: None,
                    finished_boot_ms: None,
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

    fn site_zones(conn: &Connection) -> std::collections::HashMap<String, String> {
        conn.prepare("SELECT id, time_zone FROM sites")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// The aggregates of `filter` counted the long way: every response read, placed on its
    /// site's calendar and added up here.
    fn counted_from_the_responses(conn: &Connection, filter: &ResultsFilter) -> Aggregates {
        let zones = site_zones(conn);
        let mut stmt = conn
            .prepare(
                "SELECT id, site_id, survey_id, service, started_ms, outcome, misuse,
                        rating_scale, rating_value, nps_value FROM responses",
            )
            .unwrap();
        type Raw = (
            String,
            String,
            String,
            Option<String>,
            i64,
            String,
            bool,
            Option<String>,
            Option<i64>,
            Option<i64>,
        );
        let rows: Vec<Raw> = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                ))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut a = Aggregates::default();
        let mut ratings: BTreeMap<(String, String, i64), u64> = BTreeMap::new();
        let mut nps: BTreeMap<i64, u64> = BTreeMap::new();
        let mut choices: BTreeMap<(String, String, String, String), u64> = BTreeMap::new();
        let mut days: BTreeMap<i64, (u64, i64, u64)> = BTreeMap::new();
        let (mut services, mut surveys) = (
            std::collections::BTreeSet::new(),
            std::collections::BTreeSet::new(),
        );
        for (id, site, survey, service, started_ms, outcome, misuse, scale, value, nps_value) in
            rows
        {
            let zone = zone_named(zones.get(&site).map(String::as_str).unwrap_or("UTC"));
            let local = jiff::Timestamp::from_millisecond(started_ms)
                .unwrap()
                .to_zoned(zone);
            if local.date() < filter.from || local.date() > filter.to {
                continue;
            }
            surveys.insert(survey.clone());
            if let Some(s) = &service {
                services.insert(s.clone());
            }
            if filter.sites.as_ref().is_some_and(|s| !s.contains(&site))
                || filter
                    .service
                    .as_ref()
                    .is_some_and(|s| service.as_ref() != Some(s))
                || filter.survey.as_ref().is_some_and(|s| *s != survey)
            {
                continue;
            }
            a.total += 1;
            if misuse {
                a.misuse += 1;
                continue;
            }
            a.counted += 1;
            a.completed += u64::from(outcome == "completed");
            let rating = scale.as_deref().zip(value);
            let day = days.entry(day_number(local.date())).or_default();
            day.0 += 1;
            if let Some(t) = rating.and_then(|(s, v)| crate::results::index_thirds(s, v)) {
                day.1 += t;
                day.2 += 1;
            }
            if let Some((s, v)) = rating {
                *ratings.entry((site.clone(), s.to_string(), v)).or_default() += 1;
            }
            if let Some(v) = nps_value {
                *nps.entry(v).or_default() += 1;
            }
            let feeling = crate::results::mood(rating);
            let mut chosen = conn
                .prepare("SELECT step_id, option_id FROM response_choices WHERE response_id = ?1")
                .unwrap();
            for c in chosen
                .query_map([&id], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })
                .unwrap()
            {
                let (step, option) = c.unwrap();
                *choices
                    .entry((survey.clone(), step, option, feeling.into()))
                    .or_default() += 1;
            }
            a.heat[local.weekday().to_monday_zero_offset() as usize][local.hour() as usize] += 1;
        }
        a.ratings = ratings
            .into_iter()
            .map(|((s, k, v), n)| (s, k, v, n))
            .collect();
        a.nps = nps.into_iter().collect();
        a.choices = choices
            .into_iter()
            .map(|((s, t, o, m), n)| (s, t, o, m, n))
            .collect();
        a.days = days
            .into_iter()
            .map(|(d, (n, t, k))| (d, n, t, k))
            .collect();
        a.services = services.into_iter().collect();
        a.surveys = surveys.into_iter().collect();
        a
    }

    fn filters() -> Vec<ResultsFilter> {
        let base = jiff::Timestamp::from_millisecond(BASE_MS)
            .unwrap()
            .to_zoned(TimeZone::UTC)
            .date();
        let day = |n: i64| base.checked_add(jiff::Span::new().days(n)).unwrap();
        vec![
            ResultsFilter::days(day(-40), day(40)),
            ResultsFilter::days(day(1), day(5)),
            // Whole months and days either side: 1 November to the 30th, then days.
            ResultsFilter::days(date(2026, 10, 20), date(2026, 11, 30)),
            ResultsFilter::days(date(2026, 11, 1), date(2026, 11, 30)),
            ResultsFilter::days(date(2026, 11, 1), date(2026, 12, 31)),
            ResultsFilter {
                sites: Some(vec!["north".into(), "east".into()]),
                ..ResultsFilter::days(day(0), day(10))
            },
            ResultsFilter {
                sites: Some(vec!["nowhere".into(), "west".into()]),
                ..ResultsFilter::days(day(0), day(10))
            },
            ResultsFilter {
                service: Some("till".into()),
                ..ResultsFilter::days(day(1), day(9))
            },
            ResultsFilter {
                survey: Some("council".into()),
                ..ResultsFilter::days(day(2), day(10))
            },
            // Only the council survey's second version, and the last days.
            ResultsFilter::days(day(9), day(10)),
            ResultsFilter {
                sites: Some(vec![]),
                ..ResultsFilter::days(day(0), day(10))
            },
            // Nothing in range.
            ResultsFilter::days(day(-5), day(-1)),
            // The wrong way round.
            ResultsFilter::days(day(5), day(1)),
        ]
    }

    fn assert_counts_agree(conn: &Connection) {
        for filter in &filters() {
            let mut got = aggregates(conn, filter).unwrap();
            got.comments.clear();
            let mut want = counted_from_the_responses(conn, filter);
            if filter.to < filter.from {
                want = Aggregates::default();
            }
            assert_eq!(got, want, "{filter:?}");
        }
    }

    #[test]
    fn the_counts_kept_are_those_counted_from_the_responses() {
        let (_dir, store) = store_with_responses();
        let conn = store.lock();
        assert_counts_agree(&conn);
        let all = aggregates(&conn, &filters()[0]).unwrap();
        assert_eq!(all.total, 600);
        assert_eq!(all.surveys, ["council", "shop"]);
        assert_eq!(all.services, ["door", "help", "till"]);
        assert!(all.days.len() >= 10, "{:?}", all.days);
        assert!(all.heat.iter().flatten().sum::<u64>() == all.counted);
        assert!(aggregates(&conn, &filters()[11])
            .unwrap()
            .surveys
            .is_empty());
        // Counted again from nothing, as the migration does, they are the same.
        let before: Vec<Aggregates> = filters()
            .iter()
            .map(|f| aggregates(&conn, f).unwrap())
            .collect();
        drop(conn);
        {
            let mut conn = store.lock();
            let tx = conn.transaction().unwrap();
            super::super::rollup::rebuild_all(&tx).unwrap();
            tx.commit().unwrap();
        }
        let conn = store.lock();
        let after: Vec<Aggregates> = filters()
            .iter()
            .map(|f| aggregates(&conn, f).unwrap())
            .collect();
        assert_eq!(before, after);
    }

    #[test]
    fn a_site_moved_to_another_time_zone_is_counted_on_its_new_calendar() {
        let (_dir, store) = store_with_responses();
        let north = |store: &SqliteStore| {
            let conn = store.lock();
            aggregates(
                &conn,
                &ResultsFilter {
                    sites: Some(vec!["north".into()]),
                    ..filters()[0].clone()
                },
            )
            .unwrap()
        };
        let before = north(&store);
        store
            .set_site(&Site {
                id: "north".into(),
                name: "North".into(),
                time_zone: "Pacific/Auckland".into(),
                area: String::new(),
                organisation: String::new(),
            })
            .unwrap();
        let after = north(&store);
        assert_eq!(before.total, after.total);
        assert_ne!(before.heat, after.heat, "the hours moved with the zone");
        assert_counts_agree(&store.lock());
        // A change of name alone counts nothing again and changes nothing.
        store
            .set_site(&Site {
                id: "north".into(),
                name: "Northern".into(),
                time_zone: "Pacific/Auckland".into(),
                area: "far".into(),
                organisation: String::new(),
            })
            .unwrap();
        assert_eq!(north(&store), after);
    }

    #[test]
    fn comments_are_those_of_each_sites_own_days() {
        let (_dir, store) = store_with_responses();
        let conn = store.lock();
        for filter in filters() {
            let got = aggregates(&conn, &filter).unwrap().comments;
            let want = counted_comments(&conn, &filter);
            assert_eq!(got.len(), want.len(), "{filter:?}");
            let mut got_texts: Vec<&str> = got.iter().map(|c| c.text.as_str()).collect();
            let mut want_texts: Vec<&str> = want.iter().map(String::as_str).collect();
            got_texts.sort();
            want_texts.sort();
            assert_eq!(got_texts, want_texts, "{filter:?}");
            assert!(
                got.windows(2).all(|w| w[0].started_ms >= w[1].started_ms),
                "newest first"
            );
        }
        let searched = aggregates(
            &conn,
            &ResultsFilter {
                search: Some("comment 1".into()),
                ..filters()[0].clone()
            },
        )
        .unwrap();
        assert!(!searched.comments.is_empty());
        assert!(searched
            .comments
            .iter()
            .all(|c| c.text.contains("comment 1")));
    }

    fn counted_comments(conn: &Connection, filter: &ResultsFilter) -> Vec<String> {
        let zones = site_zones(conn);
        let rows: Vec<(String, Option<String>, String, i64, String)> = conn
            .prepare(
                "SELECT r.site_id, r.service, r.survey_id, r.started_ms, t.text
                 FROM response_texts t JOIN responses r ON r.id = t.response_id
                 ORDER BY r.started_ms DESC",
            )
            .unwrap()
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        rows.into_iter()
            .filter(|(site, service, survey, started_ms, _)| {
                let zone = zone_named(zones.get(site).map(String::as_str).unwrap_or("UTC"));
                let d = jiff::Timestamp::from_millisecond(*started_ms)
                    .unwrap()
                    .to_zoned(zone)
                    .date();
                d >= filter.from
                    && d <= filter.to
                    && filter.sites.as_ref().is_none_or(|s| s.contains(site))
                    && filter
                        .service
                        .as_ref()
                        .is_none_or(|s| service.as_ref() == Some(s))
                    && filter.survey.as_ref().is_none_or(|s| s == survey)
            })
            .map(|(.., text)| text)
            .take(MAX_COMMENTS)
            .collect()
    }

    #[test]
    fn a_range_reads_the_rollups_and_no_response() {
        let (_dir, store) = store_with_responses();
        let conn = store.lock();
        let filter = ResultsFilter::days(date(2026, 10, 20), date(2026, 12, 10));
        for piece in pieces(filter.from, filter.to) {
            let (condition, values) = piece_where(&filter, &piece);
            for table in [
                "rollup_counts",
                "rollup_ratings",
                "rollup_nps",
                "rollup_choices",
                "rollup_hours",
            ] {
                let plan: String = conn
                    .prepare(&format!(
                        "EXPLAIN QUERY PLAN SELECT COUNT(*) FROM {table} g WHERE {condition}"
                    ))
                    .unwrap()
                    .query_map(params_from_iter(values.iter()), |r| r.get::<_, String>(3))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect::<Vec<_>>()
                    .join("\n");
                assert!(
                    plan.contains("SEARCH g USING PRIMARY KEY (span=? AND period>? AND period<?)"),
                    "{table}: {plan}"
                );
            }
        }
    }
}
