//! Counts kept as responses are stored, per site, local day and local month, so that a
//! results page adds up a year of a large deployment from tens of thousands of rows instead
//! of a million.
//!
//! Invariants:
//! - Every stored response is counted exactly once in each span (its day and its month, on
//!   its site's calendar: `crate::periods`), in the same transaction that stores it, and in
//!   nothing else; a response is never changed in what is counted here once stored, so
//!   nothing is ever subtracted.
//! - Misuse-flagged responses are in `rollup_counts` (as `total` and `misuse`) and in no
//!   other rollup.
//! - A site's rollups follow its time zone: changing the zone counts its responses again
//!   (`rebuild_site`), in the transaction that changes it.
//! - What is counted is what `store::results` once counted from the responses themselves;
//!   the tests compare the two on the same data.

use std::collections::HashMap;

use rusqlite::{params, OptionalExtension, Transaction};

use crate::periods::{local_place, zone_named, LocalPlace, Span};
use crate::results::{index_thirds, mood};

/// What of one stored response is counted.
#[derive(Debug, Clone)]
pub struct Counted<'a> {
    pub site: &'a str,
    pub survey: &'a str,
    pub service: Option<&'a str>,
    pub started_ms: i64,
    pub completed: bool,
    pub misuse: bool,
    pub rating: Option<(&'a str, i64)>,
    pub nps: Option<i64>,
    pub choices: &'a [(String, String)],
}

/// (span, period, site, survey, service): the key every rollup row starts with. A response
/// without a service is counted under "".
type Key = (i64, i64, String, String, String);

#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Totals {
    total: i64,
    misuse: i64,
    completed: i64,
    index_thirds: i64,
    index_n: i64,
}

/// Counts added up in memory, then added to the tables in one go.
#[derive(Debug, Default)]
pub struct Tally {
    counts: HashMap<Key, Totals>,
    ratings: HashMap<(Key, String, i64), i64>,
    nps: HashMap<(Key, i64), i64>,
    choices: HashMap<(Key, String, String, &'static str), i64>,
    hours: HashMap<Key, Heat>,
}

/// Responses by weekday (Monday 0) and local hour, as stored: 168 little-endian u32.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Heat(pub [[u32; 24]; 7]);

impl Heat {
    pub const BYTES: usize = 7 * 24 * 4;

    pub fn to_bytes(&self) -> Vec<u8> {
        self.0
            .iter()
            .flatten()
            .flat_map(|n| n.to_le_bytes())
            .collect()
    }

    /// `None` for anything not 168 counts long: a row this collector did not write.
    pub fn from_bytes(bytes: &[u8]) -> Option<Heat> {
        if bytes.len() != Heat::BYTES {
            return None;
        }
        let mut heat = Heat::default();
        for (i, chunk) in bytes.chunks_exact(4).enumerate() {
            heat.0[i / 24][i % 24] = u32::from_le_bytes(chunk.try_into().ok()?);
        }
        Some(heat)
    }

    pub fn add(&mut self, other: &Heat) {
        for (row, other_row) in self.0.iter_mut().zip(other.0.iter()) {
            for (n, m) in row.iter_mut().zip(other_row.iter()) {
                *n = n.saturating_add(*m);
            }
        }
    }
}

impl Tally {
    pub fn add(&mut self, r: &Counted, place: LocalPlace) {
        for (span, period) in [(Span::Day, place.day), (Span::Month, place.month)] {
            let key: Key = (
                span.code(),
                period,
                r.site.to_string(),
                r.survey.to_string(),
                r.service.unwrap_or("").to_string(),
            );
            let t = self.counts.entry(key.clone()).or_default();
            t.total += 1;
            if r.misuse {
                t.misuse += 1;
                continue;
            }
            t.completed += i64::from(r.completed);
            if let Some(thirds) = r.rating.and_then(|(s, v)| index_thirds(s, v)) {
                t.index_thirds += thirds;
                t.index_n += 1;
            }
            if let Some((scale, value)) = r.rating {
                *self
                    .ratings
                    .entry((key.clone(), scale.to_string(), value))
                    .or_default() += 1;
            }
            if let Some(value) = r.nps {
                *self.nps.entry((key.clone(), value)).or_default() += 1;
            }
            let feeling = mood(r.rating);
            for (step, option) in r.choices {
                *self
                    .choices
                    .entry((key.clone(), step.clone(), option.clone(), feeling))
                    .or_default() += 1;
            }
            let slot = &mut self.hours.entry(key).or_default().0[usize::from(place.weekday) % 7]
                [usize::from(place.hour) % 24];
            *slot = slot.saturating_add(1);
        }
    }

    /// How many rows writing would add or change.
    pub fn rows(&self) -> usize {
        self.counts.len()
            + self.ratings.len()
            + self.nps.len()
            + self.choices.len()
            + self.hours.len()
    }

    /// Adds everything counted to the tables.
    pub fn write(&self, tx: &Transaction) -> rusqlite::Result<()> {
        let mut counts = tx.prepare_cached(
            "INSERT INTO rollup_counts (span, period, site_id, survey_id, service,
                 total, misuse, completed, index_thirds, index_n)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT DO UPDATE SET total = total + excluded.total,
                 misuse = misuse + excluded.misuse, completed = completed + excluded.completed,
                 index_thirds = index_thirds + excluded.index_thirds,
                 index_n = index_n + excluded.index_n",
        )?;
        for ((span, period, site, survey, service), t) in &self.counts {
            counts.execute(params![
                span,
                period,
                site,
                survey,
                service,
                t.total,
                t.misuse,
                t.completed,
                t.index_thirds,
                t.index_n
            ])?;
        }
        let mut ratings = tx.prepare_cached(
            "INSERT INTO rollup_ratings (span, period, site_id, survey_id, service, scale, value, n)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT DO UPDATE SET n = n + excluded.n",
        )?;
        for (((span, period, site, survey, service), scale, value), n) in &self.ratings {
            ratings.execute(params![
                span, period, site, survey, service, scale, value, n
            ])?;
        }
        let mut nps = tx.prepare_cached(
            "INSERT INTO rollup_nps (span, period, site_id, survey_id, service, value, n)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT DO UPDATE SET n = n + excluded.n",
        )?;
        for (((span, period, site, survey, service), value), n) in &self.nps {
            nps.execute(params![span, period, site, survey, service, value, n])?;
        }
        let mut choices = tx.prepare_cached(
            "INSERT INTO rollup_choices (span, period, site_id, survey_id, service,
                 step_id, option_id, mood, n)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT DO UPDATE SET n = n + excluded.n",
        )?;
        for (((span, period, site, survey, service), step, option, feeling), n) in &self.choices {
            choices.execute(params![
                span, period, site, survey, service, step, option, feeling, n
            ])?;
        }
        // Counts in one value: read, added to, written back.
        let mut stored_heat = tx.prepare_cached(
            "SELECT counts FROM rollup_hours
             WHERE span = ?1 AND period = ?2 AND site_id = ?3 AND survey_id = ?4 AND service = ?5",
        )?;
        let mut hours = tx.prepare_cached(
            "INSERT INTO rollup_hours (span, period, site_id, survey_id, service, counts)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT DO UPDATE SET counts = excluded.counts",
        )?;
        for ((span, period, site, survey, service), heat) in &self.hours {
            let before: Option<Vec<u8>> = stored_heat
                .query_row(params![span, period, site, survey, service], |r| r.get(0))
                .optional()?;
            let mut sum = before
                .as_deref()
                .and_then(Heat::from_bytes)
                .unwrap_or_default();
            sum.add(heat);
            hours.execute(params![span, period, site, survey, service, sum.to_bytes()])?;
        }
        Ok(())
    }
}

/// The time zone a site's responses are counted in, as stored now.
pub fn zone_of_site(tx: &Transaction, site: &str) -> rusqlite::Result<jiff::tz::TimeZone> {
    let name: Option<String> = tx
        .prepare_cached("SELECT time_zone FROM sites WHERE id = ?1")?
        .query_row([site], |r| r.get(0))
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    Ok(zone_named(name.as_deref().unwrap_or("UTC")))
}

/// Counts one response just stored.
pub fn count_response(tx: &Transaction, r: &Counted) -> rusqlite::Result<()> {
    let zone = zone_of_site(tx, r.site)?;
    let Some(place) = local_place(r.started_ms, &zone) else {
        tracing::warn!(
            site = r.site,
            started_ms = r.started_ms,
            "a response's start cannot be placed on a calendar; it is stored but not counted"
        );
        return Ok(());
    };
    let mut tally = Tally::default();
    tally.add(r, place);
    tally.write(tx)
}

const TABLES: [&str; 5] = [
    "rollup_counts",
    "rollup_ratings",
    "rollup_nps",
    "rollup_choices",
    "rollup_hours",
];

/// Counts a site's stored responses again from the start, in its time zone as stored now.
pub fn rebuild_site(tx: &Transaction, site: &str) -> rusqlite::Result<()> {
    for table in TABLES {
        tx.execute(&format!("DELETE FROM {table} WHERE site_id = ?1"), [site])?;
    }
    count_stored(tx, Some(site))
}

/// Migration 9's second half: every response stored by an earlier collector counted.
pub fn rebuild_all(tx: &Transaction) -> rusqlite::Result<()> {
    for table in TABLES {
        tx.execute(&format!("DELETE FROM {table}"), [])?;
    }
    count_stored(tx, None)
}

/// Counts the stored responses of `site`, or of every site: one pass over the responses in
/// id order, and one over their choices in the same order, read beside it.
fn count_stored(tx: &Transaction, site: Option<&str>) -> rusqlite::Result<()> {
    let only = if site.is_some() {
        "WHERE r.site_id = ?1"
    } else {
        "WHERE ?1 IS NULL"
    };
    let mut choices_of = tx.prepare(&format!(
        "SELECT c.response_id, c.step_id, c.option_id FROM response_choices c
         JOIN responses r ON r.id = c.response_id {only} ORDER BY c.response_id"
    ))?;
    let mut choice_rows = choices_of.query([site])?;
    let mut pending: Option<(String, String, String)> = None;
    let mut stmt = tx.prepare(&format!(
        "SELECT r.id, r.site_id, r.survey_id, r.service, r.started_ms,
                r.outcome = 'completed', r.misuse, r.rating_scale, r.rating_value, r.nps_value
         FROM responses r {only} ORDER BY r.id"
    ))?;
    let mut rows = stmt.query([site])?;
    let mut zones: HashMap<String, jiff::tz::TimeZone> = HashMap::new();
    let mut tally = Tally::default();
    let mut choices: Vec<(String, String)> = Vec::new();
    while let Some(row) = rows.next()? {
        let id: String = row.get(0)?;
        choices.clear();
        loop {
            if pending.is_none() {
                pending = match choice_rows.next()? {
                    Some(c) => Some((c.get(0)?, c.get(1)?, c.get(2)?)),
                    None => None,
                };
            }
            match &pending {
                Some((of, _, _)) if *of < id => pending = None,
                Some((of, step, option)) if *of == id => {
                    choices.push((step.clone(), option.clone()));
                    pending = None;
                }
                _ => break,
            }
        }
        let site: String = row.get(1)?;
        let survey: String = row.get(2)?;
        let service: Option<String> = row.get(3)?;
        let started_ms: i64 = row.get(4)?;
        let scale: Option<String> = row.get(7)?;
        let value: Option<i64> = row.get(8)?;
        let counted = Counted {
            site: &site,
            survey: &survey,
            service: service.as_deref(),
            started_ms,
            completed: row.get(5)?,
            misuse: row.get(6)?,
            rating: scale.as_deref().zip(value),
            nps: row.get(9)?,
            choices: &choices,
        };
        if !zones.contains_key(&site) {
            zones.insert(site.clone(), zone_of_site(tx, &site)?);
        }
        match local_place(started_ms, &zones[&site]) {
            Some(place) => tally.add(&counted, place),
            None => tracing::warn!(response = %id,
                "a response's start cannot be placed on a calendar; it is not counted"),
        }
        // Writing adds to what is stored, so a large count can be written in parts and
        // memory stays bounded.
        if tally.rows() > FLUSH_ROWS {
            tally.write(tx)?;
            tally = Tally::default();
        }
    }
    tally.write(tx)
}

const FLUSH_ROWS: usize = 100_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heat_is_stored_as_168_counts_and_read_back() {
        let mut heat = Heat::default();
        heat.0[0][0] = 1;
        heat.0[3][17] = 70_000;
        heat.0[6][23] = u32::MAX;
        let bytes = heat.to_bytes();
        assert_eq!(bytes.len(), 672);
        assert_eq!(Heat::from_bytes(&bytes), Some(heat.clone()));
        assert_eq!(Heat::from_bytes(&bytes[1..]), None);
        let mut sum = heat.clone();
        sum.add(&heat);
        assert_eq!((sum.0[3][17], sum.0[6][23]), (140_000, u32::MAX));
    }
}
