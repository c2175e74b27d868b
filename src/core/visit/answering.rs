//! The step being answered, and the one rule of the answer list: at most one answer per step,
//! stamped with when it was last given.

use super::{Handled, Visit};
use crate::core::record::{Answer, AnswerValue};
use crate::core::survey::{Step, Survey};

/// One event's view of the step shown: what a step kind's rules may read and change.
pub(super) struct Answering<'a> {
    pub(super) survey: &'a Survey,
    /// The visit's language, for words kept in the record as the visitor read them.
    pub(super) language: &'a str,
    pub(super) step: &'a Step,
    /// When an answer given now is stamped: milliseconds into the visit.
    pub(super) at_ms: u64,
    pub(super) visit: &'a mut Visit,
}

impl Answering<'_> {
    /// This step's answer so far.
    pub(super) fn given(&self) -> Option<&AnswerValue> {
        given(&self.visit.answers, &self.step.id)
    }

    pub(super) fn given_mut(&mut self) -> Option<&mut AnswerValue> {
        let step = self.step;
        self.visit
            .answers
            .iter_mut()
            .find(|a| a.step_id == step.id)
            .map(|a| &mut a.value)
    }

    /// Gives this step's answer, in place of any given before.
    pub(super) fn record(&mut self, value: AnswerValue) {
        set_answer(&mut self.visit.answers, &self.step.id, self.at_ms, value);
    }

    /// Takes this step's answer back: the step is unanswered again.
    pub(super) fn forget(&mut self) {
        let step = self.step;
        self.visit.answers.retain(|a| a.step_id != step.id);
    }

    /// Passing the step with nothing given ("Skip", or "Next" on nothing): only an optional
    /// step may be passed so, and it is kept as skipped, so the record tells "did not answer"
    /// from "never saw it".
    pub(super) fn pass_unanswered(&mut self) -> Handled {
        if !self.step.optional {
            return Handled::Ignored;
        }
        self.record(AnswerValue::Skipped);
        Handled::Advance
    }

    /// Turns an option of a multiple choice on or off. With none left on the step has no
    /// answer, as if never touched.
    pub(super) fn toggle_option(&mut self, id: String) {
        let mut options = match self.given() {
            Some(AnswerValue::Choice { options }) => options.clone(),
            _ => Vec::new(),
        };
        match options.iter().position(|o| *o == id) {
            Some(i) => {
                options.remove(i);
            }
            None => options.push(id),
        }
        if options.is_empty() {
            self.forget();
        } else {
            self.record(AnswerValue::Choice { options });
        }
    }
}

/// The answer given to the step `step_id`, if any.
pub(super) fn given<'a>(answers: &'a [Answer], step_id: &str) -> Option<&'a AnswerValue> {
    answers
        .iter()
        .find(|a| a.step_id == step_id)
        .map(|a| &a.value)
}

/// Gives the answer to the step `step_id`: an answer given again replaces the earlier one
/// where it stood, so answers stay in the order the steps were first answered.
pub(super) fn set_answer(answers: &mut Vec<Answer>, step_id: &str, at_ms: u64, value: AnswerValue) {
    match answers.iter_mut().find(|a| a.step_id == step_id) {
        Some(a) => {
            a.at_ms = at_ms;
            a.value = value;
        }
        None => answers.push(Answer {
            step_id: step_id.to_string(),
            at_ms,
            value,
        }),
    }
}
