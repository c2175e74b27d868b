//! A rating or agree step (`RatingAdapter`): one tap on the scale answers.

use std::rc::Rc;

use slint::ComponentHandle;

use super::sends_with;
use crate::core::step_view::Scale;
use crate::core::visit::Event;
use crate::ui::{Bridge, MainWindow, RatingAdapter, RatingKind};

pub(in crate::ui) fn fill(
    window: &MainWindow,
    question: &str,
    scale: Scale,
    selected: Option<i32>,
) {
    let a = window.global::<RatingAdapter>();
    a.set_question(question.into());
    a.set_kind(rating_kind(scale));
    a.set_selected(selected.unwrap_or(-1));
}

pub(in crate::ui) fn connect(window: &MainWindow, bridge: &Rc<Bridge>) {
    window
        .global::<RatingAdapter>()
        .on_rate(sends_with(bridge, Event::Rate));
}

/// How the screens draw a scale.
pub(super) fn rating_kind(scale: Scale) -> RatingKind {
    match scale {
        Scale::Smiley4 => RatingKind::Smiley4,
        Scale::Smiley5 => RatingKind::Smiley5,
        Scale::Nps => RatingKind::Nps,
        Scale::Stars5 => RatingKind::Stars5,
        Scale::Agree5 => RatingKind::Agree5,
    }
}
