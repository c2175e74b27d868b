//! Whole visits through the real Slint UI (testing backend, mock time): taps found by
//! accessible label, records read back from the real response file.

use std::sync::Arc;
use std::time::Duration;

use earshot::core::record::{AnswerValue, Outcome};
use earshot::core::survey::StepKind;
use earshot::core::visit::Screen;
use earshot::hardware::{HardwareAction, StatusLight};
use earshot::seams::alarms::AlarmKind;
use earshot::seams::scan::ChannelScanner;
use earshot::storage::{Queue, QueueSink};
use earshot::ui::ThanksAdapter;
use slint::ComponentHandle;

use crate::common::{self, advance, option_labels, reason_set, TestKiosk};
use crate::serial;

/// One test function, its scenarios in turn, each with a fresh kiosk, on the Slint thread:
/// Slint's testing backend with an event loop can be set up only once per process.
#[test]
fn visits_through_the_touchscreen() {
    common::on_slint_thread(|| {
        shop_visit_completed_by_taps();
        council_visit_with_statements_and_declined_contact();
        still_there_extends_and_idle_times_out();
        language_changes_mid_visit();
        start_again_abandons_the_visit();
        records_carry_the_boot_and_its_clock();
        a_store_failure_is_told_honestly_and_alarmed();
        a_receipt_scanned_over_serial_at_attract_makes_a_completed_visit();
        staff_call_night_blanking_and_the_status_light();
        the_thanks_screen_links_to_the_chosen_tracking_page();
    });
}

/// The keyed transaction the test kiosks make of a receipt code.
fn transaction_of(code: &str) -> String {
    use earshot::core::receipt::{judge, ReceiptRules, ScanVerdict};
    let rules = ReceiptRules::examples(common::RECEIPT_SECRET.to_vec());
    let today = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        / 86_400;
    match judge(code, &rules.patterns, today, 30) {
        ScanVerdict::Receipt(r) => rules.transaction(&r),
        other => panic!("{code}: {other:?}"),
    }
}

fn shop_visit_completed_by_taps() {
    let k = TestKiosk::new("shop");
    let (scans, scanner) = ChannelScanner::new();
    k.ui.attach_scanner(Box::new(scanner));
    assert!(
        k.has(&k.en(&k.survey.attract.title)),
        "attract shows the survey's title"
    );
    assert!(
        k.has("English") && k.has("中文") && k.has("Cymraeg") && k.has("Polski"),
        "{:#?}",
        common::labels_on_screen(&k)
    );

    k.tap("Start");
    let touchpoints = option_labels(&k, "touchpoint");
    assert!(k.has(&touchpoints[2]), "{touchpoints:?}");
    k.tap(&touchpoints[2]);

    assert_eq!(k.ui.screen(), Screen::Step(1));
    k.tap("Very unhappy");
    let (question, reasons) = reason_set(&k, "why", 1);
    assert!(k.has(&question), "low ratings ask {question:?}");
    k.tap(&reasons[0]);
    k.tap(&reasons[1]);
    k.tap(&reasons[1]);
    k.tap(&reasons[2]);
    k.tap("Next");

    k.type_text("Slow queue");
    k.tap("Next");

    k.tap("Yes, contact me");
    k.type_text("Ann");
    k.tap("Phone or email");
    k.type_text("07700 900123");
    k.tap("Send");

    assert!(matches!(k.ui.screen(), Screen::Step(_)), "receipt prompt");
    scans.send(common::receipt_url("000991")).unwrap();
    k.wait_for("the thanks screen", |k| {
        matches!(k.ui.screen(), Screen::Thanks { .. })
    });

    let records = k.records();
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(r.outcome, Outcome::Completed);
    assert_eq!(r.service.as_deref(), Some("checkout-queue"));
    assert_eq!(
        (r.site_id.as_str(), r.device_id.as_str()),
        ("test-site", "test-kiosk")
    );
    assert_eq!(
        r.answer("overall"),
        Some(&AnswerValue::Rating {
            scale: "smiley5".into(),
            value: 1
        })
    );
    let StepKind::Reasons { sets, .. } = &k.survey.step("why").unwrap().kind else {
        panic!()
    };
    let ids: Vec<String> = [0, 2]
        .iter()
        .map(|&i| sets[0].options[i].id.clone())
        .collect();
    assert_eq!(r.answer("why"), Some(&AnswerValue::Choice { options: ids }));
    assert_eq!(
        r.answer("comment"),
        Some(&AnswerValue::Text {
            text: "Slow queue".into()
        })
    );
    match r.answer("contact") {
        Some(AnswerValue::Contact { name, reach, .. }) => {
            assert_eq!((name.as_str(), reach.as_str()), ("Ann", "07700 900123"))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        r.receipt_transaction(),
        Some(transaction_of(&common::receipt_url("000991")).as_str())
    );
    assert!(
        k.has(&r.reference),
        "the thanks screen shows the stored record's reference {}",
        r.reference
    );

    advance(Duration::from_secs(7));
    assert_eq!(
        k.ui.screen(),
        Screen::Attract,
        "back to attract after the thanks dwell"
    );
}

fn council_visit_with_statements_and_declined_contact() {
    let k = TestKiosk::new("council");
    k.tap("Start");
    let services = option_labels(&k, "service");
    k.tap(&services[2]);
    k.tap("Happy");
    let (question, reasons) = reason_set(&k, "why", 3);
    assert!(k.has(&question), "{question}");
    k.tap(&reasons[0]);
    k.tap("Next");
    let channels = option_labels(&k, "channel");
    k.tap(&channels[0]);
    k.tap("Agree");
    k.tap("Strongly agree");
    k.tap("Skip");
    k.tap("No thanks");
    k.wait_for("the thanks screen", |k| {
        matches!(k.ui.screen(), Screen::Thanks { .. })
    });
    k.tap("Done");
    assert_eq!(k.ui.screen(), Screen::Attract);

    let r = &k.records()[0];
    assert_eq!(r.outcome, Outcome::Completed);
    assert_eq!(r.service.as_deref(), Some("parking"));
    assert_eq!(
        r.answer("overall"),
        Some(&AnswerValue::Rating {
            scale: "smiley4".into(),
            value: 3
        })
    );
    assert_eq!(r.answer("fair"), Some(&AnswerValue::Agree { value: 4 }));
    assert_eq!(r.answer("easy"), Some(&AnswerValue::Agree { value: 5 }));
    assert_eq!(r.answer("comment"), Some(&AnswerValue::Skipped));
    assert_eq!(r.answer("contact"), Some(&AnswerValue::Skipped));
}

fn still_there_extends_and_idle_times_out() {
    let k = TestKiosk::new("shop");
    k.tap("Start");
    k.tap(&option_labels(&k, "touchpoint")[0]);
    advance(Duration::from_secs(29));
    assert!(!k.has("I'm still here"));
    advance(Duration::from_secs(2));
    assert!(k.has("I'm still here"), "prompt after 30 s idle");
    k.tap("I'm still here");
    assert_eq!(
        k.ui.screen(),
        Screen::Step(1),
        "the visit goes on where it was"
    );
    advance(Duration::from_secs(25));
    assert_eq!(
        k.ui.screen(),
        Screen::Step(1),
        "the idle time started again"
    );
    advance(Duration::from_secs(21));
    k.wait_for("the timed-out record", |k| !k.records().is_empty());
    assert_eq!(k.ui.screen(), Screen::Attract);

    // The language can be changed from the prompt too, and that counts as being there.
    k.tap("Start");
    advance(Duration::from_secs(31));
    assert!(k.has("I'm still here"));
    k.tap("Language");
    assert_eq!(k.ui.screen(), Screen::Language);
    k.tap("Polski");
    assert_eq!(k.ui.screen(), Screen::Step(0));
    k.tap(&common::translated("pl", "Start again"));
    let r = &k.records()[0];
    assert_eq!(r.outcome, Outcome::Timeout);
    assert_eq!(r.answers.len(), 1, "the answer given is kept");
}

fn language_changes_mid_visit() {
    let k = TestKiosk::new("shop");
    k.tap("Start");
    let question_cy = k.survey.step("touchpoint").map(|s| match &s.kind {
        StepKind::Service { question, .. } => question.get("cy", "en").to_string(),
        _ => unreachable!(),
    });
    assert!(k.has("Skip"));
    k.tap("Language");
    assert_eq!(k.ui.screen(), Screen::Language);
    k.tap("Cymraeg");
    assert_eq!(k.ui.screen(), Screen::Step(0), "the visit goes on");
    assert!(
        k.has(question_cy.as_deref().unwrap()),
        "the survey text is Welsh"
    );
    assert!(!k.has("Skip"), "the interface strings are translated too");
    assert!(k.has(&common::translated("cy", "Skip")));
    k.tap("Cymraeg");
    k.tap("English");
    assert!(k.has("Skip"));
}

fn start_again_abandons_the_visit() {
    let k = TestKiosk::new("shop");
    k.tap("Start");
    k.tap(&option_labels(&k, "touchpoint")[1]);
    k.tap("Happy");
    k.tap("Start again");
    assert_eq!(k.ui.screen(), Screen::Attract);
    k.wait_for("the abandoned record", |k| !k.records().is_empty());
    let r = &k.records()[0];
    assert_eq!(r.outcome, Outcome::Abandoned);
    assert_eq!(r.answers.len(), 2);
}

/// Each record carries the device's boot and where the boot's clock stood at the start and
/// the end of the visit, kept in the response file like the rest. (With mock time, the
/// boot's clock runs with the kiosk's from where both stood when the kiosk was made.)
fn records_carry_the_boot_and_its_clock() {
    let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    let before = earshot::system::clock::since_boot().unwrap().as_millis() as u64;
    let k = TestKiosk::new("shop");
    advance(Duration::from_secs(5));
    k.tap("Start");
    k.tap(&option_labels(&k, "touchpoint")[1]);
    advance(Duration::from_secs(3));
    k.tap("Start again");
    k.wait_for("the abandoned record", |k| !k.records().is_empty());
    let r = &k.records()[0];
    assert_eq!(
        r.clock.boot_id.map(|b| b.to_string()).as_deref(),
        Some(boot_id.trim())
    );
    let (start, finish) = (
        r.clock.started_boot_ms.unwrap(),
        r.clock.finished_boot_ms.unwrap(),
    );
    assert_eq!(finish - start, r.clock.duration_ms());
    assert!(finish - start >= 3000, "{start}..{finish}");
    assert!(
        start >= before + 5000,
        "{start} against {before} at the start"
    );
    let stored = Queue::open_read_only(&k.responses)
        .unwrap()
        .export(None)
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&stored.rows[0].record_json).unwrap();
    assert_eq!(json["clock"]["boot_id"], boot_id.trim());
    assert_eq!(json["clock"]["started_boot_ms"], start);
}

fn a_store_failure_is_told_honestly_and_alarmed() {
    // A store at its size limit: SQLite refuses the next record as "full".
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("responses.db");
    let queue = Arc::new(Queue::open(&path).unwrap().queue);
    let limit = 96 * 1024;
    queue.set_max_db_bytes(Some(limit)).unwrap();
    // Fill it with ever smaller records until not even a small one fits.
    let mut filler = 0u64;
    for size in [8192, 1024, 128, 16] {
        while queue.enqueue(&filler_record(filler, size)).is_ok() {
            filler += 1;
        }
    }
    let alarms = earshot::seams::alarms::Alarms::default();
    let sink = Arc::new(QueueSink::start(queue, alarms, limit));
    // A kiosk with a tracking page: an answer that was not kept has nothing to follow up.
    let k = TestKiosk::build(
        common::demo_survey("council"),
        &common::config(PROVISIONED),
        sink,
        path,
        dir,
    );
    k.tap("Start");
    k.tap("Skip");
    k.tap("Very happy");
    k.tap("Skip");
    k.tap(&option_labels(&k, "channel")[3]);
    k.tap("Skip");
    k.tap("Skip");
    k.tap("Skip");
    k.tap("No thanks");
    k.wait_for("the thanks screen", |k| {
        matches!(k.ui.screen(), Screen::Thanks { .. })
    });
    assert!(
        matches!(k.ui.screen(), Screen::Thanks { stored: false, .. }),
        "{:?}",
        k.ui.screen()
    );
    assert_eq!(
        k.records().len() as u64,
        filler,
        "only the fillers are stored"
    );
    assert!(k.alarms.is_active(AlarmKind::ResponseNotStored));
    assert!(k
        .hardware
        .actions()
        .contains(&HardwareAction::StatusLight(StatusLight::Alarm)));
    let thanks = k.ui.window.global::<ThanksAdapter>();
    assert!(!thanks.get_has_qr() && thanks.get_tracking_link().is_empty());
    assert!(!k.has("QR code to follow up"));
}

/// A stored record of about `size` bytes of comment.
fn filler_record(n: u64, size: usize) -> earshot::core::record::ResponseRecord {
    earshot_protocol::testing::record_with_comment(n, "x".repeat(size))
}

fn a_receipt_scanned_over_serial_at_attract_makes_a_completed_visit() {
    use earshot::scanner::frame::Framing;
    use earshot::scanner::serial::{SerialScanner, SerialSettings};

    let k = TestKiosk::new("shop");
    let dir = tempfile::tempdir().unwrap();
    let cable = serial::Cable::plug(dir.path());
    let scanner = SerialScanner::new(
        SerialSettings {
            port: cable.scanner.to_string_lossy().into_owned(),
            usb_id: None,
            baud: 9600,
            framing: Framing::Cr,
            max_frame_bytes: 512,
        },
        k.alarms.clone(),
    );
    k.ui.attach_scanner(Box::new(scanner));
    let not_a_receipt =
        "That doesn't look like a receipt. Please scan the barcode on your receipt.";
    let already = "We already have your feedback for this receipt, thank you.";

    // A product barcode first: explained, and no visit starts.
    cable.write(b"4006381333931\r");
    k.wait_for("the not-a-receipt message", |k| k.has(not_a_receipt));
    assert_eq!(k.ui.screen(), Screen::Attract);
    advance(Duration::from_secs(7));
    assert!(!k.has(not_a_receipt), "the message goes by itself");

    // The receipt, in two fragments as a slow scanner sends it.
    let code = common::receipt_url("UI7788");
    let (first, rest) = code.split_at(20);
    cable.write(first.as_bytes());
    std::thread::sleep(Duration::from_millis(50));
    cable.write(format!("{rest}\r").as_bytes());
    k.wait_for("the visit started by the scan", |k| {
        k.ui.screen() == Screen::Step(0)
    });

    k.tap(&option_labels(&k, "touchpoint")[0]);
    k.tap("Very happy");
    let (_, reasons) = reason_set(&k, "why", 5);
    k.tap(&reasons[0]);
    k.tap("Next");
    k.tap("Skip");
    k.tap("No thanks");
    k.wait_for("the thanks screen", |k| {
        matches!(k.ui.screen(), Screen::Thanks { .. })
    });
    let records = k.records();
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(r.outcome, Outcome::Completed);
    assert_eq!(
        r.answer("receipt"),
        Some(&AnswerValue::Receipt {
            transaction: Some(transaction_of(&code)),
            pattern: Some("e-receipt link (QR)".into()),
            store: None,
            till: None,
            txn: None,
            date: None,
            time: None,
            code: None,
        }),
        "the receipt step was answered by the scan, and only its keyed form is kept"
    );
    // The database and its write-ahead log, where a fresh record is.
    let mut stored = std::fs::read(&k.responses).unwrap();
    stored.extend(std::fs::read(k.responses.with_extension("db-wal")).unwrap_or_default());
    let stored = String::from_utf8_lossy(&stored);
    assert!(
        stored.contains(&transaction_of(&code)),
        "the record was read"
    );
    assert!(
        !stored.contains("UI7788"),
        "the receipt number is nowhere in the response files"
    );

    // The same receipt again: thanked, not asked twice; the queue remembers it too.
    k.tap("Done");
    cable.write(format!("{code}\r").as_bytes());
    k.wait_for("the already-given message", |k| k.has(already));
    assert_eq!(k.ui.screen(), Screen::Attract);
    let queue = Queue::open(&k.responses).unwrap().queue;
    assert_eq!(
        queue
            .used_receipts(
                Duration::from_secs(31 * 86_400),
                std::time::SystemTime::now()
            )
            .unwrap(),
        vec![transaction_of(&code)]
    );
}

fn staff_call_night_blanking_and_the_status_light() {
    // Night all day, so that the schedule holds whenever the test runs.
    common::with_blanking(earshot::core::blanking::Night {
        from_minute: 0,
        until_minute: 0,
        after_idle: Duration::from_secs(300),
    });
    let k = TestKiosk::new("shop");
    let (scans, scanner) = ChannelScanner::new();
    k.ui.attach_scanner(Box::new(scanner));
    let coming = "Someone is coming to help you.";
    let dark = "Wake the screen";
    let calls = |k: &TestKiosk| {
        k.hardware
            .actions()
            .into_iter()
            .filter(|a| matches!(a, HardwareAction::StaffCall(_)))
            .collect::<Vec<_>>()
    };

    // "I need help now": the staff-call output goes on for its time, and the screen says so.
    k.tap("I need help now");
    assert_eq!(
        k.ui.screen(),
        Screen::Attract,
        "the button does not start a visit"
    );
    assert!(k.has(coming));
    assert_eq!(calls(&k), vec![HardwareAction::StaffCall(true)]);
    advance(common::STAFF_CALL - Duration::from_secs(1));
    assert!(k.has(coming));
    advance(Duration::from_secs(2));
    assert!(!k.has(coming));
    assert_eq!(
        calls(&k),
        vec![
            HardwareAction::StaffCall(true),
            HardwareAction::StaffCall(false)
        ]
    );

    // Left alone at night, the screen goes dark; the first tap only wakes it.
    assert!(!k.has(dark));
    advance(Duration::from_secs(300));
    assert!(k.has(dark), "dark after five idle minutes at night");
    k.tap(dark);
    assert!(!k.has(dark));
    assert_eq!(
        k.ui.screen(),
        Screen::Attract,
        "the waking tap starts nothing"
    );
    // The wake input (a button or motion sensor) wakes it too...
    advance(Duration::from_secs(330));
    assert!(k.has(dark));
    k.hardware.wake();
    k.wait_for("the wake input to light the screen", |k| !k.has(dark));
    // ...and so does a receipt scan, which also starts the visit.
    advance(Duration::from_secs(330));
    assert!(k.has(dark));
    scans.send(common::receipt_url("NIGHT1")).unwrap();
    k.wait_for("the scan to wake the screen and start a visit", |k| {
        !k.has(dark) && k.ui.screen() == Screen::Step(0)
    });
    k.tap("Start again");
    // During a visit the screen never goes dark.
    k.tap("Start");
    advance(Duration::from_secs(25));
    assert!(!k.has(dark));
    k.tap("Start again");

    // The status light follows the alarms, whichever thread raises them.
    let light = |k: &TestKiosk| {
        k.hardware
            .actions()
            .into_iter()
            .rev()
            .find_map(|a| match a {
                HardwareAction::StatusLight(l) => Some(l),
                _ => None,
            })
    };
    assert_eq!(light(&k), Some(StatusLight::Ok));
    let alarms = k.alarms.clone();
    std::thread::spawn(move || {
        alarms.raise(AlarmKind::UploadFailing, "the collector is down", "wait")
    })
    .join()
    .unwrap();
    k.wait_for("the backlog light", |k| {
        light(k) == Some(StatusLight::Backlog)
    });
    k.alarms
        .raise(AlarmKind::ScannerUnavailable, "unplugged", "plug it in");
    k.wait_for("the alarm light", |k| light(k) == Some(StatusLight::Alarm));
    k.alarms.clear(AlarmKind::ScannerUnavailable);
    k.alarms.clear(AlarmKind::UploadFailing);
    k.wait_for("the light back to ok", |k| {
        light(k) == Some(StatusLight::Ok)
    });
}

/// A kiosk provisioned with a collector that has a tracking page, as `earshot provision`
/// writes it.
const PROVISIONED: &str = "[device]\nid = \"test-kiosk\"\nsite = \"test-site\"\n\n[upload]\nserver = \"https://feedback.example.org\"\ntracking_url = \"https://feedback.example.org/t/{ref}\"\n";

/// A kiosk with no collector.
const STANDALONE: &str = "[device]\nid = \"test-kiosk\"\nsite = \"test-site\"\n";

/// The shop survey with a tracking page of its own.
fn shop_with_its_own_tracking_page() -> Arc<earshot::core::survey::Survey> {
    let text = earshot::files::config::demo_survey("shop")
        .unwrap()
        .replace(
            "[thanks]\n",
            "[thanks]\ntracking_url = \"https://shop.example.com/r/{ref}\"\n",
        );
    let survey = earshot::core::survey::parse(&text, "shop.toml").unwrap();
    assert!(survey.thanks.tracking_url.is_some());
    Arc::new(survey)
}

/// The quickest completed shop visit; returns the reference the thanks screen shows.
fn quick_shop_visit(k: &TestKiosk) -> String {
    k.tap("Start");
    k.tap(&option_labels(k, "touchpoint")[0]);
    k.tap("Very happy");
    k.tap("Next");
    k.tap("Skip");
    k.tap("No thanks");
    k.tap("Skip");
    k.wait_for("the thanks screen", |k| {
        matches!(k.ui.screen(), Screen::Thanks { .. })
    });
    match k.ui.screen() {
        Screen::Thanks {
            reference,
            stored: true,
        } => reference,
        other => panic!("{other:?}"),
    }
}

/// Checks that `image` is the QR code of `text`: module by module against the code encoded
/// afresh, at any error correction level, with the standard quiet zone of four modules.
fn assert_qr_of(image: &slint::Image, text: &str) {
    use qrcodegen::{QrCode, QrCodeEcc};
    let pixels = image.to_rgb8().expect("the QR code is an RGB image");
    let side = pixels.width();
    assert_eq!(side, pixels.height(), "a square");
    const QUIET: i32 = 4;
    let dark = |x: u32, y: u32| pixels.as_slice()[(y * side + x) as usize].r < 128;
    let matches = [
        QrCodeEcc::Low,
        QrCodeEcc::Medium,
        QrCodeEcc::Quartile,
        QrCodeEcc::High,
    ]
    .into_iter()
    .any(|ecc| {
        let code = QrCode::encode_text(text, ecc).unwrap();
        let modules = (code.size() + 2 * QUIET) as u32;
        if !side.is_multiple_of(modules) {
            return false;
        }
        let px = side / modules;
        (0..modules).all(|my| {
            (0..modules).all(|mx| {
                dark(mx * px + px / 2, my * px + px / 2)
                    == code.get_module(mx as i32 - QUIET, my as i32 - QUIET)
            })
        })
    });
    assert!(
        matches,
        "the QR code on the thanks screen is not one of {text:?}"
    );
}

/// The thanks screen's QR code and link lead to the provisioned collector's tracking page,
/// else to the survey's own, else there is neither.
fn the_thanks_screen_links_to_the_chosen_tracking_page() {
    let provisioned = common::config(PROVISIONED);
    let standalone = common::config(STANDALONE);
    let cases = [
        (
            "a provisioned kiosk whose survey has a page of its own",
            shop_with_its_own_tracking_page(),
            &provisioned,
            Some("https://feedback.example.org/t/"),
        ),
        (
            "a provisioned kiosk whose survey has none",
            common::demo_survey("shop"),
            &provisioned,
            Some("https://feedback.example.org/t/"),
        ),
        (
            "a kiosk without a collector's page",
            shop_with_its_own_tracking_page(),
            &standalone,
            Some("https://shop.example.com/r/"),
        ),
        (
            "a kiosk with neither",
            common::demo_survey("shop"),
            &standalone,
            None,
        ),
    ];
    for (what, survey, config, expected) in cases {
        let k = TestKiosk::configured(survey, config);
        let reference = quick_shop_visit(&k);
        assert!(k.has(&reference), "{what}: the reference is shown");
        let thanks = k.ui.window.global::<ThanksAdapter>();
        match expected {
            Some(page) => {
                let url = format!("{page}{reference}");
                assert!(thanks.get_has_qr(), "{what}: a QR code");
                assert!(
                    k.has("QR code to follow up"),
                    "{what}: the QR code is on screen"
                );
                assert_qr_of(&thanks.get_qr(), &url);
                assert_eq!(thanks.get_tracking_link(), url.as_str(), "{what}");
                assert!(
                    k.has(&format!("or visit {url}")),
                    "{what}: the link is shown under the code: {:#?}",
                    common::labels_on_screen(&k)
                );
            }
            None => {
                assert!(!thanks.get_has_qr(), "{what}: no QR code");
                assert!(
                    !k.has("QR code to follow up"),
                    "{what}: no QR code on screen"
                );
                assert_eq!(thanks.get_tracking_link(), "", "{what}: no link");
                let labels = common::labels_on_screen(&k);
                assert!(
                    !labels
                        .iter()
                        .any(|l| l.contains("or visit") || l.contains("https://")),
                    "{what}: no link on screen: {labels:#?}"
                );
            }
        }
        k.tap("Done");
        assert_eq!(k.ui.screen(), Screen::Attract, "{what}");
    }
}
