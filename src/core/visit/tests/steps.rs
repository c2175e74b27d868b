//! Answering each step kind, and moving between the steps: what each step takes and ignores,
//! what is required, back, and progress.

use super::*;

#[test]
fn low_ratings_ask_what_went_wrong_and_neutral_skips_reasons() {
    let mut d = Drive::full();
    d.send(Event::Start);
    d.send(Event::Skip);
    d.send(Event::Rate(1));
    assert_eq!(
        d.kiosk.reason_set(2).unwrap().0.question.get("en", "en"),
        "What went wrong?"
    );
    d.send(Event::Back);
    d.send(Event::Rate(3));
    assert_eq!(d.step_id(), "channel", "no reason set covers 3");
}

#[test]
fn options_not_in_the_step_and_values_off_the_scale_are_ignored() {
    let mut d = Drive::full();
    d.send(Event::Start);
    assert!(!d.send(Event::Pick("not-an-option".into())));
    d.send(Event::Pick("tax".into()));
    for bad in [0, 6, -1, i32::MAX] {
        assert!(!d.send(Event::Rate(bad)));
        assert_eq!(d.step_id(), "overall");
    }
    d.send(Event::Rate(1));
    // Reasons for a low rating do not accept the high set's options.
    assert!(!d.send(Event::Toggle("quick".into())));
    assert!(
        !d.send(Event::Pick("queue".into())),
        "multiple choice takes toggles, not picks"
    );
    assert_eq!(d.kiosk.selected_options("why"), &[] as &[String]);
}

#[test]
fn required_steps_cannot_be_skipped_or_passed_empty() {
    let mut d = Drive::full();
    d.send(Event::Start);
    d.send(Event::Skip);
    assert_eq!(d.step_id(), "overall");
    assert!(!d.kiosk.can_skip());
    assert!(!d.send(Event::Skip));
    d.send(Event::Rate(3));
    assert_eq!(d.step_id(), "channel");
    assert!(
        !d.send(Event::Next),
        "channel is required and nothing is chosen"
    );
    d.send(Event::Toggle("web".into()));
    d.send(Event::Toggle("web".into()));
    assert!(!d.send(Event::Next), "toggled off again");
    assert_eq!(d.step_id(), "channel");
}

#[test]
fn an_empty_optional_multiple_choice_counts_as_skipped() {
    let mut d = Drive::full();
    d.send(Event::Start);
    d.send(Event::Skip);
    d.send(Event::Rate(5));
    d.send(Event::Next);
    assert_eq!(d.step_id(), "channel");
    d.send(Event::Cancel);
    assert_eq!(d.last().answer("why"), Some(&AnswerValue::Skipped));
}

#[test]
fn back_returns_to_the_previous_shown_step_with_answers_kept() {
    let mut d = Drive::full();
    d.send(Event::Start);
    assert!(!d.kiosk.can_go_back());
    d.send(Event::Pick("tax".into()));
    d.send(Event::Rate(4));
    d.send(Event::Toggle("kind".into()));
    d.send(Event::Next);
    assert_eq!(d.step_id(), "channel");
    d.send(Event::Back);
    assert_eq!(d.step_id(), "why");
    assert_eq!(d.kiosk.selected_options("why"), ["kind".to_string()]);
    d.send(Event::Back);
    assert_eq!(d.step_id(), "overall");
    assert_eq!(d.kiosk.rating_value("overall"), Some(4));
    d.send(Event::Back);
    assert_eq!(d.step_id(), "service");
    assert_eq!(d.kiosk.selected_options("service"), ["tax".to_string()]);
    assert!(!d.kiosk.can_go_back());
    assert!(!d.send(Event::Back) || d.step_id() == "service");
    assert_eq!(d.step_id(), "service");
}

#[test]
fn changing_the_rating_drops_reasons_that_no_longer_fit() {
    let mut d = Drive::full();
    d.send(Event::Start);
    d.send(Event::Skip);
    d.send(Event::Rate(5));
    d.send(Event::Toggle("quick".into()));
    d.send(Event::Back);
    d.send(Event::Rate(4));
    assert_eq!(
        d.kiosk.selected_options("why"),
        ["quick".to_string()],
        "same set: kept"
    );
    d.send(Event::Back);
    d.send(Event::Rate(1));
    assert_eq!(
        d.kiosk.selected_options("why"),
        &[] as &[String],
        "other set: dropped"
    );
    d.send(Event::Back);
    d.send(Event::Rate(3));
    d.send(Event::Cancel);
    assert_eq!(
        d.last().answer("why"),
        None,
        "no set for 3: nothing about reasons kept"
    );
}

#[test]
fn progress_counts_only_the_steps_this_visit_shows() {
    let mut d = Drive::full();
    d.send(Event::Start);
    assert_eq!(d.kiosk.progress(), (1, 7), "reasons not known yet");
    d.send(Event::Skip);
    d.send(Event::Rate(5));
    assert_eq!(d.kiosk.progress(), (3, 8));
    d.send(Event::Back);
    d.send(Event::Rate(3));
    assert_eq!(d.kiosk.progress(), (3, 7));
}

#[test]
fn text_respects_the_limit_and_backspace() {
    let mut d = Drive::full();
    d.send(Event::Start);
    d.send(Event::Skip);
    d.send(Event::Rate(3));
    d.send(Event::Toggle("web".into()));
    d.send(Event::Next);
    d.send(Event::Skip);
    for _ in 0..25 {
        d.send(Event::Key("é".into()));
    }
    assert_eq!(d.kiosk.text_draft("comment").chars().count(), 20);
    d.send(Event::Backspace);
    assert_eq!(d.kiosk.text_draft("comment").chars().count(), 19);
    for _ in 0..30 {
        d.send(Event::Backspace);
    }
    assert_eq!(d.kiosk.text_draft("comment"), "");
    d.send(Event::Next);
    assert_eq!(d.step_id(), "contact");
    d.send(Event::Cancel);
    assert_eq!(d.last().answer("comment"), Some(&AnswerValue::Skipped));
}

#[test]
fn contact_needs_a_way_to_reach_and_keeps_the_consent_wording_in_the_visit_language() {
    let mut d = Drive::full();
    d.send(Event::Start);
    d.send(Event::Skip);
    d.send(Event::Rate(3));
    d.send(Event::Toggle("web".into()));
    d.send(Event::Next);
    d.send(Event::Skip);
    d.send(Event::Skip);
    assert_eq!(d.step_id(), "contact");
    d.send(Event::Key("Ann".into()));
    assert!(!d.send(Event::SubmitContact), "no phone or email yet");
    d.send(Event::SelectContactField(ContactField::Reach));
    d.send(Event::Key("0".into()));
    d.send(Event::Backspace);
    assert!(!d.kiosk.contact_draft().unwrap().can_submit());
    d.send(Event::Key("07700 900123".into()));
    d.send(Event::ChooseLanguage("cy".into()));
    d.send(Event::SubmitContact);
    assert_eq!(d.step_id(), "receipt");
    d.send(Event::Cancel);
    assert_eq!(
        d.last().answer("contact"),
        Some(&AnswerValue::Contact {
            name: "Ann".into(),
            reach: "07700 900123".into(),
            consent_text: "I agree (cy)".into()
        })
    );
    assert_eq!(d.last().language, "cy");
}

#[test]
fn declining_contact_is_recorded_as_skipped() {
    let mut d = Drive::full();
    d.send(Event::Start);
    d.send(Event::Skip);
    d.send(Event::Rate(3));
    d.send(Event::Toggle("web".into()));
    d.send(Event::Next);
    d.send(Event::Skip);
    d.send(Event::Skip);
    d.send(Event::Skip);
    assert_eq!(d.step_id(), "receipt");
    d.send(Event::Skip);
    assert_eq!(d.last().answer("contact"), Some(&AnswerValue::Skipped));
    assert_eq!(d.last().answer("receipt"), Some(&AnswerValue::Skipped));
}

#[test]
fn nps_and_star_scales_take_their_own_ranges() {
    for (scale, good, bad) in [
        (RatingScale::Nps, [0, 10], 11),
        (RatingScale::Stars5, [1, 5], 0),
        (RatingScale::Smiley4, [1, 4], 5),
    ] {
        let mut s = full_survey();
        s.steps = vec![step(
            "r",
            false,
            StepKind::Rating {
                question: text("?"),
                scale,
            },
        )];
        for value in good {
            let mut d = Drive::new(s.clone());
            d.send(Event::Start);
            assert!(!d.send(Event::Rate(bad)));
            d.send(Event::Rate(value));
            assert_eq!(
                d.last().answer("r"),
                Some(&AnswerValue::Rating {
                    scale: scale.name().into(),
                    value
                }),
                "{scale:?}"
            );
        }
    }
}
