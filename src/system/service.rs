//! Talking to systemd (earshot.service is `Type=notify` with a watchdog): "ready" once the
//! response store is open, and a watchdog fed only while the kiosk's loops make progress. A
//! hung UI event loop or a stuck uploader then gets the kiosk restarted instead of leaving a
//! frozen screen or a queue that never drains. Outside systemd every call does nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// When each loop last showed it was running, in milliseconds since the kiosk started
/// (0: never). The uploader's is only watched once it has started.
#[derive(Debug, Default)]
pub struct Liveness {
    ui: AtomicU64,
    uploader: AtomicU64,
    uploader_started: std::sync::atomic::AtomicBool,
}

/// How often the loops show they are running.
pub const BEAT: Duration = Duration::from_secs(2);

static LIVENESS: OnceLock<Liveness> = OnceLock::new();

/// The kiosk process's liveness record.
pub fn liveness() -> &'static Liveness {
    LIVENESS.get_or_init(Liveness::default)
}

fn now_ms() -> u64 {
    // +1 so that a beat at the very start is not taken for "never".
    crate::system::clock::since_start().as_millis() as u64 + 1
}

impl Liveness {
    /// Called from the UI event loop.
    pub fn ui_beat(&self) {
        self.ui.store(now_ms(), Ordering::Relaxed);
    }

    /// Called from the uploader's runtime.
    pub fn uploader_beat(&self) {
        self.uploader_started.store(true, Ordering::Relaxed);
        self.uploader.store(now_ms(), Ordering::Relaxed);
    }

    fn snapshot(&self) -> Beats {
        Beats {
            ui_ms: self.ui.load(Ordering::Relaxed),
            uploader_ms: self
                .uploader_started
                .load(Ordering::Relaxed)
                .then(|| self.uploader.load(Ordering::Relaxed)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Beats {
    ui_ms: u64,
    /// `None`: no uploader runs (none configured).
    uploader_ms: Option<u64>,
}

/// Whether the watchdog may be fed at `now_ms`: every loop has beaten within `limit`.
/// Otherwise, the name of the loop that has not.
fn may_feed(beats: Beats, now_ms: u64, limit: Duration) -> Result<(), &'static str> {
    let limit = limit.as_millis() as u64;
    let fresh = |t: u64| t != 0 && now_ms.saturating_sub(t) <= limit;
    if !fresh(beats.ui_ms) {
        return Err("the screen's event loop");
    }
    if beats.uploader_ms.is_some_and(|t| !fresh(t)) {
        return Err("the uploader");
    }
    Ok(())
}

/// Tells systemd the kiosk is up, with a one-line status.
pub fn ready(status: &str) {
    let result = sd_notify::notify(
        false,
        &[
            sd_notify::NotifyState::Ready,
            sd_notify::NotifyState::Status(status),
        ],
    );
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not tell systemd the kiosk is ready");
    }
}

/// systemd's watchdog interval for this process, if it has one. The loops beat only then,
/// so that an idle kiosk outside systemd never wakes.
pub fn watchdog_interval() -> Option<Duration> {
    let mut usec = 0;
    (sd_notify::watchdog_enabled(false, &mut usec) && usec > 0).then(|| Duration::from_micros(usec))
}

/// Feeds systemd's watchdog, if it has one for this process, from a thread of its own, for
/// as long as both loops keep beating.
pub fn start_watchdog() {
    let Some(interval) = watchdog_interval() else {
        return;
    };
    // Fed at a quarter of the interval; a loop may be quiet for half of it (a long frame, a
    // slow disk) before feeding stops.
    let period = interval / 4;
    let limit = interval / 2;
    tracing::info!(interval_s = interval.as_secs_f64(), "systemd watchdog on");
    let spawned = std::thread::Builder::new()
        .name("watchdog".into())
        .spawn(move || {
            let mut stalled: Option<&str> = None;
            loop {
                std::thread::sleep(period);
                match may_feed(liveness().snapshot(), now_ms(), limit) {
                    Ok(()) => {
                        if let Some(which) = stalled.take() {
                            tracing::info!(loop_name = which, "making progress again");
                        }
                        if let Err(e) = sd_notify::notify(false, &[sd_notify::NotifyState::Watchdog]) {
                            tracing::warn!(error = %e, "could not feed the systemd watchdog");
                        }
                    }
                    Err(which) => {
                        if stalled != Some(which) {
                            tracing::error!(loop_name = which, "stalled: the watchdog is no longer fed, and systemd will restart the kiosk");
                            stalled = Some(which);
                        }
                    }
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the watchdog thread; systemd will restart the kiosk");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: Duration = Duration::from_secs(15);

    #[test]
    fn fed_only_while_every_loop_beats() {
        let beats = |ui_ms, uploader_ms| Beats { ui_ms, uploader_ms };
        assert_eq!(may_feed(beats(100_000, None), 110_000, LIMIT), Ok(()));
        assert_eq!(
            may_feed(beats(100_000, Some(96_000)), 111_000, LIMIT),
            Ok(())
        );
        assert_eq!(
            may_feed(beats(100_000, None), 116_000, LIMIT),
            Err("the screen's event loop")
        );
        assert_eq!(
            may_feed(beats(110_000, Some(90_000)), 111_000, LIMIT),
            Err("the uploader")
        );
        assert_eq!(
            may_feed(beats(0, None), 1_000, LIMIT),
            Err("the screen's event loop"),
            "a loop that never beat is not running"
        );
    }
}
