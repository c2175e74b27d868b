//! The local days and months results are counted in, and how a range of days is cut into
//! whole months and the days left over. Pure: no I/O.
//!
//! Invariants: a response belongs to the day, month, weekday and hour its site's clock showed
//! when it started (the site's time zone, UTC where it has none that is known); a day is
//! numbered by the days since 1970-01-01 and a month by `year × 12 + month − 1`, so that a run
//! of periods is a run of integers. `pieces` covers a range exactly once: every day of it
//! lies in one piece and no day outside it in any.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// Where a moment falls on a site's calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalPlace {
    pub day: i64,
    pub month: i64,
    /// Monday 0 to Sunday 6.
    pub weekday: u8,
    pub hour: u8,
}

/// The granularity of a stored period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Span {
    Day,
    Month,
}

impl Span {
    /// As stored in the rollup tables.
    pub fn code(self) -> i64 {
        match self {
            Span::Day => 0,
            Span::Month => 1,
        }
    }
}

/// A run of whole days or of whole months, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    pub span: Span,
    pub first: i64,
    pub last: i64,
}

const EPOCH: Date = Date::constant(1970, 1, 1);

/// The zone a site's days are counted in: its own, or UTC where its name is not a zone.
pub fn zone_named(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
}

pub fn day_number(date: Date) -> i64 {
    date.duration_since(EPOCH).as_secs().div_euclid(86_400)
}

pub fn date_of_day(day: i64) -> Option<Date> {
    EPOCH
        .checked_add(jiff::SignedDuration::from_hours(day.checked_mul(24)?))
        .ok()
}

pub fn month_number(date: Date) -> i64 {
    i64::from(date.year()) * 12 + i64::from(date.month()) - 1
}

/// Where `started_ms` (Unix milliseconds) falls in `zone`; `None` only for a moment jiff
/// cannot represent (beyond the year 9999), which no judged response has.
pub fn local_place(started_ms: i64, zone: &TimeZone) -> Option<LocalPlace> {
    let local = Timestamp::from_millisecond(started_ms)
        .ok()?
        .to_zoned(zone.clone());
    let date = local.date();
    Some(LocalPlace {
        day: day_number(date),
        month: month_number(date),
        weekday: local.weekday().to_monday_zero_offset() as u8,
        hour: local.hour() as u8,
    })
}

/// The days `from..=to` as at most three pieces: the days before the first whole month, the
/// whole months, the days after the last. Empty when `to` is before `from`.
pub fn pieces(from: Date, to: Date) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    let mut push = |span: Span, first: i64, last: i64| match out.last_mut() {
        Some(p) if p.span == span && p.last + 1 == first => p.last = last,
        _ => out.push(Piece { span, first, last }),
    };
    let mut at = from;
    while at <= to {
        let month_end = at.last_of_month();
        if at.day() == 1 && month_end <= to {
            push(Span::Month, month_number(at), month_number(at));
        } else {
            push(Span::Day, day_number(at), day_number(month_end.min(to)));
        }
        match month_end.tomorrow() {
            Ok(next) => at = next,
            Err(_) => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn days_and_months_are_numbered_as_runs_of_integers() {
        assert_eq!(day_number(date(1970, 1, 1)), 0);
        assert_eq!(day_number(date(1969, 12, 31)), -1);
        assert_eq!(
            day_number(date(2026, 3, 1)) - day_number(date(2026, 2, 28)),
            1
        );
        assert_eq!(
            date_of_day(day_number(date(2026, 7, 4))),
            Some(date(2026, 7, 4))
        );
        assert_eq!(
            month_number(date(2026, 1, 31)) + 1,
            month_number(date(2026, 2, 1))
        );
        assert_eq!(
            month_number(date(2025, 12, 1)) + 1,
            month_number(date(2026, 1, 9))
        );
    }

    #[test]
    fn a_moment_falls_on_the_sites_own_day_and_hour() {
        // 2026-07-01 23:30 UTC: still 1 July in London's summer time? No: 00:30 on 2 July.
        let ms = 1_782_948_600_000;
        let london = local_place(ms, &zone_named("Europe/London")).unwrap();
        assert_eq!(date_of_day(london.day), Some(date(2026, 7, 2)));
        assert_eq!((london.hour, london.weekday), (0, 3), "Thursday 00:30");
        let new_york = local_place(ms, &zone_named("America/New_York")).unwrap();
        assert_eq!(date_of_day(new_york.day), Some(date(2026, 7, 1)));
        assert_eq!((new_york.hour, new_york.weekday), (19, 2));
        let kolkata = local_place(ms, &zone_named("Asia/Kolkata")).unwrap();
        assert_eq!(kolkata.hour, 5, "05:00 at +05:30");
        assert_eq!(
            local_place(ms, &zone_named("Not/A_Zone")),
            local_place(ms, &TimeZone::UTC),
            "an unknown zone counts as UTC"
        );
    }

    fn days(from: Date, to: Date) -> Vec<i64> {
        pieces(from, to)
            .into_iter()
            .flat_map(|p| match p.span {
                Span::Day => (p.first..=p.last).collect::<Vec<_>>(),
                Span::Month => {
                    let mut all = Vec::new();
                    for m in p.first..=p.last {
                        let first = date((m / 12) as i16, (m % 12 + 1) as i8, 1);
                        let last = first.last_of_month();
                        all.extend(day_number(first)..=day_number(last));
                    }
                    all
                }
            })
            .collect()
    }

    #[test]
    fn a_range_is_whole_months_and_the_days_at_either_end() {
        let p = pieces(date(2026, 1, 15), date(2026, 12, 10));
        assert_eq!(p.len(), 3, "{p:?}");
        assert_eq!(
            p[0],
            Piece {
                span: Span::Day,
                first: day_number(date(2026, 1, 15)),
                last: day_number(date(2026, 1, 31))
            }
        );
        assert_eq!(
            p[1],
            Piece {
                span: Span::Month,
                first: month_number(date(2026, 2, 1)),
                last: month_number(date(2026, 11, 1))
            }
        );
        assert_eq!(
            p[2],
            Piece {
                span: Span::Day,
                first: day_number(date(2026, 12, 1)),
                last: day_number(date(2026, 12, 10))
            }
        );
        assert_eq!(pieces(date(2026, 3, 1), date(2026, 3, 31)).len(), 1);
        assert_eq!(
            pieces(date(2026, 3, 1), date(2026, 3, 31))[0].span,
            Span::Month
        );
        assert_eq!(
            pieces(date(2026, 3, 2), date(2026, 3, 30))[0].span,
            Span::Day
        );
        assert!(pieces(date(2026, 3, 2), date(2026, 3, 1)).is_empty());
    }

    #[test]
    fn every_day_of_a_range_is_in_exactly_one_piece() {
        let start = date(2024, 1, 1);
        for offset in [0, 1, 27, 28, 30, 45, 59, 60, 200] {
            for length in [0, 1, 2, 28, 29, 31, 32, 61, 365, 400] {
                let from = start.checked_add(jiff::Span::new().days(offset)).unwrap();
                let to = from.checked_add(jiff::Span::new().days(length)).unwrap();
                let want: Vec<i64> = (day_number(from)..=day_number(to)).collect();
                assert_eq!(days(from, to), want, "{from}..={to}");
            }
        }
    }
}
