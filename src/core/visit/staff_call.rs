//! The staff call: "I need help now" switches the staff-call output on for a set time, while
//! the visit goes on. The call's end comes with a tick (see `timing`).

use std::time::Duration;

use super::{Kiosk, Reaction};

impl Kiosk {
    /// Offers staff call, each call lasting `duration`.
    pub fn with_staff_call(mut self, duration: Duration) -> Self {
        self.staff_call_time = duration;
        self
    }

    pub fn can_call_staff(&self) -> bool {
        !self.staff_call_time.is_zero()
    }

    /// Whether a staff call is on: the screen says someone is coming.
    pub fn help_coming(&self) -> bool {
        self.help_until.is_some()
    }

    pub(super) fn call_staff(&mut self) -> Reaction {
        if !self.can_call_staff() {
            return Reaction::default();
        }
        // Pressing again while help is on its way keeps the call on from now.
        self.help_until = Some(self.now + self.staff_call_time);
        self.touch(self.now);
        Reaction {
            changed: true,
            staff_call: Some(true),
            ..Reaction::default()
        }
    }
}
