//! The wire protocol between the Earshot kiosk and its receiver (`earshot-collector`), and
//! the response record both keep. Types, with no I/O, so the kiosk's pure core can use them
//! and the two sides cannot drift apart. docs/protocol.md describes the protocol in prose and
//! docs/openapi.yaml formally.
//!
//! With them, the small helpers both sides and their tests share, kept once: times as records
//! write them (`time`), secrets from the system's randomness (`random`), and records made by
//! hand for tests (`testing`). Only `time::now_ms` and `random` read anything (the clock, the
//! system's randomness); the core uses neither.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub mod alarms;
pub mod ids;
pub mod random;
pub mod record;
pub mod reference;
#[cfg(feature = "testing")]
pub mod testing;
pub mod text;
pub mod time;

pub use ids::{AlarmCode, DeviceId, DeviceToken, IdError, SiteId};
pub use record::{Answer, AnswerValue, BootSpan, ClockInfo, Flags, Outcome, ResponseRecord};

/// Paths, relative to the server URL.
pub const BATCHES_PATH: &str = "/v1/batches";
pub const STATUS_PATH: &str = "/v1/status";
pub const ENROLL_PATH: &str = "/v1/enroll";

/// The idempotency header of a batch upload; its value is the batch id.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// The receiver's default limit on a request body as sent (compressed).
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// The receiver's default limit on a request body once decompressed: a small gzip body can
/// expand a thousandfold, so the expanded size is capped separately.
pub const DEFAULT_MAX_DECOMPRESSED_BYTES: usize = 32 * 1024 * 1024;
/// The most responses one batch may carry.
pub const MAX_BATCH_RESPONSES: usize = 5000;
/// The largest one response may be as JSON text. A kiosk's record is a few kilobytes even
/// with a long comment; the receiver rejects a larger one alone, not its whole batch.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// The largest survey file either side reads: a survey with every language of a large
/// council is well under 200 KB, and a file past this is refused before it is parsed.
pub const MAX_SURVEY_FILE_BYTES: u64 = 2 * 1024 * 1024;

/// `POST /v1/batches`. Generic over the response type so that the receiver can take each
/// response as raw JSON first and judge them one by one: one bad response is rejected alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest<R = ResponseRecord> {
    /// The same as the `Idempotency-Key` header. Made before the first send and stored with
    /// the batch's members, so a resend carries exactly the same responses.
    pub batch_id: Uuid,
    pub status: DeviceStatus,
    pub responses: Vec<R>,
}

/// `POST /v1/status`: the heartbeat a kiosk sends when it has nothing to upload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    pub status: DeviceStatus,
}

/// How the device is doing, sent with every batch and heartbeat so the service team sees a
/// kiosk in trouble before its data is missed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceStatus {
    pub app_version: String,
    pub survey_id: String,
    pub survey_version: String,
    /// Responses waiting to be uploaded (pending and claimed).
    pub queue_depth: u64,
    /// How long the oldest waiting response has waited, in seconds.
    pub oldest_unsent_age_s: Option<u64>,
    /// Responses set aside as undeliverable, kept on the device.
    pub dead_letters: u64,
    /// The receipt scanner: "not_configured", "connected", "missing", …
    pub scanner: String,
    /// The GPIO hardware as the kiosk found it: "simulated (no GPIO)", or the Pi's model and
    /// pins (a problem with them is the `hardware-unavailable` alarm).
    pub hardware: String,
    pub uptime_s: u64,
    /// The last upload or device error, in plain words.
    pub last_error: Option<String>,
    /// Codes of the staff alarms standing now, e.g. "storage-nearly-full".
    pub alarms: Vec<String>,
    pub clock: DeviceClock,
}

/// The device's clocks at the moment of sending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceClock {
    /// The wall clock (RFC 3339, UTC).
    pub sent_at: String,
    /// Whether the wall clock is known to be synchronised (NTP).
    pub synchronized: bool,
    /// The kiosk process run, and its monotonic clock (ms since it started), at sending. With
    /// the receiver's own time of receipt, these place the run's monotonic readings, and so
    /// responses recorded before the clock was synchronised, on true time.
    pub run_id: Uuid,
    pub mono_ms: u64,
    /// The device's boot (its kernel boot id) and the boot-time clock (`CLOCK_BOOTTIME`, ms
    /// since the device booted) at sending, read together with `sent_at`. When `synchronized`,
    /// the pair is a reading of that boot's clock on true time, which places every response
    /// recorded in the same boot, by any run of the kiosk. Absent from kiosks from before it
    /// existed; the two come together or not at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_ms: Option<u64>,
    /// Synchronised readings the device remembers from earlier boots, for the boots of
    /// not-synchronised responses in this batch: they place responses that waited on the
    /// device through a reboot. Left out when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earlier_boots: Vec<BootSync>,
}

impl DeviceClock {
    /// The boot and the boot-time clock at sending, when both were sent.
    pub fn boot(&self) -> Option<(Uuid, u64)> {
        Some((self.boot_id?, self.boot_ms?))
    }
}

/// One reading of a boot's clock while the wall clock was synchronised: when the boot-time
/// clock of boot `boot_id` stood at `boot_ms`, the wall clock read `at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootSync {
    pub boot_id: Uuid,
    pub boot_ms: u64,
    /// The synchronised wall clock (RFC 3339, UTC).
    pub at: String,
}

/// The reply to a batch: one result per response, in the order sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchReply {
    pub batch_id: Uuid,
    /// The receiver's clock (RFC 3339, UTC).
    pub server_time: String,
    pub results: Vec<ItemResult>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemResult {
    /// The response's id; for a response so malformed that it has none, `None`, and
    /// `index` says which it was.
    pub id: Option<Uuid>,
    pub index: usize,
    pub status: ItemStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    /// Stored now.
    Accepted,
    /// Already stored by an earlier request: counts as delivered.
    Duplicate,
    /// Refused for good; `reason` says why. Resending it will not help.
    Rejected,
}

/// A machine-readable reason (`code`, stable) with a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    pub code: String,
    pub message: String,
}

impl Reason {
    pub fn new(code: &str, message: impl Into<String>) -> Reason {
        Reason {
            code: code.to_string(),
            message: message.into(),
        }
    }
}

/// The body of every 4xx and 5xx reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorReply {
    pub error: Reason,
}

/// Reason codes. Stable: clients may act on them.
pub mod codes {
    pub const MALFORMED_JSON: &str = "malformed_json";
    pub const BAD_GZIP: &str = "bad_gzip";
    pub const UNSUPPORTED_ENCODING: &str = "unsupported_content_encoding";
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "unsupported_media_type";
    pub const BODY_TOO_LARGE: &str = "body_too_large";
    pub const TOO_MANY_RESPONSES: &str = "too_many_responses";
    pub const INVALID_BATCH: &str = "invalid_batch";
    pub const MISSING_IDEMPOTENCY_KEY: &str = "missing_idempotency_key";
    pub const IDEMPOTENCY_KEY_MISMATCH: &str = "idempotency_key_mismatch";
    pub const IDEMPOTENCY_KEY_REUSED: &str = "idempotency_key_reused";
    pub const IN_PROGRESS: &str = "in_progress";
    pub const UNAUTHORIZED: &str = "unauthorized";
    pub const REVOKED: &str = "device_revoked";
    pub const INVALID_CODE: &str = "invalid_enrollment_code";
    /// At enrolment: the code is for another site than the one asked for. For a response:
    /// it claims another site than the one its device is enrolled at.
    pub const SITE_MISMATCH: &str = "site_mismatch";
    /// A response claims another device than the one whose token sent it.
    pub const DEVICE_MISMATCH: &str = "device_mismatch";
    /// One response is over `MAX_RESPONSE_BYTES`.
    pub const RESPONSE_TOO_LARGE: &str = "response_too_large";
    /// The device id is enrolled at another site; enrol with `reassign` to move it.
    pub const DEVICE_ENROLLED_ELSEWHERE: &str = "device_enrolled_elsewhere";
    pub const INVALID_DEVICE_ID: &str = "invalid_device_id";
    pub const INVALID_SITE_ID: &str = "invalid_site_id";
    /// Too many enrolment attempts from one address: wait `Retry-After`.
    pub const RATE_LIMITED: &str = "rate_limited";
    /// Too many requests at once from one device, or for the collector as a whole.
    pub const TOO_MANY_REQUESTS: &str = "too_many_requests";
    /// The body did not arrive within the collector's deadline.
    pub const BODY_TIMEOUT: &str = "body_timeout";
    pub const INVALID_RESPONSE: &str = "invalid_response";
    pub const DUPLICATE_IN_BATCH: &str = "duplicate_in_batch";
    pub const ABSURD_TIMESTAMP: &str = "absurd_timestamp";
    pub const UNKNOWN_SURVEY_VERSION: &str = "unknown_survey_version";
    pub const NOT_FOUND: &str = "not_found";
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    pub const INTERNAL: &str = "internal";
    pub const UNAVAILABLE: &str = "unavailable";
}

/// `POST /v1/enroll`: a new device exchanges a one-time enrolment code for its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    pub code: String,
    /// The device's own id (from its config), e.g. "library-lobby-1".
    pub device_id: String,
    /// The site the installer expects; refused if the code was made for another site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// Move the device to the code's site if its id is enrolled at another one. Without it
    /// such an enrolment is refused (`device_enrolled_elsewhere`). Left out when false, so
    /// that receivers which do not know it still read the request.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reassign: bool,
}

/// Unknown fields are ignored here, unlike in requests: a newer collector may tell a kiosk
/// more than it understands, and the kiosk must still enrol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollReply {
    pub device_id: String,
    /// The site the code was made for.
    pub site: String,
    /// The bearer token. Shown once; the receiver keeps only its hash.
    pub token: String,
    pub server_time: String,
    /// The deployment's receipt secret (64 hex digits), which the kiosk keys receipt
    /// transactions with (HMAC-SHA256). Absent from receivers that do not hand one out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_secret: Option<String>,
    /// Where a visitor follows up their feedback: an https address with `{ref}` where the
    /// reference goes (the collector's `/t/{ref}`). The thanks screen shows it as a QR code.
    /// Absent from receivers with no tracking page, or none reachable by visitors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_url: Option<String>,
}

/// `POST /v1/status` reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusReply {
    pub server_time: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record_json() -> serde_json::Value {
        serde_json::json!({
            "id": "0192f0c4-7d2a-7b3e-8f00-000000000001",
            "reference": "K7M2-Q",
            "survey_id": "shop-feedback",
            "survey_version": "2026-11-23",
            "language": "en",
            "site_id": "s",
            "device_id": "d",
            "started_at": "2026-11-23T10:00:00.000Z",
            "finished_at": "2026-11-23T10:00:20.000Z",
            "clock": {"synchronized": true, "started_mono_ms": 1, "finished_mono_ms": 2, "visit_number": 1},
            "outcome": "completed",
            "service": null,
            "answers": [{"step_id": "rating", "at_ms": 5, "value": {"type": "rating", "scale": "smiley5", "value": 4}}],
            "flags": {"suspected_misuse": false}
        })
    }

    #[test]
    fn a_record_without_a_run_id_still_reads() {
        let r: ResponseRecord = serde_json::from_value(record_json()).unwrap();
        assert_eq!(r.clock.run_id, None);
        let back = serde_json::to_value(&r).unwrap();
        assert_eq!(back, record_json());
    }

    #[test]
    fn a_record_with_its_boot_readings_round_trips_and_one_without_writes_none() {
        let mut with = record_json();
        with["clock"]["boot_id"] = serde_json::json!("6c1e0c1a-3b1f-4a53-9a55-1f3bd1c0e0aa");
        with["clock"]["started_boot_ms"] = serde_json::json!(5000);
        with["clock"]["finished_boot_ms"] = serde_json::json!(25000);
        let r: ResponseRecord = serde_json::from_value(with.clone()).unwrap();
        let boot = r.clock.boot().unwrap();
        assert_eq!((boot.started_ms, boot.finished_ms), (5000, 25000));
        assert!(!r.clock.boot_incomplete());
        assert_eq!(serde_json::to_value(&r).unwrap(), with);
        let old: ResponseRecord = serde_json::from_value(record_json()).unwrap();
        assert_eq!(old.clock.boot(), None);
        assert!(!old.clock.boot_incomplete());
        let mut partial = record_json();
        partial["clock"]["boot_id"] = serde_json::json!("6c1e0c1a-3b1f-4a53-9a55-1f3bd1c0e0aa");
        let partial: ResponseRecord = serde_json::from_value(partial).unwrap();
        assert!(partial.clock.boot_incomplete());
    }

    #[test]
    fn a_device_clock_from_before_boot_readings_reads_and_writes_as_it_was() {
        let old = serde_json::json!({"sent_at": "2026-11-23T12:00:00.000Z", "synchronized": true,
            "run_id": "01a20769-6f40-7226-b63c-5ab791b7584a", "mono_ms": 14400120});
        let clock: DeviceClock = serde_json::from_value(old.clone()).unwrap();
        assert_eq!(clock.boot(), None);
        assert!(clock.earlier_boots.is_empty());
        assert_eq!(serde_json::to_value(&clock).unwrap(), old);
        let mut new = old.clone();
        new["boot_id"] = serde_json::json!("6c1e0c1a-3b1f-4a53-9a55-1f3bd1c0e0aa");
        new["boot_ms"] = serde_json::json!(14401000);
        new["earlier_boots"] = serde_json::json!([{"boot_id": "1d0bb4d5-95a6-4d0e-8d6c-3f27a2c8f1b0",
            "boot_ms": 61000, "at": "2026-11-22T08:01:00.000Z"}]);
        let clock: DeviceClock = serde_json::from_value(new.clone()).unwrap();
        assert_eq!(clock.boot().map(|b| b.1), Some(14401000));
        assert_eq!(clock.earlier_boots[0].boot_ms, 61000);
        assert_eq!(serde_json::to_value(&clock).unwrap(), new);
    }

    #[test]
    fn unknown_fields_are_refused_at_every_level() {
        let mut top = record_json();
        top["extra"] = serde_json::json!(1);
        assert!(serde_json::from_value::<ResponseRecord>(top).is_err());
        let mut clock = record_json();
        clock["clock"]["tz"] = serde_json::json!("x");
        assert!(serde_json::from_value::<ResponseRecord>(clock).is_err());
        let mut answer = record_json();
        answer["answers"][0]["value"]["colour"] = serde_json::json!("red");
        let err = serde_json::from_value::<ResponseRecord>(answer).unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
    }

    #[test]
    fn wrong_types_are_refused() {
        let mut r = record_json();
        r["answers"][0]["value"]["value"] = serde_json::json!("four");
        assert!(serde_json::from_value::<ResponseRecord>(r).is_err());
    }
}
