//! "Are you still there?" (`StillThereAdapter`), over the step it interrupts.

use std::rc::Rc;

use slint::ComponentHandle;

use super::sends;
use crate::core::visit::Event;
use crate::ui::{Bridge, MainWindow, StillThereAdapter};

pub(in crate::ui) fn fill(window: &MainWindow, seconds_left: u32) {
    window
        .global::<StillThereAdapter>()
        .set_seconds_left(seconds_left as i32);
}

pub(in crate::ui) fn connect(window: &MainWindow, bridge: &Rc<Bridge>) {
    window
        .global::<StillThereAdapter>()
        .on_still_here(sends(bridge, Event::StillHere));
}
