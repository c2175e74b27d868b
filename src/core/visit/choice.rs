//! Steps answered from a list of options: service and choice here, and reasons (through
//! `reasons`, with the set its rating picks). A single choice is answered by one pick; a
//! multiple choice toggles options and is done with "Next".

use super::answering::Answering;
use super::{Event, Handled};
use crate::core::record::AnswerValue;
use crate::core::survey::ChoiceOption;

/// An event on a step offering `options`.
pub(super) fn on_options(
    answering: &mut Answering,
    options: &[ChoiceOption],
    multiple: bool,
    event: Event,
) -> Handled {
    match (multiple, event) {
        (false, Event::Pick(id)) => pick(answering, options, id),
        (true, Event::Toggle(id)) => toggle(answering, options, id),
        (true, Event::Next) => done(answering),
        _ => Handled::Ignored,
    }
}

/// "Next" on a multiple choice: on with what is chosen; with nothing chosen, as a skip.
pub(super) fn done(answering: &mut Answering) -> Handled {
    let chosen = matches!(
        answering.given(),
        Some(AnswerValue::Choice { options }) if !options.is_empty()
    );
    if chosen {
        Handled::Advance
    } else {
        answering.pass_unanswered()
    }
}

fn pick(answering: &mut Answering, options: &[ChoiceOption], id: String) -> Handled {
    if !offers(options, &id) {
        return Handled::Ignored;
    }
    answering.record(AnswerValue::Choice { options: vec![id] });
    Handled::Advance
}

fn toggle(answering: &mut Answering, options: &[ChoiceOption], id: String) -> Handled {
    if !offers(options, &id) {
        return Handled::Ignored;
    }
    answering.toggle_option(id);
    Handled::Stay
}

fn offers(options: &[ChoiceOption], id: &str) -> bool {
    options.iter().any(|o| o.id == id)
}
