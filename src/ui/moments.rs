//! When things happen, as the core is told: the kiosk's monotonic clock, the wall clock and
//! whether it is synchronised, and the device's boot.

use std::cell::Cell;
use std::time::{Duration, SystemTime};

use super::MonoClock;
use crate::core::record::Moment;

/// Reads the moments events happen at.
pub(super) struct Moments {
    clock: MonoClock,
    boot: BootClock,
    /// (when last checked, whether the wall clock was synchronised).
    time_synced: Cell<(Duration, bool)>,
}

impl Moments {
    /// `clock`: `None` for the real monotonic clock.
    pub(super) fn new(clock: Option<MonoClock>) -> Moments {
        let boot = match &clock {
            None => BootClock::Device,
            Some(clock) => BootClock::Following {
                base: crate::system::clock::boot_reading(),
                mono: clock(),
            },
        };
        Moments {
            clock: clock.unwrap_or_else(|| Box::new(crate::system::clock::since_start)),
            boot,
            time_synced: Cell::new((Duration::MAX, false)),
        }
    }

    /// Time since the kiosk started.
    pub(super) fn mono(&self) -> Duration {
        (self.clock)()
    }

    pub(super) fn now(&self) -> Moment {
        let mono = self.mono();
        let (checked, synced) = self.time_synced.get();
        // A stat on a tmpfs file, at most once a minute: cheap enough for the UI thread.
        let synced =
            if checked == Duration::MAX || mono.saturating_sub(checked) > Duration::from_secs(60) {
                let synced = crate::system::clock::wall_synchronized();
                self.time_synced.set((mono, synced));
                synced
            } else {
                synced
            };
        Moment {
            mono,
            wall: SystemTime::now(),
            wall_synchronized: synced,
            boot: self.boot.read(mono),
        }
    }
}

/// Where the boot-time readings of the kiosk's moments come from.
enum BootClock {
    /// The device's own, read at each moment.
    Device,
    /// With a clock of the kiosk's own (mock time in tests): the device's boot, its clock
    /// running with the kiosk's from where both stood when the kiosk was made.
    Following {
        base: Option<crate::system::clock::BootReading>,
        mono: Duration,
    },
}

impl BootClock {
    fn read(&self, mono: Duration) -> Option<crate::system::clock::BootReading> {
        match self {
            BootClock::Device => crate::system::clock::boot_reading(),
            BootClock::Following { base, mono: then } => {
                base.map(|b| crate::system::clock::BootReading {
                    elapsed: b.elapsed + mono.saturating_sub(*then),
                    ..b
                })
            }
        }
    }
}
