//! Judging the responses of one batch, one by one, before anything is stored: what is valid,
//! what is rejected and why, and the true time of each response. Pure: no I/O.
//!
//! Invariants: a response is judged from its own JSON text alone, so one bad response is
//! rejected alone; a response is accepted only from the device that sent it and for the site
//! that device is enrolled at (the token says which, never the record); a response over
//! `MAX_RESPONSE_BYTES` is rejected before it is parsed into anything.

use std::collections::HashSet;
use std::time::SystemTime;

use earshot_protocol::time::{parse_rfc3339, rfc3339};
use earshot_protocol::{codes, DeviceStatus, Reason, ResponseRecord, MAX_RESPONSE_BYTES};
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::clocks::{self, earliest_plausible, BootClocks, FUTURE_SLACK};

/// Surveys the collector knows, as (id, version). Empty: every survey is accepted.
#[derive(Debug, Clone, Default)]
pub struct KnownSurveys(pub HashSet<(String, String)>);

/// How the stored "true" times of a response were arrived at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeBasis {
    /// The device's clock was synchronised: its times are used as they are.
    Device,
    /// The device's clock was not synchronised, but its readings of a clock that never jumps
    /// were placed on true time (`clocks::place`): by a synchronised reading of the same
    /// boot, or by the arrival of a request from the same boot or the same kiosk run.
    Corrected,
    /// Not synchronised, and nothing to place it by (another run, and no synchronised
    /// reading of its boot): the device's times are kept, unverified.
    Unverified,
}

impl TimeBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            TimeBasis::Device => "device",
            TimeBasis::Corrected => "corrected",
            TimeBasis::Unverified => "unverified",
        }
    }
}

/// A response ready to store.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub index: usize,
    pub record: ResponseRecord,
    /// The record as received, re-encoded (the same fields: unknown ones were refused).
    pub record_json: String,
    pub started_at: SystemTime,
    pub finished_at: SystemTime,
    pub basis: TimeBasis,
}

#[derive(Debug, Clone)]
pub enum Judged {
    Valid(Box<Accepted>),
    /// Refused for good. `id` when the response had a readable one.
    Rejected {
        index: usize,
        id: Option<Uuid>,
        reason: Reason,
    },
    /// The same id appeared earlier in this batch: counts as delivered with the first.
    RepeatInBatch {
        index: usize,
        id: Uuid,
    },
}

/// Who sent a batch, as its token says: the only source of a response's device and site.
#[derive(Debug, Clone, Copy)]
pub struct Sender<'a> {
    pub device_id: &'a str,
    pub site: &'a str,
}

/// Judges every response of a batch received at `received_at` (the collector's clock), with
/// no synchronised readings of the device's boots known but those of its own status.
pub fn judge(
    responses: &[Box<RawValue>],
    sender: Sender<'_>,
    status: &DeviceStatus,
    received_at: SystemTime,
    surveys: &KnownSurveys,
) -> Vec<Judged> {
    judge_with(
        responses,
        sender,
        status,
        received_at,
        surveys,
        &BootClocks::default(),
    )
}

/// Judges every response of a batch as `judge` does, placing responses recorded before the
/// device's clock was synchronised by the synchronised readings `known` of its boots (kept
/// from earlier requests; see [`boots_to_look_up`]) and those of this batch's status.
pub fn judge_with(
    responses: &[Box<RawValue>],
    sender: Sender<'_>,
    status: &DeviceStatus,
    received_at: SystemTime,
    surveys: &KnownSurveys,
    known: &BootClocks,
) -> Vec<Judged> {
    let mut boots = known.clone();
    for (boot, reading) in clocks::synchronised_readings(&status.clock, received_at) {
        boots.learn(boot, reading);
    }
    let mut seen = HashSet::new();
    responses
        .iter()
        .enumerate()
        .map(|(index, raw)| {
            let judged = judge_one(index, raw, sender, status, received_at, surveys, &boots);
            if let Judged::Valid(a) = &judged {
                if !seen.insert(a.record.id) {
                    return Judged::RepeatInBatch {
                        index,
                        id: a.record.id,
                    };
                }
            }
            judged
        })
        .collect()
}

/// Only the id of a response, read without building anything else of it.
#[derive(serde::Deserialize)]
struct IdOnly<'a> {
    #[serde(borrow, default)]
    id: Option<std::borrow::Cow<'a, str>>,
}

/// Only what says whether a response needs its boot's clock, read without the rest.
#[derive(serde::Deserialize)]
struct ClockOnly {
    #[serde(default)]
    clock: Option<BootOnly>,
}

#[derive(serde::Deserialize)]
struct BootOnly {
    #[serde(default)]
    synchronized: bool,
    #[serde(default)]
    boot_id: Option<Uuid>,
}

/// The boots of the responses in a batch that were recorded with the clock not
/// synchronised: those whose synchronised readings the store is asked for before judging.
/// Items that cannot be read this far are skipped (judging rejects them).
pub fn boots_to_look_up(responses: &[Box<RawValue>]) -> Vec<Uuid> {
    let mut boots: Vec<Uuid> = responses
        .iter()
        .filter(|raw| raw.get().len() <= MAX_RESPONSE_BYTES)
        .filter_map(|raw| serde_json::from_str::<ClockOnly>(raw.get()).ok()?.clock)
        .filter(|c| !c.synchronized)
        .filter_map(|c| c.boot_id)
        .collect();
    boots.sort_unstable();
    boots.dedup();
    boots
}

fn readable_id(raw: &RawValue) -> Option<Uuid> {
    serde_json::from_str::<IdOnly>(raw.get())
        .ok()?
        .id
        .and_then(|s| Uuid::parse_str(&s).ok())
}

fn judge_one(
    index: usize,
    raw: &RawValue,
    sender: Sender<'_>,
    status: &DeviceStatus,
    received_at: SystemTime,
    surveys: &KnownSurveys,
    boots: &BootClocks,
) -> Judged {
    let id = readable_id(raw);
    let reject = |code: &str, message: String| Judged::Rejected {
        index,
        id,
        reason: Reason::new(code, message),
    };
    if raw.get().len() > MAX_RESPONSE_BYTES {
        return reject(
            codes::RESPONSE_TOO_LARGE,
            format!(
                "response {index} is {} bytes of JSON; one response may be at most {MAX_RESPONSE_BYTES}",
                raw.get().len()
            ),
        );
    }
    let record: ResponseRecord = match serde_json::from_str(raw.get()) {
        Ok(r) => r,
        Err(e) => {
            return reject(
                codes::INVALID_RESPONSE,
                format!("response {index} is not a valid response record: {e}"),
            )
        }
    };
    if record.clock.boot_incomplete() {
        return reject(
            codes::INVALID_RESPONSE,
            format!(
                "response {index} has only some of clock.boot_id, clock.started_boot_ms and \
                 clock.finished_boot_ms; they come together or not at all"
            ),
        );
    }
    if record.device_id != sender.device_id {
        return reject(
            codes::DEVICE_MISMATCH,
            format!(
                "response {index} claims device {:?}, but the token is device {:?}'s",
                earshot_protocol::text::visible(&record.device_id),
                sender.device_id
            ),
        );
    }
    if record.site_id != sender.site {
        return reject(
            codes::SITE_MISMATCH,
            format!(
                "response {index} claims site {:?}, but device {:?} is enrolled at site {:?}; \
                 provision it again for the site it stands in",
                earshot_protocol::text::visible(&record.site_id),
                sender.device_id,
                sender.site
            ),
        );
    }
    if record.id.get_version_num() != 7 {
        return reject(
            codes::INVALID_RESPONSE,
            format!("response id {} is not a UUID v7", record.id),
        );
    }
    if !surveys.0.is_empty()
        && !surveys
            .0
            .contains(&(record.survey_id.clone(), record.survey_version.clone()))
    {
        return reject(
            codes::UNKNOWN_SURVEY_VERSION,
            format!(
                "survey {:?} version {:?} is not known to this collector; add its file to the \
                 collector's surveys folder",
                record.survey_id, record.survey_version
            ),
        );
    }
    let parse = |field: &str, text: &str| {
        parse_rfc3339(text).map_err(|e| format!("{field} {text:?} is not an RFC 3339 time: {e}"))
    };
    let (device_start, device_finish) = match (
        parse("started_at", &record.started_at),
        parse("finished_at", &record.finished_at),
    ) {
        (Ok(s), Ok(f)) => (s, f),
        (Err(e), _) | (_, Err(e)) => return reject(codes::ABSURD_TIMESTAMP, e),
    };
    if record.clock.finished_mono_ms < record.clock.started_mono_ms {
        return reject(
            codes::ABSURD_TIMESTAMP,
            "the visit ends before it starts (finished_mono_ms < started_mono_ms)".into(),
        );
    }
    if record
        .clock
        .boot()
        .is_some_and(|b| b.finished_ms < b.started_ms)
    {
        return reject(
            codes::ABSURD_TIMESTAMP,
            "the visit ends before it starts (finished_boot_ms < started_boot_ms)".into(),
        );
    }
    let placed = clocks::place(&record.clock, &status.clock, received_at, boots);
    let (started_at, finished_at, basis) = match placed {
        Some((s, f)) => (s, f, TimeBasis::Corrected),
        None if record.clock.synchronized => (device_start, device_finish, TimeBasis::Device),
        None => (device_start, device_finish, TimeBasis::Unverified),
    };
    if basis != TimeBasis::Unverified {
        if started_at < earliest_plausible() || finished_at > received_at + FUTURE_SLACK {
            return reject(
                codes::ABSURD_TIMESTAMP,
                format!(
                    "times {} – {} are impossible for a response received at {}",
                    record.started_at,
                    record.finished_at,
                    rfc3339(received_at)
                ),
            );
        }
        if finished_at < started_at {
            return reject(
                codes::ABSURD_TIMESTAMP,
                "finished_at is before started_at".into(),
            );
        }
    }
    let record_json = match serde_json::to_string(&record) {
        Ok(j) => j,
        Err(e) => return reject(codes::INVALID_RESPONSE, e.to_string()),
    };
    Judged::Valid(Box::new(Accepted {
        index,
        record,
        record_json,
        started_at,
        finished_at,
        basis,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use earshot_protocol::DeviceClock;

    fn status(run: Uuid, mono_ms: u64) -> DeviceStatus {
        DeviceStatus {
            app_version: "0.1.0".into(),
            survey_id: "shop-feedback".into(),
            survey_version: "1".into(),
            queue_depth: 1,
            oldest_unsent_age_s: None,
            dead_letters: 0,
            scanner: "not_configured".into(),
            hardware: "simulated".into(),
            uptime_s: 1,
            last_error: None,
            alarms: vec![],
            clock: DeviceClock {
                sent_at: "1970-01-01T00:10:00Z".into(),
                synchronized: false,
                run_id: run,
                mono_ms,
                boot_id: None,
                boot_ms: None,
                earlier_boots: vec![],
            },
        }
    }

    fn record(run: Option<Uuid>, synced: bool, start: &str) -> serde_json::Value {
        serde_json::json!({
            "id": Uuid::now_v7(),
            "reference": "K7M2-Q",
            "survey_id": "shop-feedback",
            "survey_version": "1",
            "language": "en",
            "site_id": "s",
            "device_id": "d",
            "started_at": start,
            "finished_at": start,
            "clock": {"synchronized": synced, "started_mono_ms": 10_000, "finished_mono_ms": 40_000,
                      "visit_number": 1, "run_id": run},
            "outcome": "completed",
            "service": null,
            "answers": [],
            "flags": {"suspected_misuse": false}
        })
    }

    fn raw(values: &[serde_json::Value]) -> Vec<Box<RawValue>> {
        values
            .iter()
            .map(|v| RawValue::from_string(v.to_string()).unwrap())
            .collect()
    }

    const SENDER: Sender<'static> = Sender {
        device_id: "d",
        site: "s",
    };

    fn at(s: &str) -> SystemTime {
        humantime::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn an_unsynchronised_response_from_the_sending_run_is_placed_on_the_collectors_clock() {
        let run = Uuid::now_v7();
        // The device believes it is 1970; it sent the batch 100 s after it started.
        let judged = judge(
            &raw(&[record(Some(run), false, "1970-01-01T00:00:10Z")]),
            SENDER,
            &status(run, 100_000),
            at("2026-11-23T12:00:00Z"),
            &KnownSurveys::default(),
        );
        let Judged::Valid(a) = &judged[0] else {
            panic!("{judged:?}")
        };
        assert_eq!(a.basis, TimeBasis::Corrected);
        assert_eq!(a.started_at, at("2026-11-23T11:58:30Z"));
        assert_eq!(a.finished_at, at("2026-11-23T11:59:00Z"));
    }

    #[test]
    fn an_unsynchronised_response_from_an_earlier_run_is_kept_unverified() {
        let judged = judge(
            &raw(&[record(Some(Uuid::now_v7()), false, "1970-01-01T00:00:10Z")]),
            SENDER,
            &status(Uuid::now_v7(), 100_000),
            at("2026-11-23T12:00:00Z"),
            &KnownSurveys::default(),
        );
        let Judged::Valid(a) = &judged[0] else {
            panic!("{judged:?}")
        };
        assert_eq!(a.basis, TimeBasis::Unverified);
        assert_eq!(a.started_at, at("1970-01-01T00:00:10Z"));
    }

    const BOOT: Uuid = Uuid::from_u128(0x6c1e0c1a_3b1f_4a53_9a55_1f3bd1c0e0aa);

    /// A record of `record`'s kind with boot-time readings 70–100 s into `BOOT`.
    fn with_boot(mut r: serde_json::Value) -> serde_json::Value {
        r["clock"]["boot_id"] = serde_json::json!(BOOT);
        r["clock"]["started_boot_ms"] = serde_json::json!(70_000);
        r["clock"]["finished_boot_ms"] = serde_json::json!(100_000);
        r
    }

    fn valid(judged: &[Judged]) -> &Accepted {
        match &judged[0] {
            Judged::Valid(a) => a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_response_from_an_earlier_run_of_the_boot_is_placed_by_a_synchronised_status() {
        // Recorded before a restart, with the clock at 1970; sent by the next run once the
        // clock was synchronised.
        let r = with_boot(record(Some(Uuid::now_v7()), false, "1970-01-01T00:01:10Z"));
        let mut s = status(Uuid::now_v7(), 5_000);
        s.clock.synchronized = true;
        s.clock.sent_at = "2026-11-23T11:59:58.000Z".into();
        s.clock.boot_id = Some(BOOT);
        s.clock.boot_ms = Some(3_600_000);
        let judged = judge(
            &raw(&[r]),
            SENDER,
            &s,
            at("2026-11-23T12:00:00Z"),
            &KnownSurveys::default(),
        );
        let a = valid(&judged);
        assert_eq!(a.basis, TimeBasis::Corrected);
        assert_eq!(a.started_at, at("2026-11-23T11:01:08Z"));
        assert_eq!(a.finished_at, at("2026-11-23T11:01:38Z"));
        // The record itself is kept with the device's times.
        assert_eq!(a.record.started_at, "1970-01-01T00:01:10Z");
    }

    #[test]
    fn a_response_is_placed_by_a_reading_of_its_boot_kept_from_an_earlier_request() {
        let r = with_boot(record(Some(Uuid::now_v7()), false, "1970-01-01T00:01:10Z"));
        let mut known = BootClocks::default();
        known.learn(
            BOOT,
            clocks::SyncedReading {
                boot_ms: 130_000,
                wall_ms: 1_795_425_730_000, // 2026-11-23T09:22:10Z
            },
        );
        // This batch is from another boot, not synchronised.
        let judged = judge_with(
            &raw(&[r]),
            SENDER,
            &status(Uuid::now_v7(), 1_000),
            at("2026-11-23T12:00:00Z"),
            &KnownSurveys::default(),
            &known,
        );
        let a = valid(&judged);
        assert_eq!(a.basis, TimeBasis::Corrected);
        assert_eq!(a.started_at, at("2026-11-23T09:21:10Z"));
        assert_eq!(a.finished_at, at("2026-11-23T09:21:40Z"));
    }

    #[test]
    fn a_response_of_a_boot_nothing_is_known_of_keeps_its_device_times_unverified() {
        let r = with_boot(record(Some(Uuid::now_v7()), false, "1970-01-01T00:01:10Z"));
        let judged = judge(
            &raw(&[r]),
            SENDER,
            &status(Uuid::now_v7(), 1_000),
            at("2026-11-23T12:00:00Z"),
            &KnownSurveys::default(),
        );
        let a = valid(&judged);
        assert_eq!(a.basis, TimeBasis::Unverified);
        assert_eq!(a.started_at, at("1970-01-01T00:01:10Z"));
    }

    #[test]
    fn a_record_without_boot_readings_is_stored_exactly_as_before() {
        let run = Uuid::now_v7();
        let r = record(Some(run), false, "1970-01-01T00:00:10Z");
        let mut s = status(run, 100_000);
        // A status with boot readings does not change how an old record is judged.
        s.clock.boot_id = Some(BOOT);
        s.clock.boot_ms = Some(50_000);
        let judged = judge(
            &raw(std::slice::from_ref(&r)),
            SENDER,
            &s,
            at("2026-11-23T12:00:00Z"),
            &KnownSurveys::default(),
        );
        let a = valid(&judged);
        assert_eq!(a.basis, TimeBasis::Corrected);
        assert_eq!(a.started_at, at("2026-11-23T11:58:30Z"));
        let kept: serde_json::Value = serde_json::from_str(&a.record_json).unwrap();
        assert_eq!(
            kept, r,
            "the record is kept as sent, with no boot fields added"
        );
        assert!(!a.record_json.contains("boot"));
    }

    #[test]
    fn boot_readings_come_together_and_in_order() {
        let mut partial = record(None, false, "1970-01-01T00:01:10Z");
        partial["clock"]["boot_id"] = serde_json::json!(BOOT);
        let mut backwards = with_boot(record(None, false, "1970-01-01T00:01:10Z"));
        backwards["clock"]["finished_boot_ms"] = serde_json::json!(69_999);
        let judged = judge(
            &raw(&[partial, backwards]),
            SENDER,
            &status(Uuid::now_v7(), 1),
            at("2026-11-23T12:00:00Z"),
            &KnownSurveys::default(),
        );
        let codes: Vec<&str> = judged
            .iter()
            .map(|j| match j {
                Judged::Rejected { reason, .. } => reason.code.as_str(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(codes, [codes::INVALID_RESPONSE, codes::ABSURD_TIMESTAMP]);
    }

    #[test]
    fn only_the_boots_of_unsynchronised_responses_are_looked_up() {
        let other = Uuid::from_u128(7);
        let mut synced = with_boot(record(None, true, "2026-11-23T11:00:00Z"));
        synced["clock"]["boot_id"] = serde_json::json!(other);
        let responses = raw(&[
            with_boot(record(None, false, "1970-01-01T00:01:10Z")),
            with_boot(record(None, false, "1970-01-01T00:01:20Z")),
            synced,
            record(None, false, "1970-01-01T00:01:10Z"),
            serde_json::json!("not a response"),
        ]);
        assert_eq!(boots_to_look_up(&responses), [BOOT]);
    }

    #[test]
    fn a_synchronised_clock_in_1970_or_far_ahead_is_absurd() {
        for start in ["1970-01-01T00:00:10Z", "2031-01-01T00:00:00Z"] {
            let judged = judge(
                &raw(&[record(None, true, start)]),
                SENDER,
                &status(Uuid::now_v7(), 1),
                at("2026-11-23T12:00:00Z"),
                &KnownSurveys::default(),
            );
            match &judged[0] {
                Judged::Rejected { reason, id, .. } => {
                    assert_eq!(reason.code, codes::ABSURD_TIMESTAMP);
                    assert!(id.is_some());
                }
                other => panic!("{start}: {other:?}"),
            }
        }
    }

    #[test]
    fn unknown_survey_versions_are_rejected_only_when_surveys_are_configured() {
        let mut known = KnownSurveys::default();
        let r = record(None, true, "2026-11-23T11:00:00Z");
        let s = status(Uuid::now_v7(), 1);
        let now = at("2026-11-23T12:00:00Z");
        assert!(matches!(
            judge(&raw(std::slice::from_ref(&r)), SENDER, &s, now, &known)[0],
            Judged::Valid(_)
        ));
        known.0.insert(("shop-feedback".into(), "2".into()));
        match &judge(&raw(&[r]), SENDER, &s, now, &known)[0] {
            Judged::Rejected { reason, .. } => {
                assert_eq!(reason.code, codes::UNKNOWN_SURVEY_VERSION)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn one_bad_response_does_not_spoil_the_others_and_repeats_are_noticed() {
        let good = record(None, true, "2026-11-23T11:00:00Z");
        let mut bad = good.clone();
        bad["outcome"] = serde_json::json!("exploded");
        bad["id"] = serde_json::json!(Uuid::now_v7());
        let judged = judge(
            &raw(&[good.clone(), bad, good, serde_json::json!("not an object")]),
            SENDER,
            &status(Uuid::now_v7(), 1),
            at("2026-11-23T12:00:00Z"),
            &KnownSurveys::default(),
        );
        assert!(matches!(judged[0], Judged::Valid(_)));
        assert!(
            matches!(&judged[1], Judged::Rejected { reason, id: Some(_), .. } if reason.code == codes::INVALID_RESPONSE)
        );
        assert!(matches!(judged[2], Judged::RepeatInBatch { index: 2, .. }));
        assert!(matches!(
            &judged[3],
            Judged::Rejected {
                id: None,
                index: 3,
                ..
            }
        ));
    }
}

#[cfg(test)]
mod sender_tests {
    use super::*;

    fn one(v: serde_json::Value, sender: Sender<'_>) -> Judged {
        let raw = vec![RawValue::from_string(v.to_string()).unwrap()];
        let status: DeviceStatus = serde_json::from_value(serde_json::json!({
            "app_version": "0.1.0", "survey_id": "s", "survey_version": "1", "queue_depth": 0,
            "oldest_unsent_age_s": null, "dead_letters": 0, "scanner": "x", "hardware": "x",
            "uptime_s": 1, "last_error": null, "alarms": [],
            "clock": {"sent_at": "2026-11-23T12:00:00Z", "synchronized": true,
                      "run_id": Uuid::nil(), "mono_ms": 1}
        }))
        .unwrap();
        judge(
            &raw,
            sender,
            &status,
            humantime::parse_rfc3339("2026-11-23T12:00:00Z").unwrap(),
            &KnownSurveys::default(),
        )
        .remove(0)
    }

    fn record(device: &str, site: &str) -> serde_json::Value {
        serde_json::json!({
            "id": Uuid::now_v7(), "reference": "K7M2-Q", "survey_id": "s", "survey_version": "1",
            "language": "en", "site_id": site, "device_id": device,
            "started_at": "2026-11-23T11:00:00Z", "finished_at": "2026-11-23T11:00:20Z",
            "clock": {"synchronized": true, "started_mono_ms": 1, "finished_mono_ms": 2, "visit_number": 1},
            "outcome": "completed", "service": null, "answers": [],
            "flags": {"suspected_misuse": false}
        })
    }

    fn rejected_code(j: &Judged) -> &str {
        match j {
            Judged::Rejected { reason, id, .. } => {
                assert!(id.is_some(), "the id is reported back");
                &reason.code
            }
            other => panic!("{other:?}"),
        }
    }

    const KIOSK_AT_A: Sender<'static> = Sender {
        device_id: "kiosk-1",
        site: "site-a",
    };

    #[test]
    fn a_response_for_the_senders_own_site_and_device_is_accepted() {
        assert!(matches!(
            one(record("kiosk-1", "site-a"), KIOSK_AT_A),
            Judged::Valid(_)
        ));
    }

    #[test]
    fn a_response_claiming_another_site_is_rejected_with_the_enrolled_site_named() {
        let j = one(record("kiosk-1", "site-b"), KIOSK_AT_A);
        assert_eq!(rejected_code(&j), codes::SITE_MISMATCH);
        let Judged::Rejected { reason, .. } = j else {
            unreachable!()
        };
        assert!(reason.message.contains("\"site-a\""), "{}", reason.message);
    }

    #[test]
    fn a_response_claiming_another_device_is_rejected() {
        let j = one(record("kiosk-2", "site-a"), KIOSK_AT_A);
        assert_eq!(rejected_code(&j), codes::DEVICE_MISMATCH);
    }

    #[test]
    fn a_response_over_the_size_limit_is_rejected_before_parsing() {
        let mut big = record("kiosk-1", "site-a");
        big["answers"] = serde_json::json!(vec![0; MAX_RESPONSE_BYTES / 2 + 1]);
        let j = one(big, KIOSK_AT_A);
        assert_eq!(rejected_code(&j), codes::RESPONSE_TOO_LARGE);
    }
}
