//! Renders every screen with the software renderer at the sizes the kiosk ships for, writes
//! the 800x480 and 1280x800 pictures to docs/screenshots/, and checks each one: not blank,
//! the expected labels present, every touch target at least 80 px and inside the window.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use earshot::core::record::ResponseRecord;
use earshot::core::visit::Screen;
use earshot::seams::sink::{ResponseSink, StoreCallback};
use earshot::storage::QueueSink;
use i_slint_backend_testing::{AccessibleRole, ElementHandle, ElementQuery};
use slint::ComponentHandle;

use crate::common::{self, advance, TestKiosk};

const SIZES: &[(u32, u32)] = &[
    (800, 480),
    (1280, 800),
    (1024, 600),
    (1920, 1080),
    (480, 800),
];
/// Sizes whose pictures are kept in docs/screenshots (the README shows them).
const KEPT: &[(u32, u32)] = &[(800, 480), (1280, 800)];

/// Holds completed records until released, so the "saving" screen can be photographed.
struct GatedSink {
    inner: QueueSink,
    held: Mutex<Vec<(ResponseRecord, StoreCallback)>>,
    open: Mutex<bool>,
}

impl ResponseSink for GatedSink {
    fn submit(&self, record: ResponseRecord, done: StoreCallback) {
        if *self.open.lock().unwrap() {
            self.inner.submit(record, done);
        } else {
            self.held.lock().unwrap().push((record, done));
        }
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
}

impl GatedSink {
    fn release(&self) {
        *self.open.lock().unwrap() = true;
        for (record, done) in self.held.lock().unwrap().drain(..) {
            self.inner.submit(record, done);
        }
    }
}

struct Shooter {
    out: PathBuf,
    shots: usize,
}

impl Shooter {
    /// Photographs the current screen at every size and checks it.
    fn shoot(&mut self, k: &TestKiosk, name: &str, labels: &[&str]) {
        self.check(k, name, labels, true);
    }

    /// Checks the current screen at every size; with `keep`, the pictures of the sizes the
    /// README shows are written.
    fn check(&mut self, k: &TestKiosk, name: &str, labels: &[&str], keep: bool) {
        for &(w, h) in SIZES {
            k.ui.window
                .window()
                .set_size(slint::PhysicalSize::new(w, h));
            advance(Duration::from_millis(20));
            let shot =
                k.ui.window
                    .window()
                    .take_snapshot()
                    .expect("the software renderer draws");
            assert_eq!((shot.width(), shot.height()), (w, h));
            check_not_blank(shot.as_bytes(), name, w, h);
            for label in labels {
                assert!(k.has(label), "{name} at {w}x{h}: no {label:?} on screen");
            }
            check_touch_targets(k, name, w, h);
            if keep && KEPT.contains(&(w, h)) {
                let path = self.out.join(format!("{name}-{w}x{h}.png"));
                write_png(&path, shot.as_bytes(), w, h);
                self.shots += 1;
            }
        }
        k.ui.window
            .window()
            .set_size(slint::PhysicalSize::new(800, 480));
        advance(Duration::from_millis(20));
    }
}

fn check_not_blank(rgba: &[u8], name: &str, w: u32, h: u32) {
    let mut colours = std::collections::HashSet::new();
    let mut differing = 0usize;
    let first = &rgba[..4];
    for px in rgba.chunks_exact(4) {
        if colours.len() < 64 {
            colours.insert([px[0], px[1], px[2]]);
        }
        if px != first {
            differing += 1;
        }
    }
    let total = (w * h) as usize;
    assert!(
        colours.len() >= 16,
        "{name} at {w}x{h}: only {} colours — blank?",
        colours.len()
    );
    assert!(
        differing * 50 > total,
        "{name} at {w}x{h}: almost one flat colour"
    );
}

fn check_touch_targets(k: &TestKiosk, name: &str, w: u32, h: u32) {
    let targets: Vec<ElementHandle> = ElementQuery::from_root(&k.ui.window)
        .match_descendants()
        .match_predicate(|e| {
            matches!(
                e.accessible_role(),
                Some(AccessibleRole::Button | AccessibleRole::Checkbox)
            ) && e.size().width > 0.0
        })
        .find_all();
    assert!(!targets.is_empty(), "{name}: nothing to tap");
    for t in targets {
        let label = t.accessible_label().unwrap_or_default();
        let (size, pos) = (t.size(), t.absolute_position());
        assert!(
            size.width >= 79.5 && size.height >= 79.5,
            "{name} at {w}x{h}: {label:?} is {}x{} px, under 80",
            size.width,
            size.height
        );
        assert!(
            pos.x >= -0.5
                && pos.y >= -0.5
                && pos.x + size.width <= w as f32 + 0.5
                && pos.y + size.height <= h as f32 + 0.5,
            "{name} at {w}x{h}: {label:?} at {pos:?} size {size:?} is outside the window"
        );
    }
}

fn write_png(path: &std::path::Path, rgba: &[u8], w: u32, h: u32) {
    let file = std::fs::File::create(path).unwrap();
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), w, h);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Balanced);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(rgba).unwrap();
}

#[test]
fn every_screen_renders_and_fits_at_every_size() {
    common::on_slint_thread(shoot_every_screen_at_every_size);
}

/// The test itself, on the Slint thread.
fn shoot_every_screen_at_every_size() {
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    std::fs::create_dir_all(&out).unwrap();
    let mut shooter = Shooter { out, shots: 0 };

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("responses.db");
    let sink = Arc::new(GatedSink {
        inner: common::queue_sink(&path),
        held: Mutex::default(),
        open: Mutex::new(false),
    });
    // Provisioned with a collector that has a tracking page, so the thanks screen shows its
    // QR code and link.
    let config = common::config(
        "[device]\nid = \"test-kiosk\"\nsite = \"test-site\"\n[upload]\nserver = \"https://feedback.example.org\"\ntracking_url = \"https://feedback.example.org/t/{ref}\"\n",
    );
    let k = TestKiosk::build(
        common::demo_survey("shop"),
        &config,
        sink.clone(),
        path,
        dir,
    );

    let title = k.en(&k.survey.attract.title);
    shooter.shoot(
        &k,
        "attract",
        &["Start", &title, "中文", "Cymraeg", "Polski"],
    );
    k.tap("Start");
    shooter.shoot(
        &k,
        "choice",
        &[
            "Entrance",
            "Fitting rooms",
            "Language",
            "Start again",
            "Skip",
        ],
    );
    k.tap("Language");
    shooter.shoot(&k, "language", &["English", "中文", "Cymraeg", "Polski"]);
    k.tap("English");
    k.tap("Checkout queue");
    shooter.shoot(
        &k,
        "rating",
        &[
            "Very unhappy",
            "Unhappy",
            "Neutral",
            "Happy",
            "Very happy",
            "Back",
        ],
    );
    k.tap("Very happy");
    shooter.shoot(&k, "reasons", &["Next"]);
    k.tap("Next");
    k.type_text("Quick");
    shooter.shoot(&k, "free-text", &["Quick", "Next", "Backspace", "Space"]);
    k.tap("Next");
    shooter.shoot(&k, "contact", &["Yes, contact me", "No thanks"]);
    k.tap("Yes, contact me");
    shooter.shoot(
        &k,
        "contact-details",
        &["Your name", "Phone or email", "Send"],
    );
    k.tap("No thanks");
    assert!(
        matches!(k.ui.screen(), Screen::Step(_)),
        "{:?}",
        k.ui.screen()
    );
    shooter.shoot(&k, "receipt", &["Skip"]);
    advance(Duration::from_secs(31));
    shooter.shoot(&k, "still-there", &["I'm still here", "Start again"]);
    k.tap("I'm still here");
    k.tap("Skip");
    assert_eq!(k.ui.screen(), Screen::Saving);
    shooter.shoot(&k, "saving", &[]);
    sink.release();
    k.wait_for("the thanks screen", |k| {
        matches!(k.ui.screen(), Screen::Thanks { .. })
    });
    let reference = match k.ui.screen() {
        Screen::Thanks { reference, .. } => reference,
        _ => unreachable!(),
    };
    let link = format!("or visit https://feedback.example.org/t/{reference}");
    shooter.shoot(
        &k,
        "thanks",
        &[&reference, "Done", "QR code to follow up", &link],
    );
    k.tap("Done");

    // The same screens in Chinese and Polish, where text is longest or in another script.
    k.tap("中文");
    let zh = |s| common::translated("zh_CN", s);
    shooter.shoot(&k, "attract-zh_CN", &["English", &zh("Start")]);
    k.tap(&zh("Start"));
    shooter.shoot(
        &k,
        "choice-zh_CN",
        &["入口", &zh("Start again"), &zh("Skip")],
    );
    k.tap(&zh("Start again"));
    k.tap("Polski");
    let pl = |s| common::translated("pl", s);
    k.tap(&pl("Start"));
    k.tap("Kolejka do kasy");
    shooter.shoot(
        &k,
        "rating-pl",
        &[&pl("Very unhappy"), &pl("Very happy"), &pl("Back")],
    );
    k.tap(&pl("Start again"));
    drop(k);

    // The council survey's other scales: four faces and agree/disagree statements.
    let k = TestKiosk::new("council");
    k.tap("Start");
    k.tap("Parking");
    shooter.shoot(
        &k,
        "rating-smiley4",
        &["Very unhappy", "Unhappy", "Happy", "Very happy"],
    );
    k.tap("Very unhappy");
    k.tap("Skip");
    k.tap(&common_channel(&k));
    shooter.shoot(
        &k,
        "agree",
        &[
            "Strongly disagree",
            "Disagree",
            "Neither agree nor disagree",
            "Agree",
            "Strongly agree",
        ],
    );
    drop(k);

    // A long tracking address is cut short under its QR code (which has all of it), and the
    // thanks screen still fits.
    let long = "https://feedback-and-complaints.services.example-metropolitan-borough-council.gov.uk/public/feedback/tracking/t/{ref}";
    let config = common::config(&format!(
        "[device]\nid = \"test-kiosk\"\nsite = \"test-site\"\n[upload]\nserver = \"https://feedback.example.org\"\ntracking_url = \"{long}\"\n"
    ));
    let k = TestKiosk::configured(common::demo_survey("shop"), &config);
    k.tap("Start");
    k.tap("Entrance");
    k.tap("Very happy");
    k.tap("Next");
    k.tap("Skip");
    k.tap("No thanks");
    k.tap("Skip");
    k.wait_for("the thanks screen", |k| {
        matches!(k.ui.screen(), Screen::Thanks { .. })
    });
    let reference = match k.ui.screen() {
        Screen::Thanks { reference, .. } => reference,
        _ => unreachable!(),
    };
    let link = format!("or visit {}", long.replace("{ref}", &reference));
    shooter.check(
        &k,
        "thanks-long-link",
        &[&reference, "Done", "QR code to follow up", &link],
        false,
    );
    assert_eq!(shooter.shots, 17 * KEPT.len());
}

fn common_channel(k: &TestKiosk) -> String {
    match &k.survey.step("channel").unwrap().kind {
        earshot::core::survey::StepKind::Choice { options, .. } => k.en(&options[0].label),
        _ => unreachable!(),
    }
}

/// Chinese puts no spaces between words, so its lines break between characters, by the
/// Unicode line-breaking rules: the layout needs no dictionary for that (vendor/README.md).
#[test]
fn a_long_question_in_chinese_wraps_between_its_characters() {
    common::on_slint_thread(|| {
        const SHORT: &str = "您想评价本次购物的哪个环节？";
        // 44 characters without a space: far wider than a phone's screen on one line.
        const LONG: &str =
            "请告诉我们您今天在收银台排队等候的时间是否让您满意以及我们还可以如何改进我们的服务和店内";
        let question_height = |question: &str| {
            let text = earshot::files::config::demo_survey("shop")
                .unwrap()
                .replace(SHORT, question);
            let survey = Arc::new(earshot::core::survey::parse(&text, "shop.toml").unwrap());
            let k = TestKiosk::configured(survey, &earshot::files::config::Config::demo());
            k.ui.window
                .window()
                .set_size(slint::PhysicalSize::new(480, 800));
            advance(Duration::from_millis(20));
            k.tap("中文");
            k.tap(&common::translated("zh_CN", "Start"));
            advance(Duration::from_millis(20));
            let shown = k.find(question);
            assert_eq!(shown.len(), 1, "the question on screen: {question}");
            let size = shown[0].size();
            (size.width, size.height)
        };
        let (short_width, one_line) = question_height(SHORT);
        let (long_width, wrapped) = question_height(LONG);
        assert!(short_width <= 480.0 && long_width <= 480.0);
        assert!(
            wrapped >= 2.5 * one_line,
            "a question of {} characters is {wrapped} px high, one line {one_line} px",
            LONG.chars().count()
        );
    });
}
