//! The visit state machine, driven through every path with made-up time.

use super::*;
use crate::core::language::Localized;
use crate::core::receipt::ReceiptRules;
use crate::core::survey::{Attract, ChoiceOption, RatingScale, Thanks, Timing};

/// The secret the test kiosks key receipts with.
const SECRET: &[u8] = b"test deployment secret";

/// A receipt the shipped QR example pattern reads, dated `date` (YYYY-MM-DD).
fn receipt_url(txn: &str, date: &str) -> String {
    format!("https://receipts.example.com/r?store=412&till=3&txn={txn}&date={date}")
}

/// The day the test kiosks' clocks show.
const TODAY: &str = "2026-09-21";

fn rules() -> ReceiptRules {
    ReceiptRules::examples(SECRET.to_vec())
}

/// The keyed transaction of a receipt read from `code`.
fn transaction_of(code: &str) -> String {
    let today = crate::core::receipt::days_from_civil(2026, 9, 21).unwrap();
    match crate::core::receipt::judge(code, &rules().patterns, today, 30) {
        crate::core::receipt::ScanVerdict::Receipt(r) => rules().transaction(&r),
        other => panic!("{code}: {other:?}"),
    }
}

fn text(en: &str) -> Localized {
    Localized::from_pairs([("en", en), ("cy", &*format!("{en} (cy)"))])
}

fn options(ids: &[&str]) -> Vec<ChoiceOption> {
    ids.iter()
        .map(|id| ChoiceOption {
            id: id.to_string(),
            label: text(id),
        })
        .collect()
}

fn step(id: &str, optional: bool, kind: StepKind) -> Step {
    Step {
        id: id.to_string(),
        optional,
        kind,
    }
}

/// Every step kind, in the order a real survey would use them.
fn full_survey() -> Survey {
    Survey {
        id: "test".into(),
        version: "1".into(),
        languages: vec!["en".into(), "cy".into()],
        default_language: "en".into(),
        attract: Attract {
            title: text("How was it?"),
            subtitle: text("Tap to start"),
        },
        timing: Timing {
            idle_timeout_s: 30,
            still_there_s: 15,
            thanks_dwell_s: 6,
            misuse_interval_s: 5,
        },
        steps: vec![
            step(
                "service",
                true,
                StepKind::Service {
                    question: text("Which?"),
                    options: options(&["tax", "parking"]),
                },
            ),
            step(
                "overall",
                false,
                StepKind::Rating {
                    question: text("How?"),
                    scale: RatingScale::Smiley5,
                },
            ),
            step(
                "why",
                true,
                StepKind::Reasons {
                    rating_step: "overall".into(),
                    multiple: true,
                    sets: vec![
                        ReasonSet {
                            ratings: 1..=2,
                            question: text("What went wrong?"),
                            options: options(&["queue", "rude"]),
                        },
                        ReasonSet {
                            ratings: 4..=5,
                            question: text("What went well?"),
                            options: options(&["quick", "kind"]),
                        },
                    ],
                },
            ),
            step(
                "channel",
                false,
                StepKind::Choice {
                    question: text("Before?"),
                    options: options(&["web", "phone"]),
                    multiple: true,
                },
            ),
            step(
                "fair",
                true,
                StepKind::Agree {
                    statement: text("Treated fairly"),
                },
            ),
            step(
                "comment",
                true,
                StepKind::Text {
                    question: text("Anything else?"),
                    max_chars: 20,
                },
            ),
            step(
                "contact",
                true,
                StepKind::Contact {
                    question: text("Contact you?"),
                    consent: text("I agree"),
                },
            ),
            step(
                "receipt",
                true,
                StepKind::Receipt {
                    prompt: text("Scan"),
                    mode: ReceiptMode::Optional,
                },
            ),
        ],
        thanks: Thanks {
            message: text("Thanks"),
            tracking_url: None,
        },
    }
}

struct Drive {
    kiosk: Kiosk,
    at: Moment,
    finished: Vec<ResponseRecord>,
}

impl Drive {
    fn new(survey: Survey) -> Self {
        let ids = DeviceIds {
            site_id: "site-1".into(),
            device_id: "kiosk-7".into(),
            run_id: None,
        };
        Drive {
            kiosk: Kiosk::new(Arc::new(survey), ids, 42).with_receipt_rules(rules()),
            at: Moment {
                mono: Duration::from_secs(1000),
                wall: UNIX_EPOCH + Duration::from_secs(1_790_000_000),
                wall_synchronized: true,
            },
            finished: Vec::new(),
        }
    }

    fn full() -> Self {
        Self::new(full_survey())
    }

    fn send(&mut self, event: Event) -> bool {
        let reaction = self.kiosk.handle(event, self.at);
        if let Some(record) = reaction.finished {
            self.finished.push(record);
        }
        reaction.changed
    }

    fn wait(&mut self, secs: f64) {
        self.at = self.at.later(Duration::from_secs_f64(secs));
        self.send(Event::Tick);
    }

    fn screen(&self) -> Screen {
        self.kiosk.screen()
    }

    fn step_id(&self) -> String {
        match self.screen() {
            Screen::Step(i) => self.kiosk.survey().steps[i].id.clone(),
            other => panic!("expected a step, showing {other:?}"),
        }
    }

    fn last(&self) -> &ResponseRecord {
        self.finished.last().expect("a finished visit")
    }

    fn store_last(&mut self, ok: bool) {
        let id = self.last().id;
        self.send(Event::Stored { id, ok });
    }

    /// Answers every step with the happy path, up to the saving screen.
    fn complete_happy_visit(&mut self) {
        self.send(Event::Start);
        self.send(Event::Pick("parking".into()));
        self.send(Event::Rate(5));
        self.send(Event::Toggle("quick".into()));
        self.send(Event::Next);
        self.send(Event::Toggle("web".into()));
        self.send(Event::Next);
        self.send(Event::Rate(4));
        self.send(Event::Skip);
        self.send(Event::Skip);
        self.send(Event::Skip);
    }
}

#[test]
fn a_complete_visit_records_every_answer_in_order() {
    let mut d = Drive::full();
    assert_eq!(d.screen(), Screen::Attract);
    d.send(Event::Start);
    assert_eq!(d.step_id(), "service");
    d.wait(2.0);
    d.send(Event::Pick("parking".into()));
    assert_eq!(d.step_id(), "overall");
    d.send(Event::Rate(5));
    assert_eq!(d.step_id(), "why");
    let (set, rating) = d.kiosk.reason_set(2).unwrap();
    assert_eq!(
        (set.question.get("en", "en"), rating),
        ("What went well?", 5)
    );
    d.send(Event::Toggle("quick".into()));
    d.send(Event::Toggle("kind".into()));
    d.send(Event::Next);
    assert_eq!(d.step_id(), "channel");
    d.send(Event::Toggle("phone".into()));
    d.send(Event::Next);
    d.send(Event::Rate(2));
    assert_eq!(d.step_id(), "comment");
    for key in ["G", "o", "o", "d", " ", "ł"] {
        d.send(Event::Key(key.into()));
    }
    d.send(Event::Next);
    assert_eq!(d.step_id(), "contact");
    d.send(Event::SelectContactField(ContactField::Name));
    d.send(Event::Key("A".into()));
    d.send(Event::SelectContactField(ContactField::Reach));
    for key in ["a", "@", "b", ".", "c"] {
        d.send(Event::Key(key.into()));
    }
    d.send(Event::SubmitContact);
    assert_eq!(d.step_id(), "receipt");
    d.wait(1.0);
    d.send(Event::Scan(format!("{}\r\n", receipt_url("TX991", TODAY))));
    assert_eq!(d.screen(), Screen::Saving);

    let r = d.last().clone();
    assert_eq!(r.outcome, Outcome::Completed);
    assert_eq!(r.service.as_deref(), Some("parking"));
    assert_eq!(
        (r.site_id.as_str(), r.device_id.as_str()),
        ("site-1", "kiosk-7")
    );
    assert_eq!(
        (
            r.survey_id.as_str(),
            r.survey_version.as_str(),
            r.language.as_str()
        ),
        ("test", "1", "en")
    );
    assert_eq!(r.id.get_version_num(), 7);
    assert!(reference::parse(&r.reference).is_some(), "{}", r.reference);
    assert_eq!(r.clock.duration_ms(), 3000);
    assert_eq!(r.started_at, "2026-09-21T14:13:20.000Z");
    assert_eq!(r.finished_at, "2026-09-21T14:13:23.000Z");
    let steps: Vec<&str> = r.answers.iter().map(|a| a.step_id.as_str()).collect();
    assert_eq!(
        steps,
        ["service", "overall", "why", "channel", "fair", "comment", "contact", "receipt"]
    );
    assert_eq!(
        r.answer("why"),
        Some(&AnswerValue::Choice {
            options: vec!["quick".into(), "kind".into()]
        })
    );
    assert_eq!(r.answer("fair"), Some(&AnswerValue::Agree { value: 2 }));
    assert_eq!(
        r.answer("comment"),
        Some(&AnswerValue::Text {
            text: "Good ł".into()
        })
    );
    assert_eq!(
        r.answer("contact"),
        Some(&AnswerValue::Contact {
            name: "A".into(),
            reach: "a@b.c".into(),
            consent_text: "I agree".into()
        })
    );
    assert_eq!(
        r.answer("receipt"),
        Some(&AnswerValue::Receipt {
            transaction: Some(transaction_of(&receipt_url("TX991", TODAY))),
            pattern: Some("e-receipt link (QR)".into()),
            store: None,
            till: None,
            txn: None,
            date: None,
            time: None,
            code: None,
        }),
        "only the keyed form is kept"
    );
    assert_eq!(r.answers[0].at_ms, 2000);
    assert!(!r.flags.suspected_misuse);
}

#[test]
fn thanks_appears_only_after_the_sink_confirms_then_returns_to_attract() {
    let mut d = Drive::full();
    d.complete_happy_visit();
    assert_eq!(d.screen(), Screen::Saving);
    assert_eq!(
        d.kiosk.next_wakeup(),
        Some(d.at.mono + SAVE_WAIT),
        "one timer, for a silent sink"
    );
    // A verdict about some other record changes nothing.
    d.send(Event::Stored {
        id: Uuid::nil(),
        ok: true,
    });
    assert_eq!(d.screen(), Screen::Saving);
    d.store_last(true);
    let reference = d.last().reference.clone();
    assert_eq!(
        d.screen(),
        Screen::Thanks {
            reference,
            stored: true
        }
    );
    d.wait(5.9);
    assert!(matches!(d.screen(), Screen::Thanks { .. }));
    d.wait(0.1);
    assert_eq!(d.screen(), Screen::Attract);
}

#[test]
fn a_sink_that_never_answers_does_not_keep_the_visitor_waiting() {
    let mut d = Drive::full();
    d.complete_happy_visit();
    d.wait(9.9);
    assert_eq!(d.screen(), Screen::Saving);
    d.wait(0.1);
    assert!(
        matches!(d.screen(), Screen::Thanks { stored: false, .. }),
        "not claimed as saved"
    );
    // A verdict arriving late changes nothing on screen.
    d.store_last(true);
    assert!(matches!(d.screen(), Screen::Thanks { stored: false, .. }));
}

#[test]
fn a_failed_store_is_told_honestly() {
    let mut d = Drive::full();
    d.complete_happy_visit();
    d.store_last(false);
    assert!(matches!(d.screen(), Screen::Thanks { stored: false, .. }));
}

#[test]
fn tapping_thanks_returns_to_attract_at_once() {
    let mut d = Drive::full();
    d.complete_happy_visit();
    d.store_last(true);
    d.send(Event::DismissThanks);
    assert_eq!(d.screen(), Screen::Attract);
}

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
fn cancel_ends_the_visit_as_abandoned_with_answers_kept() {
    let mut d = Drive::full();
    d.send(Event::Start);
    d.send(Event::Pick("tax".into()));
    d.send(Event::Rate(2));
    d.send(Event::Cancel);
    assert_eq!(d.screen(), Screen::Attract);
    let r = d.last();
    assert_eq!(r.outcome, Outcome::Abandoned);
    assert_eq!(r.answers.len(), 2);
    assert_eq!(r.service.as_deref(), Some("tax"));
}

#[test]
fn idle_brings_still_there_and_answering_it_extends_the_visit() {
    let mut d = Drive::full();
    d.send(Event::Start);
    d.send(Event::Pick("tax".into()));
    d.wait(29.0);
    assert_eq!(d.step_id(), "overall");
    d.wait(1.0);
    assert_eq!(d.screen(), Screen::StillThere { seconds_left: 15 });
    d.wait(4.5);
    assert_eq!(d.screen(), Screen::StillThere { seconds_left: 11 });
    d.send(Event::StillHere);
    assert_eq!(d.step_id(), "overall", "back where they were");
    d.wait(29.0);
    assert_eq!(d.step_id(), "overall", "the idle timer started again");
    d.send(Event::Rate(4));
    assert!(d.finished.is_empty());
}

#[test]
fn the_countdown_wakes_once_a_second_and_at_the_end() {
    let mut d = Drive::full();
    d.send(Event::Start);
    let start = d.at.mono;
    assert_eq!(d.kiosk.next_wakeup(), Some(start + Duration::from_secs(30)));
    d.wait(30.0);
    assert_eq!(d.kiosk.next_wakeup(), Some(start + Duration::from_secs(31)));
    d.wait(0.4);
    assert_eq!(d.kiosk.next_wakeup(), Some(start + Duration::from_secs(31)));
    d.wait(14.0);
    assert_eq!(d.kiosk.next_wakeup(), Some(start + Duration::from_secs(45)));
}

#[test]
fn a_visit_left_alone_times_out_at_every_step_with_partial_answers_kept() {
    let survey = full_survey();
    for expected in survey.steps.iter() {
        let mut d = Drive::full();
        d.send(Event::Start);
        // Walk to step `index` the quickest way.
        let path: Vec<Event> = vec![
            Event::Pick("tax".into()),
            Event::Rate(1),
            Event::Toggle("queue".into()),
            Event::Next,
            Event::Toggle("web".into()),
            Event::Next,
            Event::Rate(5),
            Event::Key("x".into()),
            Event::Next,
            Event::Skip,
        ];
        let mut answered = 0;
        let mut events = path.into_iter();
        while d.step_id() != expected.id {
            let e = events.next().expect("path reaches every step");
            if matches!(
                e,
                Event::Next | Event::Rate(_) | Event::Pick(_) | Event::Skip
            ) {
                answered += 1;
            }
            d.send(e);
        }
        let before = d.at.mono;
        d.wait(30.0);
        assert!(
            matches!(d.screen(), Screen::StillThere { .. }),
            "{}",
            expected.id
        );
        d.wait(20.0);
        assert_eq!(d.screen(), Screen::Attract, "{}", expected.id);
        let r = d.last();
        assert_eq!(r.outcome, Outcome::Timeout, "{}", expected.id);
        assert!(
            r.answers.len() >= answered,
            "{}: {:?}",
            expected.id,
            r.answers
        );
        // The visit ends when the prompt ran out, not when the late tick came.
        assert_eq!(
            r.clock.finished_mono_ms,
            (before + Duration::from_secs(45)).as_millis() as u64,
            "{}",
            expected.id
        );
    }
}

#[test]
fn text_typed_before_a_timeout_is_kept() {
    let mut d = Drive::full();
    d.send(Event::Start);
    d.send(Event::Skip);
    d.send(Event::Rate(3));
    d.send(Event::Toggle("web".into()));
    d.send(Event::Next);
    d.send(Event::Skip);
    for k in ["s", "l", "o", "w"] {
        d.send(Event::Key(k.into()));
    }
    d.wait(60.0);
    assert_eq!(
        d.last().answer("comment"),
        Some(&AnswerValue::Text {
            text: "slow".into()
        })
    );
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
fn language_can_change_from_every_screen_and_the_visit_goes_on() {
    let mut d = Drive::full();
    d.send(Event::OpenLanguages);
    assert_eq!(d.screen(), Screen::Language);
    d.send(Event::ChooseLanguage("cy".into()));
    assert_eq!((d.screen(), d.kiosk.language()), (Screen::Attract, "cy"));
    d.send(Event::Start);
    d.send(Event::Pick("tax".into()));
    d.send(Event::OpenLanguages);
    assert_eq!(d.screen(), Screen::Language);
    d.send(Event::CloseLanguages);
    assert_eq!(d.step_id(), "overall");
    d.send(Event::ChooseLanguage("en".into()));
    assert_eq!(
        (d.step_id().as_str(), d.kiosk.language()),
        ("overall", "en")
    );
    d.send(Event::ChooseLanguage("xx".into()));
    assert_eq!(d.kiosk.language(), "en", "undeclared languages are ignored");
    // On the still-there prompt too.
    d.wait(31.0);
    d.send(Event::ChooseLanguage("cy".into()));
    assert_eq!(
        d.step_id(),
        "overall",
        "choosing a language is a sign of life"
    );
    d.send(Event::Rate(5));
    d.send(Event::Cancel);
    assert_eq!(d.last().language, "cy");
    assert_eq!(
        d.kiosk.language(),
        "en",
        "the next visitor starts in the default language"
    );
}

#[test]
fn a_language_chosen_on_attract_resets_when_nobody_starts() {
    let mut d = Drive::full();
    d.send(Event::ChooseLanguage("cy".into()));
    assert!(d.kiosk.next_wakeup().is_some());
    d.wait(31.0);
    assert_eq!(d.kiosk.language(), "en");
    assert_eq!(
        d.kiosk.next_wakeup(),
        None,
        "an idle attract screen needs no timer"
    );
}

#[test]
fn the_language_screen_on_thanks_keeps_the_thanks() {
    let mut d = Drive::full();
    d.complete_happy_visit();
    d.store_last(true);
    d.send(Event::ChooseLanguage("cy".into()));
    assert!(matches!(d.screen(), Screen::Thanks { .. }));
    assert_eq!(d.kiosk.language(), "cy");
}

#[test]
fn a_visit_starting_soon_after_the_last_one_is_flagged_not_dropped() {
    let mut d = Drive::full();
    d.complete_happy_visit();
    d.store_last(true);
    d.send(Event::DismissThanks);
    d.wait(1.0);
    d.complete_happy_visit();
    assert!(
        d.last().flags.suspected_misuse,
        "1 s after the previous visit"
    );
    d.store_last(true);
    d.wait(6.0);
    assert_eq!(d.screen(), Screen::Attract);
    d.complete_happy_visit();
    assert!(
        !d.last().flags.suspected_misuse,
        "6 s later is a new person"
    );
    assert_eq!(d.finished.len(), 3, "every visit is kept");
}

#[test]
fn a_quick_restart_after_cancel_is_flagged() {
    let mut d = Drive::full();
    d.send(Event::Start);
    d.send(Event::Cancel);
    d.wait(2.0);
    d.send(Event::Start);
    d.send(Event::Cancel);
    assert!(d.finished[1].flags.suspected_misuse);
}

#[test]
fn after_a_timeout_the_next_visitor_is_not_flagged() {
    let mut d = Drive::full();
    d.send(Event::Start);
    d.wait(45.0);
    d.wait(0.5);
    d.send(Event::Start);
    d.send(Event::Cancel);
    assert!(!d.last().flags.suspected_misuse);
}

#[test]
fn misuse_interval_zero_turns_the_check_off() {
    let mut s = full_survey();
    s.timing.misuse_interval_s = 0;
    let mut d = Drive::new(s);
    d.send(Event::Start);
    d.send(Event::Cancel);
    d.send(Event::Start);
    d.send(Event::Cancel);
    assert!(!d.last().flags.suspected_misuse);
}

#[test]
fn a_scan_on_attract_starts_a_visit_and_the_receipt_step_is_left_out() {
    let mut d = Drive::full();
    let code = receipt_url("R123", TODAY);
    d.send(Event::Scan(code.clone()));
    assert_eq!(d.step_id(), "service");
    assert!(d.kiosk.receipt().is_some());
    d.send(Event::Skip);
    d.send(Event::Rate(3));
    d.send(Event::Toggle("web".into()));
    d.send(Event::Next);
    d.send(Event::Skip);
    d.send(Event::Skip);
    d.send(Event::Skip);
    assert_eq!(
        d.screen(),
        Screen::Saving,
        "the receipt step was already answered"
    );
    assert_eq!(
        d.last().receipt_transaction(),
        Some(transaction_of(&code).as_str())
    );
}

#[test]
fn a_scan_during_another_step_is_kept_and_the_receipt_step_is_left_out() {
    let mut d = Drive::full();
    d.send(Event::Start);
    d.send(Event::Pick("parking".into()));
    assert_eq!(d.step_id(), "overall");
    d.send(Event::Scan(receipt_url("MID1", TODAY)));
    assert_eq!(d.step_id(), "overall", "the visitor stays where they were");
    d.send(Event::Rate(3));
    d.send(Event::Toggle("web".into()));
    d.send(Event::Next);
    for _ in 0..3 {
        d.send(Event::Skip);
    }
    assert_eq!(d.screen(), Screen::Saving);
    assert_eq!(
        d.last().receipt_transaction(),
        Some(transaction_of(&receipt_url("MID1", TODAY)).as_str())
    );
}

#[test]
fn a_barcode_that_is_not_a_receipt_is_explained_and_nothing_is_kept() {
    let mut d = Drive::full();
    // A product EAN-13 and a loyalty card.
    for code in ["4006381333931", "LOYALTY-00012345"] {
        assert!(d.send(Event::Scan(code.into())));
        assert_eq!(d.kiosk.notice(), Some(&Notice::NotAReceipt));
        assert_eq!(d.screen(), Screen::Attract, "no visit is started");
    }
    // The message goes by itself...
    assert_eq!(d.kiosk.next_wakeup(), Some(d.at.mono + NOTICE_TIME));
    d.wait(NOTICE_TIME.as_secs_f64());
    assert_eq!(d.kiosk.notice(), None);
    // ...or when the visitor touches the screen.
    d.send(Event::Start);
    d.send(Event::Scan("4006381333931".into()));
    assert_eq!(d.kiosk.notice(), Some(&Notice::NotAReceipt));
    assert_eq!(d.step_id(), "service", "the visit goes on");
    d.send(Event::Pick("tax".into()));
    assert_eq!(d.kiosk.notice(), None);
    d.send(Event::Cancel);
    assert_eq!(d.last().answer("receipt"), None);
}

#[test]
fn a_misread_asks_for_another_scan_and_an_old_receipt_is_refused_politely() {
    let mut d = Drive::full();
    // The Code 128 example with a wrong check digit.
    let good = (0..10)
        .map(|c| format!("0412-03-004217-20260920-{c}"))
        .find(|s| {
            crate::core::receipt::check_digit_ok(
                crate::core::receipt::CheckRule::Luhn,
                &s.replace('-', ""),
            )
        })
        .unwrap();
    let last = good.chars().last().unwrap().to_digit(10).unwrap();
    let misread = format!("{}{}", &good[..good.len() - 1], (last + 1) % 10);
    d.send(Event::Scan(misread));
    assert_eq!(d.kiosk.notice(), Some(&Notice::ScanAgain));
    assert_eq!(d.screen(), Screen::Attract);
    d.send(Event::Scan(good));
    assert_eq!(d.kiosk.notice(), None);
    assert_eq!(d.step_id(), "service", "the good scan starts the visit");
    d.send(Event::Cancel);

    d.send(Event::Scan(receipt_url("OLD1", "2026-08-01")));
    assert_eq!(
        d.kiosk.notice(),
        Some(&Notice::Expired { max_age_days: 30 })
    );
    assert_eq!(d.screen(), Screen::Attract);
    // Exactly 30 days old is still in time.
    d.send(Event::Scan(receipt_url("OLD2", "2026-08-22")));
    assert_eq!(d.step_id(), "service");
    d.send(Event::Cancel);

    // A clock that is not synchronised does not turn anyone away.
    d.at.wall_synchronized = false;
    d.send(Event::Scan(receipt_url("OLD1", "2026-08-01")));
    assert_eq!(d.kiosk.notice(), None);
    assert_eq!(d.step_id(), "service");
}

#[test]
fn one_response_per_receipt() {
    let mut d = Drive::full();
    let code = receipt_url("ONCE", TODAY);
    d.send(Event::Scan(code.clone()));
    d.send(Event::Pick("parking".into()));
    d.send(Event::Rate(4));
    d.send(Event::Cancel);
    assert!(d.last().has_feedback());

    d.wait(60.0);
    assert!(d.send(Event::Scan(code.clone())));
    assert_eq!(d.kiosk.notice(), Some(&Notice::AlreadyGiven));
    assert_eq!(d.screen(), Screen::Attract, "no second visit for it");
    // Mid-visit too: the visit goes on without the receipt.
    d.send(Event::Start);
    d.send(Event::Scan(code.clone()));
    assert_eq!(d.kiosk.notice(), Some(&Notice::AlreadyGiven));
    assert!(d.kiosk.receipt().is_none());
    d.send(Event::Cancel);
    // Another receipt is welcome.
    d.send(Event::Scan(receipt_url("OTHER", TODAY)));
    assert_eq!(d.step_id(), "service");
    d.send(Event::Cancel);

    // Someone who scanned and walked away without answering can come back.
    let walked_away = receipt_url("AWAY", TODAY);
    d.send(Event::Scan(walked_away.clone()));
    d.wait(1000.0);
    d.wait(1000.0);
    assert_eq!(d.last().outcome, Outcome::Timeout);
    assert!(!d.last().has_feedback());
    d.send(Event::Scan(walked_away));
    assert_eq!(d.kiosk.notice(), None);
    assert_eq!(d.step_id(), "service");

    // Receipts remembered from before (the queue at start) count too.
    let mut fresh = Drive::full();
    fresh.kiosk = Kiosk::new(Arc::new(full_survey()), fresh.kiosk.ids.clone(), 1)
        .with_receipt_rules(rules())
        .remembering([transaction_of(&code)]);
    fresh.send(Event::Scan(code));
    assert_eq!(fresh.kiosk.notice(), Some(&Notice::AlreadyGiven));
}

#[test]
fn a_receipt_scanned_on_the_thanks_screen_starts_the_next_visit() {
    let mut d = Drive::full();
    d.send(Event::Start);
    d.send(Event::Cancel);
    let mut s = full_survey();
    s.steps
        .retain(|st| st.id == "overall" || st.id == "receipt");
    let mut d = Drive::new(s);
    d.send(Event::Start);
    d.send(Event::Rate(5));
    d.send(Event::Skip);
    let id = d.last().id;
    d.send(Event::Stored { id, ok: true });
    assert!(matches!(d.screen(), Screen::Thanks { .. }));
    d.send(Event::Scan(receipt_url("NEXT", TODAY)));
    assert_eq!(d.step_id(), "overall");
    assert!(d.kiosk.receipt().is_some());
}

#[test]
fn a_gs1_receipt_keeps_its_group_separators_through_the_visit() {
    let mut d = Drive::full();
    // (414) GLN 5412345000013, (8020) slip reference, GS, (11) 2026-09-20.
    d.send(Event::Scan(
        "\u{1d}41454123450000138020RCPT-99812\u{1d}11260920\r".into(),
    ));
    assert_eq!(d.kiosk.notice(), None);
    assert!(matches!(
        d.kiosk.receipt(),
        Some(AnswerValue::Receipt { pattern: Some(p), .. }) if p.starts_with("GS1")
    ));
}

#[test]
fn scans_are_cleaned_and_ignored_when_the_survey_takes_no_receipts() {
    let mut d = Drive::full();
    d.send(Event::Start);
    assert!(!d.send(Event::Scan("\r\n\u{0}".into())), "nothing readable");
    // Too long to be a receipt, even if a pattern would take its start.
    d.send(Event::Scan(format!(
        "{}{}",
        receipt_url("LONG", TODAY),
        "9".repeat(MAX_RECEIPT_CHARS)
    )));
    assert_eq!(d.kiosk.notice(), Some(&Notice::NotAReceipt));
    assert!(d.kiosk.receipt().is_none());

    let mut s = full_survey();
    s.steps.retain(|st| st.id != "receipt");
    let mut d = Drive::new(s);
    assert!(!d.send(Event::Scan(receipt_url("R100", TODAY))));
    assert_eq!(d.screen(), Screen::Attract);
    assert_eq!(
        d.kiosk.notice(),
        None,
        "no survey receipt step: scans are ignored"
    );
}

#[test]
fn a_required_receipt_step_waits_for_a_scan() {
    let mut s = full_survey();
    s.steps = vec![step(
        "receipt",
        false,
        StepKind::Receipt {
            prompt: text("Scan"),
            mode: ReceiptMode::Required,
        },
    )];
    let mut d = Drive::new(s);
    d.send(Event::Start);
    assert!(!d.send(Event::Skip));
    assert_eq!(d.step_id(), "receipt");
    d.send(Event::Scan("4006381333931".into()));
    assert_eq!(d.step_id(), "receipt", "a product barcode does not do");
    d.send(Event::Scan(receipt_url("X100", TODAY)));
    assert_eq!(d.kiosk.notice(), None);
    assert_eq!(d.screen(), Screen::Saving);
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

#[test]
fn an_unsynchronised_clock_is_flagged_in_the_record() {
    let mut d = Drive::full();
    d.at.wall = UNIX_EPOCH + Duration::from_secs(5);
    d.at.wall_synchronized = false;
    d.send(Event::Start);
    d.send(Event::Cancel);
    let r = d.last();
    assert!(!r.clock.synchronized);
    assert_eq!(r.started_at, "1970-01-01T00:00:05.000Z");
    assert_eq!(r.clock.started_mono_ms, 1_000_000);
}

#[test]
fn ids_and_references_differ_between_visits() {
    let mut d = Drive::full();
    let mut ids = std::collections::HashSet::new();
    let mut refs = std::collections::HashSet::new();
    for _ in 0..200 {
        d.send(Event::Start);
        d.send(Event::Cancel);
        ids.insert(d.last().id);
        refs.insert(d.last().reference.clone());
        d.wait(10.0);
    }
    assert_eq!((ids.len(), refs.len()), (200, 200));
    assert_eq!(d.last().clock.visit_number, 200);
}

#[test]
fn the_survey_is_replaced_only_between_visits() {
    let mut d = Drive::full();
    let mut other = full_survey();
    other.version = "2".into();
    d.send(Event::Start);
    assert!(!d.kiosk.replace_survey(Arc::new(other.clone())));
    d.send(Event::Cancel);
    assert!(d.kiosk.replace_survey(Arc::new(other)));
    d.send(Event::Start);
    d.send(Event::Cancel);
    assert_eq!(d.last().survey_version, "2");
}

#[test]
fn events_that_mean_nothing_here_change_nothing() {
    let mut d = Drive::full();
    for e in [
        Event::Next,
        Event::Back,
        Event::Skip,
        Event::Rate(3),
        Event::Key("a".into()),
        Event::SubmitContact,
        Event::StillHere,
        Event::DismissThanks,
    ] {
        assert!(!d.send(e.clone()), "{e:?} on attract");
    }
    assert!(d.finished.is_empty());
}

#[test]
fn a_staff_call_runs_its_time_and_the_visit_goes_on() {
    let mut d = Drive::full();
    let reaction = d.kiosk.handle(Event::CallStaff, d.at);
    assert_eq!(
        reaction.staff_call, None,
        "no staff call configured: nothing happens"
    );
    assert!(!d.kiosk.can_call_staff());

    let mut d = Drive::full();
    d.kiosk = Kiosk::new(Arc::new(full_survey()), d.kiosk.ids.clone(), 3)
        .with_staff_call(Duration::from_secs(60));
    assert!(d.kiosk.can_call_staff());
    d.send(Event::Start);
    let on = d.kiosk.handle(Event::CallStaff, d.at);
    assert_eq!(on.staff_call, Some(true));
    assert!(on.changed && d.kiosk.help_coming());
    assert_eq!(d.step_id(), "service", "the visitor can go on answering");
    assert_eq!(
        d.kiosk.next_wakeup(),
        Some(d.at.mono + Duration::from_secs(30))
    );
    d.send(Event::Pick("tax".into()));
    // Pressed again half-way: the call is kept on for the full time from then.
    d.at = d.at.later(Duration::from_secs(20));
    d.kiosk.handle(Event::CallStaff, d.at);
    d.at = d.at.later(Duration::from_secs(59));
    assert_eq!(d.kiosk.handle(Event::Tick, d.at).staff_call, None);
    assert!(d.kiosk.help_coming());
    d.at = d.at.later(Duration::from_secs(1));
    let off = d.kiosk.handle(Event::Tick, d.at);
    assert_eq!(off.staff_call, Some(false));
    assert!(off.changed && !d.kiosk.help_coming());
}
