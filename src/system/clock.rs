//! The kiosk's clocks: when this run started and its id, the device's boot and its boot-time
//! clock, and whether the wall clock is synchronised. Visits record their times on them, and
//! every upload says where they stand, so the receiver can place responses recorded before
//! the wall clock was synchronised, by this run or an earlier one, in this boot or an earlier
//! one (docs/protocol.md, "Clocks").

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use uuid::Uuid;

pub use crate::core::record::BootReading;

/// systemd-timesyncd creates this file once the clock has been synchronised.
pub const TIME_SYNC_MARKER: &str = "/run/systemd/timesync/synchronized";

/// Names another file to take the place of [`TIME_SYNC_MARKER`]: the wall clock then counts
/// as synchronised exactly while that file exists. For tests: a path that does not exist
/// keeps the kiosk unsynchronised, and creating the file synchronises it.
pub const TIME_SYNC_MARKER_ENV: &str = "EARSHOT_TIME_SYNC_MARKER";

/// The kernel's id of the current boot, new at every boot.
const BOOT_ID_FILE: &str = "/proc/sys/kernel/random/boot_id";

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

/// The file whose existence says the wall clock is synchronised.
pub fn time_sync_marker() -> &'static Path {
    static MARKER: OnceLock<PathBuf> = OnceLock::new();
    MARKER.get_or_init(|| {
        std::env::var_os(TIME_SYNC_MARKER_ENV)
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(TIME_SYNC_MARKER))
    })
}

/// Whether the wall clock is known to be synchronised now.
pub fn wall_synchronized() -> bool {
    time_sync_marker().exists()
}

/// Whether [`TIME_SYNC_MARKER_ENV`] names the marker in place of systemd's.
pub fn marker_replaced() -> bool {
    time_sync_marker() != Path::new(TIME_SYNC_MARKER)
}

/// The id of the boot the device is in, read once; `None` where the kernel offers none.
pub fn boot_id() -> Option<Uuid> {
    static BOOT: OnceLock<Option<Uuid>> = OnceLock::new();
    *BOOT.get_or_init(|| {
        let text = std::fs::read_to_string(BOOT_ID_FILE).ok()?;
        Uuid::parse_str(text.trim()).ok()
    })
}

/// The boot-time clock: time since the device booted, counting time suspended, from a clock
/// that never jumps (`CLOCK_BOOTTIME`).
#[cfg(target_os = "linux")]
pub fn since_boot() -> Option<Duration> {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable timespec for the call's duration.
    let ok = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut t) } == 0;
    let secs = u64::try_from(t.tv_sec).ok()?;
    let nanos = u32::try_from(t.tv_nsec).ok()?;
    ok.then(|| Duration::new(secs, nanos))
}

#[cfg(not(target_os = "linux"))]
pub fn since_boot() -> Option<Duration> {
    None
}

/// The boot and where its clock stands now; `None` without either.
pub fn boot_reading() -> Option<BootReading> {
    Some(BootReading {
        id: boot_id()?,
        elapsed: since_boot()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn the_boot_is_the_kernels_and_its_clock_counts_from_boot() {
        let id = std::fs::read_to_string(BOOT_ID_FILE).unwrap();
        let first = boot_reading().unwrap();
        assert_eq!(first.id.to_string(), id.trim());
        // The boot-time clock runs with the process's own: never behind it, and on since.
        let mono = since_start();
        std::thread::sleep(Duration::from_millis(20));
        let second = boot_reading().unwrap();
        assert!(second.elapsed >= first.elapsed + Duration::from_millis(20));
        assert!(second.elapsed > mono);
        // The same as /proc/uptime (which counts centiseconds), give or take its rounding.
        let uptime: f64 = std::fs::read_to_string("/proc/uptime")
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let now = since_boot().unwrap().as_secs_f64();
        assert!(
            (now - uptime).abs() < 1.0,
            "{now} against /proc/uptime {uptime}"
        );
    }
}
