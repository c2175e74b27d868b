//! Survey definitions: what the kiosk asks, in which languages, in which order, and how long it
//! waits. A survey is written by staff as a TOML file (see docs/survey-format.md); `parse`
//! turns the text into a validated [`Survey`] or into errors that each name the file, the
//! line, the field and the fix.
//!
//! One format for both sides: the kiosk shows the surveys it parses here, and the collector
//! parses its surveys folder with the same checks, so a file the collector accepts is one a
//! kiosk would show, and each problem reads the same wherever it is found.
//!
//! Pure: text in, a survey or its errors out. Nothing here reads a file, the clock or the
//! network; the caller reads the file (and keeps it to a sane size) and names it.

use std::fmt;
use std::ops::RangeInclusive;

pub mod language;
// Reading the file is long and private; it lives in its own module, split by what each part
// reads, so that the types here stay readable on their own.
mod parse;

use language::Localized;

/// The survey file format this build understands (`format = 1` in the file).
pub const FORMAT_VERSION: i64 = 1;

/// Allowed ranges for the timing settings, in seconds.
pub const IDLE_TIMEOUT_RANGE: RangeInclusive<u32> = 10..=600;
pub const STILL_THERE_RANGE: RangeInclusive<u32> = 5..=120;
pub const THANKS_DWELL_RANGE: RangeInclusive<u32> = 2..=60;
pub const MISUSE_INTERVAL_RANGE: RangeInclusive<u32> = 0..=600;
/// Free-text length limits (characters).
pub const MAX_CHARS_RANGE: RangeInclusive<u32> = 10..=2000;

/// A validated survey. Every `Localized` in it has a text for every language in `languages`.
#[derive(Debug, Clone, PartialEq)]
pub struct Survey {
    /// Stable identifier, e.g. "shop-feedback". Letters, digits, '-' and '_'.
    pub id: String,
    /// Version of this survey's content, e.g. "2026-11-01" or "7"; goes into every record.
    pub version: String,
    /// Declared languages, in the order the language screen shows them.
    pub languages: Vec<String>,
    /// The language a visit starts in; one of `languages`.
    pub default_language: String,
    /// Big text on the attract screen ("How was your visit today?") and the line under it.
    pub attract: Attract,
    pub timing: Timing,
    /// At least one step, ids unique.
    pub steps: Vec<Step>,
    pub thanks: Thanks,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Attract {
    pub title: Localized,
    pub subtitle: Localized,
}

/// Seconds. All within the `*_RANGE` constants above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// No touch for this long during a visit brings up "Still there?".
    pub idle_timeout_s: u32,
    /// How long "Still there?" waits for an answer before the visit ends as `timeout`.
    pub still_there_s: u32,
    /// How long the thanks screen stays before the attract screen returns.
    pub thanks_dwell_s: u32,
    /// A visit starting less than this after the previous one finished is flagged as
    /// suspected misuse (kept, not deleted). 0 turns the check off.
    pub misuse_interval_s: u32,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            idle_timeout_s: 30,
            still_there_s: 15,
            thanks_dwell_s: 6,
            misuse_interval_s: 5,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Unique within the survey; the key of the answer in the response record.
    pub id: String,
    /// Whether the visitor may skip this step (a "Skip" button).
    pub optional: bool,
    pub kind: StepKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    /// The service (council) or touchpoint (shop) the visit was about; single choice. Its
    /// answer is also copied to the record's `service` field for per-service reporting.
    Service {
        question: Localized,
        options: Vec<ChoiceOption>,
    },
    /// Any other question with listed answers (e.g. channel shift: "How did you contact us
    /// before today?").
    Choice {
        question: Localized,
        options: Vec<ChoiceOption>,
        multiple: bool,
    },
    /// The main rating.
    Rating {
        question: Localized,
        scale: RatingScale,
    },
    /// Follow-up reasons chosen by the answer to a rating step: the first set whose range
    /// holds the rating is shown; when none does the step is left out.
    Reasons {
        rating_step: String,
        multiple: bool,
        sets: Vec<ReasonSet>,
    },
    /// A statement to agree or disagree with on a five-point scale (1 = strongly disagree,
    /// 5 = strongly agree); the scale's labels are interface strings.
    Agree { statement: Localized },
    /// Free text typed on the on-screen keyboard.
    Text { question: Localized, max_chars: u32 },
    /// A request to be contacted, given only with explicit consent.
    Contact {
        question: Localized,
        consent: Localized,
    },
    /// Ask the visitor to scan their receipt.
    Receipt {
        prompt: Localized,
        mode: ReceiptMode,
    },
}

impl StepKind {
    /// The `kind = "…"` name used in survey files.
    pub fn name(&self) -> &'static str {
        match self {
            StepKind::Service { .. } => "service",
            StepKind::Choice { .. } => "choice",
            StepKind::Rating { .. } => "rating",
            StepKind::Reasons { .. } => "reasons",
            StepKind::Agree { .. } => "agree",
            StepKind::Text { .. } => "text",
            StepKind::Contact { .. } => "contact",
            StepKind::Receipt { .. } => "receipt",
        }
    }
}

/// Every step kind name, for error messages listing what is allowed.
pub const STEP_KINDS: &[&str] = &[
    "service", "choice", "rating", "reasons", "agree", "text", "contact", "receipt",
];

#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceOption {
    /// Unique within its list; what the record stores.
    pub id: String,
    pub label: Localized,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReasonSet {
    /// Inclusive range of rating values this set follows up, e.g. 1..=2 ("what went wrong").
    pub ratings: RangeInclusive<i32>,
    pub question: Localized,
    pub options: Vec<ChoiceOption>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RatingScale {
    /// Four faces, 1 (very unhappy) to 4 (very happy).
    Smiley4,
    /// Five faces, 1 to 5.
    Smiley5,
    /// Net Promoter Score, 0 to 10.
    Nps,
    /// Five stars, 1 to 5.
    Stars5,
}

impl RatingScale {
    pub fn range(self) -> RangeInclusive<i32> {
        match self {
            RatingScale::Smiley4 => 1..=4,
            RatingScale::Smiley5 | RatingScale::Stars5 => 1..=5,
            RatingScale::Nps => 0..=10,
        }
    }

    /// The `scale = "…"` name used in survey files.
    pub fn name(self) -> &'static str {
        match self {
            RatingScale::Smiley4 => "smiley4",
            RatingScale::Smiley5 => "smiley5",
            RatingScale::Nps => "nps",
            RatingScale::Stars5 => "stars5",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [
            RatingScale::Smiley4,
            RatingScale::Smiley5,
            RatingScale::Nps,
            RatingScale::Stars5,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }
}

/// The range used by `agree` steps.
pub const AGREE_RANGE: RangeInclusive<i32> = 1..=5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptMode {
    /// The step is left out and scans are ignored.
    Off,
    /// The visitor may scan or skip.
    Optional,
    /// The visit cannot complete without a scan (the visitor can still cancel).
    Required,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Thanks {
    pub message: Localized,
    /// Where a visitor can follow up their response; `{ref}` is replaced with the reference
    /// code and the result is shown as a QR code. Must start with https:// and contain `{ref}`.
    pub tracking_url: Option<String>,
}

impl Thanks {
    pub fn tracking_url_for(&self, reference: &str) -> Option<String> {
        self.tracking_url
            .as_ref()
            .map(|t| t.replace("{ref}", reference))
    }
}

impl Survey {
    pub fn step_index(&self, id: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.id == id)
    }

    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// The receipt mode of the survey's receipt step (`Off` when it has none).
    pub fn receipt_mode(&self) -> ReceiptMode {
        self.steps
            .iter()
            .find_map(|s| match &s.kind {
                StepKind::Receipt { mode, .. } => Some(*mode),
                _ => None,
            })
            .unwrap_or(ReceiptMode::Off)
    }
}

/// One thing wrong with a survey file, said so that the person editing it can fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyError {
    /// The file as the user named it.
    pub file: String,
    /// 1-based line (0 when the problem is not at one place, e.g. an empty file).
    pub line: usize,
    /// Dotted path of the field, e.g. `steps[2].options[0].label.cy` (`steps[2]` is the
    /// third `[[steps]]` table).
    pub field: String,
    /// What is wrong.
    pub problem: String,
    /// What to do about it.
    pub fix: String,
}

impl fmt::Display for SurveyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: ", self.file, self.line)?;
        } else {
            write!(f, "{}: ", self.file)?;
        }
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        write!(f, "{}. Fix: {}", self.problem, self.fix)
    }
}

/// All the errors found in one file (validation goes on after the first so that staff can
/// fix everything in one pass).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyErrors(pub Vec<SurveyError>);

impl fmt::Display for SurveyErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SurveyErrors {}

/// Parses and validates a survey file's text. `file` is only used in messages.
pub fn parse(text: &str, file: &str) -> Result<Survey, SurveyErrors> {
    parse::parse(text, file)
}
