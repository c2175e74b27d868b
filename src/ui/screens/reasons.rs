//! A reasons step (`ReasonsAdapter`): the follow-up set the rating chose, with that rating.

use std::rc::Rc;

use slint::ComponentHandle;

use super::rating::rating_kind;
use super::{choice_items, pick, sends, sends_with, set_items, toggle};
use crate::core::step_view::{ReasonSetView, Scale};
use crate::core::visit::Event;
use crate::ui::{Bridge, MainWindow, ReasonsAdapter};

pub(in crate::ui) fn fill(
    window: &MainWindow,
    multiple: bool,
    set: Option<&ReasonSetView>,
    rating_scale: Scale,
) {
    let a = window.global::<ReasonsAdapter>();
    a.set_multiple(multiple);
    if let Some(set) = set {
        a.set_question(set.question.as_str().into());
        set_items(
            |m| a.set_options(m),
            a.get_options(),
            choice_items(&set.options),
        );
        a.set_rating(set.rating);
    }
    a.set_rating_kind(rating_kind(rating_scale));
}

pub(in crate::ui) fn connect(window: &MainWindow, bridge: &Rc<Bridge>) {
    let reasons = window.global::<ReasonsAdapter>();
    reasons.on_pick(sends_with(bridge, pick));
    reasons.on_toggle(sends_with(bridge, toggle));
    reasons.on_next(sends(bridge, Event::Next));
}
