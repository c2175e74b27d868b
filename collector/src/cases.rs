//! Complaints and requests as cases: which responses become one, the states a case moves
//! through, and when it is due. Pure: no I/O; days and dates come in as arguments.
//!
//! Invariants:
//! - A response with a contact request always becomes a case; an unhappy main rating (by
//!   default the two lowest faces or stars, NPS 0–6), with a comment or without, does too
//!   where the rule asks for it. The rule names the team that owns the case.
//! - The rule for a response is the one for its service at its site where there is one,
//!   else the site's, else the defaults. Retention is the site's alone.
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
    /// Unhappy, under a rule that does not wait for a comment.
    Unhappy,
}

impl CaseReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseReason::ContactRequest => "contact-request",
            CaseReason::UnhappyWithComment => "unhappy-with-comment",
            CaseReason::Unhappy => "unhappy",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CaseReason::ContactRequest => "Asked to be contacted",
            CaseReason::UnhappyWithComment => "Unhappy, with a comment",
            CaseReason::Unhappy => "Unhappy",
        }
    }
}

/// Which main ratings count as unhappy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LowRating {
    /// Faces or stars up to this value: 2 is the two unhappiest faces (or one and two stars).
    pub faces: u8,
    /// NPS up to this value: 6 is the detractors, 0–6.
    pub nps: u8,
}

impl LowRating {
    /// Faces or stars: the lowest 1 to 3 of them may count as unhappy.
    pub const FACES: std::ops::RangeInclusive<u8> = 1..=3;
    /// NPS: from 0 alone up to 0–8 may count as unhappy.
    pub const NPS: std::ops::RangeInclusive<u8> = 0..=8;
}

impl Default for LowRating {
    fn default() -> Self {
        LowRating { faces: 2, nps: 6 }
    }
}

/// A rule for which responses become cases, who owns them and when they are due: a site's,
/// or one service's (or touchpoint's) at a site, which then applies to that service's
/// responses in place of the site's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRule {
    /// Unhappy main ratings become cases too (contact requests always do).
    pub unhappy: bool,
    /// ... only when they come with a comment.
    pub comment_required: bool,
    /// What counts as unhappy.
    pub low: LowRating,
    /// The team that owns the cases.
    pub team: String,
    pub acknowledge_days: u32,
    pub reply_days: u32,
}

pub const DEFAULT_TEAM: &str = "customer-service";

impl Default for CaseRule {
    fn default() -> Self {
        CaseRule {
            unhappy: false,
            comment_required: true,
            low: LowRating::default(),
            team: DEFAULT_TEAM.into(),
            acknowledge_days: 5,
            reply_days: 20,
        }
    }
}

/// How long a site keeps its visitors' personal data. Per site only: a service's case rule
/// does not change it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Contact details are erased this many days after their case closes.
    pub contact_days: u32,
    /// Free text is erased this many days after the visit; `None`: kept.
    pub text_days: Option<u32>,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            contact_days: 90,
            text_days: None,
        }
    }
}

/// Whose rule decided about a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleSource {
    /// The rule for the response's service at its site.
    Service(String),
    /// The site's rule.
    Site,
    /// Neither is set: the defaults.
    Default,
}

impl fmt::Display for RuleSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleSource::Service(service) => write!(f, "the rule for service {service}"),
            RuleSource::Site => f.write_str("the site's rule"),
            RuleSource::Default => f.write_str("the default rule"),
        }
    }
}

/// The rules that may apply to one response: the one for its service at its site (when the
/// response names a service and the site has a rule for it) and the site's own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    pub service: Option<(String, CaseRule)>,
    pub site: Option<CaseRule>,
}

impl Rules {
    /// The rule in force: the service's wins, the site's is the fallback, the defaults
    /// otherwise.
    pub fn in_force(self) -> (CaseRule, RuleSource) {
        match (self.service, self.site) {
            (Some((service, rule)), _) => (rule, RuleSource::Service(service)),
            (None, Some(rule)) => (rule, RuleSource::Site),
            (None, None) => (CaseRule::default(), RuleSource::Default),
        }
    }
}

fn unhappy(indexed: &IndexedResponse, low: LowRating) -> bool {
    let main = indexed
        .rating
        .as_ref()
        .map(|(scale, value)| match scale.as_str() {
            "nps" => *value <= i32::from(low.nps),
            _ => *value <= i32::from(low.faces),
        });
    main.unwrap_or(false) || indexed.nps.is_some_and(|v| v <= i32::from(low.nps))
}

/// Whether `indexed` becomes a case under `rule`, and why.
pub fn case_for(indexed: &IndexedResponse, rule: &CaseRule) -> Option<CaseReason> {
    if !indexed.personal.contacts.is_empty() {
        return Some(CaseReason::ContactRequest);
    }
    if !rule.unhappy || !unhappy(indexed, rule.low) {
        return None;
    }
    let commented = indexed
        .personal
        .texts
        .iter()
        .any(|(_, t)| !t.trim().is_empty());
    match (commented, rule.comment_required) {
        (true, _) => Some(CaseReason::UnhappyWithComment),
        (false, true) => None,
        (false, false) => Some(CaseReason::Unhappy),
    }
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

    fn nps(value: i32, text: Option<&str>) -> IndexedResponse {
        IndexedResponse {
            rating: Some(("nps".into(), value)),
            nps: Some(value),
            ..response(0, text, false)
        }
    }

    #[test]
    fn a_contact_request_always_becomes_a_case_and_unhappy_comments_where_asked() {
        let default = CaseRule::default();
        let asked = CaseRule {
            unhappy: true,
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
        assert_eq!(
            case_for(&nps(6, Some("no")), &asked),
            Some(CaseReason::UnhappyWithComment)
        );
        assert_eq!(case_for(&nps(7, Some("meh")), &asked), None);
    }

    #[test]
    fn a_rule_sets_what_counts_as_unhappy_and_whether_a_comment_is_needed() {
        let strict = CaseRule {
            unhappy: true,
            low: LowRating { faces: 1, nps: 3 },
            ..CaseRule::default()
        };
        assert_eq!(case_for(&response(2, Some("slow"), false), &strict), None);
        assert_eq!(
            case_for(&response(1, Some("slow"), false), &strict),
            Some(CaseReason::UnhappyWithComment)
        );
        assert_eq!(case_for(&nps(4, Some("no")), &strict), None);
        assert_eq!(
            case_for(&nps(3, Some("no")), &strict),
            Some(CaseReason::UnhappyWithComment)
        );
        let any_low = CaseRule {
            unhappy: true,
            comment_required: false,
            low: LowRating { faces: 3, nps: 6 },
            ..CaseRule::default()
        };
        assert_eq!(
            case_for(&response(3, None, false), &any_low),
            Some(CaseReason::Unhappy)
        );
        assert_eq!(
            case_for(&response(3, Some("meh"), false), &any_low),
            Some(CaseReason::UnhappyWithComment),
            "a comment is said when there is one"
        );
        assert_eq!(case_for(&response(4, None, false), &any_low), None);
        // Without `unhappy` the thresholds decide nothing: only contact requests.
        let off = CaseRule {
            unhappy: false,
            ..any_low
        };
        assert_eq!(case_for(&response(1, None, false), &off), None);
        assert_eq!(
            case_for(&response(5, None, true), &off),
            Some(CaseReason::ContactRequest)
        );
    }

    #[test]
    fn the_services_rule_wins_the_sites_is_the_fallback_and_the_defaults_come_last() {
        let site = CaseRule {
            unhappy: true,
            team: "complaints".into(),
            ..CaseRule::default()
        };
        let parking = CaseRule {
            unhappy: true,
            comment_required: false,
            team: "parking".into(),
            reply_days: 10,
            ..CaseRule::default()
        };
        let both = Rules {
            service: Some(("parking".into(), parking.clone())),
            site: Some(site.clone()),
        };
        assert_eq!(
            both.in_force(),
            (parking.clone(), RuleSource::Service("parking".into()))
        );
        let service_only = Rules {
            service: Some(("parking".into(), parking.clone())),
            site: None,
        };
        assert_eq!(
            service_only.in_force(),
            (parking.clone(), RuleSource::Service("parking".into()))
        );
        let site_only = Rules {
            service: None,
            site: Some(site.clone()),
        };
        assert_eq!(site_only.in_force(), (site.clone(), RuleSource::Site));
        assert_eq!(
            Rules::default().in_force(),
            (CaseRule::default(), RuleSource::Default)
        );

        // What each rule makes of the same unhappy rating without a comment.
        let silent = response(1, None, false);
        let (rule, _) = Rules {
            service: Some(("parking".into(), parking)),
            site: Some(site.clone()),
        }
        .in_force();
        assert_eq!(case_for(&silent, &rule), Some(CaseReason::Unhappy));
        assert_eq!(rule.team, "parking");
        let (rule, _) = Rules {
            service: None,
            site: Some(site),
        }
        .in_force();
        assert_eq!(
            case_for(&silent, &rule),
            None,
            "the site waits for a comment"
        );
        let (rule, _) = Rules::default().in_force();
        assert_eq!(case_for(&silent, &rule), None);
        assert_eq!(rule.team, DEFAULT_TEAM);
        assert_eq!(
            RuleSource::Service("parking".into()).to_string(),
            "the rule for service parking"
        );
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
