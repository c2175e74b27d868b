//! Free text steps: typed on the on-screen keyboard, kept cleaned on "Next". The draft is the
//! step's answer while it is typed, so text typed before a timeout is not lost.

use super::answering::Answering;
use super::{Event, Handled};
use crate::core::record::AnswerValue;
use crate::core::text;

pub(super) fn on_text(answering: &mut Answering, max_chars: u32, event: Event) -> Handled {
    let limit = max_chars as usize;
    match event {
        Event::Key(key) => type_key(answering, &key, limit),
        Event::Backspace => backspace(answering),
        Event::Next => done(answering, limit),
        _ => Handled::Ignored,
    }
}

fn type_key(answering: &mut Answering, key: &str, limit: usize) -> Handled {
    let mut typed = draft(answering);
    if text::type_key(&mut typed, key, limit) {
        answering.record(AnswerValue::Text { text: typed });
    }
    Handled::Stay
}

fn backspace(answering: &mut Answering) -> Handled {
    let emptied = match answering.given_mut() {
        Some(AnswerValue::Text { text }) => {
            text::backspace(text);
            text.is_empty()
        }
        _ => false,
    };
    if emptied {
        answering.forget();
    }
    Handled::Stay
}

/// "Next": on with the text as it is kept; with nothing kept, as a skip.
fn done(answering: &mut Answering, limit: usize) -> Handled {
    let cleaned = text::clean(&draft(answering), limit);
    if cleaned.is_empty() {
        return answering.pass_unanswered();
    }
    answering.record(AnswerValue::Text { text: cleaned });
    Handled::Advance
}

/// The text typed so far (nothing, when the step was skipped before).
fn draft(answering: &Answering) -> String {
    match answering.given() {
        Some(AnswerValue::Text { text }) => text.clone(),
        _ => String::new(),
    }
}
