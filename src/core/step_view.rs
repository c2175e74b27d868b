//! What the step being answered shows, read from the visit: its texts in the visit's
//! language, its options with whether each is chosen, its scale, what has been typed. The
//! display fills its screens from this and never reads the survey's steps itself.
//!
//! Built only from [`Kiosk`]'s public queries; nothing here changes anything.

use crate::core::language::Localized;
use crate::core::survey::{ChoiceOption, RatingScale, ReceiptMode, StepKind};
use crate::core::visit::Kiosk;

/// A scale to answer on: the rating step's, or the agree scale of a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    Smiley4,
    Smiley5,
    Nps,
    Stars5,
    /// 1 (strongly disagree) to 5 (strongly agree).
    Agree5,
}

impl From<RatingScale> for Scale {
    fn from(scale: RatingScale) -> Self {
        match scale {
            RatingScale::Smiley4 => Scale::Smiley4,
            RatingScale::Smiley5 => Scale::Smiley5,
            RatingScale::Nps => Scale::Nps,
            RatingScale::Stars5 => Scale::Stars5,
        }
    }
}

/// One option of a choice-like step, in the visit's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionView {
    pub id: String,
    pub label: String,
    /// Chosen so far in this visit.
    pub selected: bool,
}

/// The follow-up set a reasons step shows for the rating given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasonSetView {
    pub question: String,
    pub options: Vec<OptionView>,
    /// The rating that chose this set.
    pub rating: i32,
}

/// What has been typed into the contact form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactView {
    pub name: String,
    pub reach: String,
    pub can_submit: bool,
}

/// The step being answered, as the visitor sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepView {
    /// A service or choice step.
    Choice {
        question: String,
        options: Vec<OptionView>,
        multiple: bool,
    },
    /// A rating step, or an agree step on [`Scale::Agree5`].
    Rating {
        question: String,
        scale: Scale,
        /// The value given so far (after Back).
        selected: Option<i32>,
    },
    Reasons {
        multiple: bool,
        /// `None` when the rating given picks no set.
        set: Option<ReasonSetView>,
        /// The scale of the rating step the reasons follow up.
        rating_scale: Scale,
    },
    Text {
        question: String,
        text: String,
        /// Characters left before the limit.
        remaining: usize,
    },
    Contact {
        question: String,
        consent: String,
        /// `None` outside a visit.
        draft: Option<ContactView>,
    },
    Receipt {
        prompt: String,
        required: bool,
        /// A receipt has been read in this visit.
        scanned: bool,
    },
}

/// A survey text in the visit's language (the survey's default where it has none).
pub fn resolve(kiosk: &Kiosk, text: &Localized) -> String {
    text.get(kiosk.language(), &kiosk.survey().default_language)
        .to_string()
}

/// The step being answered (also while "Still there?" or the language screen covers it);
/// `None` outside a visit.
pub fn current(kiosk: &Kiosk) -> Option<StepView> {
    let (index, step) = kiosk.current_step()?;
    let tr = |text: &Localized| resolve(kiosk, text);
    Some(match &step.kind {
        StepKind::Service { question, options } => StepView::Choice {
            question: tr(question),
            options: option_views(kiosk, &step.id, options),
            multiple: false,
        },
        StepKind::Choice {
            question,
            options,
            multiple,
        } => StepView::Choice {
            question: tr(question),
            options: option_views(kiosk, &step.id, options),
            multiple: *multiple,
        },
        StepKind::Rating { question, scale } => StepView::Rating {
            question: tr(question),
            scale: (*scale).into(),
            selected: kiosk.rating_value(&step.id),
        },
        StepKind::Agree { statement } => StepView::Rating {
            question: tr(statement),
            scale: Scale::Agree5,
            selected: kiosk.rating_value(&step.id),
        },
        StepKind::Reasons {
            rating_step,
            multiple,
            ..
        } => StepView::Reasons {
            multiple: *multiple,
            set: kiosk.reason_set(index).map(|(set, rating)| ReasonSetView {
                question: tr(&set.question),
                options: option_views(kiosk, &step.id, &set.options),
                rating,
            }),
            rating_scale: scale_of(kiosk, rating_step),
        },
        StepKind::Text {
            question,
            max_chars,
        } => {
            let text = kiosk.text_draft(&step.id);
            StepView::Text {
                question: tr(question),
                text: text.to_string(),
                remaining: crate::core::text::remaining(text, *max_chars as usize),
            }
        }
        StepKind::Contact { question, consent } => StepView::Contact {
            question: tr(question),
            consent: tr(consent),
            draft: kiosk.contact_draft().map(|d| ContactView {
                name: d.name.clone(),
                reach: d.reach.clone(),
                can_submit: d.can_submit(),
            }),
        },
        StepKind::Receipt { prompt, mode } => StepView::Receipt {
            prompt: tr(prompt),
            required: *mode == ReceiptMode::Required,
            scanned: kiosk.receipt().is_some(),
        },
    })
}

/// A choice-like step's options, each marked if chosen so far.
fn option_views(kiosk: &Kiosk, step_id: &str, options: &[ChoiceOption]) -> Vec<OptionView> {
    let selected = kiosk.selected_options(step_id);
    options
        .iter()
        .map(|o| OptionView {
            id: o.id.clone(),
            label: resolve(kiosk, &o.label),
            selected: selected.contains(&o.id),
        })
        .collect()
}

/// The scale of the rating step `rating_step` (five faces if it is not a rating step).
fn scale_of(kiosk: &Kiosk, rating_step: &str) -> Scale {
    kiosk
        .survey()
        .step(rating_step)
        .and_then(|s| match s.kind {
            StepKind::Rating { scale, .. } => Some(scale.into()),
            _ => None,
        })
        .unwrap_or(Scale::Smiley5)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::core::record::Moment;
    use crate::core::visit::{DeviceIds, Event};

    fn kiosk() -> Kiosk {
        let survey = crate::core::survey::parse(
            include_str!("../../assets/surveys/council.toml"),
            "council.toml",
        )
        .expect("the council survey parses");
        let ids = DeviceIds {
            site_id: "site".into(),
            device_id: "device".into(),
            run_id: None,
        };
        Kiosk::new(Arc::new(survey), ids, 7)
    }

    fn send(kiosk: &mut Kiosk, event: Event, second: u64) {
        let at = Moment {
            mono: Duration::from_secs(second),
            wall: SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000 + second),
            wall_synchronized: true,
            boot: None,
        };
        kiosk.handle(event, at);
    }

    #[test]
    fn there_is_no_step_outside_a_visit() {
        assert_eq!(current(&kiosk()), None);
    }

    #[test]
    fn the_step_reads_in_the_visits_language_with_what_was_chosen() {
        let mut k = kiosk();
        send(&mut k, Event::Start, 1);
        let Some(StepView::Choice {
            options, multiple, ..
        }) = current(&k)
        else {
            panic!("the first step is the service: {:?}", current(&k));
        };
        assert!(!multiple);
        assert!(options.iter().all(|o| !o.selected));
        let first = options[0].id.clone();
        let english = options[0].label.clone();

        send(&mut k, Event::Pick(first.clone()), 2);
        send(&mut k, Event::Back, 3);
        send(&mut k, Event::ChooseLanguage("cy".into()), 4);
        let Some(StepView::Choice { options, .. }) = current(&k) else {
            panic!("back on the service: {:?}", current(&k));
        };
        assert_eq!(options[0].id, first);
        assert!(options[0].selected);
        assert!(options[1..].iter().all(|o| !o.selected));
        assert_ne!(options[0].label, english, "the label is in Welsh");
    }

    #[test]
    fn a_rating_step_has_its_scale_and_the_value_given() {
        let mut k = kiosk();
        send(&mut k, Event::Start, 1);
        let Some(StepView::Choice { options, .. }) = current(&k) else {
            panic!("the first step is the service");
        };
        send(&mut k, Event::Pick(options[0].id.clone()), 2);
        let Some(StepView::Rating {
            scale, selected, ..
        }) = current(&k)
        else {
            panic!("then the rating: {:?}", current(&k));
        };
        assert_eq!(selected, None);
        send(&mut k, Event::Rate(1), 3);
        let Some(StepView::Reasons {
            set, rating_scale, ..
        }) = current(&k)
        else {
            panic!("then the reasons: {:?}", current(&k));
        };
        assert_eq!(rating_scale, scale);
        assert_eq!(set.map(|s| s.rating), Some(1));
        send(&mut k, Event::Back, 4);
        assert!(matches!(
            current(&k),
            Some(StepView::Rating {
                selected: Some(1),
                ..
            })
        ));
    }
}
