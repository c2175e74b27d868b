//! From the kiosk to the visitor's tracking page, end to end: the real kiosk binary in a real
//! X window (Xvfb, tapped with xdotool where a twin on Slint's testing backend shows each
//! button), provisioned against a real `earshot-collector` process on 127.0.0.1. A visitor
//! asks to be contacted; the kiosk uploads the response, the collector opens a case under the
//! rule for the visit's touchpoint, and the reference on the thanks screen opens the case's
//! tracking page.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use earshot::core::record::{AnswerValue, Outcome};
use earshot::core::visit::Screen;

use crate::common::{self, option_labels, reason_set, TestKiosk};
use crate::net::Collector;
use crate::window::{answers, RealKiosk, HEIGHT, WIDTH};

/// Where visitors reach the collector (its HTTPS proxy, in a deployment): the kiosk's QR code
/// and link lead under it. Nothing listens there in this test; the page is fetched from the
/// collector's own address on the same path.
const PUBLIC_URL: &str = "https://127.0.0.1";

const SITE: &str = "window-test-site";

#[test]
fn a_contact_request_made_in_the_real_window_opens_its_case_on_the_tracking_page() {
    common::on_slint_thread(contact_request_to_tracking_page);
}

/// The test itself, on the Slint thread, where the twin is drawn.
fn contact_request_to_tracking_page() {
    let dir = tempfile::tempdir().expect("a scratch folder");
    let collector = Collector::start(dir.path(), &["--public-url", PUBLIC_URL]);
    assert!(
        collector.addr.ip().is_loopback() && collector.addr.ip().to_string() == "127.0.0.1",
        "the collector listens on 127.0.0.1 only: {}",
        collector.addr
    );
    // The checkout queue's complaints go to a team of their own, on shorter targets.
    let rule = collector.cli(&[
        "case-rule",
        "--site",
        SITE,
        "--service",
        "checkout-queue",
        "--team",
        "front-of-store",
        "--acknowledge-days",
        "2",
        "--reply-days",
        "10",
    ]);
    assert!(
        rule.status.success(),
        "{}",
        String::from_utf8_lossy(&rule.stderr)
    );
    let code = collector.enroll_code(SITE);
    let server = collector.url();
    let upload = format!(
        "[upload]\nserver = \"{server}\"\nconnect_timeout_s = 2\nrequest_timeout_s = 5\n\
         heartbeat_s = 5\ndebounce_s = 0\n"
    );
    let mut kiosk = RealKiosk::start_with(&upload, |files| {
        let out = files
            .earshot(&["provision", "--server", &server, "--code", &code])
            .output()
            .expect("earshot provision runs");
        assert!(
            out.status.success(),
            "provisioning failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    });
    let config = std::fs::read_to_string(&kiosk.config).expect("the kiosk's config");
    assert!(
        config.contains(&format!("tracking_url = \"{PUBLIC_URL}/t/{{ref}}\"")),
        "provisioning wrote the collector's tracking page:\n{config}"
    );
    let log = kiosk.wait_for_log("the thanks screen links to a tracking page");
    assert!(
        log.contains(&format!("{PUBLIC_URL}/t/{{ref}}")),
        "the running kiosk links to the collector's page:\n{log}"
    );

    // The twin runs with the provisioned configuration, so its thanks screen is laid out as
    // the real one is: a QR code and a link.
    let twin = TestKiosk::configured(common::demo_survey("shop"), &common::config(&config));
    assert!(
        twin.has("Start"),
        "elements cannot be found by label: build with SLINT_EMIT_DEBUG_INFO=1 (scripts/test sets it)"
    );
    let touchpoint = option_labels(&twin, "touchpoint")[2].clone();
    let (_, reasons) = reason_set(&twin, "why", 1);

    kiosk.tap(&twin, "Start");
    kiosk.tap(&twin, &touchpoint);
    kiosk.tap(&twin, "Very unhappy");
    kiosk.tap(&twin, &reasons[0]);
    kiosk.tap(&twin, "Next");
    kiosk.tap(&twin, "Skip");
    kiosk.tap(&twin, "Yes, contact me");
    kiosk.type_text(&twin, "Ann");
    kiosk.tap(&twin, "Phone or email");
    kiosk.type_text(&twin, "07700900123");
    kiosk.tap(&twin, "Send");
    kiosk.tap(&twin, "Skip");
    twin.wait_for("the thanks screen", |k| {
        matches!(k.ui.screen(), Screen::Thanks { stored: true, .. })
    });
    let Screen::Thanks {
        reference: twins_reference,
        ..
    } = twin.ui.screen()
    else {
        unreachable!("waited for the thanks screen")
    };
    let qr = twin
        .find("QR code to follow up")
        .pop()
        .expect("the twin's thanks screen shows a QR code");
    let (position, size) = (qr.absolute_position(), qr.size());
    let qr_area = Area {
        x: position.x,
        y: position.y,
        side: size.width,
    };
    assert!(
        (size.width - size.height).abs() < 0.5,
        "a square QR code: {size:?}"
    );

    // The reference the real kiosk gave this visit, as it stored it.
    let record = kiosk.the_one_record();
    let reference = record.reference.clone();
    assert_eq!(record.outcome, Outcome::Completed);
    assert_eq!(record.site_id, SITE);
    assert_eq!(record.service.as_deref(), Some("checkout-queue"));
    match record.answer("contact") {
        Some(AnswerValue::Contact { name, reach, .. }) => {
            assert_eq!((name.as_str(), reach.as_str()), ("Ann", "07700900123"))
        }
        other => panic!("no contact request was recorded: {other:?}"),
    }
    let expected = twin.records().pop().expect("the twin's visit was stored");
    assert_eq!(
        answers(&record),
        answers(&expected),
        "the real window recorded what the same taps record in-process"
    );

    // The real window's thanks screen shows the QR code of that reference's tracking page,
    // where the twin shows its own.
    let link = format!("{PUBLIC_URL}/t/{reference}");
    let deadline = Instant::now() + Duration::from_secs(5);
    let shown = loop {
        let rgb = kiosk.capture();
        if qr_in_window(&rgb, qr_area, &link) {
            break rgb;
        }
        assert!(
            kiosk.kiosk_alive(),
            "the kiosk exited:\n{}",
            kiosk.log_text()
        );
        assert!(
            Instant::now() < deadline,
            "the real window's thanks screen did not show the QR code of {link} at {qr_area:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_ne!(twins_reference, reference, "two visits, two references");
    assert!(
        !qr_in_window(
            &shown,
            qr_area,
            &format!("{PUBLIC_URL}/t/{twins_reference}")
        ),
        "the window's QR code is told apart from another reference's"
    );

    // The kiosk uploads the response by itself, and the collector opened its case.
    wait_until(
        Duration::from_secs(30),
        "the kiosk to upload the response",
        || queue_stats(&kiosk)["acked"] == 1,
    );
    let case = case_at(&collector.db, &reference);
    assert_eq!(
        (
            case.team.as_str(),
            case.reason.as_str(),
            case.state.as_str()
        ),
        ("front-of-store", "contact-request", "new"),
        "the checkout queue's rule decided the case"
    );

    // The reference opens the tracking page: on the collector, on the path the QR code has.
    let path = link
        .strip_prefix(PUBLIC_URL)
        .expect("the link is under the public address");
    let page = get(collector.addr, path);
    assert_eq!(page.status, 200, "{path}: {}", page.body);
    assert_eq!(
        between(&page.body, "<span id=\"reference\">", "</span>"),
        Some(reference.as_str()),
        "{}",
        page.body
    );
    assert_eq!(
        between(&page.body, "<dd id=\"state\">", "</dd>"),
        Some("We have received your feedback and will look at it soon."),
        "the case's state, in plain words in the visit's language: {}",
        page.body
    );
    assert_eq!(
        between(&page.body, "<dd id=\"reply-due\">", "</dd>"),
        Some(case.reply_due.as_str()),
        "{}",
        page.body
    );
    assert_eq!(
        between(&page.body, "<dd id=\"received\">", "</dd>"),
        Some(&case.opened_at[..10]),
        "{}",
        page.body
    );
    for private in ["Ann", "07700900123", "front-of-store"] {
        assert!(
            !page.body.contains(private),
            "the tracking page shows {private:?}: {}",
            page.body
        );
    }
    let welsh = get(collector.addr, &format!("{path}?lang=cy"));
    assert_eq!(welsh.status, 200, "{}", welsh.body);
    assert_eq!(
        between(&welsh.body, "<dd id=\"state\">", "</dd>"),
        Some("Rydym wedi derbyn eich adborth a byddwn yn edrych arno cyn bo hir."),
        "{}",
        welsh.body
    );

    kiosk.stop();
}

/// A square on screen, in window pixels.
#[derive(Debug, Clone, Copy)]
struct Area {
    x: f32,
    y: f32,
    side: f32,
}

/// Whether the window's pixels in `area` are the QR code of `text` (at any error correction
/// level, with the standard quiet zone of four modules), read at each module's centre.
fn qr_in_window(rgb: &[u8], area: Area, text: &str) -> bool {
    use qrcodegen::{QrCode, QrCodeEcc};
    const QUIET: i32 = 4;
    assert_eq!(rgb.len(), (WIDTH * HEIGHT * 3) as usize, "a whole window");
    let dark = |x: f32, y: f32| {
        let (x, y) = (x as usize, y as usize);
        let i = (y * WIDTH as usize + x) * 3;
        let luma = (u32::from(rgb[i]) + u32::from(rgb[i + 1]) + u32::from(rgb[i + 2])) / 3;
        luma < 128
    };
    [
        QrCodeEcc::Low,
        QrCodeEcc::Medium,
        QrCodeEcc::Quartile,
        QrCodeEcc::High,
    ]
    .into_iter()
    .any(|ecc| {
        let code = QrCode::encode_text(text, ecc).expect("the link fits a QR code");
        let modules = code.size() + 2 * QUIET;
        let module = area.side / modules as f32;
        (0..modules).all(|my| {
            (0..modules).all(|mx| {
                let x = area.x + (mx as f32 + 0.5) * module;
                let y = area.y + (my as f32 + 0.5) * module;
                dark(x, y) == code.get_module(mx - QUIET, my - QUIET)
            })
        })
    })
}

fn queue_stats(kiosk: &RealKiosk) -> serde_json::Value {
    let out = kiosk
        .earshot(&["queue", "stats", "--json"])
        .output()
        .expect("earshot queue stats runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("queue stats as JSON")
}

fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A case as the collector stored it.
struct Case {
    team: String,
    reason: String,
    state: String,
    opened_at: String,
    reply_due: String,
}

/// The case of `reference` in the collector's database, read as it is, without the server.
fn case_at(db: &Path, reference: &str) -> Case {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("the collector's database opens");
    conn.query_row(
        "SELECT team, reason, state, opened_at, reply_due FROM cases WHERE reference = ?1",
        [reference],
        |r| {
            Ok(Case {
                team: r.get(0)?,
                reason: r.get(1)?,
                state: r.get(2)?,
                opened_at: r.get(3)?,
                reply_due: r.get(4)?,
            })
        },
    )
    .unwrap_or_else(|e| panic!("no case for {reference} at the collector: {e}"))
}

struct Reply {
    status: u16,
    body: String,
}

/// A plain HTTP/1.1 GET to the collector on 127.0.0.1.
fn get(addr: SocketAddr, path: &str) -> Reply {
    use std::io::{Read, Write};
    assert_eq!(addr.ip().to_string(), "127.0.0.1");
    let mut stream = std::net::TcpStream::connect(addr).expect("the collector takes connections");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a read timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .expect("the request is sent");
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).expect("the reply is read");
    let reply = String::from_utf8_lossy(&reply).into_owned();
    let (head, body) = reply.split_once("\r\n\r\n").unwrap_or((&reply, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP reply: {reply}"));
    Reply {
        status,
        body: body.to_string(),
    }
}

/// The text between `start` and the next `end`.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}
