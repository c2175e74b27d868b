//! The kiosk's own hardware: a status light and a staff-call output on GPIO pins. Behind a
//! trait so that the kiosk runs the same on a desktop, in tests and on a Raspberry Pi; the
//! simulated implementation records what it was asked to do.

use std::sync::{Arc, Mutex, PoisonError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusLight {
    /// All well.
    Ok,
    /// Responses are waiting to be uploaded for longer than expected.
    Backlog,
    /// An alarm is active: staff should look at the device.
    Alarm,
}

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
    fn describe(&self) -> String;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HardwareAction {
    StatusLight(StatusLight),
    StaffCall(bool),
}

/// Hardware for machines without GPIO: remembers every action.
#[derive(Debug, Clone, Default)]
pub struct SimulatedHardware {
    actions: Arc<Mutex<Vec<HardwareAction>>>,
}

impl SimulatedHardware {
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
    fn describe(&self) -> String {
        "simulated (no GPIO)".into()
    }
}
