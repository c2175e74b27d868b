//! The visit state machine. The kiosk moves attract → steps → saving → thanks → attract; at
//! any step the visitor can change language, go back, skip what is optional or start again,
//! and a visit left alone ends as `timeout` with its answers kept.
//!
//! [`Kiosk::handle`] takes an [`Event`] and the [`Moment`] it happened at and returns a
//! [`Reaction`]; [`Kiosk::screen`] says what to show. Time only moves through the moments
//! given, so tests drive hours of visits in microseconds. [`Kiosk::next_wakeup`] says when a
//! `Tick` would next change anything, so the display side can sleep until then instead of
//! polling (an idle kiosk uses no CPU).
//!
//! # What always holds
//!
//! - Time never runs backwards: the kiosk's `now` is the latest monotonic reading it has been
//!   given, and every deadline is measured on that clock, never on the wall clock.
//! - Answers exist only inside a visit. A visit ends exactly once — completed after its last
//!   step, abandoned by "start again", or timed out when nobody answered "Still there?" — and
//!   its record, with every answer given so far, is handed out in the reaction to the event
//!   that ended it.
//! - A visit holds at most one answer per step, and only something the step offers: an option
//!   in its list (for reasons, in the set the rating given picks), a value on its scale, text
//!   within its limit. Anything else is ignored, never clamped. A multiple choice emptied
//!   again, or text deleted again, leaves no answer rather than an empty one.
//! - Reasons kept always fit the rating kept: a changed rating drops those chosen for the old
//!   one.
//! - A required step is never recorded as skipped: "Skip" and an empty "Next" do nothing on it.
//! - One response per receipt: a receipt that already has feedback is refused, and a receipt
//!   scanned anywhere in a visit answers the receipt step, which is then not shown.
//! - The thanks screen says the answers are stored only once the sink has said so.
//! - The survey in force changes only between visits.
//! - `Reaction::changed` is true whenever what `screen`, `notice` or `help_coming` report has
//!   changed.
//!
//! # Where the rules are
//!
//! This module holds the types and the dispatch: first the events that work the same in
//! every phase (language, time, scans, staff calls), then the phase's own, then on a step
//! the step kind's. Each step kind's rules live in their own module and say what an event
//! meant there as a `Handled`; what follows from that (stay, move on, finish) is decided
//! here, once, in `Kiosk::follow`. `timing` holds every deadline, `finish` the end of a
//! visit and its record.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use super::receipt::ReceiptRules;
use super::record::{Answer, Flags, Moment, Outcome, ResponseRecord};
use super::survey::{Step, StepKind, Survey};

mod answering;
mod choice;
mod contact;
mod finish;
mod free_text;
mod language;
mod navigation;
mod queries;
mod rating;
mod reasons;
mod receipt;
mod staff_call;
mod start;
mod timing;

#[cfg(test)]
mod tests;

use answering::Answering;

pub use contact::MAX_CONTACT_CHARS;
pub use receipt::MAX_RECEIPT_CHARS;
pub use timing::{NOTICE_TIME, SAVE_WAIT};

/// A short message about a scan, shown over whatever is on screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A product barcode, a loyalty card: "that doesn't look like a receipt".
    NotAReceipt,
    /// It looks like a receipt but did not read right (a check digit, a date): scan again.
    ScanAgain,
    /// The receipt is older than the feedback window.
    Expired { max_age_days: i64 },
    /// Feedback for this receipt has been given already (one response per receipt).
    AlreadyGiven,
}

/// Where the device is, from its config; copied into every record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceIds {
    pub site_id: String,
    pub device_id: String,
    /// This run of the kiosk process, which its monotonic readings belong to (see
    /// `ClockInfo::run_id`).
    pub run_id: Option<uuid::Uuid>,
}

/// The contact form's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactField {
    Name,
    Reach,
}

/// Something that happened: a visitor's tap, a scan, the passing of time, or the sink's
/// answer about a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Tap on the attract screen.
    Start,
    OpenLanguages,
    CloseLanguages,
    ChooseLanguage(String),
    /// A rating or agree step's value.
    Rate(i32),
    /// A single-choice option: answers the step and moves on.
    Pick(String),
    /// A multiple-choice option turned on or off.
    Toggle(String),
    /// Done with a multiple-choice or text step.
    Next,
    /// A character from the on-screen keyboard (text and contact steps).
    Key(String),
    Backspace,
    /// Which contact field the keyboard types into.
    SelectContactField(ContactField),
    /// The contact form's "Send" (the visitor agreed to the consent text to get there).
    SubmitContact,
    /// A receipt barcode, as text.
    Scan(String),
    Skip,
    Back,
    /// "Start again": the visit ends as abandoned.
    Cancel,
    /// The answer to "Still there?".
    StillHere,
    /// Time has passed.
    Tick,
    /// The sink's verdict on a completed record.
    Stored {
        id: Uuid,
        ok: bool,
    },
    /// Tap on the thanks screen: go back to the attract screen now.
    DismissThanks,
    /// "I need help now": call a member of staff.
    CallStaff,
}

/// What to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    Attract,
    Language,
    /// The step at this index of `survey.steps`.
    Step(usize),
    StillThere {
        seconds_left: u32,
    },
    /// Waiting for the sink to confirm the record is stored.
    Saving,
    /// `stored` false: the record could not be stored and the visitor is told so.
    Thanks {
        reference: String,
        stored: bool,
    },
}

/// The result of one event.
#[derive(Debug, Default)]
pub struct Reaction {
    /// Whether what is shown may have changed.
    pub changed: bool,
    /// A visit that just ended: hand it to the sink. For `Completed` visits, send back
    /// `Event::Stored` with the sink's verdict; the thanks screen waits for it.
    pub finished: Option<ResponseRecord>,
    /// Switch the staff-call output on (a visitor asked for help) or off (the call ran its
    /// time).
    pub staff_call: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactDraft {
    pub name: String,
    pub reach: String,
    pub field: Option<ContactField>,
}

impl ContactDraft {
    pub fn can_submit(&self) -> bool {
        !self.reach.trim().is_empty()
    }
}

/// What a step's rules made of an event. The step kinds only judge; [`Kiosk::follow`]
/// decides what each verdict leads to, the same for every kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handled {
    /// Means nothing on this step, or is not something the step offers: nothing changes.
    Ignored,
    /// Changed the answer, a draft or the step shown; the visitor stays where they now are.
    Stay,
    /// Answered the step: on to the next step the visit shows, or the end after the last.
    Advance,
}

#[derive(Debug)]
struct Visit {
    id: Uuid,
    reference: String,
    started: Moment,
    visit_number: u64,
    current: usize,
    history: Vec<usize>,
    answers: Vec<Answer>,
    contact: ContactDraft,
    last_activity: Duration,
    prompt_since: Option<Duration>,
    flags: Flags,
}

impl Visit {
    /// How far into the visit `now` is, as answers are stamped.
    fn ms_into_visit(&self, now: Duration) -> u64 {
        now.saturating_sub(self.started.mono).as_millis() as u64
    }
}

#[derive(Debug)]
enum Phase {
    Attract,
    Visit(Box<Visit>),
    Saving {
        id: Uuid,
        reference: String,
        since: Duration,
    },
    Thanks {
        reference: String,
        stored: bool,
        since: Duration,
    },
}

/// The kiosk's state across visits.
pub struct Kiosk {
    survey: Arc<Survey>,
    ids: DeviceIds,
    rng: fastrand::Rng,
    phase: Phase,
    language: String,
    language_open: bool,
    /// Last touch while no visit runs (language chosen on the attract screen).
    attract_activity: Option<Duration>,
    /// When the last visit a person finished ended (for the misuse check).
    last_visit_end: Option<Duration>,
    visits: u64,
    now: Duration,
    receipts: ReceiptRules,
    /// Keyed transactions of receipts that already have a response (from the queue at
    /// start, and each visit with feedback since).
    used_receipts: HashSet<String>,
    /// The message about the last scan and when it was put up.
    notice: Option<(Notice, Duration)>,
    /// How long a staff call lasts; zero: there is no staff call.
    staff_call_time: Duration,
    /// While a staff call is on: when it ends.
    help_until: Option<Duration>,
}

impl Kiosk {
    /// `seed` feeds the record ids' and reference codes' randomness: give it real entropy in
    /// the kiosk and a fixed value in tests.
    pub fn new(survey: Arc<Survey>, ids: DeviceIds, seed: u64) -> Self {
        let language = survey.default_language.clone();
        let mut rng = fastrand::Rng::with_seed(seed);
        // Until the configured rules are given: the shipped examples under a secret nobody
        // knows, so nothing joinable is ever made by accident.
        let secret: Vec<u8> = std::iter::repeat_with(|| rng.u8(..)).take(32).collect();
        Kiosk {
            survey,
            ids,
            rng,
            phase: Phase::Attract,
            language,
            language_open: false,
            attract_activity: None,
            last_visit_end: None,
            visits: 0,
            now: Duration::ZERO,
            receipts: ReceiptRules::examples(secret),
            used_receipts: HashSet::new(),
            notice: None,
            staff_call_time: Duration::ZERO,
            help_until: None,
        }
    }

    /// Sets how scans are understood.
    pub fn with_receipt_rules(mut self, rules: ReceiptRules) -> Self {
        self.receipts = rules;
        self
    }

    /// Adds receipts (keyed transactions) that already have a response.
    pub fn remembering(mut self, used: impl IntoIterator<Item = String>) -> Self {
        self.used_receipts.extend(used);
        self
    }

    /// Puts a new survey in force. Only between visits: returns false (and changes nothing)
    /// while a visitor is answering, so nobody's questions change under their finger.
    pub fn replace_survey(&mut self, survey: Arc<Survey>) -> bool {
        if !matches!(self.phase, Phase::Attract) {
            return false;
        }
        self.language = survey.default_language.clone();
        self.survey = survey;
        true
    }

    pub fn handle(&mut self, event: Event, at: Moment) -> Reaction {
        self.now = self.now.max(at.mono);
        let before = (
            self.screen(),
            self.notice.clone(),
            self.help_until.is_some(),
        );
        if !matches!(event, Event::Tick | Event::Scan(_) | Event::Stored { .. }) {
            // The visitor touched the screen: they have seen the message.
            self.notice = None;
        }
        let mut reaction = self.apply(event, at);
        reaction.changed = reaction.changed
            || (
                self.screen(),
                self.notice.clone(),
                self.help_until.is_some(),
            ) != before;
        reaction
    }

    fn apply(&mut self, event: Event, at: Moment) -> Reaction {
        // Language, time, scans and staff calls work the same in every phase.
        match event {
            Event::OpenLanguages => self.show_languages(true),
            Event::CloseLanguages => self.show_languages(false),
            Event::ChooseLanguage(code) => self.choose_language(code),
            Event::Tick => self.tick(at),
            Event::Scan(code) => self.scan(&code, at),
            Event::CallStaff => self.call_staff(),
            event => self.phase_event(event, at),
        }
    }

    /// An event that only the current phase gives a meaning.
    fn phase_event(&mut self, event: Event, at: Moment) -> Reaction {
        match (&self.phase, event) {
            (Phase::Visit(_), event) => self.visit_event(event, at),
            (Phase::Attract, Event::Start) => {
                self.start_visit(at);
                changed()
            }
            (Phase::Saving { .. }, Event::Stored { id, ok }) => self.stored(id, ok),
            (Phase::Thanks { .. }, Event::DismissThanks) => {
                self.return_to_attract();
                changed()
            }
            (Phase::Thanks { .. }, Event::Start) => {
                self.return_to_attract();
                self.start_visit(at);
                changed()
            }
            _ => Reaction::default(),
        }
    }

    /// An event during a visit: first what works on every step, then the step kind's own.
    fn visit_event(&mut self, event: Event, at: Moment) -> Reaction {
        let survey = Arc::clone(&self.survey);
        let now = self.now;
        let Phase::Visit(visit) = &mut self.phase else {
            return Reaction::default();
        };
        // Any touch is a sign of life, even one that means nothing on this step.
        visit.last_activity = now;
        visit.prompt_since = None;
        let Some(step) = survey.steps.get(visit.current) else {
            // A survey always has steps; finishing is the only sensible way out.
            return self.finish(Outcome::Completed, at);
        };
        let handled = match event {
            Event::Cancel => return self.finish(Outcome::Abandoned, at),
            // The touch that answered "Still there?" has done its work above.
            Event::StillHere => Handled::Stay,
            Event::Back => visit.go_back(),
            event => {
                let mut answering = Answering {
                    survey: &survey,
                    language: &self.language,
                    step,
                    at_ms: visit.ms_into_visit(now),
                    visit,
                };
                match event {
                    Event::Skip => answering.pass_unanswered(),
                    event => on_step(&mut answering, event),
                }
            }
        };
        self.follow(handled, at)
    }

    /// What a step's verdict leads to.
    fn follow(&mut self, handled: Handled, at: Moment) -> Reaction {
        match handled {
            Handled::Ignored => Reaction::default(),
            Handled::Stay => changed(),
            Handled::Advance => self.advance(at),
        }
    }
}

/// The rules of the step kind being answered.
fn on_step(answering: &mut Answering, event: Event) -> Handled {
    let step: &Step = answering.step;
    match &step.kind {
        StepKind::Rating { scale, .. } => rating::on_rating(answering, *scale, event),
        StepKind::Agree { .. } => rating::on_agree(answering, event),
        // A service is a single choice whose answer the record also carries on its own.
        StepKind::Service { options, .. } => choice::on_options(answering, options, false, event),
        StepKind::Choice {
            options, multiple, ..
        } => choice::on_options(answering, options, *multiple, event),
        StepKind::Reasons { multiple, .. } => reasons::on_reasons(answering, *multiple, event),
        StepKind::Text { max_chars, .. } => free_text::on_text(answering, *max_chars, event),
        StepKind::Contact { consent, .. } => contact::on_contact(answering, consent, event),
        // Answered by a scan, which works in every phase (see `receipt`), or skipped.
        StepKind::Receipt { .. } => Handled::Ignored,
    }
}

fn changed() -> Reaction {
    Reaction {
        changed: true,
        ..Reaction::default()
    }
}
