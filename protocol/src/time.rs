//! Times as the kiosk and the collector write and read them: RFC 3339 in UTC with
//! milliseconds in records and answers, and milliseconds since 1970 in their databases.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// Formats a wall-clock time as RFC 3339 UTC with milliseconds, e.g.
/// `2026-11-23T12:08:06.123Z`. Times before 1970 (a clock that was never set) are written as
/// 1970; a record's `clock` block says whether its clock could be trusted.
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t.max(UNIX_EPOCH)).to_string()
}

/// Reads a UTC time written in RFC 3339: as [`rfc3339`] writes it, and as people and other
/// programs write it, with any number of fractional digits or none, a space for the `T`, and
/// `Z`, `+00:00` or nothing at the end (a time without either is taken as UTC). Other offsets
/// and times before 1970 are refused.
pub fn parse_rfc3339(text: &str) -> Result<SystemTime, TimeError> {
    humantime::parse_rfc3339_weak(text).map_err(TimeError)
}

/// Why a text is not a time [`parse_rfc3339`] reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeError(humantime::TimestampError);

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for TimeError {}

/// Milliseconds since 1970 (UTC) of a wall-clock time: 0 for a time before 1970 (a clock that
/// was never set), which keeps orderings sane, and `i64::MAX` for one too far ahead to count.
pub fn unix_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

/// Milliseconds since 1970 now, by the system's wall clock (see [`unix_ms`]).
pub fn now_ms() -> i64 {
    unix_ms(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// 2026-11-23T12:08:06.123Z.
    fn example() -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(1_795_435_686_123)
    }

    #[test]
    fn a_time_is_written_in_utc_to_the_millisecond() {
        assert_eq!(rfc3339(example()), "2026-11-23T12:08:06.123Z");
        assert_eq!(
            rfc3339(example() + Duration::from_micros(999)),
            "2026-11-23T12:08:06.123Z",
            "cut, not rounded"
        );
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn a_clock_before_1970_is_written_as_1970() {
        let never_set = UNIX_EPOCH - Duration::from_secs(86_400);
        assert_eq!(rfc3339(never_set), "1970-01-01T00:00:00.000Z");
        assert_eq!(unix_ms(never_set), 0);
    }

    #[test]
    fn what_is_written_reads_back_to_the_millisecond() {
        let t = example();
        assert_eq!(parse_rfc3339(&rfc3339(t)), Ok(t));
        let later = t + Duration::from_micros(1500);
        assert_eq!(
            parse_rfc3339(&rfc3339(later)),
            Ok(t + Duration::from_millis(1))
        );
    }

    #[test]
    fn times_are_read_as_people_and_other_programs_write_them() {
        let whole = UNIX_EPOCH + Duration::from_secs(1_795_435_686);
        for text in [
            "2026-11-23T12:08:06Z",
            "2026-11-23T12:08:06+00:00",
            "2026-11-23 12:08:06",
            "2026-11-23T12:08:06",
            "2026-11-23T12:08:06.000000Z",
        ] {
            assert_eq!(parse_rfc3339(text), Ok(whole), "{text}");
        }
        assert_eq!(
            parse_rfc3339("2026-11-23T12:08:06.1234Z"),
            Ok(whole + Duration::from_micros(123_400))
        );
    }

    #[test]
    fn what_is_not_a_utc_time_is_refused_with_a_reason() {
        for text in [
            "",
            "2026-11-23",
            "yesterday at noon",
            "2026-11-23T12:08:06+01:00",
            "2026-13-23T12:08:06Z",
            "2026-11-23T25:08:06Z",
            "1969-12-31T23:59:59Z",
        ] {
            let error = parse_rfc3339(text).expect_err(text);
            assert!(!error.to_string().is_empty(), "{text}");
        }
    }

    #[test]
    fn milliseconds_since_1970() {
        assert_eq!(unix_ms(UNIX_EPOCH), 0);
        assert_eq!(unix_ms(example()), 1_795_435_686_123);
        assert_eq!(
            unix_ms(example() + Duration::from_nanos(999_999)),
            1_795_435_686_123
        );
        let far = UNIX_EPOCH + Duration::from_secs(u64::MAX / 1000);
        assert_eq!(unix_ms(far), i64::MAX, "too far ahead saturates");
    }

    #[test]
    fn now_is_the_wall_clock_in_milliseconds() {
        let before = unix_ms(SystemTime::now());
        let now = now_ms();
        let after = unix_ms(SystemTime::now());
        assert!(before <= now && now <= after, "{before} {now} {after}");
        assert!(now > 1_700_000_000_000, "after November 2023: {now}");
    }
}
