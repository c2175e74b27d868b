//! Rating and agree steps: one value on the step's scale answers it, and the visit moves on.

use super::answering::Answering;
use super::{reasons, Event, Handled};
use crate::core::record::AnswerValue;
use crate::core::survey::{RatingScale, AGREE_RANGE};

/// A rating step: a value on its scale (smileys, stars, NPS).
pub(super) fn on_rating(answering: &mut Answering, scale: RatingScale, event: Event) -> Handled {
    let Event::Rate(value) = event else {
        return Handled::Ignored;
    };
    if !scale.range().contains(&value) {
        return Handled::Ignored;
    }
    let rated_before = answering.given().is_some();
    answering.record(AnswerValue::Rating {
        scale: scale.name().to_string(),
        value,
    });
    if rated_before {
        let survey = answering.survey;
        let rating_step = &answering.step.id;
        reasons::drop_stale(survey, &mut answering.visit.answers, rating_step);
    }
    Handled::Advance
}

/// An agree step: a point on the five-point scale from "strongly disagree".
pub(super) fn on_agree(answering: &mut Answering, event: Event) -> Handled {
    let Event::Rate(value) = event else {
        return Handled::Ignored;
    };
    if !AGREE_RANGE.contains(&value) {
        return Handled::Ignored;
    }
    answering.record(AnswerValue::Agree { value });
    Handled::Advance
}
