//! A text step (`TextAdapter`): what has been typed and how much more fits; keys go to the
//! core.

use std::rc::Rc;

use slint::{ComponentHandle, SharedString};

use super::{sends, sends_with};
use crate::core::visit::Event;
use crate::ui::{Bridge, MainWindow, TextAdapter};

pub(in crate::ui) fn fill(window: &MainWindow, question: &str, text: &str, remaining: usize) {
    let a = window.global::<TextAdapter>();
    a.set_question(question.into());
    a.set_text(text.into());
    a.set_remaining(remaining as i32);
}

pub(in crate::ui) fn connect(window: &MainWindow, bridge: &Rc<Bridge>) {
    let text = window.global::<TextAdapter>();
    text.on_key(sends_with(bridge, |key: SharedString| {
        Event::Key(key.into())
    }));
    text.on_backspace(sends(bridge, Event::Backspace));
    text.on_done(sends(bridge, Event::Next));
}
