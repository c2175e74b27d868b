//! What works in every phase: the language screen, the staff call, the survey in force, and
//! events that mean nothing where they arrive.

use super::*;

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
