//! Reasons steps: follow-up options chosen by the answer to a rating step. The first set whose
//! range holds the rating is offered; when none does, the step is not shown. Choosing from a
//! set follows the rules of any other choice (`choice`).

use super::answering::{given, Answering};
use super::{choice, Event, Handled};
use crate::core::record::{Answer, AnswerValue};
use crate::core::survey::{ReasonSet, StepKind, Survey};

pub(super) fn on_reasons(answering: &mut Answering, multiple: bool, event: Event) -> Handled {
    // "Next" asks only whether something was chosen, whatever the set.
    if multiple && event == Event::Next {
        return choice::done(answering);
    }
    let survey = answering.survey;
    let Some((set, _)) = set_for(survey, &answering.visit.answers, answering.visit.current) else {
        return Handled::Ignored;
    };
    choice::on_options(answering, &set.options, multiple, event)
}

/// Whether the reasons step at `step_index` is shown: the rating given picks a set.
pub(super) fn shown(survey: &Survey, answers: &[Answer], step_index: usize) -> bool {
    set_for(survey, answers, step_index).is_some()
}

/// For the reasons step at `step_index`: the set the rating given picks, and that rating.
pub(super) fn set_for<'a>(
    survey: &'a Survey,
    answers: &[Answer],
    step_index: usize,
) -> Option<(&'a ReasonSet, i32)> {
    let StepKind::Reasons {
        rating_step, sets, ..
    } = &survey.steps.get(step_index)?.kind
    else {
        return None;
    };
    let rating = match given(answers, rating_step)? {
        AnswerValue::Rating { value, .. } => *value,
        _ => return None,
    };
    sets.iter()
        .find(|s| s.ratings.contains(&rating))
        .map(|s| (s, rating))
}

/// A changed rating may pick another reason set: reasons chosen for the old one no longer
/// apply and would mislead ("what went well" kept under a bad rating).
pub(super) fn drop_stale(survey: &Survey, answers: &mut Vec<Answer>, rating_step: &str) {
    for (index, step) in survey.steps.iter().enumerate() {
        let StepKind::Reasons { rating_step: r, .. } = &step.kind else {
            continue;
        };
        if r != rating_step {
            continue;
        }
        let Some(kept) = given(answers, &step.id) else {
            continue;
        };
        let still_valid = match (kept, set_for(survey, answers, index)) {
            (AnswerValue::Choice { options }, Some((set, _))) => options
                .iter()
                .all(|o| set.options.iter().any(|s| s.id == *o)),
            (AnswerValue::Skipped, Some(_)) => true,
            _ => false,
        };
        if !still_valid {
            answers.retain(|a| a.step_id != step.id);
        }
    }
}
