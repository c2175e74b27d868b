//! Alarms: named device problems with a plain-language fix, for facilities staff. Any part of
//! the kiosk raises or clears them; they are logged now and shown in staff mode and sent with
//! the device's status later. Raising the same alarm again updates it without a new log line.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

/// The problems the kiosk knows how to name. The code is stable (logs, status, collector).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlarmKind {
    /// A visitor's response could not be stored.
    ResponseNotStored,
    /// The survey file could not be used; the kiosk shows the last good one.
    SurveyInvalid,
    /// The hardware (GPIO) could not be set up.
    HardwareUnavailable,
    /// The receipt scanner could not be opened or went away.
    ScannerUnavailable,
    /// The response store is close to its size limit.
    StorageNearlyFull,
    /// A damaged response store was moved aside at start-up and a fresh one begun.
    StorageQuarantined,
    /// The response store cannot be opened at all (read-only or full card, permissions).
    StorageUnavailable,
    /// The collector refuses this device's token; uploading has stopped.
    UploadUnauthorized,
    /// Uploads keep failing (network, collector down); responses wait on the device.
    UploadFailing,
    /// The collector rejected responses; they are kept as dead letters.
    ResponsesRejected,
    /// The receipt secret file was unusable; it was moved aside and a new secret made, so
    /// receipts scanned now do not join with till data.
    ReceiptSecretReplaced,
}

impl AlarmKind {
    pub fn code(self) -> &'static str {
        match self {
            AlarmKind::ResponseNotStored => "response-not-stored",
            AlarmKind::SurveyInvalid => "survey-invalid",
            AlarmKind::HardwareUnavailable => "hardware-unavailable",
            AlarmKind::ScannerUnavailable => "scanner-unavailable",
            AlarmKind::StorageNearlyFull => "storage-nearly-full",
            AlarmKind::StorageQuarantined => "storage-quarantined",
            AlarmKind::StorageUnavailable => "storage-unavailable",
            AlarmKind::UploadUnauthorized => "upload-unauthorized",
            AlarmKind::UploadFailing => "upload-failing",
            AlarmKind::ResponsesRejected => "responses-rejected",
            AlarmKind::ReceiptSecretReplaced => "receipt-secret-replaced",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alarm {
    pub kind: AlarmKind,
    /// What is wrong, in words a facilities person understands.
    pub problem: String,
    /// What to do about it.
    pub fix: String,
    pub raised_at: SystemTime,
}

type Watcher = Box<dyn Fn() + Send>;

/// The set of active alarms, shared by every part of the kiosk.
#[derive(Clone, Default)]
pub struct Alarms {
    active: Arc<Mutex<BTreeMap<AlarmKind, Alarm>>>,
    /// Called after an alarm is raised anew or cleared (the status light follows).
    watchers: Arc<Mutex<Vec<Watcher>>>,
}

impl std::fmt::Debug for Alarms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.active()).finish()
    }
}

impl Alarms {
    /// Calls `f` (on the thread that made the change) whenever an alarm starts or ends.
    pub fn on_change(&self, f: impl Fn() + Send + 'static) {
        self.watchers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Box::new(f));
    }

    fn changed(&self) {
        for watcher in self
            .watchers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            watcher();
        }
    }

    pub fn raise(&self, kind: AlarmKind, problem: impl Into<String>, fix: impl Into<String>) {
        let (problem, fix) = (problem.into(), fix.into());
        let mut active = self.active.lock().unwrap_or_else(PoisonError::into_inner);
        let started = !active.contains_key(&kind);
        let is_new = active.get(&kind).is_none_or(|a| a.problem != problem);
        if is_new {
            tracing::warn!(alarm = kind.code(), %problem, %fix, "alarm raised");
        }
        let raised_at = active
            .get(&kind)
            .map(|a| a.raised_at)
            .unwrap_or_else(SystemTime::now);
        active.insert(
            kind,
            Alarm {
                kind,
                problem,
                fix,
                raised_at,
            },
        );
        drop(active);
        if started {
            self.changed();
        }
    }

    pub fn clear(&self, kind: AlarmKind) {
        let mut active = self.active.lock().unwrap_or_else(PoisonError::into_inner);
        if active.remove(&kind).is_some() {
            tracing::info!(alarm = kind.code(), "alarm cleared");
            drop(active);
            self.changed();
        }
    }

    pub fn active(&self) -> Vec<Alarm> {
        self.active
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    pub fn is_active(&self, kind: AlarmKind) -> bool {
        self.active
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(&kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVERY_KIND: [AlarmKind; 11] = [
        AlarmKind::ResponseNotStored,
        AlarmKind::SurveyInvalid,
        AlarmKind::HardwareUnavailable,
        AlarmKind::ScannerUnavailable,
        AlarmKind::StorageNearlyFull,
        AlarmKind::StorageQuarantined,
        AlarmKind::StorageUnavailable,
        AlarmKind::UploadUnauthorized,
        AlarmKind::UploadFailing,
        AlarmKind::ResponsesRejected,
        AlarmKind::ReceiptSecretReplaced,
    ];

    #[test]
    fn every_alarm_code_is_a_valid_code_described_for_the_fleet_page() {
        for kind in EVERY_KIND {
            // A new kind must be added here too: the match makes forgetting one an error.
            match kind {
                AlarmKind::ResponseNotStored
                | AlarmKind::SurveyInvalid
                | AlarmKind::HardwareUnavailable
                | AlarmKind::ScannerUnavailable
                | AlarmKind::StorageNearlyFull
                | AlarmKind::StorageQuarantined
                | AlarmKind::StorageUnavailable
                | AlarmKind::UploadUnauthorized
                | AlarmKind::UploadFailing
                | AlarmKind::ResponsesRejected
                | AlarmKind::ReceiptSecretReplaced => {}
            }
            assert!(
                earshot_protocol::AlarmCode::parse(kind.code()).is_ok(),
                "{kind:?}"
            );
            assert!(
                earshot_protocol::alarms::describe(kind.code()).is_some(),
                "{} has no description for the collector",
                kind.code()
            );
        }
    }

    #[test]
    fn raise_update_and_clear() {
        let alarms = Alarms::default();
        let other_part = alarms.clone();
        alarms.raise(AlarmKind::ResponseNotStored, "disk full", "free space");
        let first = alarms.active()[0].raised_at;
        other_part.raise(
            AlarmKind::ResponseNotStored,
            "disk still full",
            "free space",
        );
        let active = alarms.active();
        assert_eq!(active.len(), 1);
        assert_eq!(active[0].problem, "disk still full");
        assert_eq!(active[0].raised_at, first, "an update keeps when it began");
        other_part.clear(AlarmKind::ResponseNotStored);
        assert!(alarms.active().is_empty());
        assert!(!alarms.is_active(AlarmKind::ResponseNotStored));
    }

    #[test]
    fn watchers_hear_of_alarms_starting_and_ending_only() {
        let alarms = Alarms::default();
        let heard = Arc::new(Mutex::new(0));
        let counter = heard.clone();
        alarms.on_change(move || *counter.lock().unwrap() += 1);
        alarms.raise(AlarmKind::UploadFailing, "down", "wait");
        alarms.raise(AlarmKind::UploadFailing, "still down", "wait");
        alarms.clear(AlarmKind::UploadFailing);
        alarms.clear(AlarmKind::UploadFailing);
        assert_eq!(*heard.lock().unwrap(), 2);
    }
}
