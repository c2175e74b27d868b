//! The language screen (`LanguageAdapter`); its list is the frame's.

use std::rc::Rc;

use slint::{ComponentHandle, SharedString};

use super::{sends, sends_with};
use crate::core::visit::Event;
use crate::ui::{Bridge, LanguageAdapter, MainWindow};

pub(in crate::ui) fn connect(window: &MainWindow, bridge: &Rc<Bridge>) {
    let languages = window.global::<LanguageAdapter>();
    languages.on_choose(sends_with(bridge, |code: SharedString| {
        Event::ChooseLanguage(code.into())
    }));
    languages.on_close(sends(bridge, Event::CloseLanguages));
}
