//! The visit state machine, driven through every path with made-up time. The fixtures are
//! here; the tests, by subject, in the modules below.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::core::language::Localized;
use crate::core::receipt::ReceiptRules;
use crate::core::record::{AnswerValue, Moment, Outcome, ResponseRecord};
use crate::core::reference;
use crate::core::survey::{
    Attract, ChoiceOption, RatingScale, ReasonSet, ReceiptMode, Step, StepKind, Survey, Thanks,
    Timing,
};

mod finishing;
mod kiosk;
mod receipts;
mod steps;
mod timing;

/// The secret the test kiosks key receipts with.
const SECRET: &[u8] = b"test deployment secret";

/// A receipt the shipped QR example pattern reads, dated `date` (YYYY-MM-DD).
fn receipt_url(txn: &str, date: &str) -> String {
    format!("https://receipts.example.com/r?store=412&till=3&txn={txn}&date={date}")
}

/// The day the test kiosks' clocks show.
const TODAY: &str = "2026-09-21";

fn rules() -> ReceiptRules {
    ReceiptRules::examples(SECRET.to_vec())
}

/// The keyed transaction of a receipt read from `code`.
fn transaction_of(code: &str) -> String {
    let today = crate::core::receipt::days_from_civil(2026, 9, 21).unwrap();
    match crate::core::receipt::judge(code, &rules().patterns, today, 30) {
        crate::core::receipt::ScanVerdict::Receipt(r) => rules().transaction(&r),
        other => panic!("{code}: {other:?}"),
    }
}

fn text(en: &str) -> Localized {
    Localized::from_pairs([("en", en), ("cy", &*format!("{en} (cy)"))])
}

fn options(ids: &[&str]) -> Vec<ChoiceOption> {
    ids.iter()
        .map(|id| ChoiceOption {
            id: id.to_string(),
            label: text(id),
        })
        .collect()
}

fn step(id: &str, optional: bool, kind: StepKind) -> Step {
    Step {
        id: id.to_string(),
        optional,
        kind,
    }
}

/// The follow-ups to the full survey's rating: what went wrong (1–2), what went well (4–5);
/// a neutral 3 has none.
fn overall_reason_sets() -> Vec<ReasonSet> {
    vec![
        ReasonSet {
            ratings: 1..=2,
            question: text("What went wrong?"),
            options: options(&["queue", "rude"]),
        },
        ReasonSet {
            ratings: 4..=5,
            question: text("What went well?"),
            options: options(&["quick", "kind"]),
        },
    ]
}

/// Every step kind, in the order a real survey would use them.
fn full_steps() -> Vec<Step> {
    vec![
        step(
            "service",
            true,
            StepKind::Service {
                question: text("Which?"),
                options: options(&["tax", "parking"]),
            },
        ),
        step(
            "overall",
            false,
            StepKind::Rating {
                question: text("How?"),
                scale: RatingScale::Smiley5,
            },
        ),
        step(
            "why",
            true,
            StepKind::Reasons {
                rating_step: "overall".into(),
                multiple: true,
                sets: overall_reason_sets(),
            },
        ),
        step(
            "channel",
            false,
            StepKind::Choice {
                question: text("Before?"),
                options: options(&["web", "phone"]),
                multiple: true,
            },
        ),
        step(
            "fair",
            true,
            StepKind::Agree {
                statement: text("Treated fairly"),
            },
        ),
        step(
            "comment",
            true,
            StepKind::Text {
                question: text("Anything else?"),
                max_chars: 20,
            },
        ),
        step(
            "contact",
            true,
            StepKind::Contact {
                question: text("Contact you?"),
                consent: text("I agree"),
            },
        ),
        step(
            "receipt",
            true,
            StepKind::Receipt {
                prompt: text("Scan"),
                mode: ReceiptMode::Optional,
            },
        ),
    ]
}

/// A survey in English and Welsh with every step kind (`full_steps`).
fn full_survey() -> Survey {
    Survey {
        id: "test".into(),
        version: "1".into(),
        languages: vec!["en".into(), "cy".into()],
        default_language: "en".into(),
        attract: Attract {
            title: text("How was it?"),
            subtitle: text("Tap to start"),
        },
        timing: Timing {
            idle_timeout_s: 30,
            still_there_s: 15,
            thanks_dwell_s: 6,
            misuse_interval_s: 5,
        },
        steps: full_steps(),
        thanks: Thanks {
            message: text("Thanks"),
            tracking_url: None,
        },
    }
}

struct Drive {
    kiosk: Kiosk,
    at: Moment,
    finished: Vec<ResponseRecord>,
}

impl Drive {
    fn new(survey: Survey) -> Self {
        let ids = DeviceIds {
            site_id: "site-1".into(),
            device_id: "kiosk-7".into(),
            run_id: None,
        };
        Drive {
            kiosk: Kiosk::new(Arc::new(survey), ids, 42).with_receipt_rules(rules()),
            at: Moment {
                mono: Duration::from_secs(1000),
                wall: UNIX_EPOCH + Duration::from_secs(1_790_000_000),
                wall_synchronized: true,
                boot: None,
            },
            finished: Vec::new(),
        }
    }

    fn full() -> Self {
        Self::new(full_survey())
    }

    fn send(&mut self, event: Event) -> bool {
        let reaction = self.kiosk.handle(event, self.at);
        if let Some(record) = reaction.finished {
            self.finished.push(record);
        }
        reaction.changed
    }

    fn wait(&mut self, secs: f64) {
        self.at = self.at.later(Duration::from_secs_f64(secs));
        self.send(Event::Tick);
    }

    fn screen(&self) -> Screen {
        self.kiosk.screen()
    }

    fn step_id(&self) -> String {
        match self.screen() {
            Screen::Step(i) => self.kiosk.survey().steps[i].id.clone(),
            other => panic!("expected a step, showing {other:?}"),
        }
    }

    fn last(&self) -> &ResponseRecord {
        self.finished.last().expect("a finished visit")
    }

    fn store_last(&mut self, ok: bool) {
        let id = self.last().id;
        self.send(Event::Stored { id, ok });
    }

    /// Answers every step with the happy path, up to the saving screen.
    fn complete_happy_visit(&mut self) {
        self.send(Event::Start);
        self.send(Event::Pick("parking".into()));
        self.send(Event::Rate(5));
        self.send(Event::Toggle("quick".into()));
        self.send(Event::Next);
        self.send(Event::Toggle("web".into()));
        self.send(Event::Next);
        self.send(Event::Rate(4));
        self.send(Event::Skip);
        self.send(Event::Skip);
        self.send(Event::Skip);
    }
}
