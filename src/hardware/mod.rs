//! The kiosk's own hardware: a status light, a staff-call output and a wake input on GPIO
//! pins. Behind a trait so that the kiosk runs the same on a desktop, in tests and on a
//! Raspberry Pi (`pi`, with rppal); the simulated implementation records what it was asked
//! to do. [`open`] chooses at start-up.

pub mod pi;

use std::sync::{Arc, Mutex, PoisonError};

use crate::files::config::GpioConfig;
use crate::seams::alarms::{Alarm, AlarmKind, Alarms};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusLight {
    /// All well.
    Ok,
    /// Responses are waiting to be uploaded for longer than expected.
    Backlog,
    /// An alarm is active: staff should look at the device.
    Alarm,
}

impl StatusLight {
    /// What the light shows for the active alarms: uploads failing alone means a backlog is
    /// building (nothing is lost, the kiosk keeps taking responses); anything else needs
    /// someone to look.
    pub fn for_alarms(active: &[Alarm]) -> StatusLight {
        if active.iter().any(|a| a.kind != AlarmKind::UploadFailing) {
            StatusLight::Alarm
        } else if active.is_empty() {
            StatusLight::Ok
        } else {
            StatusLight::Backlog
        }
    }
}

/// Called from another thread each time the wake input fires (a button, a motion sensor).
pub type WakeHandler = Box<dyn Fn() + Send + Sync>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem}. Fix: {fix}")]
pub struct HardwareError {
    pub problem: String,
    pub fix: String,
}

pub trait Hardware: Send {
    fn set_status_light(&mut self, state: StatusLight) -> Result<(), HardwareError>;
    /// Turns the staff-call light or buzzer on or off.
    fn set_staff_call(&mut self, on: bool) -> Result<(), HardwareError>;
    /// Whether there is a staff-call output: visitors are offered "I need help now" only
    /// when pressing it reaches someone.
    fn has_staff_call(&self) -> bool;
    /// Calls `on_wake` each time the wake input fires; without one, never.
    fn watch_wake(&mut self, on_wake: WakeHandler) -> Result<(), HardwareError>;
    fn describe(&self) -> String;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HardwareAction {
    StatusLight(StatusLight),
    StaffCall(bool),
}

/// Hardware for machines without GPIO: remembers every action.
#[derive(Clone, Default)]
pub struct SimulatedHardware {
    actions: Arc<Mutex<Vec<HardwareAction>>>,
    staff_call: bool,
    on_wake: Arc<Mutex<Option<WakeHandler>>>,
}

impl std::fmt::Debug for SimulatedHardware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatedHardware")
            .field("actions", &self.actions())
            .field("staff_call", &self.staff_call)
            .finish()
    }
}

impl SimulatedHardware {
    /// With a (simulated) staff-call output.
    pub fn with_staff_call() -> SimulatedHardware {
        SimulatedHardware {
            staff_call: true,
            ..SimulatedHardware::default()
        }
    }

    /// As if the wake input fired.
    pub fn wake(&self) {
        if let Some(f) = self
            .on_wake
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            f();
        }
    }

    pub fn actions(&self) -> Vec<HardwareAction> {
        self.actions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn record(&self, action: HardwareAction) {
        tracing::debug!(?action, "simulated hardware");
        self.actions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(action);
    }
}

impl Hardware for SimulatedHardware {
    fn set_status_light(&mut self, state: StatusLight) -> Result<(), HardwareError> {
        self.record(HardwareAction::StatusLight(state));
        Ok(())
    }
    fn set_staff_call(&mut self, on: bool) -> Result<(), HardwareError> {
        self.record(HardwareAction::StaffCall(on));
        Ok(())
    }
    fn has_staff_call(&self) -> bool {
        self.staff_call
    }
    fn watch_wake(&mut self, on_wake: WakeHandler) -> Result<(), HardwareError> {
        *self.on_wake.lock().unwrap_or_else(PoisonError::into_inner) = Some(on_wake);
        Ok(())
    }
    fn describe(&self) -> String {
        "simulated (no GPIO)".into()
    }
}

/// The hardware for this machine: the Pi's GPIO when pins are configured, else simulated.
/// Not being on a Pi is only a problem when the config says GPIO is required; any other
/// failure (a pin in use, no permission) raises the `hardware-unavailable` alarm with the
/// fix, and the kiosk goes on without GPIO.
pub fn open(config: &GpioConfig, alarms: &Alarms) -> Box<dyn Hardware> {
    // Off a Pi the desktop kiosk still offers staff call when one is configured, so that the
    // feature can be tried and tested there.
    let simulated = || -> Box<dyn Hardware> {
        Box::new(SimulatedHardware {
            staff_call: config.pins.staff_call().is_some(),
            ..SimulatedHardware::default()
        })
    };
    if !config.pins.any() {
        if config.required {
            alarms.raise(
                AlarmKind::HardwareUnavailable,
                "GPIO is required but no pins are configured",
                "set the pins in [gpio] (status_ok_pin, staff_call_pin, …) or set required = false",
            );
        }
        return simulated();
    }
    match pi::PiHardware::open(config) {
        Ok(hardware) => {
            tracing::info!(hardware = %hardware.describe(), "GPIO ready");
            Box::new(hardware)
        }
        Err(pi::OpenError::NotAPi(e)) if !config.required => {
            tracing::warn!(problem = %e.problem, "GPIO pins are configured but this is not a Raspberry Pi; going on without them");
            simulated()
        }
        Err(pi::OpenError::NotAPi(e) | pi::OpenError::Other(e)) => {
            alarms.raise(AlarmKind::HardwareUnavailable, e.problem, e.fix);
            simulated()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::config::GpioPins;
    use std::time::SystemTime;

    fn alarm(kind: AlarmKind) -> Alarm {
        Alarm {
            kind,
            problem: String::new(),
            fix: String::new(),
            raised_at: SystemTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn the_light_follows_the_alarms() {
        assert_eq!(StatusLight::for_alarms(&[]), StatusLight::Ok);
        assert_eq!(
            StatusLight::for_alarms(&[alarm(AlarmKind::UploadFailing)]),
            StatusLight::Backlog
        );
        assert_eq!(
            StatusLight::for_alarms(&[
                alarm(AlarmKind::UploadFailing),
                alarm(AlarmKind::ScannerUnavailable)
            ]),
            StatusLight::Alarm
        );
    }

    #[test]
    fn no_pins_means_simulated_and_required_without_a_pi_is_an_alarm() {
        let alarms = Alarms::default();
        let h = open(&GpioConfig::default(), &alarms);
        assert!(h.describe().contains("simulated") && !h.has_staff_call());
        assert!(alarms.active().is_empty(), "GPIO is optional");

        // This test machine is not a Raspberry Pi.
        let pins = GpioConfig {
            pins: GpioPins::new([None, None, None, Some(23), None]).unwrap(),
            ..GpioConfig::default()
        };
        let h = open(&pins, &alarms);
        assert!(
            h.has_staff_call(),
            "simulated, with the configured staff call"
        );
        assert!(
            alarms.active().is_empty(),
            "not a Pi, not required: no alarm"
        );

        let required = GpioConfig {
            required: true,
            ..pins
        };
        let h = open(&required, &alarms);
        assert!(h.describe().contains("simulated"), "the kiosk goes on");
        let active = alarms.active();
        assert_eq!(active.len(), 1);
        assert_eq!(active[0].kind, AlarmKind::HardwareUnavailable);
        assert!(
            active[0].problem.contains("Raspberry Pi"),
            "{:?}",
            active[0]
        );
    }
}
