//! Randomised visits through the real core and response sink, with no display: for load,
//! benchmarks and crash tests. Time is simulated (a visit takes no real seconds), but every
//! record goes to the sink and each completed visit waits for the sink's verdict, as the
//! thanks screen does. With the clock kept unsynchronised (`clock::TIME_SYNC_MARKER_ENV`
//! naming a file that does not exist), the visits are those of a device whose clock still
//! reads 1970, in the current boot.

use std::collections::BTreeMap;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::core::record::{Moment, Outcome};
use crate::core::survey::{ReceiptMode, StepKind, Survey};
use crate::core::visit::{ContactField, DeviceIds, Event, Kiosk, Screen};
use crate::seams::sink::ResponseSink;
use crate::storage::Queue;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub visits: u64,
    pub outcomes: BTreeMap<&'static str, u64>,
    pub stored: u64,
    pub store_failures: u64,
    pub flagged_misuse: u64,
    pub answers: u64,
    /// Records claimed and acknowledged by the simulated uploader.
    pub acked: u64,
}

/// Longest a simulated visit may take in actions before the visitor gives up (a survey with
/// a required step nobody can answer would otherwise loop).
const MAX_ACTIONS: usize = 200;

/// Extras for crash tests and benchmarks.
#[derive(Default)]
pub struct SimulateOptions {
    /// Print `committed <id>` on standard output (flushed) as soon as the sink confirms each
    /// record, so a harness that kills the process knows what must have survived.
    pub print_committed: bool,
    /// Every this many visits, act as the uploader: claim a batch from the queue and
    /// acknowledge it (so that kills also land during claim and acknowledgement).
    pub drain: Option<(Arc<Queue>, u64)>,
}

/// A little more than the mean gap between simulated visits plus the visit itself.
const AVERAGE_VISIT_SPACING_S: u64 = 200;

pub fn run(
    survey: Arc<Survey>,
    ids: DeviceIds,
    sink: &dyn ResponseSink,
    visits: u64,
    seed: u64,
    options: &SimulateOptions,
) -> Summary {
    // Simulated time is not the device's clock: it counts as synchronised, unless the
    // marker's place was taken (`EARSHOT_TIME_SYNC_MARKER`) by a file that does not exist.
    if crate::system::clock::marker_replaced() && !crate::system::clock::wall_synchronized() {
        let boot_age = crate::system::clock::boot_reading().map(|b| b.elapsed);
        let pace = unsynchronised_pace(&survey, &ids, visits, seed, boot_age);
        let start = unsynchronised_start(pace.took);
        return drive(
            survey,
            ids,
            sink,
            visits,
            seed,
            options,
            Schedule {
                start,
                gaps: pace.gaps,
            },
        )
        .0;
    }
    // The simulated visitors come every few minutes, so a long run spans weeks. It is set in
    // the recent past, ending about now, as a real backlog would: a receiver rightly refuses
    // times far in the future. (Capped at two years back.) Weeks of visits are longer than a
    // boot: they have no boot-time readings.
    let span = Duration::from_secs(visits.saturating_mul(AVERAGE_VISIT_SPACING_S))
        .min(Duration::from_secs(2 * 365 * 24 * 3600));
    let start = Moment {
        mono: Duration::from_secs(1),
        wall: SystemTime::now()
            .checked_sub(span)
            .unwrap_or_else(SystemTime::now),
        wall_synchronized: true,
        boot: None,
    };
    let schedule = Schedule {
        start,
        gaps: GapScale::FULL,
    };
    drive(survey, ids, sink, visits, seed, options, schedule).0
}

/// When a run starts, and how long its visitors wait between them.
#[derive(Debug, Clone, Copy)]
struct Schedule {
    start: Moment,
    gaps: GapScale,
}

/// How much of each long wait between visitors a run keeps: 1 as drawn, 0 the shortest.
/// Only the waits change with it, never what the visitors do, so a run's length is the same
/// line of it for every seed.
#[derive(Debug, Clone, Copy, PartialEq)]
struct GapScale(f64);

impl GapScale {
    const FULL: GapScale = GapScale(1.0);
    const SHORTEST: GapScale = GapScale(0.0);
}

/// The shortest and the longest wait between visitors who do not come at once, in ms.
const LONG_GAP_MS: std::ops::Range<u64> = 5_000..300_000;

/// A run of visits recorded unsynchronised, fit into the current boot.
#[derive(Debug)]
struct Pace {
    gaps: GapScale,
    /// How long the run takes in simulated time, with a second to spare.
    took: Duration,
}

/// The visits must lie in the current boot, and end by now on its clock: a receiver cannot
/// place readings later than its request's, and none before the boot exist. Runs that store
/// nothing measure how long the visits take; on a boot younger than that, the waits between
/// visitors are shortened until the run fits (what the visitors do stays the same).
fn unsynchronised_pace(
    survey: &Arc<Survey>,
    ids: &DeviceIds,
    visits: u64,
    seed: u64,
    boot_age: Option<Duration>,
) -> Pace {
    let took = |gaps: GapScale| {
        let start = unsynchronised_start(Duration::ZERO);
        let (_, end) = drive(
            Arc::clone(survey),
            ids.clone(),
            &Discard,
            visits,
            seed,
            &SimulateOptions::default(),
            Schedule { start, gaps },
        );
        end.mono.saturating_sub(start.mono) + Duration::from_secs(1)
    };
    let full = took(GapScale::FULL);
    let Some(room) = boot_age
        .map(|age| age.saturating_sub(Duration::from_secs(1)))
        .filter(|&room| room < full)
    else {
        return Pace {
            gaps: GapScale::FULL,
            took: full,
        };
    };
    let shortest = took(GapScale::SHORTEST);
    if shortest >= room {
        tracing::warn!(
            booted_s = room.as_secs() + 1,
            needs_s = shortest.as_secs(),
            "the device booted too recently for these visits to end by now on its clock; \
             a receiver cannot place the last of them"
        );
        return Pace {
            gaps: GapScale::SHORTEST,
            took: shortest,
        };
    }
    // The run's length is a line in the scale: the part of it that fits the room, a little
    // less for the milliseconds each wait is rounded down by.
    let fraction = (room - shortest).as_secs_f64() / (full - shortest).as_secs_f64();
    let gaps = GapScale((fraction * 0.99).clamp(0.0, 1.0));
    Pace {
        gaps,
        took: took(gaps),
    }
}

/// Takes every record and keeps none: for measuring a run.
struct Discard;

impl ResponseSink for Discard {
    fn submit(
        &self,
        _record: crate::core::record::ResponseRecord,
        done: crate::seams::sink::StoreCallback,
    ) {
        done(Ok(()));
    }

    fn describe(&self) -> String {
        "nowhere".into()
    }
}

/// The visits from `start` on; what happened, and the last moment.
fn drive(
    survey: Arc<Survey>,
    ids: DeviceIds,
    sink: &dyn ResponseSink,
    visits: u64,
    seed: u64,
    options: &SimulateOptions,
    schedule: Schedule,
) -> (Summary, Moment) {
    let Schedule { start, gaps } = schedule;
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut kiosk = Kiosk::new(Arc::clone(&survey), ids, rng.u64(..));
    let mut at = start;
    let mut summary = Summary::default();

    let send = |kiosk: &mut Kiosk, event: Event, at: Moment, summary: &mut Summary| {
        let reaction = kiosk.handle(event, at);
        let Some(record) = reaction.finished else {
            return;
        };
        summary.visits += 1;
        summary.answers += record.answers.len() as u64;
        summary.flagged_misuse += u64::from(record.flags.suspected_misuse);
        let outcome = record.outcome;
        *summary.outcomes.entry(outcome_name(outcome)).or_default() += 1;
        let id = record.id;
        let (tx, rx) = mpsc::channel();
        sink.submit(
            record,
            Box::new(move |result| {
                let _ = tx.send(result);
            }),
        );
        let ok = match rx.recv() {
            Ok(Ok(())) => {
                if options.print_committed {
                    // Flushed at once: a harness that kills the process reads it.
                    outln!("committed {id}");
                }
                true
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "simulated response not stored");
                false
            }
            Err(_) => false,
        };
        if ok {
            summary.stored += 1;
        } else {
            summary.store_failures += 1;
        }
        if outcome == Outcome::Completed {
            kiosk.handle(Event::Stored { id, ok }, at);
        }
    };

    for visit in 0..visits {
        if let Some((queue, every)) = &options.drain {
            if *every > 0 && visit % every == every - 1 {
                drain_once(queue, &mut summary);
            }
        }
        // Gaps between visitors: mostly a while, sometimes at once (flagged as misuse).
        let gap = if rng.u8(..10) == 0 {
            rng.u64(500..4000)
        } else {
            let drawn = rng.u64(LONG_GAP_MS);
            LONG_GAP_MS.start + ((drawn - LONG_GAP_MS.start) as f64 * gaps.0) as u64
        };
        at = at.later(Duration::from_millis(gap));
        send(&mut kiosk, Event::Tick, at, &mut summary);
        if !matches!(kiosk.screen(), Screen::Attract) {
            send(&mut kiosk, Event::DismissThanks, at, &mut summary);
        }
        let receipt_on = survey.receipt_mode() != ReceiptMode::Off;
        let start = if receipt_on && rng.u8(..5) == 0 {
            Event::Scan(receipt_code(&mut rng, at.wall))
        } else {
            Event::Start
        };
        send(&mut kiosk, start, at, &mut summary);

        let mut actions = 0;
        while kiosk.in_visit() {
            actions += 1;
            at = at.later(Duration::from_millis(rng.u64(300..6000)));
            let event = if actions > MAX_ACTIONS {
                Event::Cancel
            } else {
                next_action(&kiosk, &survey, &mut rng, at.wall)
            };
            if event == Event::Tick {
                // Walked away: let the idle timeout and the prompt run out.
                let wait = survey.timing.idle_timeout_s + survey.timing.still_there_s + 1;
                at = at.later(Duration::from_secs(u64::from(wait)));
            }
            send(&mut kiosk, event, at, &mut summary);
        }
    }
    (summary, at)
}

/// Where simulated visits start when the wall clock is not synchronised: on a device that
/// booted with its clock at 1970 (a Raspberry Pi has no battery-backed clock) and has not
/// synchronised since: `back` before now on the current boot's real boot-time clock (no
/// further back than the boot), with the wall clock reading 1970 plus the boot-time clock. A
/// later upload, by another run of the kiosk, can then place the visits on true time as it
/// would a real kiosk's.
fn unsynchronised_start(back: Duration) -> Moment {
    let start = crate::system::clock::boot_reading().map(|now| {
        let back = back.min(now.elapsed.saturating_sub(Duration::from_secs(1)));
        crate::system::clock::BootReading {
            elapsed: now.elapsed - back,
            ..now
        }
    });
    Moment {
        mono: Duration::from_secs(1),
        wall: UNIX_EPOCH + start.map_or(Duration::from_secs(1), |b| b.elapsed),
        wall_synchronized: false,
        boot: start,
    }
}

/// Claims one batch and acknowledges all of it, as an uploader would after the receiver
/// confirmed it.
fn drain_once(queue: &Queue, summary: &mut Summary) {
    match queue.claim_batch(50, 1 << 20) {
        Ok(Some(batch)) => {
            let ids: Vec<uuid::Uuid> = batch.records.iter().map(|r| r.id).collect();
            match queue.ack(batch.id, &ids) {
                Ok(n) => summary.acked += n as u64,
                Err(e) => tracing::error!(error = %e, "simulated acknowledgement failed"),
            }
        }
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "simulated claim failed"),
    }
}

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Completed => "completed",
        Outcome::Timeout => "timeout",
        Outcome::Abandoned => "abandoned",
    }
}

/// A receipt from the day of the visit, as the shipped e-receipt QR example reads it.
fn receipt_code(rng: &mut fastrand::Rng, wall: SystemTime) -> String {
    format!(
        "https://receipts.example.com/r?store={}&till={}&txn=T{:08}&date={}",
        rng.u16(1..999),
        rng.u8(1..20),
        rng.u32(..100_000_000),
        crate::core::receipt::iso_date(crate::core::receipt::day_of(wall))
    )
}

/// Text a visitor might type, in several scripts.
const WORDS: &[&str] = &[
    "quick", "slow", "friendly", "queue", "staff", "ł", "ŵ", "很好", "😀", "ok",
];

fn next_action(kiosk: &Kiosk, survey: &Survey, rng: &mut fastrand::Rng, wall: SystemTime) -> Event {
    if matches!(kiosk.screen(), Screen::StillThere { .. }) {
        return Event::StillHere;
    }
    let roll = rng.u8(..100);
    match roll {
        0..=2 => return Event::Cancel,
        3..=4 => return Event::Tick,
        5..=7 if kiosk.can_go_back() => return Event::Back,
        8..=9 => {
            let lang = &survey.languages[rng.usize(..survey.languages.len())];
            return Event::ChooseLanguage(lang.clone());
        }
        10..=14 if kiosk.can_skip() => return Event::Skip,
        _ => {}
    }
    let Some((index, step)) = kiosk.current_step() else {
        return Event::Cancel;
    };
    let pick = |rng: &mut fastrand::Rng, ids: Vec<&String>| ids[rng.usize(..ids.len())].clone();
    match &step.kind {
        StepKind::Rating { scale, .. } => Event::Rate(rng.i32(scale.range())),
        StepKind::Agree { .. } => Event::Rate(rng.i32(1..=5)),
        StepKind::Service { options, .. }
        | StepKind::Choice {
            options,
            multiple: false,
            ..
        } => Event::Pick(pick(rng, options.iter().map(|o| &o.id).collect())),
        StepKind::Choice {
            options,
            multiple: true,
            ..
        } => {
            if !kiosk.selected_options(&step.id).is_empty() && rng.bool() {
                Event::Next
            } else {
                Event::Toggle(pick(rng, options.iter().map(|o| &o.id).collect()))
            }
        }
        StepKind::Reasons { multiple, .. } => {
            let Some((set, _)) = kiosk.reason_set(index) else {
                return Event::Skip;
            };
            let id = pick(rng, set.options.iter().map(|o| &o.id).collect());
            match multiple {
                false => Event::Pick(id),
                true if !kiosk.selected_options(&step.id).is_empty() && rng.bool() => Event::Next,
                true => Event::Toggle(id),
            }
        }
        StepKind::Text { .. } => {
            if kiosk.text_draft(&step.id).chars().count() > rng.usize(0..40) {
                Event::Next
            } else if rng.u8(..10) == 0 {
                Event::Backspace
            } else {
                Event::Key(WORDS[rng.usize(..WORDS.len())].to_string() + " ")
            }
        }
        StepKind::Contact { .. } => match kiosk.contact_draft() {
            Some(d) if d.can_submit() => Event::SubmitContact,
            Some(d) if d.field != Some(ContactField::Reach) => {
                Event::SelectContactField(ContactField::Reach)
            }
            _ => Event::Key("07700900".to_string() + &rng.u16(100..999).to_string()),
        },
        StepKind::Receipt { .. } => Event::Scan(receipt_code(rng, wall)),
    }
}

/// Runs `run` and prints what happened.
pub fn run_and_report(
    survey: Arc<Survey>,
    ids: DeviceIds,
    sink: &dyn ResponseSink,
    visits: u64,
    seed: u64,
    options: &SimulateOptions,
) -> Summary {
    let started = Instant::now();
    let summary = run(survey, ids, sink, visits, seed, options);
    let elapsed = started.elapsed();
    outln!(
        "simulated {} visits (seed {seed}) in {:.2} s",
        summary.visits,
        elapsed.as_secs_f64()
    );
    for (outcome, n) in &summary.outcomes {
        outln!("  {outcome:<10} {n}");
    }
    outln!("  answers    {}", summary.answers);
    outln!("  misuse     {} flagged (kept)", summary.flagged_misuse);
    outln!(
        "stored {} of {} in {}",
        summary.stored,
        summary.visits,
        sink.describe()
    );
    if summary.store_failures > 0 {
        outln!(
            "NOT STORED: {} (see the log for why)",
            summary.store_failures
        );
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop() -> (Arc<Survey>, DeviceIds) {
        let text = include_str!("../../assets/surveys/shop.toml");
        let survey = Arc::new(crate::core::survey::parse(text, "shop").unwrap());
        let ids = DeviceIds {
            site_id: "s".into(),
            device_id: "d".into(),
            run_id: None,
        };
        (survey, ids)
    }

    fn summary_at(gaps: GapScale, visits: u64, seed: u64) -> (Summary, Duration) {
        let (survey, ids) = shop();
        let start = Moment {
            mono: Duration::from_secs(1),
            wall: UNIX_EPOCH + Duration::from_secs(1),
            wall_synchronized: false,
            boot: None,
        };
        let options = SimulateOptions::default();
        let schedule = Schedule { start, gaps };
        let (summary, end) = drive(survey, ids, &Discard, visits, seed, &options, schedule);
        (summary, end.mono - start.mono)
    }

    #[test]
    fn shorter_waits_between_visitors_change_nothing_the_visitors_do() {
        let (full, full_took) = summary_at(GapScale::FULL, 12, 7);
        let (short, short_took) = summary_at(GapScale::SHORTEST, 12, 7);
        assert_eq!(full, short);
        assert!(
            short_took < full_took / 2,
            "{short_took:?} of {full_took:?}"
        );
    }

    #[test]
    fn visits_on_a_boot_younger_than_they_take_are_fit_into_it() {
        let (survey, ids) = shop();
        let (_, full_took) = summary_at(GapScale::FULL, 6, 22);
        let boot_age = full_took / 2;
        let pace = unsynchronised_pace(&survey, &ids, 6, 22, Some(boot_age));
        assert!(pace.gaps.0 > 0.0 && pace.gaps.0 < 1.0, "{pace:?}");
        assert!(pace.took <= boot_age - Duration::from_secs(1), "{pace:?}");
        // Not squeezed further than it must be.
        assert!(pace.took > boot_age * 9 / 10, "{pace:?} in {boot_age:?}");
    }

    #[test]
    fn visits_on_an_old_boot_keep_their_waits() {
        let (survey, ids) = shop();
        let year = Duration::from_secs(365 * 24 * 3600);
        let pace = unsynchronised_pace(&survey, &ids, 6, 22, Some(year));
        assert_eq!(pace.gaps, GapScale::FULL);
        let (_, took) = summary_at(GapScale::FULL, 6, 22);
        assert_eq!(pace.took, took + Duration::from_secs(1));
    }
}
