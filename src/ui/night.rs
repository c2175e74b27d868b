//! The screen dark at night: it goes dark when the schedule says so and the start screen
//! has been left alone, and the first touch, scan or wake input lights it again.

use std::rc::Rc;
use std::time::Duration;

use super::Bridge;
use crate::core::visit;

/// How often the blanking schedule is looked at.
const BLANK_CHECK: Duration = Duration::from_secs(30);

/// Minutes after local midnight, in the device's time zone.
fn local_minute_of_day() -> u16 {
    let now = jiff::Zoned::now();
    now.hour() as u16 * 60 + now.minute() as u16
}

impl Bridge {
    /// Looks at the schedule every little while (only with one).
    pub(super) fn watch_night(self: &Rc<Self>) {
        if self.blank.is_none() {
            return;
        }
        let weak = Rc::downgrade(self);
        self.blank_timer
            .start(slint::TimerMode::Repeated, BLANK_CHECK, move || {
                if let Some(bridge) = weak.upgrade() {
                    bridge.check_blank();
                }
            });
    }

    /// Lights the screen again (a tap on the dark screen, a scan, the wake input).
    pub(super) fn wake(self: &Rc<Self>) {
        self.last_input.set(self.moments.mono());
        if self.blanked.replace(false) {
            tracing::info!("screen woken");
            self.render();
        }
    }

    /// Darkens the screen if it is night and the start screen has been left alone.
    fn check_blank(self: &Rc<Self>) {
        let Some(night) = self.blank else { return };
        if self.blanked.get() {
            return;
        }
        let idle = {
            let kiosk = self.kiosk.borrow();
            kiosk.screen() == visit::Screen::Attract
                && kiosk.notice().is_none()
                && !kiosk.help_coming()
        };
        let idle_for = self.moments.mono().saturating_sub(self.last_input.get());
        if idle && night.should_blank(local_minute_of_day(), idle_for) {
            tracing::info!("screen dark for the night");
            self.blanked.set(true);
            self.render();
        }
    }
}
