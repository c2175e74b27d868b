//! A contact step (`ContactAdapter`): the consent page, then the two fields the keyboard
//! types into. Which page and field are up is the screen's own state.

use std::rc::Rc;

use slint::{ComponentHandle, SharedString};

use super::{sends, window_of};
use crate::core::step_view::ContactView;
use crate::core::visit::{ContactField, Event};
use crate::ui::{Bridge, ContactAdapter, MainWindow};

pub(in crate::ui) fn fill(
    window: &MainWindow,
    question: &str,
    consent: &str,
    draft: Option<&ContactView>,
) {
    let a = window.global::<ContactAdapter>();
    a.set_question(question.into());
    a.set_consent_text(consent.into());
    if let Some(draft) = draft {
        a.set_name(draft.name.as_str().into());
        a.set_reach(draft.reach.as_str().into());
        a.set_can_submit(draft.can_submit);
    }
}

/// A new visitor starts at the question, typing into the first field.
pub(in crate::ui) fn reset(window: &MainWindow) {
    let contact = window.global::<ContactAdapter>();
    contact.set_agreed(false);
    contact.set_field(0);
}

pub(in crate::ui) fn connect(window: &MainWindow, bridge: &Rc<Bridge>) {
    let contact = window.global::<ContactAdapter>();
    let weak = Rc::downgrade(bridge);
    contact.on_key(move |key: SharedString| {
        if let Some(b) = weak.upgrade() {
            select_field(&b);
            b.send(Event::Key(key.into()));
        }
    });
    let weak = Rc::downgrade(bridge);
    contact.on_backspace(move || {
        if let Some(b) = weak.upgrade() {
            select_field(&b);
            b.send(Event::Backspace);
        }
    });
    contact.on_submit(sends(bridge, Event::SubmitContact));
    contact.on_decline(sends(bridge, Event::Skip));
}

/// The field being typed into is chosen on the screen; the core is told before each key.
fn select_field(bridge: &Rc<Bridge>) {
    let field = window_of(bridge).map_or(0, |w| w.global::<ContactAdapter>().get_field());
    bridge.send(Event::SelectContactField(if field == 1 {
        ContactField::Reach
    } else {
        ContactField::Name
    }));
}
