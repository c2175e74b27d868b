//! The bridge between the visit state machine and the Slint UI. The .slint side draws and
//! forwards taps through one adapter global per screen; this side turns each tap into an
//! [`Event`] for the core, hands finished records to the sink, and fills the adapters from
//! the core's state. It runs on the UI thread and never waits there: storage verdicts and
//! scans come back from their own threads through the event loop.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use slint::{ComponentHandle, Model, ModelRc, SharedString, VecModel};

use crate::alarms::{AlarmKind, Alarms};
use crate::core::language::{interface_language, Localized};
use crate::core::receipt::ReceiptRules;
use crate::core::record::{Moment, Outcome, ResponseRecord};
use crate::core::survey::{RatingScale, StepKind, Survey};
use crate::core::visit::{self, ContactField, DeviceIds, Event, Kiosk};
use crate::hardware::{Hardware, StatusLight};
use crate::scan::ScanSource;
use crate::sink::ResponseSink;

slint::include_modules!();

/// A monotonic clock: time since the kiosk started.
pub type MonoClock = Box<dyn Fn() -> Duration>;

/// Everything the kiosk UI needs, made by the entry point (or a test).
pub struct KioskParts {
    pub survey: Arc<Survey>,
    pub ids: DeviceIds,
    pub sink: Arc<dyn ResponseSink>,
    pub alarms: Alarms,
    pub hardware: Box<dyn Hardware>,
    /// Seeds record ids and reference codes.
    pub seed: u64,
    pub hide_cursor: bool,
    /// Where time comes from; `None` for the real monotonic clock (tests pass Slint's mock
    /// time so that timeouts can be driven without waiting).
    pub clock: Option<MonoClock>,
    /// How scans are understood; `None` for the shipped example patterns under a secret of
    /// this run's own.
    pub receipts: Option<ReceiptRules>,
    /// Keyed transactions of receipts that already have a response (from the queue).
    pub used_receipts: Vec<String>,
    /// How long a staff call lasts (offered only if the hardware has a staff-call output).
    pub staff_call: Duration,
    /// When the screen goes dark at night; `None`: never.
    pub blank: Option<crate::core::blanking::Night>,
    /// The tracking page the thanks screen shows as a QR code and a link, with `{ref}` where
    /// the visitor's reference goes (chosen by [`crate::config::Config::thanks_tracking_url`]);
    /// `None`: neither is shown.
    pub tracking_url: Option<String>,
}

/// The kiosk's window with its bridge attached.
pub struct KioskUi {
    pub window: MainWindow,
    bridge: Rc<Bridge>,
    /// Shows systemd's watchdog that the event loop turns (only under a watchdog).
    _liveness: slint::Timer,
}

impl KioskUi {
    /// Creates the window and wires every adapter. The Slint platform must already be set
    /// up (by the backend of `run`, or by a test).
    pub fn new(parts: KioskParts) -> Result<KioskUi, slint::PlatformError> {
        let window = MainWindow::new()?;
        let clock = parts
            .clock
            .unwrap_or_else(|| Box::new(crate::clock::since_start));
        let staff_call = if parts.hardware.has_staff_call() {
            parts.staff_call
        } else {
            Duration::ZERO
        };
        let bridge = Rc::new(Bridge {
            window: window.as_weak(),
            kiosk: RefCell::new({
                let kiosk = Kiosk::new(parts.survey, parts.ids, parts.seed)
                    .remembering(parts.used_receipts)
                    .with_staff_call(staff_call);
                match parts.receipts {
                    Some(rules) => kiosk.with_receipt_rules(rules),
                    None => kiosk,
                }
            }),
            sink: parts.sink,
            alarms: parts.alarms,
            hardware: RefCell::new(parts.hardware),
            timer: slint::Timer::default(),
            clock,
            shown_language: RefCell::new(String::new()),
            time_synced: Cell::new((Duration::MAX, false)),
            blank: parts.blank,
            tracking_url: parts.tracking_url,
            blanked: Cell::new(false),
            last_input: Cell::new(Duration::ZERO),
            blank_timer: slint::Timer::default(),
        });
        UI_BRIDGE.with(|b| *b.borrow_mut() = Some(Rc::downgrade(&bridge)));
        window
            .global::<KioskAdapter>()
            .set_hide_cursor(parts.hide_cursor);
        connect(&window, &bridge);
        bridge.set_languages();
        bridge.update_light();
        bridge
            .alarms
            .on_change(|| on_ui_thread(|bridge| bridge.update_light()));
        let wake = bridge
            .hardware
            .borrow_mut()
            .watch_wake(Box::new(|| on_ui_thread(|bridge| bridge.wake())));
        if let Err(e) = wake {
            bridge
                .alarms
                .raise(AlarmKind::HardwareUnavailable, e.problem, e.fix);
        }
        bridge.last_input.set((bridge.clock)());
        if bridge.blank.is_some() {
            let weak = Rc::downgrade(&bridge);
            bridge
                .blank_timer
                .start(slint::TimerMode::Repeated, BLANK_CHECK, move || {
                    if let Some(bridge) = weak.upgrade() {
                        bridge.check_blank();
                    }
                });
        }
        bridge.render();
        let liveness = slint::Timer::default();
        if crate::service::watchdog_interval().is_some() {
            crate::service::liveness().ui_beat();
            liveness.start(slint::TimerMode::Repeated, crate::service::BEAT, || {
                crate::service::liveness().ui_beat()
            });
        }
        Ok(KioskUi {
            window,
            bridge,
            _liveness: liveness,
        })
    }

    /// Feeds scans from a scanner into the visit.
    pub fn attach_scanner(&self, source: Box<dyn ScanSource>) {
        tracing::info!(scanner = %source.describe(), "receipt scanner");
        source.start(Box::new(|code| {
            on_ui_thread(move |bridge| bridge.scan(code))
        }));
    }

    /// Sends an event as if it came from the UI (for simulations of hardware input).
    pub fn send(&self, event: Event) {
        self.bridge.send(event);
    }

    /// The core's view of what is shown (for tests and status).
    pub fn screen(&self) -> visit::Screen {
        self.bridge.kiosk.borrow().screen()
    }
}

thread_local! {
    /// The bridge of the window on this (the UI) thread, for work coming back from other
    /// threads through `invoke_from_event_loop`.
    static UI_BRIDGE: RefCell<Option<Weak<Bridge>>> = const { RefCell::new(None) };
}

/// Runs `f` with the bridge on the UI thread, from any thread.
fn on_ui_thread(f: impl FnOnce(&Rc<Bridge>) + Send + 'static) {
    let posted = slint::invoke_from_event_loop(move || {
        let bridge = UI_BRIDGE.with(|b| b.borrow().as_ref().and_then(Weak::upgrade));
        if let Some(bridge) = bridge {
            f(&bridge);
        }
    });
    if let Err(e) = posted {
        tracing::warn!(error = %e, "the UI has stopped; a result could not be shown");
    }
}

struct Bridge {
    window: slint::Weak<MainWindow>,
    kiosk: RefCell<Kiosk>,
    sink: Arc<dyn ResponseSink>,
    alarms: Alarms,
    hardware: RefCell<Box<dyn Hardware>>,
    /// Fires when the core next needs a `Tick`; stopped while nothing is due.
    timer: slint::Timer,
    clock: MonoClock,
    /// The interface language last selected, so translations switch only on change.
    shown_language: RefCell<String>,
    /// (when last checked, whether the wall clock was synchronised).
    time_synced: Cell<(Duration, bool)>,
    blank: Option<crate::core::blanking::Night>,
    /// The tracking page template, `{ref}` for the reference.
    tracking_url: Option<String>,
    /// The screen is dark for the night.
    blanked: Cell<bool>,
    /// When a person last did anything (a tap, a scan, the wake input).
    last_input: Cell<Duration>,
    /// Looks every little while whether the screen should go dark (only with a schedule).
    blank_timer: slint::Timer,
}

/// How often the blanking schedule is looked at.
const BLANK_CHECK: Duration = Duration::from_secs(30);

/// Minutes after local midnight, in the device's time zone.
fn local_minute_of_day() -> u16 {
    let now = jiff::Zoned::now();
    now.hour() as u16 * 60 + now.minute() as u16
}

impl Bridge {
    fn now(&self) -> Moment {
        let mono = (self.clock)();
        let (checked, synced) = self.time_synced.get();
        // A stat on a tmpfs file, at most once a minute: cheap enough for the UI thread.
        let synced =
            if checked == Duration::MAX || mono.saturating_sub(checked) > Duration::from_secs(60) {
                let synced = crate::clock::wall_synchronized();
                self.time_synced.set((mono, synced));
                synced
            } else {
                synced
            };
        Moment {
            mono,
            wall: SystemTime::now(),
            wall_synchronized: synced,
        }
    }

    fn send(self: &Rc<Self>, event: Event) {
        let at = self.now();
        if !matches!(event, Event::Tick | Event::Stored { .. }) {
            self.last_input.set(at.mono);
        }
        let reaction = self.kiosk.borrow_mut().handle(event, at);
        if let Some(record) = reaction.finished {
            self.submit(record);
        }
        if let Some(on) = reaction.staff_call {
            tracing::info!(on, "staff call");
            let result = self.hardware.borrow_mut().set_staff_call(on);
            if let Err(e) = result {
                self.alarms
                    .raise(AlarmKind::HardwareUnavailable, e.problem, e.fix);
            }
        }
        if reaction.changed {
            self.render();
        }
        self.schedule_tick();
    }

    /// Lights the screen again (a tap on the dark screen, a scan, the wake input).
    fn wake(self: &Rc<Self>) {
        self.last_input.set((self.clock)());
        if self.blanked.replace(false) {
            tracing::info!("screen woken");
            self.render();
        }
    }

    /// Darkens the screen if it is night and the start screen has been left alone.
    fn check_blank(self: &Rc<Self>) {
        let Some(night) = self.blank else { return };
        if self.blanked.get() {
            return;
        }
        let idle = {
            let kiosk = self.kiosk.borrow();
            kiosk.screen() == visit::Screen::Attract
                && kiosk.notice().is_none()
                && !kiosk.help_coming()
        };
        let idle_for = (self.clock)().saturating_sub(self.last_input.get());
        if idle && night.should_blank(local_minute_of_day(), idle_for) {
            tracing::info!("screen dark for the night");
            self.blanked.set(true);
            self.render();
        }
    }

    /// The status light for the alarms now active.
    fn update_light(&self) {
        self.set_light(StatusLight::for_alarms(&self.alarms.active()));
    }

    /// A code from the scanner. Logged by what became of it, never by its content (it may
    /// be a receipt number).
    fn scan(self: &Rc<Self>, code: String) {
        self.wake();
        let chars = code.chars().count();
        self.send(Event::Scan(code));
        let kiosk = self.kiosk.borrow();
        let takes_receipts = kiosk.survey().receipt_mode() != crate::core::survey::ReceiptMode::Off;
        match kiosk.notice() {
            Some(notice) => tracing::info!(?notice, chars, "scan not taken"),
            None if takes_receipts => tracing::info!("receipt scanned"),
            None => tracing::debug!(chars, "scan ignored: the survey takes no receipts"),
        }
    }

    fn schedule_tick(self: &Rc<Self>) {
        let Some(wake) = self.kiosk.borrow().next_wakeup() else {
            self.timer.stop();
            return;
        };
        // Never less than a few milliseconds, so that two clocks disagreeing slightly cannot
        // make a busy loop.
        let delay = wake
            .saturating_sub((self.clock)())
            .max(Duration::from_millis(5));
        let weak = Rc::downgrade(self);
        self.timer
            .start(slint::TimerMode::SingleShot, delay, move || {
                if let Some(bridge) = weak.upgrade() {
                    bridge.send(Event::Tick);
                }
            });
    }

    fn submit(self: &Rc<Self>, record: ResponseRecord) {
        let id = record.id;
        let outcome = record.outcome;
        tracing::info!(
            response = %id,
            outcome = ?outcome,
            answers = record.answers.len(),
            misuse = record.flags.suspected_misuse,
            "visit finished"
        );
        let done = Box::new(move |result: crate::sink::StoreResult| {
            on_ui_thread(move |bridge| bridge.stored(id, outcome, result));
        });
        self.sink.submit(record, done);
    }

    fn stored(self: &Rc<Self>, id: uuid::Uuid, outcome: Outcome, result: crate::sink::StoreResult) {
        match &result {
            Ok(()) => {
                tracing::info!(response = %id, "response stored");
                self.alarms.clear(AlarmKind::ResponseNotStored);
            }
            Err(e) => {
                self.alarms.raise(
                    AlarmKind::ResponseNotStored,
                    format!("a visitor's response could not be stored ({e})"),
                    format!(
                        "check that the storage has free space and that the kiosk may write to {}; \
                         responses are lost until this is fixed",
                        self.sink.describe()
                    ),
                );
            }
        }
        if outcome == Outcome::Completed {
            self.send(Event::Stored {
                id,
                ok: result.is_ok(),
            });
        }
    }

    fn set_light(&self, state: StatusLight) {
        if let Err(e) = self.hardware.borrow_mut().set_status_light(state) {
            self.alarms
                .raise(AlarmKind::HardwareUnavailable, e.problem, e.fix);
        }
    }

    fn set_languages(&self) {
        let Some(window) = self.window.upgrade() else {
            return;
        };
        let kiosk = self.kiosk.borrow();
        let languages: Vec<LanguageOption> = kiosk
            .survey()
            .languages
            .iter()
            .map(|code| LanguageOption {
                code: code.into(),
                name: interface_language(code)
                    .map_or(code.as_str(), |l| l.native_name)
                    .into(),
            })
            .collect();
        window
            .global::<KioskAdapter>()
            .set_languages(ModelRc::new(VecModel::from(languages)));
    }

    /// Fills the adapters from the core's state.
    fn render(&self) {
        let Some(window) = self.window.upgrade() else {
            return;
        };
        let kiosk = self.kiosk.borrow();
        let survey = kiosk.survey();
        let language = kiosk.language();
        let tr =
            |text: &Localized| SharedString::from(text.get(language, &survey.default_language));

        if *self.shown_language.borrow() != language {
            // English is the source language: selecting it restores the untranslated strings.
            if let Err(e) = slint::select_bundled_translation(language) {
                tracing::warn!(language, error = %e, "no interface translation");
            }
            *self.shown_language.borrow_mut() = language.to_string();
        }

        let frame = window.global::<KioskAdapter>();
        frame.set_language(language.into());
        frame.set_in_visit(kiosk.in_visit());
        frame.set_can_go_back(kiosk.can_go_back());
        frame.set_can_skip(kiosk.can_skip());
        let (number, count) = kiosk.progress();
        frame.set_step_number(number as i32);
        frame.set_step_count(count as i32);
        frame.set_can_call_staff(kiosk.can_call_staff());
        frame.set_help_coming(kiosk.help_coming());
        frame.set_blanked(self.blanked.get());
        frame.set_scan_notice(match kiosk.notice() {
            None => ScanNotice::None,
            Some(visit::Notice::NotAReceipt) => ScanNotice::NotAReceipt,
            Some(visit::Notice::ScanAgain) => ScanNotice::ScanAgain,
            Some(visit::Notice::Expired { max_age_days }) => {
                frame.set_receipt_max_age_days(i32::try_from(*max_age_days).unwrap_or(i32::MAX));
                ScanNotice::Expired
            }
            Some(visit::Notice::AlreadyGiven) => ScanNotice::AlreadyGiven,
        });
        if !kiosk.in_visit() {
            // The contact form's page and field are the screen's own state: a new visitor
            // starts at the question, typing into the first field.
            let contact = window.global::<ContactAdapter>();
            contact.set_agreed(false);
            contact.set_field(0);
        }

        let attract = window.global::<AttractAdapter>();
        attract.set_title(tr(&survey.attract.title));
        attract.set_subtitle(tr(&survey.attract.subtitle));

        // The step is filled even under the language screen or "Still there?", which may
        // show it behind them.
        let step_screen = kiosk
            .current_step()
            .map(|(index, step)| self.fill_step(&window, &kiosk, index, step, &tr));

        let screen = match kiosk.screen() {
            visit::Screen::Attract => Screen::Attract,
            visit::Screen::Language => Screen::Language,
            visit::Screen::Step(_) => step_screen.unwrap_or(Screen::Attract),
            visit::Screen::StillThere { seconds_left } => {
                window
                    .global::<StillThereAdapter>()
                    .set_seconds_left(seconds_left as i32);
                Screen::StillThere
            }
            visit::Screen::Saving => Screen::Saving,
            visit::Screen::Thanks { reference, stored } => {
                let thanks = window.global::<ThanksAdapter>();
                thanks.set_message(tr(&survey.thanks.message));
                thanks.set_stored(stored);
                thanks.set_reference(if stored {
                    reference.as_str().into()
                } else {
                    SharedString::new()
                });
                // Without a stored response there is nothing to follow up.
                let link = self
                    .tracking_url
                    .as_deref()
                    .filter(|_| stored)
                    .map(|template| template.replace("{ref}", &reference));
                let qr = link.as_deref().and_then(qr_image);
                thanks.set_has_qr(qr.is_some());
                thanks.set_qr(qr.unwrap_or_default());
                thanks.set_tracking_link(link.unwrap_or_default().into());
                Screen::Thanks
            }
        };
        frame.set_screen(screen);
    }

    fn fill_step(
        &self,
        window: &MainWindow,
        kiosk: &Kiosk,
        index: usize,
        step: &crate::core::survey::Step,
        tr: &dyn Fn(&Localized) -> SharedString,
    ) -> Screen {
        let items = |options: &[crate::core::survey::ChoiceOption]| {
            let selected = kiosk.selected_options(&step.id);
            let items: Vec<ChoiceItem> = options
                .iter()
                .map(|o| ChoiceItem {
                    id: o.id.as_str().into(),
                    label: tr(&o.label),
                    selected: selected.contains(&o.id),
                })
                .collect();
            ModelRc::new(VecModel::from(items))
        };
        match &step.kind {
            StepKind::Service { question, options }
            | StepKind::Choice {
                question, options, ..
            } => {
                let multiple = matches!(step.kind, StepKind::Choice { multiple: true, .. });
                let a = window.global::<ChoiceAdapter>();
                a.set_question(tr(question));
                a.set_multiple(multiple);
                set_items(|m| a.set_options(m), a.get_options(), items(options));
                Screen::Choice
            }
            StepKind::Rating { question, scale } => {
                let a = window.global::<RatingAdapter>();
                a.set_question(tr(question));
                a.set_kind(rating_kind(*scale));
                a.set_selected(kiosk.rating_value(&step.id).unwrap_or(-1));
                Screen::Rating
            }
            StepKind::Agree { statement } => {
                let a = window.global::<RatingAdapter>();
                a.set_question(tr(statement));
                a.set_kind(RatingKind::Agree5);
                a.set_selected(kiosk.rating_value(&step.id).unwrap_or(-1));
                Screen::Rating
            }
            StepKind::Reasons {
                rating_step,
                multiple,
                ..
            } => {
                let a = window.global::<ReasonsAdapter>();
                a.set_multiple(*multiple);
                if let Some((set, rating)) = kiosk.reason_set(index) {
                    a.set_question(tr(&set.question));
                    set_items(|m| a.set_options(m), a.get_options(), items(&set.options));
                    a.set_rating(rating);
                }
                let scale = kiosk.survey().step(rating_step).and_then(|s| match s.kind {
                    StepKind::Rating { scale, .. } => Some(scale),
                    _ => None,
                });
                a.set_rating_kind(scale.map_or(RatingKind::Smiley5, rating_kind));
                Screen::Reasons
            }
            StepKind::Text {
                question,
                max_chars,
            } => {
                let a = window.global::<TextAdapter>();
                let text = kiosk.text_draft(&step.id);
                a.set_question(tr(question));
                a.set_text(text.into());
                a.set_remaining(crate::core::text::remaining(text, *max_chars as usize) as i32);
                Screen::Text
            }
            StepKind::Contact { question, consent } => {
                let a = window.global::<ContactAdapter>();
                a.set_question(tr(question));
                a.set_consent_text(tr(consent));
                if let Some(draft) = kiosk.contact_draft() {
                    a.set_name(draft.name.as_str().into());
                    a.set_reach(draft.reach.as_str().into());
                    a.set_can_submit(draft.can_submit());
                }
                Screen::Contact
            }
            StepKind::Receipt { prompt, mode } => {
                let a = window.global::<ReceiptAdapter>();
                a.set_prompt(tr(prompt));
                a.set_required(*mode == crate::core::survey::ReceiptMode::Required);
                a.set_scanned(kiosk.receipt().is_some());
                Screen::Receipt
            }
        }
    }
}

/// Replaces a model's rows in place when it has the same length (so that a toggle does not
/// rebuild the tiles and restart their animations), else sets a new model.
fn set_items(
    set: impl Fn(ModelRc<ChoiceItem>),
    current: ModelRc<ChoiceItem>,
    new: ModelRc<ChoiceItem>,
) {
    if current.row_count() == new.row_count() && current.row_count() > 0 {
        let same_ids = (0..new.row_count())
            .all(|i| current.row_data(i).map(|c| c.id) == new.row_data(i).map(|n| n.id));
        if same_ids {
            for i in 0..new.row_count() {
                if let Some(row) = new.row_data(i) {
                    if current.row_data(i).as_ref() != Some(&row) {
                        current.set_row_data(i, row);
                    }
                }
            }
            return;
        }
    }
    set(new);
}

fn rating_kind(scale: RatingScale) -> RatingKind {
    match scale {
        RatingScale::Smiley4 => RatingKind::Smiley4,
        RatingScale::Smiley5 => RatingKind::Smiley5,
        RatingScale::Nps => RatingKind::Nps,
        RatingScale::Stars5 => RatingKind::Stars5,
    }
}

/// A QR code of `url` as an image: dark modules on white with the standard quiet zone.
fn qr_image(url: &str) -> Option<slint::Image> {
    let code = qrcodegen::QrCode::encode_text(url, qrcodegen::QrCodeEcc::Medium).ok()?;
    const MODULE_PX: u32 = 8;
    const QUIET_ZONE: i32 = 4;
    let modules = code.size() + 2 * QUIET_ZONE;
    let side = modules as u32 * MODULE_PX;
    let mut buffer = slint::SharedPixelBuffer::<slint::Rgb8Pixel>::new(side, side);
    let pixels = buffer.make_mut_slice();
    for y in 0..side {
        for x in 0..side {
            let mx = (x / MODULE_PX) as i32 - QUIET_ZONE;
            let my = (y / MODULE_PX) as i32 - QUIET_ZONE;
            let dark = code.get_module(mx, my);
            let v = if dark { 0 } else { 255 };
            pixels[(y * side + x) as usize] = slint::Rgb8Pixel { r: v, g: v, b: v };
        }
    }
    Some(slint::Image::from_rgb8(buffer))
}

/// Connects every adapter callback to the core.
fn connect(window: &MainWindow, bridge: &Rc<Bridge>) {
    // Each callback holds a weak reference: the window owns the callbacks, the bridge owns
    // a weak window, and nothing keeps the other alive in a cycle.
    let on = |event: Event| {
        let weak = Rc::downgrade(bridge);
        move || {
            if let Some(b) = weak.upgrade() {
                b.send(event.clone());
            }
        }
    };
    let with = |f: fn(&Rc<Bridge>, SharedString)| {
        let weak = Rc::downgrade(bridge);
        move |s: SharedString| {
            if let Some(b) = weak.upgrade() {
                f(&b, s);
            }
        }
    };

    let frame = window.global::<KioskAdapter>();
    frame.on_open_languages(on(Event::OpenLanguages));
    frame.on_back(on(Event::Back));
    frame.on_skip(on(Event::Skip));
    frame.on_cancel(on(Event::Cancel));
    frame.on_call_staff(on(Event::CallStaff));
    let weak = Rc::downgrade(bridge);
    frame.on_wake(move || {
        if let Some(b) = weak.upgrade() {
            b.wake();
        }
    });

    window.global::<AttractAdapter>().on_start(on(Event::Start));

    let languages = window.global::<LanguageAdapter>();
    languages.on_choose(with(|b, code| b.send(Event::ChooseLanguage(code.into()))));
    languages.on_close(on(Event::CloseLanguages));

    let choice = window.global::<ChoiceAdapter>();
    choice.on_pick(with(|b, id| b.send(Event::Pick(id.into()))));
    choice.on_toggle(with(|b, id| b.send(Event::Toggle(id.into()))));
    choice.on_next(on(Event::Next));

    let reasons = window.global::<ReasonsAdapter>();
    reasons.on_pick(with(|b, id| b.send(Event::Pick(id.into()))));
    reasons.on_toggle(with(|b, id| b.send(Event::Toggle(id.into()))));
    reasons.on_next(on(Event::Next));

    let weak = Rc::downgrade(bridge);
    window.global::<RatingAdapter>().on_rate(move |value| {
        if let Some(b) = weak.upgrade() {
            b.send(Event::Rate(value));
        }
    });

    let text = window.global::<TextAdapter>();
    text.on_key(with(|b, key| b.send(Event::Key(key.into()))));
    text.on_backspace(on(Event::Backspace));
    text.on_done(on(Event::Next));

    let contact = window.global::<ContactAdapter>();
    // The field being typed into is chosen on the screen; tell the core before each key.
    let contact_field = |b: &Rc<Bridge>| {
        let field = b
            .window
            .upgrade()
            .map_or(0, |w| w.global::<ContactAdapter>().get_field());
        b.send(Event::SelectContactField(if field == 1 {
            ContactField::Reach
        } else {
            ContactField::Name
        }));
    };
    let weak = Rc::downgrade(bridge);
    contact.on_key(move |key| {
        if let Some(b) = weak.upgrade() {
            contact_field(&b);
            b.send(Event::Key(key.into()));
        }
    });
    let weak = Rc::downgrade(bridge);
    contact.on_backspace(move || {
        if let Some(b) = weak.upgrade() {
            contact_field(&b);
            b.send(Event::Backspace);
        }
    });
    contact.on_submit(on(Event::SubmitContact));
    contact.on_decline(on(Event::Skip));

    window
        .global::<StillThereAdapter>()
        .on_still_here(on(Event::StillHere));
    window
        .global::<ThanksAdapter>()
        .on_done(on(Event::DismissThanks));
}
