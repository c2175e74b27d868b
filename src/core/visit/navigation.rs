//! Moving through the steps: which steps a visit shows, on to the next one, back to the last.
//! Whether a step is shown depends on the answers so far (a rating picks its reasons, a
//! receipt scanned early answers the receipt step), so it is asked afresh at every move.

use super::{changed, reasons, receipt, Handled, Kiosk, Phase, Reaction, Visit};
use crate::core::record::{Answer, Moment, Outcome};
use crate::core::survey::{StepKind, Survey};

impl Kiosk {
    /// Moves the visit on from the step just answered, finishing it after the last.
    pub(super) fn advance(&mut self, at: Moment) -> Reaction {
        let Phase::Visit(visit) = &mut self.phase else {
            return Reaction::default();
        };
        let from = visit.current;
        match first_shown(&self.survey, &visit.answers, from + 1) {
            Some(next) => {
                visit.history.push(from);
                visit.current = next;
                changed()
            }
            None => self.finish(Outcome::Completed, at),
        }
    }
}

impl Visit {
    /// Back to the step shown before this one; the answers given stay.
    pub(super) fn go_back(&mut self) -> Handled {
        if let Some(previous) = self.history.pop() {
            self.current = previous;
        }
        Handled::Stay
    }
}

/// Whether the visit shows the step at `index`, as far as the answers so far tell.
pub(super) fn is_shown(survey: &Survey, answers: &[Answer], index: usize) -> bool {
    let Some(step) = survey.steps.get(index) else {
        return false;
    };
    match &step.kind {
        StepKind::Reasons { .. } => reasons::shown(survey, answers, index),
        StepKind::Receipt { mode, .. } => receipt::step_shown(*mode, answers, &step.id),
        _ => true,
    }
}

/// The first step from `from` on that the visit shows.
pub(super) fn first_shown(survey: &Survey, answers: &[Answer], from: usize) -> Option<usize> {
    (from..survey.steps.len()).find(|&i| is_shown(survey, answers, i))
}
