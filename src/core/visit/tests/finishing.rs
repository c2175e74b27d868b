//! The end of a visit: the record, "Saving…" and the thanks screen, cancelling, the clocks.

use super::*;

/// Answers every step of the full survey, checking each step comes in order, up to "Saving…".
fn answer_every_step(d: &mut Drive) {
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
}

#[test]
fn a_complete_visit_records_every_answer_in_order() {
    let mut d = Drive::full();
    answer_every_step(&mut d);

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
fn the_record_carries_the_boot_and_its_clock_at_the_start_and_end() {
    let mut d = Drive::full();
    let boot = uuid::Uuid::from_u128(0x6c1e0c1a_3b1f_4a53_9a55_1f3bd1c0e0aa);
    d.at.wall = UNIX_EPOCH + Duration::from_secs(70);
    d.at.wall_synchronized = false;
    d.at.boot = Some(crate::core::record::BootReading {
        id: boot,
        elapsed: Duration::from_secs(70),
    });
    d.wait(5.0);
    d.send(Event::Start);
    d.wait(2.5);
    d.send(Event::Cancel);
    let r = d.last().clone();
    assert_eq!(r.clock.boot_id, Some(boot));
    assert_eq!(r.clock.started_boot_ms, Some(75_000));
    assert_eq!(r.clock.finished_boot_ms, Some(77_500));
    assert_eq!(r.started_at, "1970-01-01T00:01:15.000Z");
    // A visit left alone ends when the prompt ran out, on the boot's clock as on the others.
    d.wait(60.0);
    d.send(Event::Start);
    let idle = full_survey().timing;
    d.wait(f64::from(idle.idle_timeout_s + idle.still_there_s) + 100.0);
    let r = d.last();
    assert_eq!(r.outcome, Outcome::Timeout);
    let boot_span = r.clock.finished_boot_ms.unwrap() - r.clock.started_boot_ms.unwrap();
    assert_eq!(boot_span, r.clock.duration_ms());
    assert_eq!(r.clock.started_boot_ms, Some(137_500));
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
