//! When to try again after a failed upload. Pure: the caller measures time on the monotonic
//! clock (tokio's), so a wall-clock jump cannot shorten or stretch a wait.

use std::time::{Duration, SystemTime};

/// The first retry waits up to this long…
pub const INITIAL_DELAY: Duration = Duration::from_secs(1);
/// …and each further failure doubles the ceiling, up to this.
pub const MAX_DELAY: Duration = Duration::from_secs(300);
/// A Retry-After longer than this is taken as this: a misconfigured receiver must not park
/// a kiosk for weeks.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(6 * 3600);

/// Exponential backoff with full jitter: after the n-th failure in a row the wait is drawn
/// uniformly from [0, min(MAX_DELAY, INITIAL_DELAY × 2ⁿ⁻¹)]. The jitter spreads a fleet of
/// kiosks that all lost the receiver at once, so they do not return in step.
#[derive(Debug, Clone)]
pub struct Backoff {
    failures: u32,
    initial: Duration,
    max: Duration,
    rng: fastrand::Rng,
}

impl Backoff {
    pub fn new(seed: u64) -> Backoff {
        Backoff::with_limits(INITIAL_DELAY, MAX_DELAY, seed)
    }

    pub fn with_limits(initial: Duration, max: Duration, seed: u64) -> Backoff {
        Backoff {
            failures: 0,
            initial,
            max,
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// The ceiling of the next wait.
    pub fn ceiling(&self) -> Duration {
        let doublings = self.failures.saturating_sub(1).min(30);
        self.initial.saturating_mul(1u32 << doublings).min(self.max)
    }

    /// Records a failure and returns how long to wait before the next try.
    pub fn fail(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let ceiling = self.ceiling().as_millis() as u64;
        Duration::from_millis(self.rng.u64(0..=ceiling))
    }

    /// Records a failure after which the receiver said how long to wait: at least that
    /// long, and never less than the backoff would wait.
    pub fn fail_with_retry_after(&mut self, retry_after: Duration) -> Duration {
        self.fail().max(retry_after.min(MAX_RETRY_AFTER))
    }

    pub fn succeed(&mut self) {
        self.failures = 0;
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }
}

/// Reads a Retry-After header: a number of seconds or an HTTP date. A date in the past means
/// "now". `None` for anything else (the caller then backs off as usual).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_doubles_to_the_maximum_and_resets_on_success() {
        let mut b = Backoff::new(7);
        let mut ceilings = Vec::new();
        for _ in 0..12 {
            let wait = b.fail();
            assert!(wait <= b.ceiling(), "{wait:?} > {:?}", b.ceiling());
            ceilings.push(b.ceiling().as_secs());
        }
        assert_eq!(ceilings, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        b.succeed();
        b.fail();
        assert_eq!(b.ceiling(), INITIAL_DELAY);
    }

    #[test]
    fn waits_are_spread_across_the_whole_range() {
        let mut b = Backoff::new(1);
        for _ in 0..9 {
            b.fail();
        }
        // Ceiling 256 s: a thousand draws cover low and high quarters.
        let draws: Vec<Duration> = (0..1000)
            .map(|_| {
                let mut c = b.clone();
                c.rng = fastrand::Rng::with_seed(c.rng.u64(..));
                b.rng.u64(..);
                c.fail()
            })
            .collect();
        assert!(draws.iter().any(|d| d.as_secs() < 64));
        assert!(draws.iter().any(|d| d.as_secs() > 192));
        assert!(draws.iter().all(|d| *d <= MAX_DELAY));
    }

    #[test]
    fn the_receivers_retry_after_is_a_floor_and_capped() {
        let mut b = Backoff::new(3);
        assert!(b.fail_with_retry_after(Duration::from_secs(30)) >= Duration::from_secs(30));
        assert_eq!(
            b.fail_with_retry_after(Duration::from_secs(365 * 24 * 3600)),
            MAX_RETRY_AFTER
        );
    }

    #[test]
    fn retry_after_in_seconds_and_as_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_784_800_000);
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(90))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(90));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }
}
