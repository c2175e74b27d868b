//! The kiosk process's own clock: when this run started and its id. Visits record their
//! times on it, and every upload says where it stands, so the receiver can place responses
//! recorded before the wall clock was synchronised (docs/protocol.md, "Clocks").

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use uuid::Uuid;

/// systemd-timesyncd creates this file once the clock has been synchronised.
pub const TIME_SYNC_MARKER: &str = "/run/systemd/timesync/synchronized";

struct Run {
    started: Instant,
    id: Uuid,
}

fn run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| Run {
        started: Instant::now(),
        id: Uuid::now_v7(),
    })
}

/// Identifies this run of the process.
pub fn run_id() -> Uuid {
    run().id
}

/// Time since this run started (the first call to this module), from a clock that never
/// jumps.
pub fn since_start() -> Duration {
    run().started.elapsed()
}

/// Whether the wall clock is known to be synchronised now.
pub fn wall_synchronized() -> bool {
    Path::new(TIME_SYNC_MARKER).exists()
}
