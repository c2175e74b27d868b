//! The contact step: a name and a way to reach the visitor, typed on the on-screen keyboard
//! into one field at a time, and sent only with their consent. The record keeps the consent
//! wording in the language the visitor read it in.

use super::answering::Answering;
use super::{ContactDraft, ContactField, Event, Handled};
use crate::core::language::Localized;
use crate::core::record::AnswerValue;
use crate::core::text;

/// Contact fields are short; the limit keeps a stuck key from filling the record.
pub const MAX_CONTACT_CHARS: usize = 120;

pub(super) fn on_contact(answering: &mut Answering, consent: &Localized, event: Event) -> Handled {
    let draft = &mut answering.visit.contact;
    match event {
        Event::SelectContactField(field) => draft.field = Some(field),
        Event::Key(key) => {
            text::type_key(draft.typed_into(), &key, MAX_CONTACT_CHARS);
        }
        Event::Backspace => {
            text::backspace(draft.typed_into());
        }
        Event::SubmitContact => return submit(answering, consent),
        _ => return Handled::Ignored,
    }
    Handled::Stay
}

/// "Send": the form becomes the step's answer, with the consent the visitor agreed to.
fn submit(answering: &mut Answering, consent: &Localized) -> Handled {
    let draft = &answering.visit.contact;
    if !draft.can_submit() {
        return Handled::Ignored;
    }
    let value = AnswerValue::Contact {
        name: text::clean(&draft.name, MAX_CONTACT_CHARS),
        reach: text::clean(&draft.reach, MAX_CONTACT_CHARS),
        consent_text: consent
            .get(answering.language, &answering.survey.default_language)
            .to_string(),
    };
    answering.record(value);
    Handled::Advance
}

impl ContactDraft {
    /// The field the keyboard types into: the name until another is chosen.
    fn typed_into(&mut self) -> &mut String {
        match self.field.unwrap_or(ContactField::Name) {
            ContactField::Name => &mut self.name,
            ContactField::Reach => &mut self.reach,
        }
    }
}
