//! Shared by the UI tests: a kiosk on Slint's testing backend with mock time, on the one
//! thread Slint runs on in this process, a real response file, and taps by accessible label.
//! Also the VM test's (tests/vm/main.rs), which takes this file as a module of its own.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::Duration;

use earshot::core::record::ResponseRecord;
use earshot::core::survey::{self, StepKind, Survey};
use earshot::core::visit::DeviceIds;
use earshot::hardware::SimulatedHardware;
use earshot::seams::alarms::Alarms;
use earshot::seams::sink::ResponseSink;
use earshot::storage::{Queue, QueueSink};
use earshot::ui::{KioskParts, KioskUi};
use i_slint_backend_testing::{ElementHandle, TestingBackend, TestingBackendOptions};
use slint::platform::PointerEventButton;

/// Sets up the testing backend once for this test process: mock time (timeouts are driven
/// by `advance`), an event loop for results coming back from other threads, and the
/// software renderer so that screenshots can be taken. The thread that calls it is the one
/// Slint runs on; tests run by the harness use `on_slint_thread` instead.
pub fn init_backend() {
    slint::platform::set_platform(Box::new(TestingBackend::new(TestingBackendOptions {
        mock_time: true,
        threading: true,
        renderer_name: Some("software".into()),
    })))
    .expect("the platform is set once per test process");
}

/// The name of the thread `on_slint_thread` runs tests on.
const SLINT_THREAD: &str = "slint";
/// An hour of Slint's mock time, in milliseconds.
const MOCK_HOUR_MS: u64 = 3_600_000;

thread_local! {
    /// On the Slint thread: whether the testing backend is set up there yet.
    static BACKEND: Cell<bool> = const { Cell::new(false) };
    /// On the Slint thread: what the last panic there said, where, and its backtrace.
    static FAILURE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs `test` on this process's one Slint thread, with the testing backend (`init_backend`)
/// set up there by the first test to come, and fails the calling test if `test` panics, with
/// the panic's own message and place. Slint's platform with an event loop can be set only once
/// per process and belongs to the thread that set it, while the harness runs each test on a
/// thread of its own: so every test here that draws the kiosk on the testing backend hands its
/// body to that thread, and they take turns there while the other tests go on. What `test`
/// prints goes to the output of the test that first started the thread, since the harness
/// captures output per thread (`--nocapture` shows it all).
pub fn on_slint_thread(test: impl FnOnce() + Send + 'static) {
    type Job = Box<dyn FnOnce() + Send>;
    static JOBS: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    let jobs = JOBS.get_or_init(|| {
        // The Slint thread's panics are kept for the test that failed, to be told in its own
        // output; everything else panics as usual.
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() != Some(SLINT_THREAD) {
                return previous(info);
            }
            let trace = std::backtrace::Backtrace::capture();
            let text = match trace.status() {
                std::backtrace::BacktraceStatus::Captured => {
                    format!("{info}\nstack backtrace of the Slint thread:\n{trace}")
                }
                _ => info.to_string(),
            };
            FAILURE.with(|f| *f.borrow_mut() = Some(text));
        }));
        let (sender, receiver) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name(SLINT_THREAD.into())
            .spawn(move || receiver.into_iter().for_each(|job| job()))
            .expect("a thread for Slint");
        Mutex::new(sender)
    });
    let (done, outcome) = mpsc::channel();
    let job = Box::new(move || {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if !BACKEND.get() {
                init_backend();
                BACKEND.set(true);
            }
            // Each test starts at a whole hour of mock time, as the first does at 0: what is
            // drawn by `animation-tick()` (the saving screen's dots) is then drawn as in a
            // process of its own, whatever ran before (docs/screenshots stays the same).
            let now = i_slint_backend_testing::get_mocked_time();
            let start = now.next_multiple_of(MOCK_HOUR_MS);
            i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(start - now));
            test()
        }));
        let _ = done.send(result.map_err(|_| {
            FAILURE
                .take()
                .unwrap_or_else(|| "panicked, saying nothing".into())
        }));
    });
    jobs.lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .send(job)
        .expect("the Slint thread takes tests");
    if let Err(failure) = outcome.recv().expect("the Slint thread reports back") {
        panic!("on the Slint thread, {failure}");
    }
}

/// How long a test kiosk's staff call lasts.
pub const STAFF_CALL: Duration = Duration::from_secs(60);

thread_local! {
    /// The night schedule for the next test kiosk made on this thread (`with_blanking`).
    static BLANK: std::cell::Cell<Option<earshot::core::blanking::Night>> = const { std::cell::Cell::new(None) };
}

/// Makes the next `TestKiosk` darken its screen by `night`.
pub fn with_blanking(night: earshot::core::blanking::Night) {
    BLANK.with(|b| b.set(Some(night)));
}

/// The receipt secret of the test kiosks.
pub const RECEIPT_SECRET: &[u8] = b"test deployment receipt secret";

/// A receipt dated today that the shipped QR example pattern reads.
pub fn receipt_url(txn: &str) -> String {
    let day = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 86_400;
    format!(
        "https://receipts.example.com/r?store=412&till=3&txn={txn}&date={}",
        earshot::core::receipt::iso_date(day as i64)
    )
}

pub fn demo_survey(name: &str) -> Arc<Survey> {
    let text = earshot::files::config::demo_survey(name).expect("a built-in survey");
    Arc::new(survey::parse(text, name).expect("the demo survey is valid"))
}

/// The kiosk's configuration from the text of a config file.
pub fn config(text: &str) -> earshot::files::config::Config {
    earshot::files::config::Config::parse(text, Path::new("earshot.toml")).expect("a valid config")
}

pub struct TestKiosk {
    pub ui: KioskUi,
    pub survey: Arc<Survey>,
    pub alarms: Alarms,
    pub hardware: SimulatedHardware,
    pub responses: PathBuf,
    _dir: tempfile::TempDir,
}

impl TestKiosk {
    pub fn new(survey_name: &str) -> TestKiosk {
        let dir = tempfile::tempdir().unwrap();
        let responses = dir.path().join("responses.db");
        Self::with_sink(
            survey_name,
            Arc::new(queue_sink(&responses)),
            responses,
            dir,
        )
    }

    pub fn with_sink(
        survey_name: &str,
        sink: Arc<dyn ResponseSink>,
        responses: PathBuf,
        dir: tempfile::TempDir,
    ) -> TestKiosk {
        Self::build(
            demo_survey(survey_name),
            &earshot::files::config::Config::demo(),
            sink,
            responses,
            dir,
        )
    }

    /// A kiosk showing `survey` under `config` (the parts the UI takes from the
    /// configuration, as `earshot run` composes them), storing to a fresh response file.
    pub fn configured(survey: Arc<Survey>, config: &earshot::files::config::Config) -> TestKiosk {
        let dir = tempfile::tempdir().unwrap();
        let responses = dir.path().join("responses.db");
        Self::build(
            survey,
            config,
            Arc::new(queue_sink(&responses)),
            responses,
            dir,
        )
    }

    pub fn build(
        survey: Arc<Survey>,
        config: &earshot::files::config::Config,
        sink: Arc<dyn ResponseSink>,
        responses: PathBuf,
        dir: tempfile::TempDir,
    ) -> TestKiosk {
        let tracking_url = config.thanks_tracking_url(&survey).map(str::to_string);
        let alarms = Alarms::default();
        let hardware = SimulatedHardware::with_staff_call();
        let ui = KioskUi::new(KioskParts {
            survey: Arc::clone(&survey),
            ids: DeviceIds {
                site_id: "test-site".into(),
                device_id: "test-kiosk".into(),
                run_id: None,
            },
            sink,
            alarms: alarms.clone(),
            hardware: Box::new(hardware.clone()),
            seed: 99,
            hide_cursor: true,
            clock: Some(Box::new(|| {
                Duration::from_millis(i_slint_backend_testing::get_mocked_time())
            })),
            receipts: Some(earshot::core::receipt::ReceiptRules::examples(
                RECEIPT_SECRET.to_vec(),
            )),
            used_receipts: Vec::new(),
            staff_call: STAFF_CALL,
            blank: BLANK.with(|b| b.take()),
            tracking_url,
        })
        .unwrap();
        use slint::ComponentHandle;
        ui.window.show().unwrap();
        ui.window
            .window()
            .set_size(slint::PhysicalSize::new(800, 480));
        settle();
        TestKiosk {
            ui,
            survey,
            alarms,
            hardware,
            responses,
            _dir: dir,
        }
    }

    /// English text of a survey string.
    pub fn en(&self, text: &earshot::core::language::Localized) -> String {
        text.get("en", "en").to_string()
    }

    pub fn find(&self, label: &str) -> Vec<ElementHandle> {
        ElementHandle::find_by_accessible_label(&self.ui.window, label)
            .filter(|e| e.is_valid() && e.size().width > 0.0 && e.size().height > 0.0)
            .collect()
    }

    pub fn has(&self, label: &str) -> bool {
        !self.find(label).is_empty()
    }

    /// A real tap (pointer down and up at the element's centre), so an element hidden under
    /// another one does not get it.
    pub fn tap(&self, label: &str) {
        let found = self.find(label);
        let element = found.last().unwrap_or_else(|| {
            panic!(
                "nothing labelled {label:?} on screen {:?}",
                self.ui.screen()
            )
        });
        element.mock_single_click(PointerEventButton::Left);
        process_events();
        settle();
    }

    pub fn type_text(&self, text: &str) {
        for c in text.chars() {
            let key = if c == ' ' {
                "Space".to_string()
            } else {
                c.to_string()
            };
            if !self.has(&key) && c.is_uppercase() {
                self.tap("Shift");
                self.tap(&c.to_string());
            } else {
                self.tap(&key);
            }
        }
    }

    pub fn records(&self) -> Vec<ResponseRecord> {
        read_records(&self.responses)
    }

    /// Waits (in real time) for results from the sink's thread to reach the UI.
    pub fn wait_for(&self, what: &str, cond: impl Fn(&TestKiosk) -> bool) {
        for _ in 0..400 {
            process_events();
            if cond(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!(
            "timed out waiting for {what}; screen {:?}",
            self.ui.screen()
        );
    }
}

pub fn read_records(path: &Path) -> Vec<ResponseRecord> {
    if !path.exists() {
        return Vec::new();
    }
    let export = Queue::open_read_only(path).unwrap().export(None).unwrap();
    assert!(
        export.problems.is_empty(),
        "unreadable rows {:?}",
        export.problems
    );
    export
        .rows
        .iter()
        .map(|row| serde_json::from_str(&row.record_json).unwrap())
        .collect()
}

/// The kiosk's real response store at `path`, as its sink.
pub fn queue_sink(path: &Path) -> QueueSink {
    let queue = Queue::open(path).unwrap().queue;
    QueueSink::start(
        Arc::new(queue),
        earshot::seams::alarms::Alarms::default(),
        0,
    )
}

/// Lets Slint build what changed properties call for (repeated elements are instantiated
/// lazily, on the next frame), with a moment of mock time.
pub fn settle() {
    i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(16));
}

/// Runs what other threads have posted to the UI thread so far.
pub fn process_events() {
    slint::invoke_from_event_loop(|| slint::quit_event_loop().unwrap()).unwrap();
    slint::run_event_loop().unwrap();
}

/// Moves Slint's mock time on (timers fire), in steps so that each due timer runs.
pub fn advance(d: Duration) {
    let step = Duration::from_millis(250);
    let mut left = d;
    while left > Duration::ZERO {
        let s = left.min(step);
        i_slint_backend_testing::mock_elapsed_time(s);
        left -= s;
    }
    process_events();
}

/// The English labels of a service or choice step's options, in order.
pub fn option_labels(k: &TestKiosk, step: &str) -> Vec<String> {
    match &k.survey.step(step).expect("the survey has the step").kind {
        StepKind::Service { options, .. } | StepKind::Choice { options, .. } => {
            options.iter().map(|o| k.en(&o.label)).collect()
        }
        other => panic!("{other:?}"),
    }
}

/// The English question and reasons a reasons step asks after `rating`.
pub fn reason_set(k: &TestKiosk, step: &str, rating: i32) -> (String, Vec<String>) {
    let StepKind::Reasons { sets, .. } =
        &k.survey.step(step).expect("the survey has the step").kind
    else {
        panic!("{step} is not a reasons step")
    };
    let set = sets
        .iter()
        .find(|s| s.ratings.contains(&rating))
        .expect("a reason set for the rating");
    (
        k.en(&set.question),
        set.options.iter().map(|o| k.en(&o.label)).collect(),
    )
}

/// Every accessible label on screen, for failure messages.
pub fn labels_on_screen(k: &TestKiosk) -> Vec<String> {
    i_slint_backend_testing::ElementQuery::from_root(&k.ui.window)
        .match_descendants()
        .find_all()
        .into_iter()
        .filter_map(|e| {
            e.accessible_label().map(|l| {
                format!(
                    "{l} [{:?} {}x{}]",
                    e.accessible_role(),
                    e.size().width,
                    e.size().height
                )
            })
        })
        .collect()
}

/// The interface translation of an English string, read from the shipped .po file, so that
/// tests tap what a visitor in that language sees.
pub fn translated(language: &str, english: &str) -> String {
    let path = format!(
        "{}/ui/translations/{language}/LC_MESSAGES/earshot.po",
        env!("CARGO_MANIFEST_DIR")
    );
    let po = std::fs::read_to_string(&path).unwrap();
    let wanted = format!("msgid {english:?}");
    let mut lines = po.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted {
            let msgstr = lines.next().unwrap_or_default().trim();
            let text = msgstr
                .strip_prefix("msgstr \"")
                .and_then(|s| s.strip_suffix('"'))
                .unwrap_or_default();
            assert!(!text.is_empty(), "{path}: no translation of {english:?}");
            return text.replace("\\\"", "\"");
        }
    }
    panic!("{path}: {english:?} is not translated");
}
