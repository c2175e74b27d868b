//! The idle screen (`AttractAdapter`): the survey's invitation; a tap starts the visit.

use std::rc::Rc;

use slint::ComponentHandle;

use super::sends;
use crate::core::step_view::resolve;
use crate::core::visit::{Event, Kiosk};
use crate::ui::{AttractAdapter, Bridge, MainWindow};

pub(in crate::ui) fn fill(window: &MainWindow, kiosk: &Kiosk) {
    let attract = window.global::<AttractAdapter>();
    let survey = kiosk.survey();
    attract.set_title(resolve(kiosk, &survey.attract.title).into());
    attract.set_subtitle(resolve(kiosk, &survey.attract.subtitle).into());
}

pub(in crate::ui) fn connect(window: &MainWindow, bridge: &Rc<Bridge>) {
    window
        .global::<AttractAdapter>()
        .on_start(sends(bridge, Event::Start));
}
