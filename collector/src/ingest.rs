//! Judging the responses of one batch, one by one, before anything is stored: what is valid,
//! what is rejected and why, and the true time of each response. Pure: no I/O.

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use earshot_protocol::{codes, DeviceStatus, Reason, ResponseRecord};
use uuid::Uuid;

/// Surveys the collector knows, as (id, version). Empty: every survey is accepted.
#[derive(Debug, Clone, Default)]
pub struct KnownSurveys(pub HashSet<(String, String)>);

/// How the stored "true" times of a response were arrived at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeBasis {
    /// The device's clock was synchronised: its times are used as they are.
    Device,
    /// The device's clock was not synchronised, but the batch came from the same kiosk run
    /// that recorded the response, so its monotonic readings were placed on the collector's
    /// clock.
    Corrected,
    /// Not synchronised and sent by a later run: the device's times are kept, unverified.
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

/// Earliest plausible time of a response from a synchronised clock.
fn earliest_plausible() -> SystemTime {
    // 2024-01-01T00:00:00Z: before Earshot existed.
    UNIX_EPOCH + Duration::from_secs(1_704_067_200)
}

/// How far ahead of the collector's clock a synchronised device may be.
const FUTURE_SLACK: Duration = Duration::from_secs(24 * 3600);

/// Judges every response of a batch received at `received_at` (the collector's clock).
pub fn judge(
    responses: &[serde_json::Value],
    status: &DeviceStatus,
    received_at: SystemTime,
    surveys: &KnownSurveys,
) -> Vec<Judged> {
    let mut seen = HashSet::new();
    responses
        .iter()
        .enumerate()
        .map(|(index, raw)| {
            let judged = judge_one(index, raw, status, received_at, surveys);
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

fn judge_one(
    index: usize,
    raw: &serde_json::Value,
    status: &DeviceStatus,
    received_at: SystemTime,
    surveys: &KnownSurveys,
) -> Judged {
    let id = raw
        .get("id")
        .and_then(|v| v.as_str())
        .and_then(|s| Uuid::parse_str(s).ok());
    let reject = |code: &str, message: String| Judged::Rejected {
        index,
        id,
        reason: Reason::new(code, message),
    };
    let record: ResponseRecord = match serde_json::from_value(raw.clone()) {
        Ok(r) => r,
        Err(e) => {
            return reject(
                codes::INVALID_RESPONSE,
                format!("response {index} is not a valid response record: {e}"),
            )
        }
    };
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
        humantime::parse_rfc3339_weak(text)
            .map_err(|e| format!("{field} {text:?} is not an RFC 3339 time: {e}"))
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
    let (started_at, finished_at, basis) = match true_times(&record, status, received_at) {
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
                    humantime::format_rfc3339_millis(received_at)
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

/// The times of a response recorded while the device clock was not synchronised, placed on
/// the collector's clock: the batch says where the sending run's monotonic clock stood when
/// it was sent (`status.clock.mono_ms`), and the collector knows when it arrived, so a
/// reading `m` of the same run happened at `received_at − (mono_ms − m)`. The request's
/// transit time makes the result late by that much (never early). `None` when the record was made with a
/// synchronised clock (nothing to correct) or by another run (its readings cannot be placed).
pub fn true_times(
    record: &ResponseRecord,
    status: &DeviceStatus,
    received_at: SystemTime,
) -> Option<(SystemTime, SystemTime)> {
    if record.clock.synchronized || record.clock.run_id != Some(status.clock.run_id) {
        return None;
    }
    let place = |mono: u64| {
        let back = status.clock.mono_ms.checked_sub(mono)?;
        received_at.checked_sub(Duration::from_millis(back))
    };
    Some((
        place(record.clock.started_mono_ms)?,
        place(record.clock.finished_mono_ms)?,
    ))
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

    fn at(s: &str) -> SystemTime {
        humantime::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn an_unsynchronised_response_from_the_sending_run_is_placed_on_the_collectors_clock() {
        let run = Uuid::now_v7();
        // The device believes it is 1970; it sent the batch 100 s after it started.
        let judged = judge(
            &[record(Some(run), false, "1970-01-01T00:00:10Z")],
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
            &[record(Some(Uuid::now_v7()), false, "1970-01-01T00:00:10Z")],
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

    #[test]
    fn a_synchronised_clock_in_1970_or_far_ahead_is_absurd() {
        for start in ["1970-01-01T00:00:10Z", "2031-01-01T00:00:00Z"] {
            let judged = judge(
                &[record(None, true, start)],
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
            judge(std::slice::from_ref(&r), &s, now, &known)[0],
            Judged::Valid(_)
        ));
        known.0.insert(("shop-feedback".into(), "2".into()));
        match &judge(&[r], &s, now, &known)[0] {
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
            &[good.clone(), bad, good, serde_json::json!("not an object")],
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
