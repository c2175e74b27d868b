//! A kiosk's status block as the collector keeps it. The status rides on every batch, so a
//! bad one must never cost the responses beside it: instead of refusing the request, the
//! block is parsed into what can be trusted. Pure: no I/O.
//!
//! Invariants of a `ReportedStatus`:
//! - every alarm is a well-formed `AlarmCode`, at most `MAX_ALARMS` of them; codes that are
//!   not are left out and counted in `refused_alarms`;
//! - every free-text field is at most `MAX_TEXT_CHARS` characters (longer text is cut, with
//!   an ellipsis). Text may still hold any character: it is escaped where it is shown;
//! - at most `clocks::MAX_EARLIER_BOOTS` earlier boots' clock readings.

use earshot_protocol::{AlarmCode, DeviceStatus};

pub const MAX_ALARMS: usize = 32;
pub const MAX_TEXT_CHARS: usize = 500;

#[derive(Debug, Clone, PartialEq)]
pub struct ReportedStatus {
    status: DeviceStatus,
    refused_alarms: usize,
}

fn cut(text: &mut String) {
    if text.chars().count() > MAX_TEXT_CHARS {
        *text = text.chars().take(MAX_TEXT_CHARS - 1).collect::<String>() + "…";
    }
}

impl ReportedStatus {
    pub fn from_wire(mut status: DeviceStatus) -> ReportedStatus {
        let total = status.alarms.len();
        let alarms: Vec<String> = status
            .alarms
            .iter()
            .filter(|a| AlarmCode::parse(a).is_ok())
            .take(MAX_ALARMS)
            .cloned()
            .collect();
        let refused_alarms = total - alarms.len();
        status.alarms = alarms;
        for text in [
            &mut status.app_version,
            &mut status.survey_id,
            &mut status.survey_version,
            &mut status.scanner,
            &mut status.hardware,
            &mut status.clock.sent_at,
        ] {
            cut(text);
        }
        if let Some(e) = status.last_error.as_mut() {
            cut(e);
        }
        // Only so many are read for placing responses (`clocks`); no more are kept.
        status
            .clock
            .earlier_boots
            .truncate(crate::clocks::MAX_EARLIER_BOOTS);
        for boot in &mut status.clock.earlier_boots {
            cut(&mut boot.at);
        }
        ReportedStatus {
            status,
            refused_alarms,
        }
    }

    pub fn status(&self) -> &DeviceStatus {
        &self.status
    }

    /// Alarms the kiosk sent that were not alarm codes (or past the first `MAX_ALARMS`).
    pub fn refused_alarms(&self) -> usize {
        self.refused_alarms
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use earshot_protocol::DeviceClock;
    use uuid::Uuid;

    fn status(alarms: &[&str], last_error: Option<String>) -> DeviceStatus {
        DeviceStatus {
            app_version: "0.1.0".into(),
            survey_id: "s".into(),
            survey_version: "1".into(),
            queue_depth: 0,
            oldest_unsent_age_s: None,
            dead_letters: 0,
            scanner: "connected".into(),
            hardware: "simulated".into(),
            uptime_s: 1,
            last_error,
            alarms: alarms.iter().map(|a| a.to_string()).collect(),
            clock: DeviceClock {
                sent_at: "2026-11-23T12:00:00.000Z".into(),
                synchronized: true,
                run_id: Uuid::nil(),
                mono_ms: 1,
                boot_id: None,
                boot_ms: None,
                earlier_boots: vec![],
            },
        }
    }

    #[test]
    fn alarms_that_are_not_codes_are_left_out_and_counted() {
        let r = ReportedStatus::from_wire(status(
            &["storage-nearly-full", "\u{1b}[2Jpwned", "Upload Failing"],
            None,
        ));
        assert_eq!(r.status().alarms, ["storage-nearly-full"]);
        assert_eq!(r.refused_alarms(), 2);
    }

    #[test]
    fn no_more_than_32_alarms_are_kept() {
        let many: Vec<String> = (0..100).map(|i| format!("alarm-{i}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let r = ReportedStatus::from_wire(status(&refs, None));
        assert_eq!(r.status().alarms.len(), MAX_ALARMS);
        assert_eq!(r.refused_alarms(), 100 - MAX_ALARMS);
    }

    #[test]
    fn long_text_is_cut() {
        let r = ReportedStatus::from_wire(status(&[], Some("x".repeat(100_000))));
        let e = r.status().last_error.as_deref().unwrap();
        assert_eq!(e.chars().count(), MAX_TEXT_CHARS);
        assert!(e.ends_with('…'));
    }
}
