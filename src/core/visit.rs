//! The visit state machine. The kiosk moves attract → steps → saving → thanks → attract; at
//! any step the visitor can change language, go back, skip what is optional or start again,
//! and a visit left alone ends as `timeout` with its answers kept.
//!
//! [`Kiosk::handle`] takes an [`Event`] and the [`Moment`] it happened at and returns a
//! [`Reaction`]; [`Kiosk::screen`] says what to show. Time only moves through the moments
//! given, so tests drive hours of visits in microseconds. [`Kiosk::next_wakeup`] says when a
//! `Tick` would next change anything, so the display side can sleep until then instead of
//! polling (an idle kiosk uses no CPU).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use uuid::Uuid;

use super::receipt::{ReceiptRules, ScanVerdict};
use super::record::{
    rfc3339, Answer, AnswerValue, ClockInfo, Flags, Moment, Outcome, ResponseRecord,
};
use super::survey::{ReasonSet, ReceiptMode, Step, StepKind, Survey, AGREE_RANGE};
use super::{receipt, reference, text};

/// Longest code looked at as a receipt; anything longer is not one (the scanner adapter
/// discards over-long frames before they get here, this is the core's own guard).
pub const MAX_RECEIPT_CHARS: usize = 512;
/// Longest the visitor waits on "Saving…" for the sink's verdict before being told that
/// their answers could not be confirmed as saved.
pub const SAVE_WAIT: Duration = Duration::from_secs(10);
/// Contact fields are short; the limit keeps a stuck key from filling the record.
pub const MAX_CONTACT_CHARS: usize = 120;
/// How long a message about a scan stays up, unless the visitor touches the screen sooner.
pub const NOTICE_TIME: Duration = Duration::from_secs(6);

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

    /// Offers staff call, each call lasting `duration`.
    pub fn with_staff_call(mut self, duration: Duration) -> Self {
        self.staff_call_time = duration;
        self
    }

    pub fn can_call_staff(&self) -> bool {
        !self.staff_call_time.is_zero()
    }

    /// Whether a staff call is on: the screen says someone is coming.
    pub fn help_coming(&self) -> bool {
        self.help_until.is_some()
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

    /// The message about the last scan, while it is up.
    pub fn notice(&self) -> Option<&Notice> {
        self.notice.as_ref().map(|(n, _)| n)
    }

    pub fn survey(&self) -> &Arc<Survey> {
        &self.survey
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

    pub fn language(&self) -> &str {
        &self.language
    }

    pub fn in_visit(&self) -> bool {
        matches!(self.phase, Phase::Visit(_))
    }

    pub fn screen(&self) -> Screen {
        if self.language_open {
            return Screen::Language;
        }
        match &self.phase {
            Phase::Attract => Screen::Attract,
            Phase::Visit(v) => match v.prompt_since {
                Some(since) => {
                    let shown = self.now.saturating_sub(since).as_secs() as u32;
                    Screen::StillThere {
                        seconds_left: self.survey.timing.still_there_s.saturating_sub(shown),
                    }
                }
                None => Screen::Step(v.current),
            },
            Phase::Saving { .. } => Screen::Saving,
            Phase::Thanks {
                reference, stored, ..
            } => Screen::Thanks {
                reference: reference.clone(),
                stored: *stored,
            },
        }
    }

    /// The step being answered (also while "Still there?" or the language screen covers it).
    pub fn current_step(&self) -> Option<(usize, &Step)> {
        match &self.phase {
            Phase::Visit(v) => self.survey.steps.get(v.current).map(|s| (v.current, s)),
            _ => None,
        }
    }

    pub fn answer(&self, step_id: &str) -> Option<&AnswerValue> {
        match &self.phase {
            Phase::Visit(v) => v
                .answers
                .iter()
                .find(|a| a.step_id == step_id)
                .map(|a| &a.value),
            _ => None,
        }
    }

    /// Options selected so far on a choice-like step.
    pub fn selected_options(&self, step_id: &str) -> &[String] {
        match self.answer(step_id) {
            Some(AnswerValue::Choice { options }) => options,
            _ => &[],
        }
    }

    /// The rating value given so far on a rating or agree step.
    pub fn rating_value(&self, step_id: &str) -> Option<i32> {
        match self.answer(step_id) {
            Some(AnswerValue::Rating { value, .. } | AnswerValue::Agree { value }) => Some(*value),
            _ => None,
        }
    }

    /// The text typed so far on a text step.
    pub fn text_draft(&self, step_id: &str) -> &str {
        match self.answer(step_id) {
            Some(AnswerValue::Text { text }) => text,
            _ => "",
        }
    }

    pub fn contact_draft(&self) -> Option<&ContactDraft> {
        match &self.phase {
            Phase::Visit(v) => Some(&v.contact),
            _ => None,
        }
    }

    /// The receipt scanned during this visit, as it will be kept.
    pub fn receipt(&self) -> Option<&AnswerValue> {
        match &self.phase {
            Phase::Visit(v) => v
                .answers
                .iter()
                .map(|a| &a.value)
                .find(|a| matches!(a, AnswerValue::Receipt { .. })),
            _ => None,
        }
    }

    /// For a reasons step: the set chosen by the rating given, and that rating.
    pub fn reason_set(&self, step_index: usize) -> Option<(&ReasonSet, i32)> {
        let Phase::Visit(v) = &self.phase else {
            return None;
        };
        reason_set_for(&self.survey, &v.answers, step_index)
    }

    pub fn can_go_back(&self) -> bool {
        matches!(&self.phase, Phase::Visit(v) if !v.history.is_empty())
    }

    pub fn can_skip(&self) -> bool {
        self.current_step().is_some_and(|(_, s)| s.optional)
    }

    /// (this step's number, number of steps) among the steps this visit will show, as far
    /// as the answers so far tell.
    pub fn progress(&self) -> (usize, usize) {
        let Phase::Visit(v) = &self.phase else {
            return (0, 0);
        };
        let shown: Vec<usize> = (0..self.survey.steps.len())
            .filter(|&i| self.applicable(&v.answers, i))
            .collect();
        let number = shown.iter().filter(|&&i| i <= v.current).count();
        (number.max(1), shown.len().max(number))
    }

    /// The monotonic time at which a `Tick` would next change something, if any.
    pub fn next_wakeup(&self) -> Option<Duration> {
        let notice_end = self.notice.as_ref().map(|(_, since)| *since + NOTICE_TIME);
        [self.phase_wakeup(), notice_end, self.help_until]
            .into_iter()
            .flatten()
            .min()
    }

    fn phase_wakeup(&self) -> Option<Duration> {
        let timing = &self.survey.timing;
        let idle = secs(timing.idle_timeout_s);
        match &self.phase {
            Phase::Attract => self.attract_activity.map(|t| t + idle),
            Phase::Visit(v) => Some(match v.prompt_since {
                None => v.last_activity + idle,
                Some(since) => {
                    // Wake each second so the countdown moves, and at the end.
                    let shown = self.now.saturating_sub(since).as_secs() + 1;
                    since + secs(shown.min(u64::from(timing.still_there_s)) as u32)
                }
            }),
            Phase::Saving { since, .. } => Some(*since + SAVE_WAIT),
            Phase::Thanks { since, .. } => Some(*since + secs(timing.thanks_dwell_s)),
        }
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
        let now = self.now;
        // Language and time work the same in every phase.
        match event {
            Event::OpenLanguages => {
                self.language_open = true;
                self.touch(now);
                return changed();
            }
            Event::CloseLanguages => {
                self.language_open = false;
                self.touch(now);
                return changed();
            }
            Event::ChooseLanguage(code) => {
                if self.survey.languages.contains(&code) {
                    self.language = code;
                }
                self.language_open = false;
                self.touch(now);
                return changed();
            }
            Event::Tick => {
                let mut reaction = self.tick(at);
                if self.help_until.is_some_and(|until| now >= until) {
                    self.help_until = None;
                    reaction.staff_call = Some(false);
                }
                return reaction;
            }
            Event::Scan(code) => return self.scan(&code, at),
            Event::CallStaff => {
                if !self.can_call_staff() {
                    return Reaction::default();
                }
                // Pressing again while help is on its way keeps the call on from now.
                self.help_until = Some(now + self.staff_call_time);
                self.touch(now);
                return Reaction {
                    changed: true,
                    staff_call: Some(true),
                    ..Reaction::default()
                };
            }
            _ => {}
        }
        match &mut self.phase {
            Phase::Attract => match event {
                Event::Start => {
                    self.start_visit(at);
                    changed()
                }
                _ => Reaction::default(),
            },
            Phase::Visit(_) => self.visit_event(event, at),
            Phase::Saving { id, reference, .. } => match event {
                Event::Stored { id: stored_id, ok } if stored_id == *id => {
                    self.phase = Phase::Thanks {
                        reference: std::mem::take(reference),
                        stored: ok,
                        since: now,
                    };
                    changed()
                }
                _ => Reaction::default(),
            },
            Phase::Thanks { .. } => match event {
                Event::DismissThanks => {
                    self.return_to_attract();
                    changed()
                }
                Event::Start => {
                    self.return_to_attract();
                    self.start_visit(at);
                    changed()
                }
                _ => Reaction::default(),
            },
        }
    }

    fn touch(&mut self, now: Duration) {
        match &mut self.phase {
            Phase::Visit(v) => {
                v.last_activity = now;
                v.prompt_since = None;
            }
            Phase::Attract => self.attract_activity = Some(now),
            _ => {}
        }
    }

    fn start_visit(&mut self, at: Moment) {
        let interval = secs(self.survey.timing.misuse_interval_s);
        let suspected_misuse = !interval.is_zero()
            && self
                .last_visit_end
                .is_some_and(|end| at.mono.saturating_sub(end) < interval);
        self.visits += 1;
        let id = self.new_id(at.wall);
        let reference = reference::make(self.rng.u64(..));
        let mut visit = Visit {
            id,
            reference,
            started: at,
            visit_number: self.visits,
            current: 0,
            history: Vec::new(),
            answers: Vec::new(),
            contact: ContactDraft::default(),
            last_activity: at.mono,
            prompt_since: None,
            flags: Flags { suspected_misuse },
        };
        visit.current = first_applicable(&self.survey, &visit.answers, 0).unwrap_or(0);
        self.attract_activity = None;
        self.phase = Phase::Visit(Box::new(visit));
    }

    /// UUID v7 from the wall clock and the kiosk's randomness.
    fn new_id(&mut self, wall: SystemTime) -> Uuid {
        let millis = wall
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let mut random = [0u8; 10];
        self.rng.fill(&mut random);
        uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
    }

    fn visit_event(&mut self, event: Event, at: Moment) -> Reaction {
        let survey = Arc::clone(&self.survey);
        let language = self.language.clone();
        let Phase::Visit(v) = &mut self.phase else {
            return Reaction::default();
        };
        let now = self.now;
        v.last_activity = now;
        v.prompt_since = None;
        let Some(step) = survey.steps.get(v.current) else {
            // A survey always has steps; finishing is the only sensible way out.
            return self.finish(Outcome::Completed, at);
        };
        let at_ms = now.saturating_sub(v.started.mono).as_millis() as u64;
        let advance = match (&step.kind, event) {
            (_, Event::Cancel) => return self.finish(Outcome::Abandoned, at),
            (_, Event::StillHere) => false,
            (_, Event::Back) => {
                if let Some(previous) = v.history.pop() {
                    v.current = previous;
                }
                false
            }
            (_, Event::Skip) => {
                if !step.optional {
                    return Reaction::default();
                }
                set_answer(&mut v.answers, &step.id, at_ms, AnswerValue::Skipped);
                true
            }
            (StepKind::Rating { scale, .. }, Event::Rate(value)) => {
                if !scale.range().contains(&value) {
                    return Reaction::default();
                }
                let old = v.answers.iter().position(|a| a.step_id == step.id);
                set_answer(
                    &mut v.answers,
                    &step.id,
                    at_ms,
                    AnswerValue::Rating {
                        scale: scale.name().to_string(),
                        value,
                    },
                );
                if old.is_some() {
                    drop_stale_reasons(&survey, &mut v.answers, &step.id);
                }
                true
            }
            (StepKind::Agree { .. }, Event::Rate(value)) => {
                if !AGREE_RANGE.contains(&value) {
                    return Reaction::default();
                }
                set_answer(
                    &mut v.answers,
                    &step.id,
                    at_ms,
                    AnswerValue::Agree { value },
                );
                true
            }
            (StepKind::Service { options, .. }, Event::Pick(id))
            | (
                StepKind::Choice {
                    options,
                    multiple: false,
                    ..
                },
                Event::Pick(id),
            ) => {
                if !options.iter().any(|o| o.id == id) {
                    return Reaction::default();
                }
                set_answer(
                    &mut v.answers,
                    &step.id,
                    at_ms,
                    AnswerValue::Choice { options: vec![id] },
                );
                true
            }
            (
                StepKind::Reasons {
                    multiple: false, ..
                },
                Event::Pick(id),
            ) => {
                let Some((set, _)) = reason_set_for(&survey, &v.answers, v.current) else {
                    return Reaction::default();
                };
                if !set.options.iter().any(|o| o.id == id) {
                    return Reaction::default();
                }
                set_answer(
                    &mut v.answers,
                    &step.id,
                    at_ms,
                    AnswerValue::Choice { options: vec![id] },
                );
                true
            }
            (
                StepKind::Choice {
                    options,
                    multiple: true,
                    ..
                },
                Event::Toggle(id),
            ) => {
                if !options.iter().any(|o| o.id == id) {
                    return Reaction::default();
                }
                toggle_option(&mut v.answers, &step.id, at_ms, id);
                false
            }
            (StepKind::Reasons { multiple: true, .. }, Event::Toggle(id)) => {
                let Some((set, _)) = reason_set_for(&survey, &v.answers, v.current) else {
                    return Reaction::default();
                };
                if !set.options.iter().any(|o| o.id == id) {
                    return Reaction::default();
                }
                toggle_option(&mut v.answers, &step.id, at_ms, id);
                false
            }
            (
                StepKind::Choice { multiple: true, .. } | StepKind::Reasons { multiple: true, .. },
                Event::Next,
            ) => {
                let chosen = matches!(
                    v.answers.iter().find(|a| a.step_id == step.id).map(|a| &a.value),
                    Some(AnswerValue::Choice { options }) if !options.is_empty()
                );
                if !chosen {
                    if !step.optional {
                        return Reaction::default();
                    }
                    set_answer(&mut v.answers, &step.id, at_ms, AnswerValue::Skipped);
                }
                true
            }
            (StepKind::Text { max_chars, .. }, Event::Key(key)) => {
                let mut draft = match v.answers.iter().find(|a| a.step_id == step.id) {
                    Some(Answer {
                        value: AnswerValue::Text { text },
                        ..
                    }) => text.clone(),
                    _ => String::new(),
                };
                if text::type_key(&mut draft, &key, *max_chars as usize) {
                    set_answer(
                        &mut v.answers,
                        &step.id,
                        at_ms,
                        AnswerValue::Text { text: draft },
                    );
                }
                false
            }
            (StepKind::Text { .. }, Event::Backspace) => {
                if let Some(Answer {
                    value: AnswerValue::Text { text },
                    ..
                }) = v.answers.iter_mut().find(|a| a.step_id == step.id)
                {
                    text::backspace(text);
                    if text.is_empty() {
                        v.answers.retain(|a| a.step_id != step.id);
                    }
                }
                false
            }
            (StepKind::Text { max_chars, .. }, Event::Next) => {
                let typed = match v.answers.iter().find(|a| a.step_id == step.id) {
                    Some(Answer {
                        value: AnswerValue::Text { text },
                        ..
                    }) => text.clone(),
                    _ => String::new(),
                };
                let cleaned = text::clean(&typed, *max_chars as usize);
                if cleaned.is_empty() {
                    if !step.optional {
                        return Reaction::default();
                    }
                    set_answer(&mut v.answers, &step.id, at_ms, AnswerValue::Skipped);
                } else {
                    set_answer(
                        &mut v.answers,
                        &step.id,
                        at_ms,
                        AnswerValue::Text { text: cleaned },
                    );
                }
                true
            }
            (StepKind::Contact { .. }, Event::SelectContactField(field)) => {
                v.contact.field = Some(field);
                false
            }
            (StepKind::Contact { .. }, Event::Key(key)) => {
                let target = match v.contact.field.unwrap_or(ContactField::Name) {
                    ContactField::Name => &mut v.contact.name,
                    ContactField::Reach => &mut v.contact.reach,
                };
                text::type_key(target, &key, MAX_CONTACT_CHARS);
                false
            }
            (StepKind::Contact { .. }, Event::Backspace) => {
                match v.contact.field.unwrap_or(ContactField::Name) {
                    ContactField::Name => text::backspace(&mut v.contact.name),
                    ContactField::Reach => text::backspace(&mut v.contact.reach),
                };
                false
            }
            (StepKind::Contact { consent, .. }, Event::SubmitContact) => {
                if !v.contact.can_submit() {
                    return Reaction::default();
                }
                let value = AnswerValue::Contact {
                    name: text::clean(&v.contact.name, MAX_CONTACT_CHARS),
                    reach: text::clean(&v.contact.reach, MAX_CONTACT_CHARS),
                    consent_text: consent.get(&language, &survey.default_language).to_string(),
                };
                set_answer(&mut v.answers, &step.id, at_ms, value);
                true
            }
            _ => return Reaction::default(),
        };
        if advance {
            return self.advance(at);
        }
        changed()
    }

    /// Moves the visit on from the step just answered, finishing it after the last.
    fn advance(&mut self, at: Moment) -> Reaction {
        let Phase::Visit(v) = &mut self.phase else {
            return Reaction::default();
        };
        let from = v.current;
        match first_applicable(&self.survey, &v.answers, from + 1) {
            Some(next) => {
                v.history.push(from);
                v.current = next;
                changed()
            }
            None => self.finish(Outcome::Completed, at),
        }
    }

    /// A code from the scanner. A receipt starts a visit (on the attract or thanks screen),
    /// answers the receipt step, or is kept for the visit under way; anything else is
    /// explained to the visitor and not kept.
    fn scan(&mut self, code: &str, at: Moment) -> Reaction {
        if self.survey.receipt_mode() == ReceiptMode::Off
            || matches!(self.phase, Phase::Saving { .. })
        {
            return Reaction::default();
        }
        // Only the line ending and padding go: the rest is the receipt patterns' to judge
        // (GS1 codes carry group separators), and the code itself is never kept.
        let code = code.trim_matches(|c: char| c.is_whitespace() || c == '\0');
        if code.is_empty() {
            return Reaction::default();
        }
        self.touch(self.now);
        if code.chars().count() > MAX_RECEIPT_CHARS {
            return self.show_notice(Notice::NotAReceipt);
        }
        let today = receipt::day_of(at.wall);
        // A clock that is not synchronised may be days behind or ahead: no visitor is turned
        // away as "too old" on its word.
        let max_age = if at.wall_synchronized {
            self.receipts.max_age_days
        } else {
            i64::MAX
        };
        let receipt = match receipt::judge(code, &self.receipts.patterns, today, max_age) {
            ScanVerdict::Receipt(r) => r,
            ScanVerdict::NotAReceipt => return self.show_notice(Notice::NotAReceipt),
            ScanVerdict::Misread => return self.show_notice(Notice::ScanAgain),
            ScanVerdict::Expired { .. } => {
                let max_age_days = self.receipts.max_age_days;
                return self.show_notice(Notice::Expired { max_age_days });
            }
        };
        if self
            .used_receipts
            .contains(&self.receipts.transaction(&receipt))
        {
            return self.show_notice(Notice::AlreadyGiven);
        }
        self.notice = None;
        match self.phase {
            Phase::Attract => self.start_visit(at),
            Phase::Thanks { .. } => {
                self.return_to_attract();
                self.start_visit(at);
            }
            _ => {}
        }
        let answer = self.receipts.answer(&receipt);
        let survey = Arc::clone(&self.survey);
        let Phase::Visit(v) = &mut self.phase else {
            return changed();
        };
        let Some(receipt_step) = survey
            .steps
            .iter()
            .find(|s| matches!(s.kind, StepKind::Receipt { .. }))
        else {
            return changed();
        };
        let at_ms = self.now.saturating_sub(v.started.mono).as_millis() as u64;
        set_answer(&mut v.answers, &receipt_step.id, at_ms, answer);
        let on_receipt_step = survey
            .steps
            .get(v.current)
            .is_some_and(|s| s.id == receipt_step.id);
        if on_receipt_step {
            return self.advance(at);
        }
        changed()
    }

    fn show_notice(&mut self, notice: Notice) -> Reaction {
        self.notice = Some((notice, self.now));
        changed()
    }

    fn tick(&mut self, at: Moment) -> Reaction {
        let now = self.now;
        if self
            .notice
            .as_ref()
            .is_some_and(|(_, since)| now >= *since + NOTICE_TIME)
        {
            self.notice = None;
        }
        let timing = self.survey.timing;
        let idle = secs(timing.idle_timeout_s);
        match &mut self.phase {
            Phase::Attract => {
                if self.attract_activity.is_some_and(|t| now >= t + idle) {
                    // The person who picked a language left without starting.
                    self.attract_activity = None;
                    self.language_open = false;
                    self.language = self.survey.default_language.clone();
                }
                Reaction::default()
            }
            Phase::Visit(v) => {
                if v.prompt_since.is_none() && now >= v.last_activity + idle {
                    v.prompt_since = Some(v.last_activity + idle);
                }
                if now >= v.last_activity + idle + secs(timing.still_there_s) {
                    return self.finish(Outcome::Timeout, at);
                }
                Reaction::default()
            }
            Phase::Saving {
                reference, since, ..
            } => {
                if now >= *since + SAVE_WAIT {
                    // The storage has not answered: the visitor is not kept waiting, and is
                    // not told the answers are safe when that is not known.
                    self.phase = Phase::Thanks {
                        reference: std::mem::take(reference),
                        stored: false,
                        since: now,
                    };
                }
                Reaction::default()
            }
            Phase::Thanks { since, .. } => {
                if now >= *since + secs(timing.thanks_dwell_s) {
                    self.return_to_attract();
                }
                Reaction::default()
            }
        }
    }

    fn return_to_attract(&mut self) {
        self.phase = Phase::Attract;
        self.language = self.survey.default_language.clone();
        self.language_open = false;
        self.attract_activity = None;
    }

    fn finish(&mut self, outcome: Outcome, at: Moment) -> Reaction {
        let Phase::Visit(v) = std::mem::replace(&mut self.phase, Phase::Attract) else {
            return Reaction::default();
        };
        let survey = &self.survey;
        // A timed-out visit ends when the prompt ran out, not when the tick noticed.
        let end_mono = match outcome {
            Outcome::Timeout => {
                v.last_activity + secs(survey.timing.idle_timeout_s + survey.timing.still_there_s)
            }
            _ => self.now,
        }
        .max(v.started.mono);
        let end_wall = v.started.wall + (end_mono - v.started.mono);
        let service = survey.steps.iter().find_map(|s| match s.kind {
            StepKind::Service { .. } => {
                v.answers
                    .iter()
                    .find(|a| a.step_id == s.id)
                    .and_then(|a| match &a.value {
                        AnswerValue::Choice { options } => options.first().cloned(),
                        _ => None,
                    })
            }
            _ => None,
        });
        let record = ResponseRecord {
            id: v.id,
            reference: v.reference.clone(),
            survey_id: survey.id.clone(),
            survey_version: survey.version.clone(),
            language: self.language.clone(),
            site_id: self.ids.site_id.clone(),
            device_id: self.ids.device_id.clone(),
            started_at: rfc3339(v.started.wall),
            finished_at: rfc3339(end_wall),
            clock: ClockInfo {
                synchronized: v.started.wall_synchronized && at.wall_synchronized,
                started_mono_ms: v.started.mono.as_millis() as u64,
                finished_mono_ms: end_mono.as_millis() as u64,
                visit_number: v.visit_number,
                run_id: self.ids.run_id,
            },
            outcome,
            service,
            answers: v.answers,
            flags: v.flags,
        };
        if record.has_feedback() {
            if let Some(transaction) = record.receipt_transaction() {
                self.used_receipts.insert(transaction.to_string());
            }
        }
        match outcome {
            Outcome::Completed => {
                self.last_visit_end = Some(end_mono);
                self.phase = Phase::Saving {
                    id: v.id,
                    reference: v.reference,
                    since: end_mono,
                };
            }
            Outcome::Abandoned => {
                self.last_visit_end = Some(end_mono);
                self.return_to_attract();
            }
            // Nobody was there at the end: the next person is not "pressing again".
            Outcome::Timeout => self.return_to_attract(),
        }
        Reaction {
            changed: true,
            finished: Some(record),
            ..Reaction::default()
        }
    }

    fn applicable(&self, answers: &[Answer], index: usize) -> bool {
        step_applicable(&self.survey, answers, index)
    }
}

fn changed() -> Reaction {
    Reaction {
        changed: true,
        ..Reaction::default()
    }
}

fn secs(s: u32) -> Duration {
    Duration::from_secs(u64::from(s))
}

fn set_answer(answers: &mut Vec<Answer>, step_id: &str, at_ms: u64, value: AnswerValue) {
    match answers.iter_mut().find(|a| a.step_id == step_id) {
        Some(a) => {
            a.at_ms = at_ms;
            a.value = value;
        }
        None => answers.push(Answer {
            step_id: step_id.to_string(),
            at_ms,
            value,
        }),
    }
}

fn toggle_option(answers: &mut Vec<Answer>, step_id: &str, at_ms: u64, id: String) {
    let mut options = match answers
        .iter()
        .find(|a| a.step_id == step_id)
        .map(|a| &a.value)
    {
        Some(AnswerValue::Choice { options }) => options.clone(),
        _ => Vec::new(),
    };
    match options.iter().position(|o| *o == id) {
        Some(i) => {
            options.remove(i);
        }
        None => options.push(id),
    }
    if options.is_empty() {
        answers.retain(|a| a.step_id != step_id);
    } else {
        set_answer(answers, step_id, at_ms, AnswerValue::Choice { options });
    }
}

/// A changed rating may pick another reason set: reasons chosen for the old one no longer
/// apply and would mislead ("what went well" kept under a bad rating).
fn drop_stale_reasons(survey: &Survey, answers: &mut Vec<Answer>, rating_step: &str) {
    for (index, step) in survey.steps.iter().enumerate() {
        if let StepKind::Reasons { rating_step: r, .. } = &step.kind {
            if r != rating_step {
                continue;
            }
            let Some(given) = answers.iter().find(|a| a.step_id == step.id) else {
                continue;
            };
            let still_valid = match (&given.value, reason_set_for(survey, answers, index)) {
                (AnswerValue::Choice { options }, Some((set, _))) => options
                    .iter()
                    .all(|o| set.options.iter().any(|s| s.id == *o)),
                (AnswerValue::Skipped, Some(_)) => true,
                _ => false,
            };
            if !still_valid {
                answers.retain(|a| a.step_id != step.id);
            }
        }
    }
}

fn reason_set_for<'a>(
    survey: &'a Survey,
    answers: &[Answer],
    step_index: usize,
) -> Option<(&'a ReasonSet, i32)> {
    let StepKind::Reasons {
        rating_step, sets, ..
    } = &survey.steps.get(step_index)?.kind
    else {
        return None;
    };
    let rating = answers
        .iter()
        .find(|a| a.step_id == *rating_step)
        .and_then(|a| match a.value {
            AnswerValue::Rating { value, .. } => Some(value),
            _ => None,
        })?;
    sets.iter()
        .find(|s| s.ratings.contains(&rating))
        .map(|s| (s, rating))
}

fn step_applicable(survey: &Survey, answers: &[Answer], index: usize) -> bool {
    let Some(step) = survey.steps.get(index) else {
        return false;
    };
    match &step.kind {
        StepKind::Reasons { .. } => reason_set_for(survey, answers, index).is_some(),
        StepKind::Receipt { mode, .. } => {
            // A receipt scanned earlier in the visit answers the step already.
            *mode != ReceiptMode::Off
                && !answers
                    .iter()
                    .any(|a| a.step_id == step.id && matches!(a.value, AnswerValue::Receipt { .. }))
        }
        _ => true,
    }
}

fn first_applicable(survey: &Survey, answers: &[Answer], from: usize) -> Option<usize> {
    (from..survey.steps.len()).find(|&i| step_applicable(survey, answers, i))
}

#[cfg(test)]
#[path = "visit_tests.rs"]
mod tests;
