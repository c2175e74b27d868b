//! The end of a visit: its response record, built once from the visit, and what the kiosk
//! shows next. A completed visit waits on "Saving…" for the sink's verdict before the thanks
//! screen; an abandoned or timed-out one goes straight back to the attract screen.

use std::time::Duration;

use uuid::Uuid;

use super::{changed, Kiosk, Phase, Reaction, Visit};
use crate::core::record::{
    rfc3339, Answer, AnswerValue, ClockInfo, Moment, Outcome, ResponseRecord,
};
use crate::core::survey::{StepKind, Survey};

impl Kiosk {
    /// Ends the visit under way as `outcome`, noticed `at`, and hands out its record.
    pub(super) fn finish(&mut self, outcome: Outcome, at: Moment) -> Reaction {
        let Phase::Visit(visit) = std::mem::replace(&mut self.phase, Phase::Attract) else {
            return Reaction::default();
        };
        let end_mono = match outcome {
            Outcome::Timeout => self.timed_out_at(visit.last_activity),
            _ => self.now,
        }
        .max(visit.started.mono);
        let record = self.record_of(*visit, outcome, at, end_mono);
        // Only a visit with feedback uses its receipt up, so someone who scanned and walked
        // away can come back and scan again.
        if record.has_feedback() {
            if let Some(transaction) = record.receipt_transaction() {
                self.used_receipts.insert(transaction.to_string());
            }
        }
        match outcome {
            Outcome::Completed => {
                self.last_visit_end = Some(end_mono);
                self.phase = Phase::Saving {
                    id: record.id,
                    reference: record.reference.clone(),
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

    /// The sink's verdict on the record "Saving…" waits for.
    pub(super) fn stored(&mut self, id: Uuid, ok: bool) -> Reaction {
        // A verdict on another record says nothing about this one.
        if !matches!(self.phase, Phase::Saving { id: waiting_for, .. } if waiting_for == id) {
            return Reaction::default();
        }
        self.show_thanks(ok);
        changed()
    }

    /// From "Saving…" to the thanks screen, saying whether the answers are known to be stored.
    pub(super) fn show_thanks(&mut self, stored: bool) {
        if let Phase::Saving { reference, .. } = &mut self.phase {
            self.phase = Phase::Thanks {
                reference: std::mem::take(reference),
                stored,
                since: self.now,
            };
        }
    }

    /// The record of `visit`, ended at `end_mono` as `outcome` and noticed `at`.
    fn record_of(
        &self,
        visit: Visit,
        outcome: Outcome,
        at: Moment,
        end_mono: Duration,
    ) -> ResponseRecord {
        let survey = &self.survey;
        let end_wall = visit.started.wall + (end_mono - visit.started.mono);
        ResponseRecord {
            id: visit.id,
            reference: visit.reference.clone(),
            survey_id: survey.id.clone(),
            survey_version: survey.version.clone(),
            language: self.language.clone(),
            site_id: self.ids.site_id.clone(),
            device_id: self.ids.device_id.clone(),
            started_at: rfc3339(visit.started.wall),
            finished_at: rfc3339(end_wall),
            clock: self.clock_of(&visit, at, end_mono),
            outcome,
            service: service_of(survey, &visit.answers),
            answers: visit.answers,
            flags: visit.flags,
        }
    }

    /// How the visit's start and end read on each of the device's clocks, so that a receiver
    /// can place and measure the visit even when the wall clock was wrong.
    fn clock_of(&self, visit: &Visit, at: Moment, end_mono: Duration) -> ClockInfo {
        let started = visit.started;
        let length = end_mono - started.mono;
        ClockInfo {
            synchronized: started.wall_synchronized && at.wall_synchronized,
            started_mono_ms: started.mono.as_millis() as u64,
            finished_mono_ms: end_mono.as_millis() as u64,
            visit_number: visit.visit_number,
            run_id: self.ids.run_id,
            boot_id: started.boot.map(|b| b.id),
            started_boot_ms: started.boot.map(|b| b.elapsed.as_millis() as u64),
            // The end on the same clock as the wall-clock end: the visit's length later.
            finished_boot_ms: started
                .boot
                .map(|b| (b.elapsed + length).as_millis() as u64),
        }
    }
}

/// The service chosen, copied to the record's own field for per-service reporting.
fn service_of(survey: &Survey, answers: &[Answer]) -> Option<String> {
    survey.steps.iter().find_map(|s| match s.kind {
        StepKind::Service { .. } => {
            answers
                .iter()
                .find(|a| a.step_id == s.id)
                .and_then(|a| match &a.value {
                    AnswerValue::Choice { options } => options.first().cloned(),
                    _ => None,
                })
        }
        _ => None,
    })
}
