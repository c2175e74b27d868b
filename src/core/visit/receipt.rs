//! Receipts in a visit. A code from the scanner is judged first; a receipt the kiosk may take
//! then starts a visit (on the attract or thanks screen), answers the receipt step, or is kept
//! for the visit under way, while anything else is explained to the visitor and not kept.
//! The receipt step itself takes no tap but "Skip": a scan is its answer, from any step.

use std::sync::Arc;

use super::answering::set_answer;
use super::{changed, Kiosk, Notice, Phase, Reaction};
use crate::core::receipt::{self, Receipt, ScanVerdict};
use crate::core::record::{Answer, AnswerValue, Moment};
use crate::core::survey::{ReceiptMode, StepKind};

/// Longest code looked at as a receipt; anything longer is not one (the scanner adapter
/// discards over-long frames before they get here, this is the core's own guard).
pub const MAX_RECEIPT_CHARS: usize = 512;

impl Kiosk {
    /// A code from the scanner, in any phase.
    pub(super) fn scan(&mut self, code: &str, at: Moment) -> Reaction {
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
        match self.judge_scan(code, at) {
            Ok(receipt) => self.take_receipt(&receipt, at),
            Err(notice) => self.show_notice(notice),
        }
    }

    /// What the code is: a receipt the kiosk may take, or what the visitor is told instead.
    fn judge_scan(&self, code: &str, at: Moment) -> Result<Receipt, Notice> {
        if code.chars().count() > MAX_RECEIPT_CHARS {
            return Err(Notice::NotAReceipt);
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
            ScanVerdict::NotAReceipt => return Err(Notice::NotAReceipt),
            ScanVerdict::Misread => return Err(Notice::ScanAgain),
            ScanVerdict::Expired { .. } => {
                let max_age_days = self.receipts.max_age_days;
                return Err(Notice::Expired { max_age_days });
            }
        };
        if self
            .used_receipts
            .contains(&self.receipts.transaction(&receipt))
        {
            return Err(Notice::AlreadyGiven);
        }
        Ok(receipt)
    }

    /// Keeps a receipt as the answer to the receipt step, in the visit under way or in one it
    /// starts; on the receipt step itself that answer moves the visit on.
    fn take_receipt(&mut self, receipt: &Receipt, at: Moment) -> Reaction {
        self.notice = None;
        match self.phase {
            Phase::Attract => self.start_visit(at),
            Phase::Thanks { .. } => {
                self.return_to_attract();
                self.start_visit(at);
            }
            _ => {}
        }
        let answer = self.receipts.answer(receipt);
        let survey = Arc::clone(&self.survey);
        let Phase::Visit(visit) = &mut self.phase else {
            return changed();
        };
        let Some(receipt_step) = survey
            .steps
            .iter()
            .find(|s| matches!(s.kind, StepKind::Receipt { .. }))
        else {
            return changed();
        };
        let at_ms = visit.ms_into_visit(self.now);
        set_answer(&mut visit.answers, &receipt_step.id, at_ms, answer);
        let on_receipt_step = survey
            .steps
            .get(visit.current)
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
}

/// Whether the visit shows the receipt step `step_id`: not when the survey takes no receipts,
/// nor once a receipt scanned earlier in the visit has answered it.
pub(super) fn step_shown(mode: ReceiptMode, answers: &[Answer], step_id: &str) -> bool {
    mode != ReceiptMode::Off
        && !answers
            .iter()
            .any(|a| a.step_id == step_id && matches!(a.value, AnswerValue::Receipt { .. }))
}
