//! The kiosk as a visitor meets it: the real binary in a real X window on a virtual display
//! (Xvfb), tapped with xdotool. Where each button is comes from the same visit run alongside
//! on Slint's testing backend at the same size: with no window manager and no decorations the
//! window's pixels are Slint's logical pixels, so an element's centre there is the place to
//! tap here.

use std::time::{Duration, Instant};

use earshot::core::record::Outcome;
use earshot::core::visit::Screen;

use crate::common::{self, option_labels, reason_set, TestKiosk};
use crate::window::{answers, RealKiosk};

#[test]
fn a_visit_by_taps_in_a_real_window() {
    common::on_slint_thread(visit_by_taps);
}

/// The test itself, on the Slint thread, where the twin is drawn.
fn visit_by_taps() {
    let started = Instant::now();
    let twin = TestKiosk::new("shop");
    assert!(
        twin.has("Start"),
        "elements cannot be found by label: build with SLINT_EMIT_DEBUG_INFO=1 (scripts/test sets it)"
    );
    let mut kiosk = RealKiosk::start();

    let touchpoint = option_labels(&twin, "touchpoint")[2].clone();
    let (reason_question, reasons) = reason_set(&twin, "why", 1);

    kiosk.tap(&twin, "Start");
    kiosk.tap(&twin, &touchpoint);
    kiosk.tap(&twin, "Very unhappy");
    assert!(
        twin.has(&reason_question),
        "a low rating asks {reason_question:?}"
    );
    kiosk.tap(&twin, &reasons[0]);
    kiosk.tap(&twin, "Next");
    kiosk.type_text(&twin, "Slow");
    kiosk.tap(&twin, "Next");
    kiosk.tap(&twin, "No thanks");
    kiosk.tap(&twin, "Skip");

    twin.wait_for("the thanks screen", |k| {
        matches!(k.ui.screen(), Screen::Thanks { .. })
    });
    let expected = twin
        .records()
        .pop()
        .expect("the in-process visit was stored");

    let record = kiosk.the_one_record();
    assert_eq!(record.outcome, Outcome::Completed);
    assert_eq!(
        (record.site_id.as_str(), record.device_id.as_str()),
        ("window-test-site", "window-test-kiosk")
    );
    assert_eq!(record.service.as_deref(), Some("checkout-queue"));
    assert_eq!(
        answers(&record),
        answers(&expected),
        "the real window recorded what the same taps record in-process"
    );
    assert!(
        answers(&record).contains(&(
            "overall".into(),
            serde_json::json!({"type": "rating", "scale": "smiley5", "value": 1})
        )),
        "{:?}",
        answers(&record)
    );
    assert!(
        answers(&record).contains(&(
            "comment".into(),
            serde_json::json!({"type": "text", "text": "Slow"})
        )),
        "{:?}",
        answers(&record)
    );

    let log = kiosk.wait_for_log("response stored");
    assert!(
        log.contains("visit finished"),
        "the kiosk's log tells of the visit:\n{log}"
    );
    assert!(
        log.contains(&record.id.to_string()),
        "the log names the stored response {}:\n{log}",
        record.id
    );

    kiosk.check_screenshot();
    kiosk.stop();
    assert!(
        started.elapsed() < Duration::from_secs(50),
        "took {:?}",
        started.elapsed()
    );
}
