//! Complaints and requests as cases: which responses become one, the states a case moves
//! through, and when it is due. Pure: no I/O; days and dates come in as arguments.
//!
//! Invariants:
//! - A response with a contact request always becomes a case; an unhappy main rating (the
//!   two lowest faces or stars, NPS 0–6) with a comment does too where the site's rule asks
//!   for it. The rule names the team that owns the case.
//! - States move only along new → acknowledged → in progress → resolved → closed, and a
//!   resolved or closed case can be reopened (back to in progress). Closing records the root
//!   cause and whether the matter was resolved.
//! - Due dates count working days: Saturdays, Sundays and the site's holidays are skipped,
//!   from the day after the response was received (UK councils' complaint procedures: an
//!   acknowledgement within 5 working days, a full reply within 20).

use std::collections::BTreeSet;
use std::fmt;

use jiff::civil::{Date, Weekday};

use crate::indexed::IndexedResponse;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CaseState {
    New,
    Acknowledged,
    InProgress,
    Resolved,
    Closed,
}

impl CaseState {
    pub const ALL: [CaseState; 5] = [
        CaseState::New,
        CaseState::Acknowledged,
        CaseState::InProgress,
        CaseState::Resolved,
        CaseState::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::New => "new",
            CaseState::Acknowledged => "acknowledged",
            CaseState::InProgress => "in-progress",
            CaseState::Resolved => "resolved",
            CaseState::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<CaseState> {
        CaseState::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether the case still waits on the service team.
    pub fn is_open(self) -> bool {
        !matches!(self, CaseState::Resolved | CaseState::Closed)
    }

    /// The state in plain words for the visitor, in their language (en, cy, pl, zh_CN).
    pub fn for_visitor(self, language: &str) -> &'static str {
        let words: [&str; 4] = match self {
            CaseState::New => [
                "We have received your feedback and will look at it soon.",
                "Rydym wedi derbyn eich adborth a byddwn yn edrych arno cyn bo hir.",
                "Otrzymaliśmy Twoją opinię i wkrótce się nią zajmiemy.",
                "我们已收到您的反馈，会尽快处理。",
            ],
            CaseState::Acknowledged => [
                "Someone has read your feedback and will deal with it.",
                "Mae rhywun wedi darllen eich adborth a bydd yn delio ag ef.",
                "Ktoś przeczytał Twoją opinię i się nią zajmie.",
                "工作人员已阅读您的反馈，并将跟进处理。",
            ],
            CaseState::InProgress => [
                "We are working on it.",
                "Rydym yn gweithio arno.",
                "Pracujemy nad tym.",
                "我们正在处理。",
            ],
            CaseState::Resolved => [
                "We have dealt with it.",
                "Rydym wedi delio ag ef.",
                "Sprawa została załatwiona.",
                "我们已处理完毕。",
            ],
            CaseState::Closed => [
                "This is finished.",
                "Mae hyn wedi'i gwblhau.",
                "Sprawa jest zakończona.",
                "此事已结束。",
            ],
        };
        words[language_index(language)]
    }
}

/// The index of a language in the visitor texts above: English unless another is known.
pub fn language_index(language: &str) -> usize {
    match language {
        "cy" => 1,
        "pl" => 2,
        "zh_CN" => 3,
        _ => 0,
    }
}

impl fmt::Display for CaseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a case handler does to a case's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Move {
    Acknowledge,
    Start,
    Resolve,
    Close { root_cause: String, resolved: bool },
    Reopen,
}

impl Move {
    pub fn name(&self) -> &'static str {
        match self {
            Move::Acknowledge => "acknowledge",
            Move::Start => "start",
            Move::Resolve => "resolve",
            Move::Close { .. } => "close",
            Move::Reopen => "reopen",
        }
    }
}

/// The state after `step`, or why the case cannot take it.
pub fn next_state(state: CaseState, step: &Move) -> Result<CaseState, String> {
    use CaseState::*;
    let next = match (state, step) {
        (New, Move::Acknowledge) => Acknowledged,
        (New | Acknowledged, Move::Start) => InProgress,
        (Acknowledged | InProgress, Move::Resolve) => Resolved,
        (Resolved, Move::Close { root_cause, .. }) => {
            if root_cause.trim().is_empty() {
                return Err("Say what caused it before closing the case.".into());
            }
            Closed
        }
        (Resolved | Closed, Move::Reopen) => InProgress,
        (state, step) => {
            return Err(format!(
                "A case that is {state} cannot be given \"{}\".",
                step.name()
            ))
        }
    };
    Ok(next)
}

/// Why a response became a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseReason {
    ContactRequest,
    UnhappyWithComment,
}

impl CaseReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseReason::ContactRequest => "contact-request",
            CaseReason::UnhappyWithComment => "unhappy-with-comment",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CaseReason::ContactRequest => "Asked to be contacted",
            CaseReason::UnhappyWithComment => "Unhappy, with a comment",
        }
    }
}

/// A site's case rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRule {
    /// Unhappy ratings with a comment become cases too.
    pub unhappy_with_comment: bool,
    /// The team that owns the site's cases.
    pub team: String,
    pub acknowledge_days: u32,
    pub reply_days: u32,
    /// Contact details are erased this many days after their case closes.
    pub contact_retention_days: u32,
    /// Free text is erased this many days after the visit; `None`: kept.
    pub text_retention_days: Option<u32>,
}

pub const DEFAULT_TEAM: &str = "customer-service";

impl Default for CaseRule {
    fn default() -> Self {
        CaseRule {
            unhappy_with_comment: false,
            team: DEFAULT_TEAM.into(),
            acknowledge_days: 5,
            reply_days: 20,
            contact_retention_days: 90,
            text_retention_days: None,
        }
    }
}

fn unhappy(indexed: &IndexedResponse) -> bool {
    let main = indexed
        .rating
        .as_ref()
        .map(|(scale, value)| match scale.as_str() {
            "nps" => *value <= 6,
            _ => *value <= 2,
        });
    main.unwrap_or(false) || indexed.nps.is_some_and(|v| v <= 6)
}

/// Whether `indexed` becomes a case under `rule`, and why.
pub fn case_for(indexed: &IndexedResponse, rule: &CaseRule) -> Option<CaseReason> {
    if !indexed.personal.contacts.is_empty() {
        return Some(CaseReason::ContactRequest);
    }
    let commented = indexed
        .personal
        .texts
        .iter()
        .any(|(_, t)| !t.trim().is_empty());
    (rule.unhappy_with_comment && commented && unhappy(indexed))
        .then_some(CaseReason::UnhappyWithComment)
}

fn is_working_day(day: Date, holidays: &BTreeSet<Date>) -> bool {
    !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) && !holidays.contains(&day)
}

/// The date `days` working days after `received`: the first working day after it is day 1.
pub fn add_working_days(received: Date, days: u32, holidays: &BTreeSet<Date>) -> Date {
    let mut day = received;
    let mut counted = 0;
    // A year of holidays in a row is not a calendar: stop rather than loop.
    for _ in 0..(days as usize * 7 + 400) {
        if counted == days {
            break;
        }
        day = day.tomorrow().unwrap_or(day);
        if is_working_day(day, holidays) {
            counted += 1;
        }
    }
    day
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indexed::Personal;

    fn d(text: &str) -> Date {
        text.parse().unwrap()
    }

    #[test]
    fn working_days_skip_weekends() {
        let none = BTreeSet::new();
        // Friday 27 November 2026 + 1 working day is Monday 30 November.
        assert_eq!(add_working_days(d("2026-11-27"), 1, &none), d("2026-11-30"));
        // Monday + 5 working days is the next Monday.
        assert_eq!(add_working_days(d("2026-11-30"), 5, &none), d("2026-12-07"));
        // Received on a Saturday: day 1 is Monday.
        assert_eq!(add_working_days(d("2026-11-28"), 1, &none), d("2026-11-30"));
        // 20 working days are four weeks.
        assert_eq!(
            add_working_days(d("2026-11-30"), 20, &none),
            d("2026-12-28")
        );
    }

    #[test]
    fn working_days_skip_the_sites_holidays() {
        let christmas: BTreeSet<Date> = [d("2026-12-25"), d("2026-12-28")].into();
        // Thursday 24 December + 1: Friday 25 and Monday 28 are holidays → Tuesday 29.
        assert_eq!(
            add_working_days(d("2026-12-24"), 1, &christmas),
            d("2026-12-29")
        );
        assert_eq!(
            add_working_days(d("2026-11-30"), 20, &christmas),
            d("2026-12-30")
        );
    }

    #[test]
    fn states_move_only_forward_and_reopen_goes_back_to_work() {
        use CaseState::*;
        let close = Move::Close {
            root_cause: "staffing".into(),
            resolved: true,
        };
        assert_eq!(next_state(New, &Move::Acknowledge), Ok(Acknowledged));
        assert_eq!(next_state(Acknowledged, &Move::Start), Ok(InProgress));
        assert_eq!(next_state(InProgress, &Move::Resolve), Ok(Resolved));
        assert_eq!(next_state(Resolved, &close), Ok(Closed));
        assert_eq!(next_state(Closed, &Move::Reopen), Ok(InProgress));
        assert!(next_state(New, &close).is_err());
        assert!(next_state(New, &Move::Resolve).is_err());
        assert!(next_state(InProgress, &Move::Reopen).is_err());
        let no_cause = Move::Close {
            root_cause: " ".into(),
            resolved: false,
        };
        assert!(next_state(Resolved, &no_cause)
            .unwrap_err()
            .contains("caused"));
    }

    fn response(rating: i32, text: Option<&str>, contact: bool) -> IndexedResponse {
        IndexedResponse {
            reference: "K7QM-4XP".into(),
            language: "en".into(),
            misuse: false,
            service: None,
            rating: Some(("smiley5".into(), rating)),
            nps: None,
            choices: vec![],
            agreements: vec![],
            personal: Personal {
                texts: text
                    .map(|t| vec![("c".into(), t.into())])
                    .unwrap_or_default(),
                contacts: if contact {
                    vec![("k".into(), "Ann".into(), "0770".into(), "ok".into())]
                } else {
                    vec![]
                },
            },
        }
    }

    #[test]
    fn a_contact_request_always_becomes_a_case_and_unhappy_comments_where_asked() {
        let default = CaseRule::default();
        let asked = CaseRule {
            unhappy_with_comment: true,
            ..CaseRule::default()
        };
        assert_eq!(
            case_for(&response(5, None, true), &default),
            Some(CaseReason::ContactRequest)
        );
        assert_eq!(case_for(&response(1, Some("awful"), false), &default), None);
        assert_eq!(
            case_for(&response(2, Some("awful"), false), &asked),
            Some(CaseReason::UnhappyWithComment)
        );
        assert_eq!(case_for(&response(3, Some("meh"), false), &asked), None);
        assert_eq!(case_for(&response(1, None, false), &asked), None);
        assert_eq!(case_for(&response(1, Some("  "), false), &asked), None);
    }

    #[test]
    fn the_visitor_reads_the_state_in_their_language() {
        assert_eq!(
            CaseState::InProgress.for_visitor("cy"),
            "Rydym yn gweithio arno."
        );
        assert_eq!(
            CaseState::InProgress.for_visitor("xx"),
            "We are working on it."
        );
    }
}
