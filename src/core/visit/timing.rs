//! Every deadline, on the monotonic clock: the idle timeout and the "Still there?" countdown
//! after it, the wait for the sink's verdict, the thanks screen's dwell, how long a notice
//! stays up, the end of a staff call, and the misuse interval between visits. From them, the
//! next moment a `Tick` would change anything.

use std::time::Duration;

use super::{Kiosk, Phase, Reaction};
use crate::core::record::{Moment, Outcome};

/// Longest the visitor waits on "Saving…" for the sink's verdict before being told that
/// their answers could not be confirmed as saved.
pub const SAVE_WAIT: Duration = Duration::from_secs(10);
/// How long a message about a scan stays up, unless the visitor touches the screen sooner.
pub const NOTICE_TIME: Duration = Duration::from_secs(6);

/// What the passing of time has brought about in the current phase.
enum Due {
    Nothing,
    /// Whoever picked a language on the attract screen left without starting.
    ForgetLanguage,
    /// Nobody has touched the visit for the idle timeout: ask "Still there?" from `since`.
    AskStillThere {
        since: Duration,
    },
    /// Nobody answered "Still there?" either.
    TimeOut,
    /// The sink has not answered in time.
    StopWaitingForSink,
    /// The thanks screen has been up long enough.
    EndThanks,
}

impl Kiosk {
    /// Time has passed: whatever has run out, ends.
    pub(super) fn tick(&mut self, at: Moment) -> Reaction {
        let now = self.now;
        if self
            .notice
            .as_ref()
            .is_some_and(|(_, since)| now >= *since + NOTICE_TIME)
        {
            self.notice = None;
        }
        let mut reaction = self.act_on(self.due(), at);
        if self.help_until.is_some_and(|until| now >= until) {
            self.help_until = None;
            reaction.staff_call = Some(false);
        }
        reaction
    }

    fn due(&self) -> Due {
        let now = self.now;
        let timing = self.survey.timing;
        let idle = secs(timing.idle_timeout_s);
        match &self.phase {
            Phase::Attract if self.attract_activity.is_some_and(|t| now >= t + idle) => {
                Due::ForgetLanguage
            }
            Phase::Visit(v) if now >= v.last_activity + idle + secs(timing.still_there_s) => {
                Due::TimeOut
            }
            Phase::Visit(v) if v.prompt_since.is_none() && now >= v.last_activity + idle => {
                Due::AskStillThere {
                    since: v.last_activity + idle,
                }
            }
            Phase::Saving { since, .. } if now >= *since + SAVE_WAIT => Due::StopWaitingForSink,
            Phase::Thanks { since, .. } if now >= *since + secs(timing.thanks_dwell_s) => {
                Due::EndThanks
            }
            _ => Due::Nothing,
        }
    }

    fn act_on(&mut self, due: Due, at: Moment) -> Reaction {
        match due {
            Due::Nothing => {}
            Due::ForgetLanguage => {
                self.attract_activity = None;
                self.language_open = false;
                self.language = self.survey.default_language.clone();
            }
            Due::AskStillThere { since } => {
                if let Phase::Visit(v) = &mut self.phase {
                    v.prompt_since = Some(since);
                }
            }
            Due::TimeOut => return self.finish(Outcome::Timeout, at),
            // The storage has not answered: the visitor is not kept waiting, and is not told
            // the answers are safe when that is not known.
            Due::StopWaitingForSink => self.show_thanks(false),
            Due::EndThanks => self.return_to_attract(),
        }
        Reaction::default()
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

    /// What "Still there?", asked since `since`, counts down from now.
    pub(super) fn still_there_seconds_left(&self, since: Duration) -> u32 {
        let shown = self.now.saturating_sub(since).as_secs() as u32;
        self.survey.timing.still_there_s.saturating_sub(shown)
    }

    /// A touch: the idle timeout starts again, and "Still there?" is answered.
    pub(super) fn touch(&mut self, now: Duration) {
        match &mut self.phase {
            Phase::Visit(v) => {
                v.last_activity = now;
                v.prompt_since = None;
            }
            Phase::Attract => self.attract_activity = Some(now),
            _ => {}
        }
    }

    /// Whether a visit starting `at` follows the last one a person finished so closely that
    /// someone may be pressing again and again. Such a visit is flagged, never dropped.
    pub(super) fn soon_after_last_visit(&self, at: Moment) -> bool {
        let interval = secs(self.survey.timing.misuse_interval_s);
        !interval.is_zero()
            && self
                .last_visit_end
                .is_some_and(|end| at.mono.saturating_sub(end) < interval)
    }

    /// When a visit left alone ends: when its "Still there?" ran out, not when a tick noticed.
    pub(super) fn timed_out_at(&self, last_activity: Duration) -> Duration {
        let timing = &self.survey.timing;
        last_activity + secs(timing.idle_timeout_s + timing.still_there_s)
    }
}

pub(super) fn secs(s: u32) -> Duration {
    Duration::from_secs(u64::from(s))
}
