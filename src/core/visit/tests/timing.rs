//! Time: the idle timeout and "Still there?", timeouts at every step, and the misuse interval.

use super::*;

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
