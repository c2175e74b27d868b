//! The response record: everything kept about one visit, finished or not. The kiosk stores it,
//! uploads it unchanged, and the collector keeps it; this is the one definition all three use.
//!
//! Unknown fields are refused rather than ignored: a record the receiver does not fully
//! understand is rejected with a reason instead of being stored with parts silently dropped.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How a visit ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The visitor answered through to the end.
    Completed,
    /// Nobody touched the screen for the idle timeout plus the "still there?" prompt; the
    /// answers given so far are kept.
    Timeout,
    /// The visitor pressed "Start again".
    Abandoned,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Timeout => "timeout",
            Outcome::Abandoned => "abandoned",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseRecord {
    /// UUID v7: unique, and sortable by creation time. The receiver deduplicates by it.
    pub id: Uuid,
    /// The short code shown on the thanks screen.
    pub reference: String,
    pub survey_id: String,
    pub survey_version: String,
    /// The language the visit finished in.
    pub language: String,
    pub site_id: String,
    pub device_id: String,
    /// Wall-clock start and finish (RFC 3339, UTC), as the device's clock read them.
    pub started_at: String,
    pub finished_at: String,
    pub clock: ClockInfo,
    pub outcome: Outcome,
    /// The service or touchpoint chosen, if the survey asks for one.
    pub service: Option<String>,
    /// Answers in the order they were given; one per step at most.
    pub answers: Vec<Answer>,
    pub flags: Flags,
}

/// What is needed to correct the wall-clock times later if the clock was not synchronised
/// (see docs/protocol.md, "Clocks").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockInfo {
    /// Whether the wall clock was synchronised when the visit started and ended.
    pub synchronized: bool,
    /// Monotonic time since the kiosk process started, at the start of the visit and at its
    /// end.
    pub started_mono_ms: u64,
    pub finished_mono_ms: u64,
    /// Visits since the kiosk started (1 for the first), to order records from one run.
    pub visit_number: u64,
    /// Identifies the kiosk process run the monotonic readings belong to. A batch sent by
    /// the same run can place them on the receiver's clock. Absent in records made before
    /// it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<Uuid>,
    /// The boot of the device the boot-time readings belong to: the kernel's boot id
    /// (`/proc/sys/kernel/random/boot_id`), new at every boot. With the boot's synchronised
    /// readings (`DeviceClock`), the receiver places the response on true time whichever run
    /// of the kiosk, in that boot or a later one, sends it. Absent in records made before it
    /// existed; `boot_id`, `started_boot_ms` and `finished_boot_ms` come together or not at
    /// all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_id: Option<Uuid>,
    /// The boot-time clock (Linux `CLOCK_BOOTTIME`: milliseconds since the device booted,
    /// counting time suspended) at the start of the visit and at its end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_boot_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_boot_ms: Option<u64>,
}

/// A response's readings of its boot's clock, when it has all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootSpan {
    pub boot_id: Uuid,
    pub started_ms: u64,
    pub finished_ms: u64,
}

impl ClockInfo {
    pub fn duration_ms(&self) -> u64 {
        self.finished_mono_ms.saturating_sub(self.started_mono_ms)
    }

    /// The boot-time readings, when the record has all three fields.
    pub fn boot(&self) -> Option<BootSpan> {
        Some(BootSpan {
            boot_id: self.boot_id?,
            started_ms: self.started_boot_ms?,
            finished_ms: self.finished_boot_ms?,
        })
    }

    /// Whether the record has some of the boot fields but not all: not a valid record.
    pub fn boot_incomplete(&self) -> bool {
        let present = [
            self.boot_id.is_some(),
            self.started_boot_ms.is_some(),
            self.finished_boot_ms.is_some(),
        ];
        present.contains(&true) && present.contains(&false)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flags {
    /// The visit began sooner after the previous one than the survey's minimum interval:
    /// maybe a child at play or someone pressing again. Kept, never deleted; reports can
    /// leave such responses out.
    pub suspected_misuse: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    pub step_id: String,
    /// Milliseconds from the start of the visit to this answer (monotonic).
    pub at_ms: u64,
    pub value: AnswerValue,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AnswerValue {
    /// Option ids of a service, choice or reasons step.
    Choice {
        options: Vec<String>,
    },
    /// A rating; `scale` is the survey's scale name (smiley4, smiley5, nps, stars5).
    Rating {
        scale: String,
        value: i32,
    },
    /// Agreement with a statement: 1 = strongly disagree … 5 = strongly agree.
    Agree {
        value: i32,
    },
    Text {
        text: String,
    },
    /// A contact request. Only made after the visitor tapped to agree to `consent_text`,
    /// which is kept in the language it was shown in.
    Contact {
        name: String,
        reach: String,
        consent_text: String,
    },
    /// The receipt the visitor scanned (see docs/receipts.md).
    Receipt {
        /// `hmac-sha256:` and the HMAC-SHA256, in hex, of `store|till|txn|date` under the
        /// deployment's receipt secret. The service team joins it with their till data
        /// using the same secret; without the secret it reveals nothing.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transaction: Option<String>,
        /// The name of the receipt pattern that matched.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pattern: Option<String>,
        /// The receipt's fields as read: only with `receipt.store = "raw"`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        store: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        till: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        txn: Option<String>,
        /// YYYY-MM-DD.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        date: Option<String>,
        /// HH:MM.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        time: Option<String>,
        /// The code exactly as the scanner read it. Only in records made before receipts
        /// were understood (kiosk queues may still hold some); never written now.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
    },
    /// The visitor chose to skip the step (contact: "No thanks").
    Skipped,
}

impl ResponseRecord {
    pub fn answer(&self, step_id: &str) -> Option<&AnswerValue> {
        self.answers
            .iter()
            .find(|a| a.step_id == step_id)
            .map(|a| &a.value)
    }

    /// The keyed transaction of the receipt this response is tied to, if any.
    pub fn receipt_transaction(&self) -> Option<&str> {
        self.answers.iter().find_map(|a| match &a.value {
            AnswerValue::Receipt { transaction, .. } => transaction.as_deref(),
            _ => None,
        })
    }

    /// Whether the visitor said anything: an answer other than a receipt scan or a skip. A
    /// receipt counts as used (one response per receipt) only by a response with feedback,
    /// so someone who scanned and walked away can come back and scan again.
    pub fn has_feedback(&self) -> bool {
        self.answers
            .iter()
            .any(|a| !matches!(a.value, AnswerValue::Receipt { .. } | AnswerValue::Skipped))
    }
}
