//! When the screen may go dark: at night (a span of the local day from the configuration),
//! once nobody has used the kiosk for a while. Pure: the caller gives the local time.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Night {
    /// Minutes after local midnight the night starts and ends; a start after the end spans
    /// midnight (22:00 to 07:00), and equal ones mean all day.
    pub from_minute: u16,
    pub until_minute: u16,
    /// How long the start screen must be left alone first.
    pub after_idle: Duration,
}

/// "HH:MM" as minutes after midnight.
pub fn parse_minute(text: &str) -> Option<u16> {
    let (h, m) = text.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

impl Night {
    pub fn contains(&self, minute_of_day: u16) -> bool {
        let (from, until) = (self.from_minute, self.until_minute);
        match from.cmp(&until) {
            std::cmp::Ordering::Less => (from..until).contains(&minute_of_day),
            std::cmp::Ordering::Greater => minute_of_day >= from || minute_of_day < until,
            std::cmp::Ordering::Equal => true,
        }
    }

    /// Whether to darken now: at night, after `after_idle` without use.
    pub fn should_blank(&self, minute_of_day: u16, idle_for: Duration) -> bool {
        idle_for >= self.after_idle && self.contains(minute_of_day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn night(from: &str, until: &str) -> Night {
        Night {
            from_minute: parse_minute(from).unwrap(),
            until_minute: parse_minute(until).unwrap(),
            after_idle: Duration::from_secs(300),
        }
    }

    #[test]
    fn times_are_read_strictly() {
        assert_eq!(parse_minute("22:00"), Some(1320));
        assert_eq!(parse_minute("07:05"), Some(425));
        for bad in ["7:05", "24:00", "12:60", "noon", "12-00", ""] {
            assert_eq!(parse_minute(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_night_across_midnight_and_one_within_a_day() {
        let n = night("22:00", "07:00");
        let at = |t: &str| parse_minute(t).unwrap();
        assert!(n.contains(at("23:30")) && n.contains(at("00:00")) && n.contains(at("06:59")));
        assert!(!n.contains(at("07:00")) && !n.contains(at("12:00")) && !n.contains(at("21:59")));
        let afternoon = night("13:00", "14:00");
        assert!(afternoon.contains(at("13:30")) && !afternoon.contains(at("14:00")));
        assert!(
            night("00:00", "00:00").contains(at("12:00")),
            "equal: all day"
        );
    }

    #[test]
    fn only_after_the_idle_time() {
        let n = night("22:00", "07:00");
        let late = parse_minute("23:00").unwrap();
        assert!(!n.should_blank(late, Duration::from_secs(299)));
        assert!(n.should_blank(late, Duration::from_secs(300)));
        assert!(!n.should_blank(parse_minute("12:00").unwrap(), Duration::from_secs(9999)));
    }
}
