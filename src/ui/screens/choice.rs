//! A service or choice step (`ChoiceAdapter`): tiles that answer, or toggle and then Next.

use std::rc::Rc;

use slint::ComponentHandle;

use super::{choice_items, pick, sends, sends_with, set_items, toggle};
use crate::core::step_view::OptionView;
use crate::core::visit::Event;
use crate::ui::{Bridge, ChoiceAdapter, MainWindow};

pub(in crate::ui) fn fill(
    window: &MainWindow,
    question: &str,
    options: &[OptionView],
    multiple: bool,
) {
    let a = window.global::<ChoiceAdapter>();
    a.set_question(question.into());
    a.set_multiple(multiple);
    set_items(|m| a.set_options(m), a.get_options(), choice_items(options));
}

pub(in crate::ui) fn connect(window: &MainWindow, bridge: &Rc<Bridge>) {
    let choice = window.global::<ChoiceAdapter>();
    choice.on_pick(sends_with(bridge, pick));
    choice.on_toggle(sends_with(bridge, toggle));
    choice.on_next(sends(bridge, Event::Next));
}
