//! The bridge between the visit state machine and the Slint UI. The .slint side draws and
//! forwards taps through one adapter global per screen; each screen's file in `screens/`
//! fills its adapter from the core's view and turns its taps into [`Event`]s. This module
//! holds the window, sends events to the core, hands finished records to the sink and says
//! which screen is up. It runs on the UI thread and never waits there: storage verdicts and
//! scans come back from their own threads as messages through the event loop (`inbox`).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use slint::ComponentHandle;

use crate::core::receipt::ReceiptRules;
use crate::core::record::{Outcome, ResponseRecord};
use crate::core::step_view;
use crate::core::survey::Survey;
use crate::core::visit::{self, DeviceIds, Event, Kiosk};
use crate::hardware::{Hardware, StatusLight};
use crate::seams::alarms::{AlarmKind, Alarms};
use crate::seams::scan::ScanSource;
use crate::seams::sink::ResponseSink;

mod inbox;
mod moments;
mod night;
mod screens;

use inbox::{Inbox, UiMessage};
use moments::Moments;

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
    /// the visitor's reference goes (chosen by [`crate::files::config::Config::thanks_tracking_url`]);
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
        // Before the window: its first layout already measures text.
        crate::system::fonts::install().map_err(|p| slint::PlatformError::Other(p.to_string()))?;
        let window = MainWindow::new()?;
        let hide_cursor = parts.hide_cursor;
        let inbox = Inbox::of(&window);
        let bridge = Bridge::new(&window, parts, inbox.clone());
        inbox.deliver_to(&bridge);
        window.global::<Theme>().set_hide_cursor(hide_cursor);
        screens::connect(&window, &bridge);
        screens::frame::set_languages(&window, &bridge.kiosk.borrow());
        bridge.watch_devices();
        bridge.render();
        let liveness = slint::Timer::default();
        if crate::system::service::watchdog_interval().is_some() {
            crate::system::service::liveness().ui_beat();
            liveness.start(
                slint::TimerMode::Repeated,
                crate::system::service::BEAT,
                || crate::system::service::liveness().ui_beat(),
            );
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
        let inbox = self.bridge.inbox.clone();
        source.start(Box::new(move |code| inbox.post(UiMessage::Scanned(code))));
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

struct Bridge {
    window: slint::Weak<MainWindow>,
    /// Where the other threads' results and inputs for this window arrive.
    inbox: Inbox,
    kiosk: RefCell<Kiosk>,
    sink: Arc<dyn ResponseSink>,
    alarms: Alarms,
    hardware: RefCell<Box<dyn Hardware>>,
    /// Fires when the core next needs a `Tick`; stopped while nothing is due.
    timer: slint::Timer,
    moments: Moments,
    /// The interface language last selected, so translations switch only on change.
    shown_language: RefCell<String>,
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

impl Bridge {
    fn new(window: &MainWindow, parts: KioskParts, inbox: Inbox) -> Rc<Bridge> {
        let moments = Moments::new(parts.clock);
        let staff_call = if parts.hardware.has_staff_call() {
            parts.staff_call
        } else {
            Duration::ZERO
        };
        let kiosk = Kiosk::new(parts.survey, parts.ids, parts.seed)
            .remembering(parts.used_receipts)
            .with_staff_call(staff_call);
        let kiosk = match parts.receipts {
            Some(rules) => kiosk.with_receipt_rules(rules),
            None => kiosk,
        };
        Rc::new(Bridge {
            window: window.as_weak(),
            inbox,
            kiosk: RefCell::new(kiosk),
            sink: parts.sink,
            alarms: parts.alarms,
            hardware: RefCell::new(parts.hardware),
            timer: slint::Timer::default(),
            moments,
            shown_language: RefCell::new(String::new()),
            blank: parts.blank,
            tracking_url: parts.tracking_url,
            blanked: Cell::new(false),
            last_input: Cell::new(Duration::ZERO),
            blank_timer: slint::Timer::default(),
        })
    }

    /// Follows the alarms on the status light, and the wake input and the night schedule.
    fn watch_devices(self: &Rc<Self>) {
        self.update_light();
        let inbox = self.inbox.clone();
        self.alarms
            .on_change(move || inbox.post(UiMessage::AlarmsChanged));
        let inbox = self.inbox.clone();
        let wake = self
            .hardware
            .borrow_mut()
            .watch_wake(Box::new(move || inbox.post(UiMessage::Wake)));
        if let Err(e) = wake {
            self.alarms
                .raise(AlarmKind::HardwareUnavailable, e.problem, e.fix);
        }
        self.last_input.set(self.moments.mono());
        self.watch_night();
    }

    fn send(self: &Rc<Self>, event: Event) {
        let at = self.moments.now();
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
            .saturating_sub(self.moments.mono())
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
        let inbox = self.inbox.clone();
        let done = Box::new(move |result: crate::seams::sink::StoreResult| {
            inbox.post(UiMessage::Stored {
                id,
                outcome,
                result,
            })
        });
        self.sink.submit(record, done);
    }

    fn stored(
        self: &Rc<Self>,
        id: uuid::Uuid,
        outcome: Outcome,
        result: crate::seams::sink::StoreResult,
    ) {
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

    /// Fills the adapters from the core's state and shows the screen it says.
    fn render(&self) {
        let Some(window) = self.window.upgrade() else {
            return;
        };
        let kiosk = self.kiosk.borrow();
        self.select_translation(kiosk.language());
        screens::frame::fill(&window, &kiosk, self.blanked.get());
        if !kiosk.in_visit() {
            // The contact form's page and field are the screen's own state.
            screens::contact::reset(&window);
        }
        screens::attract::fill(&window, &kiosk);

        // The step is filled even under the language screen or "Still there?", which may
        // show it behind them.
        let step_screen = step_view::current(&kiosk).map(|view| screens::fill_step(&window, &view));

        let screen = match kiosk.screen() {
            visit::Screen::Attract => Screen::Attract,
            visit::Screen::Language => Screen::Language,
            visit::Screen::Step(_) => step_screen.unwrap_or(Screen::Attract),
            visit::Screen::StillThere { seconds_left } => {
                screens::still_there::fill(&window, seconds_left);
                Screen::StillThere
            }
            visit::Screen::Saving => Screen::Saving,
            visit::Screen::Thanks { reference, stored } => {
                let url = self.tracking_url.as_deref();
                screens::thanks::fill(&window, &kiosk, &reference, stored, url);
                Screen::Thanks
            }
        };
        window.global::<KioskAdapter>().set_screen(screen);
    }

    /// Switches the interface strings when the visit's language changed.
    fn select_translation(&self, language: &str) {
        if *self.shown_language.borrow() != language {
            // English is the source language: selecting it restores the untranslated strings.
            if let Err(e) = slint::select_bundled_translation(language) {
                tracing::warn!(language, error = %e, "no interface translation");
            }
            *self.shown_language.borrow_mut() = language.to_string();
        }
    }
}
