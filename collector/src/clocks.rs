//! Placing the times of a response recorded while the device's wall clock was not
//! synchronised on true time. Pure: no I/O.
//!
//! Such a response carries readings of clocks that never jump: the kiosk process's monotonic
//! clock (`started_mono_ms`, one per run of the kiosk) and, from kiosks that record it, the
//! boot-time clock (`started_boot_ms`, one per boot of the device, across every restart of the
//! kiosk within it). One reading of the same clock whose true time is known places them all:
//! a reading `m` happened `m − b` milliseconds after a reading `b` taken at true time `w`.
//!
//! The readings whose true time is known, best first:
//! 1. a **synchronised reading** of the response's boot: the device's wall clock, while it was
//!    synchronised, read together with the boot-time clock. Every status block the device sends
//!    with its clock synchronised is one (`DeviceClock`: `sent_at` with `boot_ms`), and so is
//!    each earlier boot's it remembers (`DeviceClock::earlier_boots`). The collector keeps the
//!    earliest of each boot (the nearest to the readings before synchronisation, so the one the
//!    clock's rate error matters least for), from any request of the device, earlier or the
//!    same;
//! 2. the request itself, from the same boot: the collector's own clock when it received the
//!    request, and the boot-time clock the device put in it (late by the request's transit
//!    time, never early);
//! 3. the request itself, from the same run (records from before boot readings): the same
//!    with the monotonic clock.
//!
//! Without any, the response cannot be placed: its device times are kept, unverified.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use earshot_protocol::time::parse_rfc3339;
use earshot_protocol::{ClockInfo, DeviceClock};
use uuid::Uuid;

/// Earliest plausible true time: 2024-01-01T00:00:00Z, before Earshot existed. A synchronised
/// clock that says otherwise is wrong.
pub fn earliest_plausible() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_704_067_200)
}

/// How far ahead of the collector's clock a synchronised device may be.
pub const FUTURE_SLACK: Duration = Duration::from_secs(24 * 3600);

/// A reading of a boot's clock at a known true time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncedReading {
    /// The boot-time clock, ms since the device booted.
    pub boot_ms: u64,
    /// The true time, ms since 1970.
    pub wall_ms: i64,
}

impl SyncedReading {
    fn new(boot_ms: u64, wall: SystemTime) -> Option<SyncedReading> {
        let wall_ms = wall.duration_since(UNIX_EPOCH).ok()?.as_millis();
        Some(SyncedReading {
            boot_ms,
            wall_ms: i64::try_from(wall_ms).ok()?,
        })
    }

    /// The true time of reading `ms` of the same boot's clock, earlier or later than this one.
    pub fn place(self, ms: u64) -> Option<SystemTime> {
        let at = i128::from(self.wall_ms) + i128::from(ms) - i128::from(self.boot_ms);
        let at = u64::try_from(at).ok()?;
        UNIX_EPOCH.checked_add(Duration::from_millis(at))
    }
}

/// The synchronised readings known for a device's boots: the earliest of each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BootClocks(HashMap<Uuid, SyncedReading>);

impl BootClocks {
    /// Takes `reading` for `boot` if it is the first known, or earlier than the one known.
    /// Returns whether it was taken.
    pub fn learn(&mut self, boot: Uuid, reading: SyncedReading) -> bool {
        match self.0.get(&boot) {
            Some(known) if known.boot_ms <= reading.boot_ms => false,
            _ => {
                self.0.insert(boot, reading);
                true
            }
        }
    }

    pub fn get(&self, boot: Uuid) -> Option<SyncedReading> {
        self.0.get(&boot).copied()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (Uuid, SyncedReading)> + '_ {
        self.0.iter().map(|(b, r)| (*b, *r))
    }
}

/// Earlier boots' readings taken from one status block; the rest are ignored (a kiosk sends
/// those of one batch's boots, a handful at most).
pub const MAX_EARLIER_BOOTS: usize = 64;

/// The synchronised readings a status block received at `received_at` gives: its own
/// (`sent_at` with `boot_ms`) when its clock was synchronised, and the earlier boots' it
/// carries. A reading whose time is not plausible (before 2024, or more than a day ahead of
/// the collector) is left out: a wrong reading would misplace every response of its boot.
pub fn synchronised_readings(
    clock: &DeviceClock,
    received_at: SystemTime,
) -> Vec<(Uuid, SyncedReading)> {
    let plausible = |at: &str, boot_ms: u64| {
        let wall = parse_rfc3339(at).ok()?;
        if wall < earliest_plausible() || wall > received_at + FUTURE_SLACK {
            return None;
        }
        SyncedReading::new(boot_ms, wall)
    };
    let own = match clock.boot() {
        Some((boot, boot_ms)) if clock.synchronized => {
            plausible(&clock.sent_at, boot_ms).map(|r| (boot, r))
        }
        _ => None,
    };
    own.into_iter()
        .chain(
            clock
                .earlier_boots
                .iter()
                .take(MAX_EARLIER_BOOTS)
                .filter_map(|e| plausible(&e.at, e.boot_ms).map(|r| (e.boot_id, r))),
        )
        .collect()
}

/// The true start and finish of a response recorded with `record` clock readings, judged
/// with the request's `status` clock received at `received_at` and the synchronised readings
/// `boots` known for the device (those of this request included). `None` when there is
/// nothing to correct (the record was made with a synchronised clock) or nothing to place it
/// by.
pub fn place(
    record: &ClockInfo,
    status: &DeviceClock,
    received_at: SystemTime,
    boots: &BootClocks,
) -> Option<(SystemTime, SystemTime)> {
    if record.synchronized {
        return None;
    }
    let both = |reading: SyncedReading, start: u64, finish: u64| {
        Some((reading.place(start)?, reading.place(finish)?))
    };
    if let Some(span) = record.boot() {
        if let Some(reading) = boots.get(span.boot_id) {
            return both(reading, span.started_ms, span.finished_ms);
        }
        if let Some((boot, boot_ms)) = status.boot() {
            // Readings later than the request's own cannot be from the same boot.
            if boot == span.boot_id && span.finished_ms <= boot_ms {
                let received = SyncedReading::new(boot_ms, received_at)?;
                return both(received, span.started_ms, span.finished_ms);
            }
        }
    }
    if record.run_id == Some(status.run_id)
        && record.started_mono_ms <= status.mono_ms
        && record.finished_mono_ms <= status.mono_ms
    {
        let place = |mono: u64| {
            let back = status.mono_ms.checked_sub(mono)?;
            received_at.checked_sub(Duration::from_millis(back))
        };
        return Some((
            place(record.started_mono_ms)?,
            place(record.finished_mono_ms)?,
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use earshot_protocol::BootSync;

    fn at(s: &str) -> SystemTime {
        humantime::parse_rfc3339(s).unwrap()
    }

    fn ms(s: &str) -> i64 {
        earshot_protocol::time::unix_ms(at(s))
    }

    const RUN: Uuid = Uuid::from_u128(0x01a20769_6f40_7226_b63c_5ab791b7584a);
    const LATER_RUN: Uuid = Uuid::from_u128(0x01a20799_0000_7000_8000_000000000001);
    const BOOT: Uuid = Uuid::from_u128(0x6c1e0c1a_3b1f_4a53_9a55_1f3bd1c0e0aa);
    const EARLIER_BOOT: Uuid = Uuid::from_u128(0x1d0bb4d5_95a6_4d0e_8d6c_3f27a2c8f1b0);

    /// A visit recorded with the clock not synchronised: monotonic 10–40 s into its run,
    /// boot-time 70–100 s into its boot (when given).
    fn visit(run: Uuid, boot: Option<Uuid>) -> ClockInfo {
        ClockInfo {
            synchronized: false,
            started_mono_ms: 10_000,
            finished_mono_ms: 40_000,
            visit_number: 1,
            run_id: Some(run),
            boot_id: boot,
            started_boot_ms: boot.map(|_| 70_000),
            finished_boot_ms: boot.map(|_| 100_000),
        }
    }

    fn sent(
        run: Uuid,
        mono_ms: u64,
        boot: Option<(Uuid, u64)>,
        synced_at: Option<&str>,
    ) -> DeviceClock {
        DeviceClock {
            sent_at: synced_at.unwrap_or("1970-01-01T00:30:00.000Z").into(),
            synchronized: synced_at.is_some(),
            run_id: run,
            mono_ms,
            boot_id: boot.map(|b| b.0),
            boot_ms: boot.map(|b| b.1),
            earlier_boots: vec![],
        }
    }

    fn learned(clock: &DeviceClock, received: SystemTime) -> BootClocks {
        let mut boots = BootClocks::default();
        for (boot, reading) in synchronised_readings(clock, received) {
            boots.learn(boot, reading);
        }
        boots
    }

    const RECEIVED: &str = "2026-11-23T12:00:00Z";

    #[test]
    fn a_reading_places_readings_before_and_after_it() {
        let r = SyncedReading {
            boot_ms: 60_000,
            wall_ms: ms("2026-11-23T09:01:00Z"),
        };
        assert_eq!(r.place(10_000), Some(at("2026-11-23T09:00:10Z")));
        assert_eq!(r.place(60_000), Some(at("2026-11-23T09:01:00Z")));
        assert_eq!(r.place(3_660_000), Some(at("2026-11-23T10:01:00Z")));
        // Before 1970: nothing.
        let early = SyncedReading {
            boot_ms: 60_000,
            wall_ms: 1_000,
        };
        assert_eq!(early.place(0), None);
    }

    #[test]
    fn a_later_run_of_the_same_boot_places_it_from_the_devices_synchronised_clock() {
        // The kiosk restarted (another run) and its clock is now synchronised: the batch says
        // the boot-time clock stood at 3 600 000 ms at 11:59:59.500, whenever it arrived.
        let status = sent(
            LATER_RUN,
            500,
            Some((BOOT, 3_600_000)),
            Some("2026-11-23T11:59:59.500Z"),
        );
        let received = at(RECEIVED);
        let boots = learned(&status, received);
        let placed = place(&visit(RUN, Some(BOOT)), &status, received, &boots).unwrap();
        // 70 s and 100 s into a boot whose 3 600 s mark was 11:59:59.500.
        assert_eq!(
            placed,
            (
                at("2026-11-23T11:01:09.500Z"),
                at("2026-11-23T11:01:39.500Z")
            )
        );
    }

    #[test]
    fn a_reading_of_the_boot_from_an_earlier_request_places_it_in_a_later_one() {
        // A heartbeat from an earlier run of the boot, synchronised, was kept ...
        let heartbeat = sent(
            RUN,
            50_000,
            Some((BOOT, 110_000)),
            Some("2026-11-23T09:01:50.000Z"),
        );
        let mut boots = learned(&heartbeat, at("2026-11-23T09:01:50.300Z"));
        // ... and a later request, even one whose clock is not synchronised (any more), is
        // placed by it; the request's own reading would be late by its transit.
        let status = sent(LATER_RUN, 1_000, Some((BOOT, 7_200_000)), None);
        for (boot, reading) in synchronised_readings(&status, at(RECEIVED)) {
            boots.learn(boot, reading);
        }
        let placed = place(&visit(RUN, Some(BOOT)), &status, at(RECEIVED), &boots).unwrap();
        assert_eq!(
            placed,
            (at("2026-11-23T09:01:10Z"), at("2026-11-23T09:01:40Z"))
        );
    }

    #[test]
    fn the_earliest_reading_of_a_boot_is_kept() {
        let mut boots = BootClocks::default();
        let first = SyncedReading {
            boot_ms: 120_000,
            wall_ms: ms("2026-11-23T09:02:00Z"),
        };
        let later = SyncedReading {
            boot_ms: 900_000,
            wall_ms: ms("2026-11-23T09:15:00.020Z"),
        };
        assert!(boots.learn(BOOT, later));
        assert!(boots.learn(BOOT, first));
        assert!(!boots.learn(BOOT, later));
        assert_eq!(boots.get(BOOT), Some(first));
        assert_eq!(boots.len(), 1);
    }

    #[test]
    fn an_earlier_boot_remembered_by_the_device_places_responses_that_waited_through_a_reboot() {
        // Uploaded after a reboot: the batch is from another boot, and says what the device
        // remembers of the response's boot, whose clock was synchronised before it ended.
        let mut status = sent(
            LATER_RUN,
            2_000,
            Some((BOOT, 30_000)),
            Some("2026-11-24T07:00:30Z"),
        );
        status.earlier_boots = vec![BootSync {
            boot_id: EARLIER_BOOT,
            boot_ms: 400_000,
            at: "2026-11-23T17:06:40Z".into(),
        }];
        let boots = learned(&status, at("2026-11-24T07:00:31Z"));
        assert_eq!(boots.len(), 2);
        let placed = place(
            &visit(RUN, Some(EARLIER_BOOT)),
            &status,
            at("2026-11-24T07:00:31Z"),
            &boots,
        )
        .unwrap();
        assert_eq!(
            placed,
            (at("2026-11-23T17:01:10Z"), at("2026-11-23T17:01:40Z"))
        );
    }

    #[test]
    fn a_boot_that_never_synchronised_sent_from_another_boot_cannot_be_placed() {
        let status = sent(
            LATER_RUN,
            2_000,
            Some((BOOT, 30_000)),
            Some("2026-11-24T07:00:30Z"),
        );
        let received = at("2026-11-24T07:00:31Z");
        let boots = learned(&status, received);
        assert_eq!(
            place(&visit(RUN, Some(EARLIER_BOOT)), &status, received, &boots),
            None
        );
    }

    #[test]
    fn without_a_synchronised_reading_a_request_of_the_same_boot_places_it_by_its_arrival() {
        // Never synchronised (no NTP where it stands), but the collector's clock is: the
        // request says where the boot's clock stood when it was built.
        let status = sent(LATER_RUN, 1_000, Some((BOOT, 190_000)), None);
        let received = at(RECEIVED);
        let boots = learned(&status, received);
        assert!(boots.is_empty());
        assert_eq!(
            place(&visit(RUN, Some(BOOT)), &status, received, &boots),
            Some((at("2026-11-23T11:58:00Z"), at("2026-11-23T11:58:30Z")))
        );
        // Readings later than the request's own are impossible for the same boot.
        let early = sent(LATER_RUN, 1_000, Some((BOOT, 90_000)), None);
        assert_eq!(
            place(&visit(RUN, Some(BOOT)), &early, received, &boots),
            None
        );
    }

    #[test]
    fn a_record_without_boot_readings_is_placed_as_before_only_by_its_own_run() {
        let received = at(RECEIVED);
        let boots = BootClocks::default();
        // From a kiosk from before boot readings, to a collector that knows them.
        let old = sent(RUN, 100_000, None, None);
        assert_eq!(
            place(&visit(RUN, None), &old, received, &boots),
            Some((at("2026-11-23T11:58:30Z"), at("2026-11-23T11:59:00Z")))
        );
        assert_eq!(
            place(
                &visit(RUN, None),
                &sent(LATER_RUN, 100_000, None, None),
                received,
                &boots
            ),
            None
        );
        // Monotonic readings later than the request's: another run in fact.
        assert_eq!(
            place(
                &visit(RUN, None),
                &sent(RUN, 20_000, None, None),
                received,
                &boots
            ),
            None
        );
    }

    #[test]
    fn a_synchronised_record_is_not_placed() {
        let mut clock = visit(RUN, Some(BOOT));
        clock.synchronized = true;
        let status = sent(RUN, 100_000, Some((BOOT, 190_000)), Some(RECEIVED));
        let boots = learned(&status, at(RECEIVED));
        assert_eq!(place(&clock, &status, at(RECEIVED), &boots), None);
    }

    #[test]
    fn implausible_or_unreadable_synchronised_readings_are_not_taken() {
        let received = at(RECEIVED);
        for bad in [
            "1970-01-01T00:10:00Z",
            "2023-12-31T23:59:59Z",
            "2026-11-25T12:00:00Z",
            "yesterday",
        ] {
            let mut status = sent(RUN, 1, Some((BOOT, 5_000)), Some(bad));
            status.earlier_boots = vec![BootSync {
                boot_id: EARLIER_BOOT,
                boot_ms: 1,
                at: bad.into(),
            }];
            assert!(synchronised_readings(&status, received).is_empty(), "{bad}");
        }
        // Not synchronised: its wall clock says nothing.
        let unsynced = sent(RUN, 1, Some((BOOT, 5_000)), None);
        assert!(synchronised_readings(&unsynced, received).is_empty());
        // Past the limit, the rest of the earlier boots are not read.
        let mut many = sent(RUN, 1, None, None);
        many.earlier_boots = (0..100)
            .map(|i| BootSync {
                boot_id: Uuid::from_u128(i),
                boot_ms: 1,
                at: "2026-11-23T10:00:00Z".into(),
            })
            .collect();
        assert_eq!(
            synchronised_readings(&many, received).len(),
            MAX_EARLIER_BOOTS
        );
    }
}
