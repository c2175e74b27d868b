//! The response record: everything kept about one visit, finished or not. It is what the
//! sink stores, what is uploaded, and what the service team reads. Its definition lives in
//! the protocol crate, shared with the collector, so the two cannot drift apart; this module
//! adds how the kiosk reads its clocks.

use std::time::{Duration, SystemTime};

pub use earshot_protocol::record::{
    Answer, AnswerValue, ClockInfo, Flags, Outcome, ResponseRecord,
};

/// One instant as the kiosk saw it. The monotonic reading orders events and measures
/// durations even while the wall clock is wrong (a Pi has no real-time clock and boots at its
/// last saved time until NTP syncs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moment {
    /// Time since the kiosk process started, from a clock that never jumps.
    pub mono: Duration,
    /// The device's wall clock.
    pub wall: SystemTime,
    /// Whether the wall clock was known to be synchronised (NTP) at this moment.
    pub wall_synchronized: bool,
    /// The device's boot and its boot-time clock, when known.
    pub boot: Option<BootReading>,
}

/// A reading of the device's boot-time clock: which boot, and how long since it began
/// (counting time suspended). Unlike the monotonic clock of one kiosk run it goes on across
/// restarts of the kiosk, so a receiver that learns the true time of one reading of a boot
/// can place every response recorded in that boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootReading {
    /// The kernel's boot id.
    pub id: uuid::Uuid,
    pub elapsed: Duration,
}

impl Moment {
    /// A moment `by` after this one, with the wall clock and the boot-time clock moved on by
    /// the same amount.
    pub fn later(self, by: Duration) -> Moment {
        Moment {
            mono: self.mono + by,
            wall: self.wall + by,
            boot: self.boot.map(|b| BootReading {
                elapsed: b.elapsed + by,
                ..b
            }),
            ..self
        }
    }
}

/// Formats a wall-clock time as RFC 3339 UTC with milliseconds, as the collector does too.
/// Times before 1970 (a clock that was never set) are shown as 1970; the `clock` block of the
/// record says whether the clock could be trusted.
pub use earshot_protocol::time::rfc3339;
