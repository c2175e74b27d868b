//! Scans: a receipt starts or joins a visit, anything else is explained; one response per
//! receipt.

use super::*;

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
