//! What the kiosk shows and holds, for the display to read. Nothing here changes anything.

use std::sync::Arc;

use super::answering::given;
use super::navigation::is_shown;
use super::{reasons, ContactDraft, Kiosk, Notice, Phase, Screen};
use crate::core::record::AnswerValue;
use crate::core::survey::{ReasonSet, Step, Survey};

impl Kiosk {
    pub fn screen(&self) -> Screen {
        if self.language_open {
            return Screen::Language;
        }
        match &self.phase {
            Phase::Attract => Screen::Attract,
            Phase::Visit(v) => match v.prompt_since {
                Some(since) => Screen::StillThere {
                    seconds_left: self.still_there_seconds_left(since),
                },
                None => Screen::Step(v.current),
            },
            Phase::Saving { .. } => Screen::Saving,
            Phase::Thanks {
                reference, stored, ..
            } => Screen::Thanks {
                reference: reference.clone(),
                stored: *stored,
            },
        }
    }

    /// The message about the last scan, while it is up.
    pub fn notice(&self) -> Option<&Notice> {
        self.notice.as_ref().map(|(n, _)| n)
    }

    pub fn survey(&self) -> &Arc<Survey> {
        &self.survey
    }

    pub fn language(&self) -> &str {
        &self.language
    }

    pub fn in_visit(&self) -> bool {
        matches!(self.phase, Phase::Visit(_))
    }

    /// The step being answered (also while "Still there?" or the language screen covers it).
    pub fn current_step(&self) -> Option<(usize, &Step)> {
        match &self.phase {
            Phase::Visit(v) => self.survey.steps.get(v.current).map(|s| (v.current, s)),
            _ => None,
        }
    }

    pub fn answer(&self, step_id: &str) -> Option<&AnswerValue> {
        match &self.phase {
            Phase::Visit(v) => given(&v.answers, step_id),
            _ => None,
        }
    }

    /// Options selected so far on a choice-like step.
    pub fn selected_options(&self, step_id: &str) -> &[String] {
        match self.answer(step_id) {
            Some(AnswerValue::Choice { options }) => options,
            _ => &[],
        }
    }

    /// The rating value given so far on a rating or agree step.
    pub fn rating_value(&self, step_id: &str) -> Option<i32> {
        match self.answer(step_id) {
            Some(AnswerValue::Rating { value, .. } | AnswerValue::Agree { value }) => Some(*value),
            _ => None,
        }
    }

    /// The text typed so far on a text step.
    pub fn text_draft(&self, step_id: &str) -> &str {
        match self.answer(step_id) {
            Some(AnswerValue::Text { text }) => text,
            _ => "",
        }
    }

    pub fn contact_draft(&self) -> Option<&ContactDraft> {
        match &self.phase {
            Phase::Visit(v) => Some(&v.contact),
            _ => None,
        }
    }

    /// The receipt scanned during this visit, as it will be kept.
    pub fn receipt(&self) -> Option<&AnswerValue> {
        match &self.phase {
            Phase::Visit(v) => v
                .answers
                .iter()
                .map(|a| &a.value)
                .find(|a| matches!(a, AnswerValue::Receipt { .. })),
            _ => None,
        }
    }

    /// For a reasons step: the set chosen by the rating given, and that rating.
    pub fn reason_set(&self, step_index: usize) -> Option<(&ReasonSet, i32)> {
        let Phase::Visit(v) = &self.phase else {
            return None;
        };
        reasons::set_for(&self.survey, &v.answers, step_index)
    }

    pub fn can_go_back(&self) -> bool {
        matches!(&self.phase, Phase::Visit(v) if !v.history.is_empty())
    }

    pub fn can_skip(&self) -> bool {
        self.current_step().is_some_and(|(_, s)| s.optional)
    }

    /// (this step's number, number of steps) among the steps this visit will show, as far
    /// as the answers so far tell.
    pub fn progress(&self) -> (usize, usize) {
        let Phase::Visit(v) = &self.phase else {
            return (0, 0);
        };
        let shown: Vec<usize> = (0..self.survey.steps.len())
            .filter(|&i| is_shown(&self.survey, &v.answers, i))
            .collect();
        let number = shown.iter().filter(|&&i| i <= v.current).count();
        (number.max(1), shown.len().max(number))
    }
}
