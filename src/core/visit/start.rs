//! The start of a visit, and the attract screen visits start from and return to.

use std::time::SystemTime;

use uuid::Uuid;

use super::navigation::first_shown;
use super::{ContactDraft, Kiosk, Phase, Visit};
use crate::core::record::{Flags, Moment};
use crate::core::reference;

impl Kiosk {
    /// A visit begins `at`, on its first step shown.
    pub(super) fn start_visit(&mut self, at: Moment) {
        let suspected_misuse = self.soon_after_last_visit(at);
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
        visit.current = first_shown(&self.survey, &visit.answers, 0).unwrap_or(0);
        self.attract_activity = None;
        self.phase = Phase::Visit(Box::new(visit));
    }

    /// Back to the attract screen, in the survey's own language, ready for the next person.
    pub(super) fn return_to_attract(&mut self) {
        self.phase = Phase::Attract;
        self.language = self.survey.default_language.clone();
        self.language_open = false;
        self.attract_activity = None;
    }

    /// UUID v7 from the wall clock and the kiosk's randomness.
    fn new_id(&mut self, wall: SystemTime) -> Uuid {
        // Never negative: 0 for a clock before 1970.
        let millis = earshot_protocol::time::unix_ms(wall) as u64;
        let mut random = [0u8; 10];
        self.rng.fill(&mut random);
        uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
    }
}
