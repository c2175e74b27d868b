//! Reading survey files: TOML text in, a validated [`Survey`] or a list of errors out.
//!
//! The text is parsed into toml's spanned tree and walked by hand rather than deserialized
//! through serde: every error has to point at a line and a field and say what to do in words a
//! facilities person understands, and every independent problem should be found in one pass.
//!
//! Two rules shape the walk. A value that is wrong is reported once, where it is written, and
//! whatever depends on it is then checked no further (a step with an unknown kind gets no
//! "missing question" error, a reasons step pointing at a broken rating step gets no range
//! errors). And nothing here trusts the input: no indexing, no unwrap, no recursion deeper
//! than the format itself, and nothing quadratic in the size of the file.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::RangeInclusive;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::{
    Attract, ChoiceOption, RatingScale, ReasonSet, ReceiptMode, Step, StepKind, Survey,
    SurveyError, SurveyErrors, Thanks, Timing, FORMAT_VERSION, IDLE_TIMEOUT_RANGE, MAX_CHARS_RANGE,
    MISUSE_INTERVAL_RANGE, STEP_KINDS, STILL_THERE_RANGE, THANKS_DWELL_RANGE,
};
use crate::core::language::{interface_language, Localized, INTERFACE_LANGUAGES};

/// Longest survey, step or option id.
const MAX_ID_CHARS: usize = 64;
/// Longest survey version.
const MAX_VERSION_CHARS: usize = 64;
/// Longest text in one language: beyond this it no longer fits a kiosk screen.
const MAX_TEXT_CHARS: usize = 500;
/// Options of a service or choice step: a choice needs two answers, and more than twelve tiles
/// do not fit the screen at a size a shaky finger can hit.
const CHOICE_OPTIONS: RangeInclusive<usize> = 2..=12;
/// Options of one reason set: a single reason is allowed (the visitor may still skip).
const REASON_OPTIONS: RangeInclusive<usize> = 1..=12;
/// `max_chars` of a text step when the file does not say.
const DEFAULT_MAX_CHARS: u32 = 500;
/// Past this many problems the list stops being useful to a person fixing the file by hand.
const MAX_REPORTED_ERRORS: usize = 50;
/// Suggestions compare against at most this many names, so that a file with thousands of
/// steps stays linear.
const MAX_SUGGESTION_CANDIDATES: usize = 32;
/// User text quoted back in a message is cut to this many characters.
const MAX_QUOTED_CHARS: usize = 40;
/// Where the format is described; fixes point there when there is no shorter advice.
const DOCS: &str = "docs/survey-format.md";

const ROOT_KEYS: &[&str] = &[
    "format",
    "id",
    "version",
    "languages",
    "default_language",
    "attract",
    "timing",
    "steps",
    "thanks",
];
const ATTRACT_KEYS: &[&str] = &["title", "subtitle"];
const TIMING_KEYS: &[&str] = &[
    "idle_timeout_s",
    "still_there_s",
    "thanks_dwell_s",
    "misuse_interval_s",
];
const THANKS_KEYS: &[&str] = &["message", "tracking_url"];
const OPTION_KEYS: &[&str] = &["id", "label"];
const SET_KEYS: &[&str] = &["ratings", "question", "options"];
const RECEIPT_MODES: &[&str] = &["off", "optional", "required"];
const SCALES: &[&str] = &["smiley4", "smiley5", "nps", "stars5"];

/// The keys a step of `kind` may have.
fn step_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "service" => &["id", "kind", "optional", "question", "options"],
        "choice" => &["id", "kind", "optional", "question", "options", "multiple"],
        "rating" => &["id", "kind", "optional", "question", "scale"],
        "reasons" => &["id", "kind", "optional", "rating_step", "multiple", "sets"],
        "agree" => &["id", "kind", "optional", "statement"],
        "text" => &["id", "kind", "optional", "question", "max_chars"],
        "contact" => &["id", "kind", "optional", "question", "consent"],
        "receipt" => &["id", "kind", "prompt", "mode"],
        _ => &[],
    }
}

/// Whether `key` is a key of some table of the format.
fn is_known_key(key: &str) -> bool {
    [
        ROOT_KEYS,
        ATTRACT_KEYS,
        TIMING_KEYS,
        THANKS_KEYS,
        OPTION_KEYS,
        SET_KEYS,
        ANY_STEP_KEYS,
    ]
    .iter()
    .any(|keys| keys.contains(&key))
}

/// Every key some step kind may have, for steps whose kind could not be read.
const ANY_STEP_KEYS: &[&str] = &[
    "id",
    "kind",
    "optional",
    "question",
    "options",
    "multiple",
    "scale",
    "rating_step",
    "sets",
    "statement",
    "max_chars",
    "consent",
    "prompt",
    "mode",
];

type Value<'i> = Spanned<DeValue<'i>>;

/// Parses and validates a survey file's text; see `survey::parse`.
pub(super) fn parse(text: &str, file: &str) -> Result<Survey, SurveyErrors> {
    let mut checker = Checker::new(text, file);
    let (root, syntax_errors) = DeTable::parse_recoverable(text);
    // After a syntax error the parser's recovery guesses, and everything it reports further
    // down is usually an echo of the first mistake; so only the earliest is shown and the
    // survey is checked once the file reads as TOML.
    let earliest = syntax_errors
        .iter()
        .min_by_key(|e| e.span().map_or(usize::MAX, |span| span.start));
    if let Some(error) = earliest {
        checker.syntax_error(error);
        return Err(checker.into_errors());
    }
    match checker.survey(root.get_ref()) {
        Some(survey) if checker.errors.is_empty() => Ok(survey),
        _ => Err(checker.into_errors()),
    }
}

/// A table being read, with the field path and line its errors are reported at.
struct Table<'a, 'i> {
    entries: &'a DeTable<'i>,
    path: String,
    /// Line of its header or opening brace; 0 for the file as a whole.
    line: usize,
}

impl<'a, 'i> Table<'a, 'i> {
    fn get(&self, key: &str) -> Option<&'a Value<'i>> {
        self.entries.get(key)
    }

    fn field(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// "the file" or "steps[2]", for fixes that say where to add something.
    fn place(&self) -> String {
        if self.path.is_empty() {
            "the file".to_string()
        } else {
            format!("`{}` (line {})", self.path, self.line)
        }
    }
}

/// What is known about a step before it is checked in full, so that a reasons step can refer
/// to a rating step that is checked later (or that comes later, which is itself an error).
struct StepSummary<'a> {
    id: Option<&'a str>,
    kind: Option<&'static str>,
    scale: Option<RatingScale>,
    line: usize,
}

/// The summaries of all steps, indexed once so that checking each step's references costs the
/// same however many steps there are.
struct StepIndex<'a> {
    summaries: Vec<StepSummary<'a>>,
    /// Position of the first step with each id.
    first_with_id: HashMap<&'a str, usize>,
    /// Position and id of every rating step whose id is valid, in order.
    ratings: Vec<(usize, &'a str)>,
    /// Whether some step's id is missing or invalid (and reported at that step).
    some_id_unreadable: bool,
}

impl<'a> StepIndex<'a> {
    fn new(summaries: Vec<StepSummary<'a>>) -> Self {
        let mut first_with_id = HashMap::new();
        let mut ratings = Vec::new();
        let mut some_id_unreadable = false;
        for (i, s) in summaries.iter().enumerate() {
            match s.id {
                Some(id) => {
                    first_with_id.entry(id).or_insert(i);
                    if s.kind == Some("rating") {
                        ratings.push((i, id));
                    }
                }
                None => some_id_unreadable = true,
            }
        }
        StepIndex {
            summaries,
            first_with_id,
            ratings,
            some_id_unreadable,
        }
    }

    /// Ids of the rating steps before position `index` (the first few, for suggestions).
    fn ratings_before(&self, index: usize) -> Vec<&'a str> {
        self.ratings
            .iter()
            .take_while(|(position, _)| *position < index)
            .take(MAX_SUGGESTION_CANDIDATES)
            .map(|(_, id)| *id)
            .collect()
    }

    /// Every step id, when there are few enough to compare a misspelling against.
    fn few_ids(&self) -> Option<Vec<&'a str>> {
        (self.first_with_id.len() <= MAX_SUGGESTION_CANDIDATES)
            .then(|| self.summaries.iter().filter_map(|s| s.id).collect())
    }
}

/// Kinds that may appear only once per survey, and where the first one was.
#[derive(Default)]
struct SingleSteps {
    service: Option<(usize, usize)>,
    receipt: Option<(usize, usize)>,
}

/// A reported problem that may be folded into one error about `languages` when every text
/// in the file has the same problem.
struct LanguageProblem {
    language: String,
    error: SurveyError,
}

struct Checker<'t> {
    file: &'t str,
    text: &'t str,
    /// Byte offset at which each line starts, for turning spans into line numbers.
    line_starts: Vec<usize>,
    errors: Vec<SurveyError>,
    /// The valid entries of `languages`; `None` when it could not be read, in which case
    /// texts are not checked for missing languages.
    languages: Option<Vec<String>>,
    /// Entries of `languages` already reported as wrong; texts in them are not reported again.
    rejected_languages: HashSet<String>,
    languages_line: usize,
    /// How many per-language text tables were read.
    text_tables: usize,
    missing_texts: Vec<LanguageProblem>,
    undeclared_texts: Vec<LanguageProblem>,
}

impl<'t> Checker<'t> {
    fn new(text: &'t str, file: &'t str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Checker {
            file,
            text,
            line_starts,
            errors: Vec::new(),
            languages: None,
            rejected_languages: HashSet::new(),
            languages_line: 0,
            text_tables: 0,
            missing_texts: Vec::new(),
            undeclared_texts: Vec::new(),
        }
    }

    fn line_at(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= offset)
    }

    fn line<T>(&self, spanned: &Spanned<T>) -> usize {
        self.line_at(spanned.span().start)
    }

    fn error(&self, line: usize, field: &str, problem: String, fix: String) -> SurveyError {
        SurveyError {
            file: self.file.to_string(),
            line,
            field: field.to_string(),
            problem,
            fix,
        }
    }

    fn push(&mut self, line: usize, field: &str, problem: String, fix: String) {
        let error = self.error(line, field, problem, fix);
        self.errors.push(error);
    }

    /// The errors in file order, cut to a readable number.
    fn into_errors(mut self) -> SurveyErrors {
        if self.errors.is_empty() {
            // Every path that rejects a survey reports why; this keeps a rejection from ever
            // being silent should one be missed.
            self.push(
                0,
                "",
                "the survey could not be read".to_string(),
                format!("compare the file with the example in {DOCS}"),
            );
        }
        self.errors.sort_by_key(|e| e.line);
        if self.errors.len() > MAX_REPORTED_ERRORS {
            let hidden = self.errors.len() - (MAX_REPORTED_ERRORS - 1);
            self.errors.truncate(MAX_REPORTED_ERRORS - 1);
            let more = self.error(
                0,
                "",
                format!("{hidden} more problems are not listed"),
                "fix the problems above and check the file again".to_string(),
            );
            self.errors.push(more);
        }
        SurveyErrors(self.errors)
    }

    // ---- TOML syntax ----------------------------------------------------------------------

    fn syntax_error(&mut self, error: &toml::de::Error) {
        let message = error.message();
        let span = error.span();
        let noticed_late = ["missing", "unclosed", "invalid basic", "invalid literal"]
            .iter()
            .any(|p| message.starts_with(p));
        let line = match &span {
            // An unclosed multi-line text runs to the end of the file; the mistake is where
            // it opens, at the last triple quote.
            Some(span) if message.starts_with("invalid multi-line") => {
                let before = self.text.get(..span.start).unwrap_or(self.text);
                let opening = before.rfind("\"\"\"").max(before.rfind("'''"));
                self.line_at(opening.unwrap_or(span.start))
            }
            // Something missing is noticed where the next thing starts, often on the next
            // line; the mistake is at the end of the text before.
            Some(span) if span.start == span.end && noticed_late => {
                self.line_at(self.before_blank(span.start))
            }
            Some(span) => self.line_at(span.start),
            None => 0,
        };
        let snippet = span
            .and_then(|s| self.text.get(s))
            .map(|s| s.trim())
            .filter(|s| !s.is_empty() && !s.contains('\n'))
            .map(quoted);
        let (problem, fix) = explain_syntax(message, snippet.as_deref());
        self.push(line, "", problem, fix);
    }

    /// The offset of the last non-blank character before `offset` (or `offset` itself when
    /// there is none).
    fn before_blank(&self, offset: usize) -> usize {
        let bytes = self.text.as_bytes();
        let mut at = offset.min(bytes.len());
        while at > 0 {
            match bytes.get(at - 1) {
                Some(b' ' | b'\t' | b'\r' | b'\n') => at -= 1,
                _ => return at - 1,
            }
        }
        offset
    }

    // ---- the survey -----------------------------------------------------------------------

    fn survey(&mut self, root: &DeTable<'_>) -> Option<Survey> {
        if root.is_empty() {
            self.push(
                0,
                "",
                "the file is empty".to_string(),
                "write a survey into it; start from assets/surveys/shop.toml or the example in \
                 docs/survey-format.md"
                    .to_string(),
            );
            return None;
        }
        let root = Table {
            entries: root,
            path: String::new(),
            line: 0,
        };
        if !self.format(&root) {
            return None;
        }
        self.unknown_keys(&root, ROOT_KEYS);
        let id = match root.get("id") {
            Some(v) => self.id(v, "id", "shop-feedback"),
            None => {
                self.missing(&root, "id", "id = \"shop-feedback\"");
                None
            }
        };
        let version = self.version(&root);
        let languages = self.languages(&root);
        let default_language = self.default_language(&root, languages.as_deref());
        let attract = self.attract(&root);
        let timing = self.timing(&root);
        let steps = self.steps(&root);
        let thanks = self.thanks(&root);
        self.report_language_problems();
        Some(Survey {
            id: id?,
            version: version?,
            languages: languages?,
            default_language: default_language?,
            attract: attract?,
            timing: timing?,
            steps: steps?,
            thanks: thanks?,
        })
    }

    /// Checks `format`; false when the file is in a newer format, whose other keys this build
    /// cannot judge.
    fn format(&mut self, root: &Table<'_, '_>) -> bool {
        let Some(v) = root.get("format") else {
            self.push(
                0,
                "format",
                "the file does not say which format it is written in".to_string(),
                format!("add `format = {FORMAT_VERSION}` as the first line"),
            );
            return true;
        };
        let example = format!("format = {FORMAT_VERSION}");
        let Some(format) = self.integer(v, "format", &example) else {
            return true;
        };
        let line = self.line(v);
        if format > FORMAT_VERSION {
            self.push(
                line,
                "format",
                format!("this file uses format {format}; this kiosk reads format {FORMAT_VERSION}"),
                format!("update the kiosk software, or write the file in format {FORMAT_VERSION}"),
            );
            return false;
        }
        if format < FORMAT_VERSION {
            self.push(
                line,
                "format",
                format!("there is no format {format}; this kiosk reads format {FORMAT_VERSION}"),
                format!("write `{example}`"),
            );
        }
        true
    }

    fn version(&mut self, root: &Table<'_, '_>) -> Option<String> {
        let example = "version = \"2026-11-23\"";
        let Some(v) = root.get("version") else {
            self.missing(root, "version", example);
            return None;
        };
        let version = match v.get_ref() {
            DeValue::String(s) => s.to_string(),
            DeValue::Integer(_) => self.integer(v, "version", example)?.to_string(),
            // An unquoted date is a TOML date rather than text; it is almost always meant as
            // the text of that date.
            DeValue::Datetime(d) => d.to_string(),
            _ => {
                self.wrong_type(v, "version", "text in quotes", example);
                return None;
            }
        };
        let line = self.line(v);
        if version.trim().is_empty() {
            self.push(
                line,
                "version",
                "the version is empty".to_string(),
                format!("write the date or number of this edition of the survey: {example}"),
            );
            return None;
        }
        let length = version.chars().count();
        if length > MAX_VERSION_CHARS {
            self.push(
                line,
                "version",
                format!(
                    "the version is {length} characters long; the limit is {MAX_VERSION_CHARS}"
                ),
                format!("shorten it, for example to a date: {example}"),
            );
            return None;
        }
        Some(version)
    }

    fn languages(&mut self, root: &Table<'_, '_>) -> Option<Vec<String>> {
        let example = "languages = [\"en\", \"cy\"]";
        let Some(v) = root.get("languages") else {
            self.missing(root, "languages", example);
            return None;
        };
        self.languages_line = self.line(v);
        let items = self.array(v, "languages", example)?;
        if items.is_empty() {
            self.push(
                self.languages_line,
                "languages",
                "no language is listed".to_string(),
                format!("list the languages the survey is shown in: {example}"),
            );
            return None;
        }
        let mut valid: Vec<String> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let field = format!("languages[{i}]");
            let Some(code) = self.string(item, &field, "\"en\"") else {
                continue;
            };
            let line = self.line(item);
            if interface_language(code).is_none() {
                self.rejected_languages.insert(code.to_string());
                // "cY" meant Welsh: the Welsh texts are then not also reported as undeclared.
                if let Some(meant) = similar_language(code) {
                    self.rejected_languages.insert(meant.to_string());
                }
                self.push(
                    line,
                    &field,
                    format!("`{}` is not a language this kiosk can show", quoted(code)),
                    unknown_language_fix(code, "write one of"),
                );
            } else if valid.iter().any(|l| l == code) {
                self.push(
                    line,
                    &field,
                    format!("{} is listed twice", language_name(code)),
                    format!("remove the second \"{code}\""),
                );
            } else {
                valid.push(code.to_string());
            }
        }
        if valid.is_empty() {
            return None;
        }
        self.languages = Some(valid.clone());
        Some(valid)
    }

    fn default_language(
        &mut self,
        root: &Table<'_, '_>,
        languages: Option<&[String]>,
    ) -> Option<String> {
        let Some(v) = root.get("default_language") else {
            return languages.and_then(|l| l.first()).cloned();
        };
        let code = self.string(v, "default_language", "default_language = \"en\"")?;
        let languages = languages?;
        if languages.iter().any(|l| l == code) {
            return Some(code.to_string());
        }
        if self.rejected_languages.contains(code) {
            return None;
        }
        let declared = languages.join(", ");
        let line = self.line(v);
        if interface_language(code).is_some() {
            self.push(
                line,
                "default_language",
                format!("{} is not in `languages`", language_name(code)),
                format!("add \"{code}\" to `languages`, or choose one of: {declared}"),
            );
        } else {
            self.push(
                line,
                "default_language",
                format!("`{}` is not a language this kiosk can show", quoted(code)),
                format!("choose one of the survey's languages: {declared}"),
            );
        }
        None
    }

    fn attract(&mut self, root: &Table<'_, '_>) -> Option<Attract> {
        let Some(v) = root.get("attract") else {
            self.missing(
                root,
                "attract",
                &format!(
                    "an [attract] table with {} and {}",
                    self.text_example("title", "How was your visit today?"),
                    self.text_example("subtitle", "Tap to start"),
                ),
            );
            return None;
        };
        let t = self.table(v, "attract".to_string(), "[attract]")?;
        self.unknown_keys(&t, ATTRACT_KEYS);
        let title = self.required_text(&t, "title", "How was your visit today?");
        let subtitle = self.required_text(&t, "subtitle", "Tap to start");
        Some(Attract {
            title: title?,
            subtitle: subtitle?,
        })
    }

    fn timing(&mut self, root: &Table<'_, '_>) -> Option<Timing> {
        let defaults = Timing::default();
        let Some(v) = root.get("timing") else {
            return Some(defaults);
        };
        let t = self.table(v, "timing".to_string(), "[timing]")?;
        self.unknown_keys(&t, TIMING_KEYS);
        let idle = self.seconds(
            &t,
            "idle_timeout_s",
            IDLE_TIMEOUT_RANGE,
            defaults.idle_timeout_s,
        );
        let still = self.seconds(
            &t,
            "still_there_s",
            STILL_THERE_RANGE,
            defaults.still_there_s,
        );
        let thanks = self.seconds(
            &t,
            "thanks_dwell_s",
            THANKS_DWELL_RANGE,
            defaults.thanks_dwell_s,
        );
        let misuse = self.seconds(
            &t,
            "misuse_interval_s",
            MISUSE_INTERVAL_RANGE,
            defaults.misuse_interval_s,
        );
        Some(Timing {
            idle_timeout_s: idle?,
            still_there_s: still?,
            thanks_dwell_s: thanks?,
            misuse_interval_s: misuse?,
        })
    }

    fn seconds(
        &mut self,
        t: &Table<'_, '_>,
        key: &str,
        range: RangeInclusive<u32>,
        default: u32,
    ) -> Option<u32> {
        let Some(v) = t.get(key) else {
            return Some(default);
        };
        let field = t.field(key);
        let example = format!("{key} = {default}");
        let n = self.integer(v, &field, &example)?;
        let (low, high) = (*range.start(), *range.end());
        match u32::try_from(n).ok().filter(|n| range.contains(n)) {
            Some(n) => Some(n),
            None => {
                let off = if low == 0 { " (0 turns it off)" } else { "" };
                self.push(
                    self.line(v),
                    &field,
                    format!("{n} seconds is out of range; it must be from {low} to {high}{off}"),
                    format!("choose a number from {low} to {high}, for example `{example}`"),
                );
                None
            }
        }
    }

    fn thanks(&mut self, root: &Table<'_, '_>) -> Option<Thanks> {
        let Some(v) = root.get("thanks") else {
            let example = self.text_example("message", "Thank you!");
            self.missing(root, "thanks", &format!("a [thanks] table with {example}"));
            return None;
        };
        let t = self.table(v, "thanks".to_string(), "[thanks]")?;
        self.unknown_keys(&t, THANKS_KEYS);
        let message = self.required_text(&t, "message", "Thank you!");
        let tracking_url = match t.get("tracking_url") {
            None => Some(None),
            Some(v) => self.tracking_url(v).map(Some),
        };
        Some(Thanks {
            message: message?,
            tracking_url: tracking_url?,
        })
    }

    fn tracking_url(&mut self, v: &Value<'_>) -> Option<String> {
        let field = "thanks.tracking_url";
        let example = "tracking_url = \"https://feedback.example.com/r/{ref}\"";
        let url = self.string(v, field, example)?;
        let line = self.line(v);
        let mut ok = true;
        if !url.starts_with("https://") {
            ok = false;
            let fix = match url.strip_prefix("http://") {
                Some(rest) => format!(
                    "write https:// instead of http://: \"https://{}\"",
                    quoted(rest)
                ),
                None => format!("write a full web address starting with https://, like {example}"),
            };
            self.push(
                line,
                field,
                "the address must start with https:// (visitors' phones open it from a QR code)"
                    .to_string(),
                fix,
            );
        }
        if !url.contains("{ref}") {
            ok = false;
            self.push(
                line,
                field,
                "the address has no {ref}, so it cannot lead to the visitor's own response"
                    .to_string(),
                format!(
                    "put {{ref}} where the reference code goes, like {example} (the kiosk replaces \
                     it with each visitor's code)"
                ),
            );
        }
        if url.chars().any(char::is_whitespace) {
            ok = false;
            self.push(
                line,
                field,
                "the address contains a space".to_string(),
                "remove the spaces (write %20 where a space must be part of the address)"
                    .to_string(),
            );
        }
        ok.then(|| url.to_string())
    }

    // ---- steps ----------------------------------------------------------------------------

    fn steps(&mut self, root: &Table<'_, '_>) -> Option<Vec<Step>> {
        let add_step = format!(
            "add a step, for example:\n[[steps]]\nid = \"overall\"\nkind = \"rating\"\n\
             scale = \"smiley5\"\n{}",
            self.text_example("question", "How was your visit?")
        );
        let Some(v) = root.get("steps") else {
            self.push(
                0,
                "steps",
                "the survey has no steps".to_string(),
                add_step.clone(),
            );
            return None;
        };
        let items: &[Value<'_>] = match v.get_ref() {
            DeValue::Array(items) => items,
            DeValue::Table(_) => {
                self.push(
                    self.line(v),
                    "steps",
                    "steps are written as [[steps]] tables (with double brackets), one for each \
                     step"
                        .to_string(),
                    "write [[steps]] instead of [steps]".to_string(),
                );
                return None;
            }
            _ => {
                self.wrong_type(v, "steps", "[[steps]] tables", "[[steps]]");
                return None;
            }
        };
        if items.is_empty() {
            self.push(
                self.line(v),
                "steps",
                "the survey has no steps".to_string(),
                add_step.clone(),
            );
            return None;
        }
        let index = StepIndex::new(items.iter().map(|v| self.summary(v)).collect());
        let mut singles = SingleSteps::default();
        let mut steps = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match self.step(i, item, &index, &mut singles) {
                Some(step) => steps.push(step),
                None => ok = false,
            }
        }
        ok.then_some(steps)
    }

    /// The id, kind and scale of a step as far as they are valid, without reporting anything
    /// (the full check of each step reports).
    fn summary<'a>(&self, v: &'a Value<'_>) -> StepSummary<'a> {
        let table = v.get_ref().as_table();
        let text = |key: &str| {
            table
                .and_then(|t| t.get(key))
                .and_then(|v| v.get_ref().as_str())
        };
        let id = text("id").filter(|id| id_problem(id).is_none());
        let kind = text("kind")
            .and_then(|k| STEP_KINDS.iter().find(|name| **name == k))
            .copied();
        let scale = match kind {
            Some("rating") => text("scale").and_then(RatingScale::from_name),
            _ => None,
        };
        StepSummary {
            id,
            kind,
            scale,
            line: self.line(v),
        }
    }

    fn step(
        &mut self,
        index: usize,
        v: &Value<'_>,
        steps: &StepIndex<'_>,
        singles: &mut SingleSteps,
    ) -> Option<Step> {
        let t = self.table(v, format!("steps[{index}]"), "[[steps]]")?;
        let id = self.step_id(&t, index, steps);
        let kind = self.step_kind(&t);
        self.step_unknown_keys(&t, kind);
        let kind = kind?;
        self.single_step(&t, index, kind, singles);

        let optional = match (kind, t.get("optional")) {
            ("receipt", Some(v)) => {
                self.push(
                    self.line_of_key(&t, "optional")
                        .unwrap_or_else(|| self.line(v)),
                    &t.field("optional"),
                    "receipt steps do not take `optional`: their `mode` decides whether a scan \
                     can be skipped"
                        .to_string(),
                    "remove `optional`; write mode = \"optional\" to let visitors skip the scan, \
                     or mode = \"required\" to insist on it"
                        .to_string(),
                );
                None
            }
            (_, Some(v)) => self.boolean(v, &t.field("optional"), "optional = true"),
            // The main rating is what the survey is for; everything else can be skipped
            // unless the file says otherwise.
            (_, None) => Some(kind != "rating"),
        };

        let step_kind = match kind {
            "service" => {
                let question = self.required_text(&t, "question", "Which service did you use?");
                let options = self.options(&t, CHOICE_OPTIONS, "a service step");
                Some(StepKind::Service {
                    question: question?,
                    options: options?,
                })
            }
            "choice" => {
                let question = self.required_text(&t, "question", "How did you contact us?");
                let options = self.options(&t, CHOICE_OPTIONS, "a choice step");
                let multiple = self.optional_bool(&t, "multiple", false);
                Some(StepKind::Choice {
                    question: question?,
                    options: options?,
                    multiple: multiple?,
                })
            }
            "rating" => {
                let question = self.required_text(&t, "question", "How was your visit today?");
                let scale = self.scale(&t);
                Some(StepKind::Rating {
                    question: question?,
                    scale: scale?,
                })
            }
            "reasons" => self.reasons(&t, index, steps),
            "agree" => {
                let statement = self.required_text(&t, "statement", "Staff treated me fairly.");
                Some(StepKind::Agree {
                    statement: statement?,
                })
            }
            "text" => {
                let question = self.required_text(&t, "question", "Anything else to tell us?");
                let max_chars = match t.get("max_chars") {
                    None => Some(DEFAULT_MAX_CHARS),
                    Some(v) => self.max_chars(v, &t.field("max_chars")),
                };
                Some(StepKind::Text {
                    question: question?,
                    max_chars: max_chars?,
                })
            }
            "contact" => {
                let question =
                    self.required_text(&t, "question", "Would you like us to contact you?");
                let consent = self.required_text(
                    &t,
                    "consent",
                    "I agree that staff may contact me about this feedback.",
                );
                Some(StepKind::Contact {
                    question: question?,
                    consent: consent?,
                })
            }
            "receipt" => {
                let prompt = self.required_text(&t, "prompt", "Scan the barcode on your receipt");
                let mode = self.receipt_mode(&t);
                match (prompt, mode) {
                    (Some(prompt), Some(mode)) => Some(StepKind::Receipt { prompt, mode }),
                    _ => None,
                }
            }
            _ => None,
        };
        let step_kind = step_kind?;
        let optional = match &step_kind {
            StepKind::Receipt { mode, .. } => Some(*mode != ReceiptMode::Required),
            _ => optional,
        };
        Some(Step {
            id: id?,
            optional: optional?,
            kind: step_kind,
        })
    }

    fn step_id(
        &mut self,
        t: &Table<'_, '_>,
        index: usize,
        steps: &StepIndex<'_>,
    ) -> Option<String> {
        let Some(v) = t.get("id") else {
            self.missing(t, "id", "id = \"overall\"");
            return None;
        };
        let field = t.field("id");
        let id = self.id(v, &field, "overall")?;
        match steps.first_with_id.get(id.as_str()) {
            Some(&first) if first != index => {
                let first_line = steps.summaries.get(first).map_or(0, |s| s.line);
                self.push(
                    self.line(v),
                    &field,
                    format!(
                        "`{id}` is already the id of steps[{first}] (line {first_line}); each \
                         step needs its own id"
                    ),
                    format!("give this step a different id, for example \"{id}-2\""),
                );
                None
            }
            _ => Some(id),
        }
    }

    fn step_kind(&mut self, t: &Table<'_, '_>) -> Option<&'static str> {
        let kinds = STEP_KINDS.join(", ");
        let Some(v) = t.get("kind") else {
            self.push(
                t.line,
                &t.field("kind"),
                "the step does not say what kind of step it is".to_string(),
                format!("add kind = \"…\" with one of: {kinds}"),
            );
            return None;
        };
        let field = t.field("kind");
        let kind = self.string(v, &field, "kind = \"rating\"")?;
        if let Some(known) = STEP_KINDS.iter().find(|k| **k == kind) {
            return Some(known);
        }
        let fix = match nearest(kind, STEP_KINDS) {
            Some(near) => format!("did you mean \"{near}\"? The kinds are: {kinds}"),
            None => format!("write one of: {kinds}"),
        };
        self.push(
            self.line(v),
            &field,
            format!("`{}` is not a kind of step", quoted(kind)),
            fix,
        );
        None
    }

    fn step_unknown_keys(&mut self, t: &Table<'_, '_>, kind: Option<&str>) {
        let allowed = kind.map_or(ANY_STEP_KEYS, step_keys);
        for (key, _) in t.entries.iter() {
            let key_text: &str = key.get_ref();
            if allowed.contains(&key_text) {
                continue;
            }
            // `optional` on a receipt step has its own error, reported where the step's
            // `optional` is read.
            if kind == Some("receipt") && key_text == "optional" {
                continue;
            }
            let line = self.line(key);
            let field = t.field(key_text);
            let users: Vec<&str> = STEP_KINDS
                .iter()
                .copied()
                .filter(|k| step_keys(k).contains(&key_text))
                .collect();
            let kind = kind.unwrap_or("");
            if users.is_empty() {
                let (problem, fix) = unknown_key_message(key_text, allowed);
                self.push(line, &field, problem, fix);
            } else {
                self.push(
                    line,
                    &field,
                    format!("`{key_text}` is not used by {kind} steps"),
                    format!(
                        "remove it (it belongs to {} steps), or change the step's kind",
                        users.join(" and ")
                    ),
                );
            }
        }
    }

    fn single_step(
        &mut self,
        t: &Table<'_, '_>,
        index: usize,
        kind: &str,
        singles: &mut SingleSteps,
    ) {
        let slot = match kind {
            "service" => &mut singles.service,
            "receipt" => &mut singles.receipt,
            _ => return,
        };
        let line = self.line_of_key(t, "kind").unwrap_or(t.line);
        match *slot {
            None => *slot = Some((index, line)),
            Some((first, first_line)) => {
                let fix = if kind == "service" {
                    "remove one of them, or make this one kind = \"choice\"".to_string()
                } else {
                    "remove one of them".to_string()
                };
                self.push(
                    line,
                    &t.field("kind"),
                    format!(
                        "the survey already has a {kind} step (steps[{first}], line {first_line}); \
                         only one is allowed"
                    ),
                    fix,
                );
            }
        }
    }

    fn scale(&mut self, t: &Table<'_, '_>) -> Option<RatingScale> {
        let scales = SCALES.join(", ");
        let Some(v) = t.get("scale") else {
            self.missing(t, "scale", "scale = \"smiley5\"");
            return None;
        };
        let field = t.field("scale");
        let name = self.string(v, &field, "scale = \"smiley5\"")?;
        if let Some(scale) = RatingScale::from_name(name) {
            return Some(scale);
        }
        let fix = match nearest(name, SCALES) {
            Some(near) => format!("did you mean \"{near}\"? The scales are: {scales}"),
            None => format!(
                "write one of: {scales} (four or five faces, 0–10 recommendation, five stars)"
            ),
        };
        self.push(
            self.line(v),
            &field,
            format!("`{}` is not a rating scale", quoted(name)),
            fix,
        );
        None
    }

    fn max_chars(&mut self, v: &Value<'_>, field: &str) -> Option<u32> {
        let example = format!("max_chars = {DEFAULT_MAX_CHARS}");
        let n = self.integer(v, field, &example)?;
        let (low, high) = (*MAX_CHARS_RANGE.start(), *MAX_CHARS_RANGE.end());
        match u32::try_from(n)
            .ok()
            .filter(|n| MAX_CHARS_RANGE.contains(n))
        {
            Some(n) => Some(n),
            None => {
                self.push(
                    self.line(v),
                    field,
                    format!("{n} characters is out of range; it must be from {low} to {high}"),
                    format!("choose a number from {low} to {high}, for example `{example}`"),
                );
                None
            }
        }
    }

    fn receipt_mode(&mut self, t: &Table<'_, '_>) -> Option<ReceiptMode> {
        let Some(v) = t.get("mode") else {
            return Some(ReceiptMode::Optional);
        };
        let field = t.field("mode");
        let mode = self.string(v, &field, "mode = \"optional\"")?;
        match mode {
            "off" => Some(ReceiptMode::Off),
            "optional" => Some(ReceiptMode::Optional),
            "required" => Some(ReceiptMode::Required),
            _ => {
                let fix = match nearest(mode, RECEIPT_MODES) {
                    Some(near) => {
                        format!("did you mean \"{near}\"? Write off, optional or required")
                    }
                    None => "write \"off\" (no scan), \"optional\" (visitors may skip it) or \
                             \"required\" (a scan is needed to finish)"
                        .to_string(),
                };
                self.push(
                    self.line(v),
                    &field,
                    format!("`{}` is not a receipt mode", quoted(mode)),
                    fix,
                );
                None
            }
        }
    }

    fn optional_bool(&mut self, t: &Table<'_, '_>, key: &str, default: bool) -> Option<bool> {
        match t.get(key) {
            None => Some(default),
            Some(v) => self.boolean(v, &t.field(key), &format!("{key} = {default}")),
        }
    }

    // ---- reasons --------------------------------------------------------------------------

    fn reasons(
        &mut self,
        t: &Table<'_, '_>,
        index: usize,
        steps: &StepIndex<'_>,
    ) -> Option<StepKind> {
        let target = self.rating_step(t, index, steps);
        let scale = target.as_ref().and_then(|(_, scale)| *scale);
        let multiple = self.optional_bool(t, "multiple", true);
        let sets = self.reason_sets(t, scale);
        let (rating_step, _) = target?;
        Some(StepKind::Reasons {
            rating_step,
            multiple: multiple?,
            sets: sets?,
        })
    }

    /// The id of the rating step a reasons step follows, and that step's scale when it is
    /// valid (so that the sets' ranges can be checked against it).
    fn rating_step(
        &mut self,
        t: &Table<'_, '_>,
        index: usize,
        steps: &StepIndex<'_>,
    ) -> Option<(String, Option<RatingScale>)> {
        let earlier_ratings = steps.ratings_before(index);
        let fix_with = |lead: &str| match earlier_ratings.as_slice() {
            [] => "add a rating step above this one and write its id here".to_string(),
            [only] => format!("{lead}rating_step = \"{only}\""),
            many => format!(
                "{lead}write the id of one of the rating steps above: {}",
                many.join(", ")
            ),
        };
        let Some(v) = t.get("rating_step") else {
            self.push(
                t.line,
                &t.field("rating_step"),
                "a reasons step must say which rating it follows up".to_string(),
                fix_with("add "),
            );
            return None;
        };
        let field = t.field("rating_step");
        let target = self.string(v, &field, "rating_step = \"overall\"")?;
        let line = self.line(v);
        let Some(&position) = steps.first_with_id.get(target) else {
            // A step whose id is missing or wrong (reported there) may be the one meant.
            if steps.some_id_unreadable {
                return None;
            }
            let candidates = steps.few_ids().unwrap_or_else(|| earlier_ratings.clone());
            let near = nearest(target, &candidates);
            let fix = match near {
                Some(near) => format!("did you mean \"{near}\"?"),
                None => fix_with(""),
            };
            self.push(
                line,
                &field,
                format!("no step has the id `{}`", quoted(target)),
                fix,
            );
            return None;
        };
        let summary = steps.summaries.get(position)?;
        match summary.kind {
            // Its kind is already reported as wrong at the step itself.
            None => return None,
            Some("rating") => {}
            Some(kind) => {
                self.push(
                    line,
                    &field,
                    format!(
                        "`{target}` is a {kind} step (steps[{position}], line {}), not a rating step",
                        summary.line
                    ),
                    fix_with(""),
                );
                return None;
            }
        }
        if position >= index {
            let problem = if position == index {
                "a reasons step cannot follow up itself".to_string()
            } else {
                format!(
                    "the rating step `{target}` comes after this step (steps[{position}], line {}); \
                     reasons can only follow a rating the visitor has already given",
                    summary.line
                )
            };
            self.push(
                line,
                &field,
                problem,
                format!("move this reasons step below the rating step `{target}`"),
            );
            return None;
        }
        Some((target.to_string(), summary.scale))
    }

    fn reason_sets(
        &mut self,
        t: &Table<'_, '_>,
        scale: Option<RatingScale>,
    ) -> Option<Vec<ReasonSet>> {
        let example = format!(
            "[[steps.sets]]\nratings = [1, 2]\n{}\noptions = [ {{ id = \"queue\", label = {{ … }} }} ]",
            self.text_example("question", "What went wrong?")
        );
        let Some(v) = t.get("sets") else {
            self.push(
                t.line,
                &t.field("sets"),
                "a reasons step needs at least one set of reasons".to_string(),
                format!("add under this step:\n{example}"),
            );
            return None;
        };
        let field = t.field("sets");
        let items: &[Value<'_>] = match v.get_ref() {
            DeValue::Array(items) => items,
            DeValue::Table(_) => {
                self.push(
                    self.line(v),
                    &field,
                    "sets are written as [[steps.sets]] tables (with double brackets)".to_string(),
                    "write [[steps.sets]] instead of [steps.sets]".to_string(),
                );
                return None;
            }
            _ => {
                self.wrong_type(v, &field, "[[steps.sets]] tables", &example);
                return None;
            }
        };
        if items.is_empty() {
            self.push(
                self.line(v),
                &field,
                "a reasons step needs at least one set of reasons".to_string(),
                format!("add under this step:\n{example}"),
            );
            return None;
        }
        // Accepted ranges by their first rating; they never overlap, so the one starting
        // closest below a new range's end is the only one that can overlap it.
        let mut accepted: BTreeMap<i64, (i64, usize)> = BTreeMap::new();
        let mut sets = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let Some(set_table) = self.table(item, format!("{field}[{i}]"), "[[steps.sets]]")
            else {
                ok = false;
                continue;
            };
            self.unknown_keys(&set_table, SET_KEYS);
            let ratings = self.ratings(&set_table, scale);
            let ratings = ratings.and_then(|(low, high, line)| {
                let overlap = accepted
                    .range(..=high)
                    .next_back()
                    .filter(|(_, (end, _))| *end >= low)
                    .map(|(start, (end, set))| (*start, *end, *set));
                match overlap {
                    Some((start, end, set)) => {
                        self.push(
                            line,
                            &set_table.field("ratings"),
                            format!(
                                "ratings {} overlap with {field}[{set}] (ratings {}); each rating \
                                 can have only one set of reasons",
                                show_range(low, high),
                                show_range(start, end)
                            ),
                            "change the ranges so that they do not share a rating, for example \
                             [1, 2] and [4, 5]"
                                .to_string(),
                        );
                        None
                    }
                    None => {
                        accepted.insert(low, (high, i));
                        Some((low, high))
                    }
                }
            });
            let question = self.required_text(&set_table, "question", "What went wrong?");
            let options = self.options(&set_table, REASON_OPTIONS, "a set of reasons");
            match (ratings, question, options) {
                (Some((low, high)), Some(question), Some(options)) => {
                    // The ranges lie inside a rating scale (at most 0..=10) by now; the
                    // conversion only fails when the scale was unreadable and is reported.
                    match (i32::try_from(low), i32::try_from(high)) {
                        (Ok(low), Ok(high)) => sets.push(ReasonSet {
                            ratings: low..=high,
                            question,
                            options,
                        }),
                        _ => ok = false,
                    }
                }
                _ => ok = false,
            }
        }
        ok.then_some(sets)
    }

    /// `ratings = [low, high]` of a reason set, with the line it is on.
    fn ratings(
        &mut self,
        t: &Table<'_, '_>,
        scale: Option<RatingScale>,
    ) -> Option<(i64, i64, usize)> {
        let field = t.field("ratings");
        let example = "ratings = [1, 2]";
        let Some(v) = t.get("ratings") else {
            self.push(
                t.line,
                &field,
                "the set does not say which ratings it follows up".to_string(),
                format!("add the lowest and highest rating it is for: {example}"),
            );
            return None;
        };
        let line = self.line(v);
        let numbers = match v.get_ref() {
            DeValue::Array(items) => items,
            DeValue::Integer(_) => {
                let n = self.integer(v, &field, example)?;
                self.push(
                    line,
                    &field,
                    "ratings must be a range: a list of the lowest and the highest rating"
                        .to_string(),
                    format!("for this one rating alone, write ratings = [{n}, {n}]"),
                );
                return None;
            }
            _ => {
                self.wrong_type(v, &field, "a list of two whole numbers", example);
                return None;
            }
        };
        let [low, high] = numbers.as_ref() else {
            self.push(
                line,
                &field,
                format!(
                    "ratings has {} numbers; it needs exactly two: the lowest and the highest \
                     rating",
                    numbers.len()
                ),
                format!("write it like this: {example} (for one rating alone: [5, 5])"),
            );
            return None;
        };
        let low_n = self.integer(low, &format!("{field}[0]"), example);
        let high_n = self.integer(high, &format!("{field}[1]"), example);
        let (low, high) = (low_n?, high_n?);
        if low > high {
            self.push(
                line,
                &field,
                format!("the first number ({low}) is bigger than the second ({high})"),
                format!("write the lowest rating first: ratings = [{high}, {low}]"),
            );
            return None;
        }
        if let Some(scale) = scale {
            let range = scale.range();
            let (first, last) = (i64::from(*range.start()), i64::from(*range.end()));
            let outside = [low, high].into_iter().find(|n| *n < first || *n > last);
            if let Some(n) = outside {
                self.push(
                    line,
                    &field,
                    format!(
                        "rating {n} is outside the {} scale, which goes from {first} to {last}",
                        scale.name()
                    ),
                    format!("use numbers from {first} to {last}"),
                );
                return None;
            }
        }
        Some((low, high, line))
    }

    // ---- options --------------------------------------------------------------------------

    fn options(
        &mut self,
        t: &Table<'_, '_>,
        count: RangeInclusive<usize>,
        owner: &str,
    ) -> Option<Vec<ChoiceOption>> {
        let (min, max) = (*count.start(), *count.end());
        let example = format!(
            "options = [\n  {{ id = \"entrance\", {} }},\n  …\n]",
            self.text_example("label", "Entrance")
        );
        let field = t.field("options");
        let Some(v) = t.get("options") else {
            self.push(
                t.line,
                &field,
                format!("{owner} needs a list of options"),
                format!("add {example}"),
            );
            return None;
        };
        let line = self.line(v);
        let items = self.array(v, &field, &example)?;
        let mut ok = true;
        if items.len() < min {
            ok = false;
            let problem = if items.is_empty() {
                "the list of options is empty".to_string()
            } else {
                format!(
                    "{owner} needs at least {min} options; this one has {}",
                    items.len()
                )
            };
            self.push(
                line,
                &field,
                problem,
                format!("add options until there are at least {min}"),
            );
        } else if items.len() > max {
            ok = false;
            self.push(
                line,
                &field,
                format!(
                    "there are {} options; at most {max} fit on the screen",
                    items.len()
                ),
                format!(
                    "remove options until there are {max} or fewer, or split them over two steps"
                ),
            );
        }
        let mut seen: HashMap<String, (usize, usize)> = HashMap::new();
        let mut options = Vec::with_capacity(items.len().min(max));
        for (i, item) in items.iter().enumerate() {
            let option_field = format!("{field}[{i}]");
            let Some(o) = self.table(item, option_field, "{ id = \"…\", label = { … } }")
            else {
                ok = false;
                continue;
            };
            self.unknown_keys(&o, OPTION_KEYS);
            let id = match o.get("id") {
                None => {
                    self.missing(&o, "id", "id = \"entrance\"");
                    None
                }
                Some(idv) => {
                    let id_field = o.field("id");
                    let id = self.id(idv, &id_field, "entrance");
                    let id_line = self.line(idv);
                    match id {
                        Some(id) => match seen.get(&id) {
                            Some(&(first, first_line)) => {
                                self.push(
                                    id_line,
                                    &id_field,
                                    format!(
                                        "`{id}` is already the id of {field}[{first}] (line \
                                         {first_line}); the options of one list need different ids"
                                    ),
                                    "give this option its own id".to_string(),
                                );
                                None
                            }
                            None => {
                                seen.insert(id.clone(), (i, id_line));
                                Some(id)
                            }
                        },
                        None => None,
                    }
                }
            };
            let label = self.required_text(&o, "label", "Entrance");
            match (id, label) {
                (Some(id), Some(label)) => options.push(ChoiceOption { id, label }),
                _ => ok = false,
            }
        }
        ok.then_some(options)
    }

    // ---- texts in several languages -------------------------------------------------------

    fn required_text(&mut self, t: &Table<'_, '_>, key: &str, sample: &str) -> Option<Localized> {
        match t.get(key) {
            Some(v) => self.localized(v, &t.field(key), key),
            None => {
                let example = self.text_example(key, sample);
                self.missing(t, key, &example);
                None
            }
        }
    }

    /// `key = { en = "sample", cy = "…" }` with the survey's languages.
    fn text_example(&self, key: &str, sample: &str) -> String {
        let english = ["en".to_string()];
        let languages = self.languages.as_deref().unwrap_or(&english);
        let texts: Vec<String> = languages
            .iter()
            .enumerate()
            .map(|(i, l)| {
                if i == 0 {
                    format!("{l} = \"{sample}\"")
                } else {
                    format!("{l} = \"…\"")
                }
            })
            .collect();
        format!("{key} = {{ {} }}", texts.join(", "))
    }

    fn localized(&mut self, v: &Value<'_>, field: &str, key: &str) -> Option<Localized> {
        let line = self.line(v);
        let entries = match v.get_ref() {
            DeValue::Table(entries) => entries,
            DeValue::String(s) => {
                let sample: String = s.chars().take(MAX_QUOTED_CHARS).collect();
                let sample = if sample.trim().is_empty() {
                    "…".to_string()
                } else {
                    sample
                };
                let example = self.text_example(key, &quoted(&sample));
                self.push(
                    line,
                    field,
                    "this text must be given once for each of the survey's languages, not as a \
                     single text"
                        .to_string(),
                    format!("write it as a table of languages: {example}"),
                );
                return None;
            }
            _ => {
                let example = self.text_example(key, "…");
                self.wrong_type(v, field, "a table of texts, one per language", &example);
                return None;
            }
        };
        self.text_tables += 1;
        let declared = self.languages.clone();
        let mut texts = BTreeMap::new();
        let mut ok = true;
        for (code_key, text) in entries.iter() {
            let code: &str = code_key.get_ref();
            let text_field = join(field, code);
            let key_line = self.line(code_key);
            let is_declared = match &declared {
                Some(languages) => languages.iter().any(|l| l == code),
                None => interface_language(code).is_some(),
            };
            if !is_declared {
                ok = false;
                if self.rejected_languages.contains(code) {
                    continue;
                }
                if interface_language(code).is_some() {
                    let error = self.error(
                        key_line,
                        &text_field,
                        format!(
                            "there is text in {}, but {code} is not in `languages`",
                            language_name(code)
                        ),
                        format!("declare it in `languages` (add \"{code}\") or remove this text"),
                    );
                    self.undeclared_texts.push(LanguageProblem {
                        language: code.to_string(),
                        error,
                    });
                } else {
                    self.push(
                        key_line,
                        &text_field,
                        format!("`{}` is not a language this kiosk can show", quoted(code)),
                        unknown_language_fix(code, "use one of"),
                    );
                }
                continue;
            }
            let Some(s) = self.string(text, &text_field, &format!("{code} = \"…\"")) else {
                ok = false;
                continue;
            };
            let text_line = self.line(text);
            if s.trim().is_empty() {
                ok = false;
                self.push(
                    text_line,
                    &text_field,
                    format!("the {} text is empty", language_name(code)),
                    format!(
                        "write the text in {} between the quotes",
                        language_name(code)
                    ),
                );
                continue;
            }
            let length = s.chars().count();
            if length > MAX_TEXT_CHARS {
                ok = false;
                self.push(
                    text_line,
                    &text_field,
                    format!(
                        "the {} text is {length} characters long; at most {MAX_TEXT_CHARS} fit \
                         on the screen",
                        language_name(code)
                    ),
                    format!("shorten it to {MAX_TEXT_CHARS} characters or fewer"),
                );
                continue;
            }
            texts.insert(code.to_string(), s.to_string());
        }
        for language in declared.iter().flatten() {
            // A misspelt language code is reported where it is written, with this language
            // as the suggestion; it is not also reported as missing.
            let misspelt = entries.keys().any(|k| {
                let k: &str = k.get_ref();
                interface_language(k).is_none() && similar_language(k) == Some(language.as_str())
            });
            if !entries.contains_key(language.as_str()) && !misspelt {
                ok = false;
                let name = language_name(language);
                let error = self.error(
                    line,
                    &join(field, language),
                    format!("no {name} text"),
                    format!("add {language} = \"…\" to this table"),
                );
                self.missing_texts.push(LanguageProblem {
                    language: language.clone(),
                    error,
                });
            }
        }
        ok.then_some(Localized(texts))
    }

    /// Reports the texts missing a language, or in a language not declared. When every text
    /// in the file has the same gap the cause is `languages` itself, so one error there
    /// replaces one error per text.
    fn report_language_problems(&mut self) {
        let tables = self.text_tables;
        let missing = std::mem::take(&mut self.missing_texts);
        let undeclared = std::mem::take(&mut self.undeclared_texts);
        for (language, errors) in group_by_language(missing) {
            if tables >= 2 && errors.len() == tables {
                let name = language_name(&language);
                self.push(
                    self.languages_line,
                    "languages",
                    format!(
                        "{language} is declared, but there is no {name} text anywhere in the file"
                    ),
                    format!(
                        "add {language} = \"…\" to every text, or remove \"{language}\" from \
                         `languages`"
                    ),
                );
            } else {
                self.errors.extend(errors);
            }
        }
        for (language, errors) in group_by_language(undeclared) {
            if tables >= 2 && errors.len() == tables {
                let name = language_name(&language);
                self.push(
                    self.languages_line,
                    "languages",
                    format!("the texts are also written in {name}, but {language} is not in `languages`"),
                    format!("add \"{language}\" to `languages`, or remove the {language} texts"),
                );
            } else {
                self.errors.extend(errors);
            }
        }
    }

    // ---- values ---------------------------------------------------------------------------

    fn missing(&mut self, t: &Table<'_, '_>, key: &str, example: &str) {
        // A misspelt key is reported as unknown, with this key as the suggestion; saying
        // that this key is missing as well would be the same mistake twice.
        let misspelt = t.entries.keys().any(|k| {
            let k: &str = k.get_ref();
            !is_known_key(k) && nearest(k, &[key]).is_some()
        });
        if misspelt {
            return;
        }
        self.push(
            t.line,
            &t.field(key),
            format!("`{key}` is missing"),
            format!("add to {}: {example}", t.place()),
        );
    }

    fn line_of_key(&self, t: &Table<'_, '_>, key: &str) -> Option<usize> {
        t.entries.get_key_value(key).map(|(k, _)| self.line(k))
    }

    fn unknown_keys(&mut self, t: &Table<'_, '_>, allowed: &[&str]) {
        for (key, _) in t.entries.iter() {
            let key_text: &str = key.get_ref();
            if allowed.contains(&key_text) {
                continue;
            }
            // `id` is also a key of steps and options, so only the keys that exist nowhere
            // but at the top can be recognised as written in the wrong place.
            let top_only = ROOT_KEYS.contains(&key_text) && key_text != "id";
            let (problem, fix) = if !t.path.is_empty() && top_only {
                (
                    format!(
                        "`{key_text}` is written inside `{}` (line {}), where it does not belong",
                        t.path, t.line
                    ),
                    format!(
                        "move `{key_text}` above the first [ ] header in the file: every line \
                         below a header belongs to that header's table"
                    ),
                )
            } else if key_text == "kind" {
                // Only steps have a kind: a step's [[steps]] line is most likely missing, and
                // its keys have joined the table above.
                (
                    format!(
                        "`kind` is written inside `{}` (line {}), and only steps have a kind",
                        t.path, t.line
                    ),
                    "if a new step starts here, put a [[steps]] line above it; otherwise remove \
                     `kind`"
                        .to_string(),
                )
            } else {
                unknown_key_message(key_text, allowed)
            };
            self.push(self.line(key), &t.field(key_text), problem, fix);
        }
    }

    fn wrong_type(&mut self, v: &Value<'_>, field: &str, expected: &str, example: &str) {
        let found = v.get_ref();
        let fix = match (expected, found) {
            (TABLE, DeValue::Array(_)) => {
                format!("write it with single brackets, {example}, not [[…]]")
            }
            _ => format!("write it like this: {example}"),
        };
        self.push(
            self.line(v),
            field,
            format!("this should be {expected}, but it is {}", describe(found)),
            fix,
        );
    }

    fn string<'v>(&mut self, v: &'v Value<'_>, field: &str, example: &str) -> Option<&'v str> {
        match v.get_ref() {
            DeValue::String(s) => Some(s),
            _ => {
                self.wrong_type(v, field, TEXT, example);
                None
            }
        }
    }

    fn integer(&mut self, v: &Value<'_>, field: &str, example: &str) -> Option<i64> {
        match v.get_ref() {
            DeValue::Integer(n) => match i64::from_str_radix(n.as_str(), n.radix()) {
                Ok(n) => Some(n),
                Err(_) => {
                    self.push(
                        self.line(v),
                        field,
                        "the number is far too large".to_string(),
                        format!("write it like this: {example}"),
                    );
                    None
                }
            },
            DeValue::String(s) if s.trim().parse::<i64>().is_ok() => {
                self.push(
                    self.line(v),
                    field,
                    format!("this should be {WHOLE_NUMBER}, but it is {TEXT}"),
                    format!(
                        "remove the quotes: write {}, not \"{}\"",
                        s.trim(),
                        quoted(s)
                    ),
                );
                None
            }
            _ => {
                self.wrong_type(v, field, WHOLE_NUMBER, example);
                None
            }
        }
    }

    fn boolean(&mut self, v: &Value<'_>, field: &str, example: &str) -> Option<bool> {
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            DeValue::String(s) if matches!(s.trim().to_lowercase().as_str(), "true" | "false") => {
                let word = s.trim().to_lowercase();
                self.push(
                    self.line(v),
                    field,
                    format!("this should be {TRUE_OR_FALSE}, but it is {TEXT}"),
                    format!("remove the quotes: write {word}, not \"{}\"", quoted(s)),
                );
                None
            }
            _ => {
                self.wrong_type(v, field, TRUE_OR_FALSE, example);
                None
            }
        }
    }

    fn array<'v, 'i>(
        &mut self,
        v: &'v Value<'i>,
        field: &str,
        example: &str,
    ) -> Option<&'v [Value<'i>]> {
        match v.get_ref() {
            DeValue::Array(items) => Some(items),
            _ => {
                self.wrong_type(v, field, LIST, example);
                None
            }
        }
    }

    fn table<'a, 'i>(
        &mut self,
        v: &'a Value<'i>,
        path: String,
        example: &str,
    ) -> Option<Table<'a, 'i>> {
        match v.get_ref() {
            DeValue::Table(entries) => Some(Table {
                entries,
                path,
                line: self.line(v),
            }),
            _ => {
                self.wrong_type(v, &path, TABLE, example);
                None
            }
        }
    }

    /// A survey, step or option id.
    fn id(&mut self, v: &Value<'_>, field: &str, example: &str) -> Option<String> {
        let id = self.string(v, field, &format!("id = \"{example}\""))?;
        match id_problem(id) {
            None => Some(id.to_string()),
            Some(problem) => {
                let suggestion = Some(sanitized_id(id)).filter(|s| !s.is_empty());
                let fix = match suggestion {
                    Some(s) if s != id => format!(
                        "use only the letters A–Z and a–z, the digits 0–9, - and _; for example \
                         \"{s}\""
                    ),
                    _ => format!(
                        "use only the letters A–Z and a–z, the digits 0–9, - and _; for example \
                         \"{example}\""
                    ),
                };
                self.push(self.line(v), field, problem, fix);
                None
            }
        }
    }
}

const WHOLE_NUMBER: &str = "a whole number";
const TRUE_OR_FALSE: &str = "true or false";
const TEXT: &str = "text in quotes";
const LIST: &str = "a list in square brackets";
const TABLE: &str = "a table";

/// What a value is, in the words used in messages.
fn describe(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => TEXT,
        DeValue::Integer(_) => WHOLE_NUMBER,
        DeValue::Float(_) => "a number with a decimal point",
        DeValue::Boolean(_) => TRUE_OR_FALSE,
        DeValue::Datetime(_) => "a date or time",
        DeValue::Array(_) => "a list",
        DeValue::Table(_) => TABLE,
    }
}

/// Why `id` is not a valid id, or `None` when it is.
fn id_problem(id: &str) -> Option<String> {
    if id.is_empty() {
        return Some("the id is empty".to_string());
    }
    let length = id.chars().count();
    if length > MAX_ID_CHARS {
        return Some(format!(
            "the id is {length} characters long; the limit is {MAX_ID_CHARS}"
        ));
    }
    let bad = id.chars().find(|c| !is_id_char(*c))?;
    let shown = match bad {
        ' ' => "a space".to_string(),
        c if c.is_control() => format!("the invisible character {}", c.escape_unicode()),
        c => format!("`{c}`"),
    };
    Some(format!("the id `{}` contains {shown}", quoted(id)))
}

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// `id` with every run of characters ids cannot hold turned into one '-'.
fn sanitized_id(id: &str) -> String {
    let mut out = String::new();
    for c in id.chars() {
        if is_id_char(c) {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if out.len() >= MAX_ID_CHARS {
            break;
        }
    }
    out.trim_end_matches('-').to_string()
}

/// "Welsh (cy)".
fn language_name(code: &str) -> String {
    let name = match code {
        "en" => "English",
        "zh_CN" => "Simplified Chinese",
        "cy" => "Welsh",
        "pl" => "Polish",
        _ => interface_language(code).map_or("", |l| l.native_name),
    };
    if name.is_empty() {
        format!("`{}`", quoted(code))
    } else {
        format!("{name} ({code})")
    }
}

/// The interface language `code` is probably a misspelling of.
fn similar_language(code: &str) -> Option<&'static str> {
    let codes: Vec<&'static str> = INTERFACE_LANGUAGES.iter().map(|l| l.code).collect();
    // "zh-CN" and "zh_cn" are the usual near misses; compare without case and separators.
    let simplified = |s: &str| s.to_lowercase().replace('-', "_");
    // Two-letter codes are one edit from many others ("es" is not a typo of "en"), so
    // only longer ones are matched by spelling.
    codes
        .iter()
        .find(|c| simplified(c) == simplified(code))
        .copied()
        .or_else(|| {
            (code.chars().count() > 2)
                .then(|| nearest(code, &codes))
                .flatten()
        })
}

fn unknown_language_fix(code: &str, lead: &str) -> String {
    let all = INTERFACE_LANGUAGES
        .iter()
        .map(|l| language_name(l.code))
        .collect::<Vec<_>>()
        .join(", ");
    match similar_language(code) {
        Some(near) => format!("did you mean \"{near}\"? The available languages are: {all}"),
        None => format!("{lead}: {all}"),
    }
}

fn group_by_language(problems: Vec<LanguageProblem>) -> BTreeMap<String, Vec<SurveyError>> {
    let mut groups: BTreeMap<String, Vec<SurveyError>> = BTreeMap::new();
    for p in problems {
        groups.entry(p.language).or_default().push(p.error);
    }
    groups
}

fn unknown_key_message(key: &str, allowed: &[&str]) -> (String, String) {
    let problem = format!(
        "`{}` is not a setting this survey format knows here",
        quoted(key)
    );
    let fix = match nearest(key, allowed) {
        Some(near) => format!("did you mean `{near}`? Rename it, or remove it"),
        None => format!(
            "remove it; the settings allowed here are: {}",
            allowed.join(", ")
        ),
    };
    (problem, fix)
}

/// `path.key`, with keys that are not plain words quoted as TOML would.
fn join(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key.len() <= MAX_ID_CHARS
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if plain {
        key.to_string()
    } else {
        format!("\"{}\"", quoted(key))
    };
    if path.is_empty() {
        key
    } else {
        format!("{path}.{key}")
    }
}

/// User text fit to be quoted back in a message: cut short, with invisible characters shown.
fn quoted(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == MAX_QUOTED_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn show_range(low: i64, high: i64) -> String {
    if low == high {
        format!("[{low}, {low}]")
    } else {
        format!("[{low}, {high}]")
    }
}

/// The candidate closest to `word` when it is close enough to be a likely typo.
fn nearest<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    // Long words are not typos of short keys, and comparing them would only cost time.
    if word.is_empty() || word.chars().count() > MAX_ID_CHARS {
        return None;
    }
    let word = word.to_lowercase();
    let length = word.chars().count();
    candidates
        .iter()
        .take(MAX_SUGGESTION_CANDIDATES)
        .map(|c| (edit_distance(&word, &c.to_lowercase()), *c))
        .filter(|(d, c)| {
            // Short words are close to everything: allow fewer edits, and never so many that
            // little of either word is left ("kind" is not a typo of "id").
            let shorter = length.min(c.chars().count());
            let limit = match length.max(c.chars().count()) {
                0..=3 => 1,
                4..=7 => 2,
                _ => 3,
            };
            *d <= limit && d * 2 <= shorter
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance counting an insertion, deletion, substitution or swap of two neighbouring
/// characters as one edit (optimal string alignment).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    // Three rows: two back for swaps, one back, and the current one.
    let mut before: Vec<usize> = vec![0; width];
    let mut previous: Vec<usize> = (0..width).collect();
    let mut current: Vec<usize> = vec![0; width];
    for (i, ca) in a.iter().enumerate() {
        if let Some(first) = current.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            let deletion = previous.get(j + 1).map_or(usize::MAX, |d| d + 1);
            let insertion = current.get(j).map_or(usize::MAX, |d| d + 1);
            let substitution = previous.get(j).map_or(usize::MAX, |d| d + cost);
            let mut best = deletion.min(insertion).min(substitution);
            let swapped = i > 0 && j > 0 && a.get(i - 1) == Some(cb) && b.get(j - 1) == Some(ca);
            if swapped {
                best = best.min(before.get(j - 1).map_or(usize::MAX, |d| d + 1));
            }
            if let Some(cell) = current.get_mut(j + 1) {
                *cell = best;
            }
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous.get(b.len()).copied().unwrap_or(usize::MAX)
}

/// Plain-word explanations of TOML syntax errors, by the start of the parser's message. The
/// first match wins, so longer prefixes come before shorter ones they begin with.
const SYNTAX_EXPLANATIONS: &[(&[&str], &str, &str)] = &[
    (
        &[
            "invalid basic string",
            "invalid literal string",
            "invalid multi-line",
            "invalid string",
            "missing escaped value",
            "too few unicode value digits",
        ],
        "a text in quotes is not closed, or contains a \\ that is not allowed",
        "end the text on the same line with the quote mark it starts with; to write a \\ \
         inside a text, type \\\\",
    ),
    (
        &[
            "unclosed table",
            "unclosed array table",
            "missing table open",
        ],
        "a table header is not closed",
        "write the header on a line of its own, like [thanks] or [[steps]]",
    ),
    (
        &[
            "missing comma between array elements",
            "unexpected `=` in array",
            "unclosed array",
            "extra comma in array",
            "missing array opening",
        ],
        "a list in [ ] is not closed, or a comma is missing between its items",
        "separate the items with commas and end the list with ]",
    ),
    (
        &[
            "missing comma between key-value pairs",
            "unclosed inline table",
            "missing key for inline table element",
            "invalid inline table element",
            "extra comma in inline table",
            "missing inline table opening",
            "extra assignment between key-value pairs",
        ],
        "a table in { } is not closed, or a comma is missing between its entries",
        "write it on one line, like { en = \"Yes\", cy = \"Ie\" }: entries separated by commas, \
         ending with }",
    ),
    (
        &["missing opening quote"],
        "a text is missing its opening quote",
        "start the text with a \" as well as ending it with one",
    ),
    (
        &["invalid boolean"],
        "yes/no settings take true or false",
        "write true or false, in lower case and without quotes",
    ),
    (
        &["recursion limit", "cannot recurse further"],
        "tables, lists or dotted names are nested far too deeply",
        "a survey needs only a few levels; remove the extra brackets or dots",
    ),
    (
        &[
            "invalid integer",
            "invalid hexadecimal",
            "invalid octal",
            "invalid binary",
            "invalid float",
            "unexpected leading zero",
            "`_` may only go between digits",
            "redundant",
            "integers with a radix",
            "unexpected sign",
        ],
        "a number is not written correctly",
        "write whole numbers with digits only, like 30",
    ),
    (
        &["invalid date-time"],
        "this looks like a date but is not one",
        "put it in double quotes, like \"2026-11-23\"",
    ),
    (
        &[
            "missing value for key",
            "key with no value",
            "invalid key-value pair",
            "missing assignment between key-value pairs",
            "invalid unquoted key",
            "unexpected key or value",
            "unexpected content",
            "unquoted keys cannot be empty",
            "extra `=`",
        ],
        "this line is not a setting written as name = value",
        "write one setting per line as name = value (text in double quotes), and start comments \
         with #",
    ),
    (
        &["missing value", "invalid value"],
        "a setting has no value after =",
        "write the value after =, like id = \"shop-feedback\"",
    ),
];

/// A TOML syntax error in plain words: what is wrong and what to do. `snippet` is the text the
/// parser pointed at, when it is short and on one line.
fn explain_syntax(message: &str, snippet: Option<&str>) -> (String, String) {
    let known = SYNTAX_EXPLANATIONS
        .iter()
        .find(|(prefixes, _, _)| prefixes.iter().any(|p| message.starts_with(p)));
    let (problem, fix) = if message.starts_with("duplicate key") {
        let problem = match snippet {
            Some(name) => format!("`{name}` is given twice"),
            None => "a setting or table is given twice".to_string(),
        };
        let fix = "remove one of the two (each setting appears once in its table; each step \
                   starts with its own [[steps]])";
        (problem, fix.to_string())
    } else if message.starts_with("string values must be quoted") {
        match snippet {
            Some(text) => (
                "a text is not in quotes".to_string(),
                format!("put the text in double quotes: \"{text}\""),
            ),
            // Nothing to quote: the value after `=` is missing altogether.
            None => (
                "a setting has no value after =".to_string(),
                "write the value after =, like id = \"shop-feedback\"".to_string(),
            ),
        }
    } else if let Some((_, problem, fix)) = known {
        (problem.to_string(), fix.to_string())
    } else {
        (
            "the file is not valid TOML here".to_string(),
            format!("compare this line with the example in {DOCS} (the reader says: {message})"),
        )
    };
    (
        problem,
        format!("{fix}; the rest of the file is checked once this is fixed"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOP: &str = include_str!("../../assets/surveys/shop.toml");
    const COUNCIL: &str = include_str!("../../assets/surveys/council.toml");

    fn demo(text: &str, file: &str) -> Survey {
        match parse(text, file) {
            Ok(survey) => survey,
            Err(errors) => panic!("{file} should be valid:\n{errors}"),
        }
    }

    fn option_ids(options: &[ChoiceOption]) -> Vec<&str> {
        options.iter().map(|o| o.id.as_str()).collect()
    }

    /// Every text in the survey, with where it is, for checks that apply to all of them.
    fn all_texts(survey: &Survey) -> Vec<(String, &Localized)> {
        let mut texts = vec![
            ("attract.title".to_string(), &survey.attract.title),
            ("attract.subtitle".to_string(), &survey.attract.subtitle),
            ("thanks.message".to_string(), &survey.thanks.message),
        ];
        fn options(at: String, list: &[ChoiceOption]) -> Vec<(String, &Localized)> {
            list.iter()
                .map(|o| (format!("{at}.{}", o.id), &o.label))
                .collect()
        }
        let mut more = Vec::new();
        for step in &survey.steps {
            let at = step.id.clone();
            match &step.kind {
                StepKind::Service {
                    question,
                    options: list,
                }
                | StepKind::Choice {
                    question,
                    options: list,
                    ..
                } => {
                    more.push((at.clone(), question));
                    more.extend(options(at, list));
                }
                StepKind::Rating { question, .. } | StepKind::Text { question, .. } => {
                    more.push((at, question))
                }
                StepKind::Reasons { sets, .. } => {
                    for (i, set) in sets.iter().enumerate() {
                        more.push((format!("{at}.sets[{i}]"), &set.question));
                        more.extend(options(format!("{at}.sets[{i}]"), &set.options));
                    }
                }
                StepKind::Agree { statement } => more.push((at, statement)),
                StepKind::Contact { question, consent } => {
                    more.push((at.clone(), question));
                    more.push((at, consent));
                }
                StepKind::Receipt { prompt, .. } => more.push((at, prompt)),
            }
        }
        texts.extend(more);
        texts
    }

    #[test]
    fn shop_demo_survey() {
        let survey = demo(SHOP, "shop.toml");
        assert_eq!(survey.id, "shop-feedback");
        assert_eq!(survey.version, "2026-11-23");
        assert_eq!(survey.languages, ["en", "zh_CN", "cy", "pl"]);
        assert_eq!(survey.default_language, "en");
        assert_eq!(
            survey.attract.title.get("en", "en"),
            "How was your visit today?"
        );
        assert_eq!(
            survey.timing,
            Timing {
                idle_timeout_s: 30,
                still_there_s: 15,
                thanks_dwell_s: 6,
                misuse_interval_s: 5
            }
        );
        let steps: Vec<(&str, &str, bool)> = survey
            .steps
            .iter()
            .map(|s| (s.id.as_str(), s.kind.name(), s.optional))
            .collect();
        assert_eq!(
            steps,
            [
                ("touchpoint", "service", true),
                ("overall", "rating", false),
                ("why", "reasons", true),
                ("comment", "text", true),
                ("contact", "contact", true),
                ("receipt", "receipt", true),
            ]
        );
        match survey.step("touchpoint").map(|s| &s.kind) {
            Some(StepKind::Service { options, .. }) => assert_eq!(
                option_ids(options),
                [
                    "entrance",
                    "finding-items",
                    "checkout-queue",
                    "staff-help",
                    "fitting-rooms"
                ]
            ),
            other => panic!("touchpoint: {other:?}"),
        }
        match survey.step("overall").map(|s| &s.kind) {
            Some(StepKind::Rating { scale, .. }) => assert_eq!(*scale, RatingScale::Smiley5),
            other => panic!("overall: {other:?}"),
        }
        match survey.step("why").map(|s| &s.kind) {
            Some(StepKind::Reasons {
                rating_step,
                multiple,
                sets,
            }) => {
                assert_eq!(rating_step, "overall");
                assert!(*multiple);
                let ranges: Vec<_> = sets.iter().map(|s| s.ratings.clone()).collect();
                assert_eq!(ranges, [1..=2, 4..=5]);
                let sizes: Vec<usize> = sets.iter().map(|s| s.options.len()).collect();
                assert_eq!(sizes, [6, 5]);
                assert_eq!(
                    sets.first().map(|s| s.question.get("cy", "en")),
                    Some("Beth aeth o'i le?")
                );
            }
            other => panic!("why: {other:?}"),
        }
        match survey.step("comment").map(|s| &s.kind) {
            Some(StepKind::Text { max_chars, .. }) => assert_eq!(*max_chars, 300),
            other => panic!("comment: {other:?}"),
        }
        assert_eq!(survey.receipt_mode(), ReceiptMode::Optional);
        assert_eq!(
            survey.thanks.tracking_url_for("K7QX"),
            Some("https://feedback.example.com/r/K7QX".to_string())
        );
    }

    #[test]
    fn council_demo_survey() {
        let survey = demo(COUNCIL, "council.toml");
        assert_eq!(survey.id, "council-services");
        assert_eq!(survey.languages, ["en", "cy", "zh_CN", "pl"]);
        assert_eq!(survey.default_language, "en");
        let steps: Vec<(&str, &str)> = survey
            .steps
            .iter()
            .map(|s| (s.id.as_str(), s.kind.name()))
            .collect();
        assert_eq!(
            steps,
            [
                ("service", "service"),
                ("overall", "rating"),
                ("why", "reasons"),
                ("channel", "choice"),
                ("fair", "agree"),
                ("easy", "agree"),
                ("comment", "text"),
                ("contact", "contact"),
            ]
        );
        match survey.step("service").map(|s| &s.kind) {
            Some(StepKind::Service { options, .. }) => assert_eq!(
                option_ids(options),
                [
                    "council-tax",
                    "housing",
                    "parking",
                    "waste-recycling",
                    "benefits",
                    "other"
                ]
            ),
            other => panic!("service: {other:?}"),
        }
        match survey.step("overall").map(|s| &s.kind) {
            Some(StepKind::Rating { scale, .. }) => assert_eq!(*scale, RatingScale::Smiley4),
            other => panic!("overall: {other:?}"),
        }
        match survey.step("why").map(|s| &s.kind) {
            Some(StepKind::Reasons { sets, .. }) => {
                let ranges: Vec<_> = sets.iter().map(|s| s.ratings.clone()).collect();
                assert_eq!(ranges, [1..=2, 3..=4]);
            }
            other => panic!("why: {other:?}"),
        }
        match survey.step("channel").map(|s| &s.kind) {
            Some(StepKind::Choice {
                options, multiple, ..
            }) => {
                assert!(!*multiple);
                assert_eq!(
                    option_ids(options),
                    ["website", "phone", "email", "first-contact"]
                );
            }
            other => panic!("channel: {other:?}"),
        }
        match survey.step("comment").map(|s| &s.kind) {
            Some(StepKind::Text { max_chars, .. }) => assert_eq!(*max_chars, 500),
            other => panic!("comment: {other:?}"),
        }
        assert_eq!(survey.receipt_mode(), ReceiptMode::Off);
        assert_eq!(
            survey.thanks.tracking_url.as_deref(),
            Some("https://council.example.gov.uk/feedback/{ref}")
        );
    }

    #[test]
    fn demo_surveys_are_fully_translated_and_fit_the_tiles() {
        for (text, file) in [(SHOP, "shop.toml"), (COUNCIL, "council.toml")] {
            let survey = demo(text, file);
            for (at, texts) in all_texts(&survey) {
                let languages: Vec<&String> = texts.0.keys().collect();
                let mut declared: Vec<&String> = survey.languages.iter().collect();
                declared.sort();
                assert_eq!(languages, declared, "{file}: {at}");
            }
            for step in &survey.steps {
                let lists: Vec<&[ChoiceOption]> = match &step.kind {
                    StepKind::Service { options, .. } | StepKind::Choice { options, .. } => {
                        vec![options]
                    }
                    StepKind::Reasons { sets, .. } => sets.iter().map(|s| &s.options[..]).collect(),
                    _ => vec![],
                };
                for option in lists.into_iter().flatten() {
                    let english = option.label.get("en", "en");
                    assert!(
                        english.chars().count() <= 28,
                        "{file}: `{english}` is too long"
                    );
                }
            }
        }
    }

    #[test]
    fn documented_example_is_valid() {
        let docs = include_str!("../../docs/survey-format.md");
        let example = docs
            .split("## A complete example")
            .nth(1)
            .and_then(|rest| rest.split("```toml\n").nth(1))
            .and_then(|block| block.split("```").next())
            .expect("docs/survey-format.md has a complete example");
        let survey = demo(example, "docs/survey-format.md");
        let kinds: Vec<&str> = survey.steps.iter().map(|s| s.kind.name()).collect();
        assert_eq!(
            kinds,
            ["service", "rating", "reasons", "choice", "agree", "text", "contact", "receipt"]
        );
    }

    #[test]
    fn defaults_apply() {
        let text = r#"
format = 1
id = "d"
version = 3
languages = ["cy", "en"]
attract = { title = { cy = "T", en = "T" }, subtitle = { cy = "S", en = "S" } }
thanks = { message = { cy = "D", en = "T" } }

[[steps]]
id = "rate"
kind = "rating"
scale = "nps"
question = { cy = "Q", en = "Q" }

[[steps]]
id = "why"
kind = "reasons"
rating_step = "rate"
sets = [ { ratings = [0, 6], question = { cy = "Q", en = "Q" }, options = [ { id = "a", label = { cy = "A", en = "A" } } ] } ]

[[steps]]
id = "pick"
kind = "choice"
question = { cy = "Q", en = "Q" }
options = [ { id = "a", label = { cy = "A", en = "A" } }, { id = "b", label = { cy = "B", en = "B" } } ]

[[steps]]
id = "say"
kind = "text"
question = { cy = "Q", en = "Q" }

[[steps]]
id = "scan"
kind = "receipt"
prompt = { cy = "P", en = "P" }
"#;
        let survey = demo(text, "defaults.toml");
        assert_eq!(survey.version, "3");
        assert_eq!(survey.default_language, "cy");
        assert_eq!(survey.timing, Timing::default());
        assert_eq!(survey.thanks.tracking_url, None);
        let optional: Vec<bool> = survey.steps.iter().map(|s| s.optional).collect();
        assert_eq!(optional, [false, true, true, true, true]);
        assert!(matches!(
            survey.step("why").map(|s| &s.kind),
            Some(StepKind::Reasons { multiple: true, .. })
        ));
        assert!(matches!(
            survey.step("pick").map(|s| &s.kind),
            Some(StepKind::Choice {
                multiple: false,
                ..
            })
        ));
        assert!(matches!(
            survey.step("say").map(|s| &s.kind),
            Some(StepKind::Text {
                max_chars: DEFAULT_MAX_CHARS,
                ..
            })
        ));
        assert_eq!(survey.receipt_mode(), ReceiptMode::Optional);
    }

    #[test]
    fn lines_are_counted_from_one() {
        let checker = Checker::new("a\nbc\n\nd", "f");
        let lines: Vec<usize> = (0..8).map(|offset| checker.line_at(offset)).collect();
        assert_eq!(lines, [1, 1, 2, 2, 2, 3, 4, 4]);
    }

    #[test]
    fn edit_distance_counts_swaps_as_one() {
        assert_eq!(edit_distance("scale", "scale"), 0);
        assert_eq!(edit_distance("scael", "scale"), 1);
        assert_eq!(edit_distance("optinal", "optional"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("😀", "😁"), 1);
    }

    #[test]
    fn nearest_suggests_only_likely_typos() {
        assert_eq!(
            nearest("questoin", &["question", "options"]),
            Some("question")
        );
        assert_eq!(nearest("Title", &["title", "subtitle"]), Some("title"));
        assert_eq!(nearest("colour", &["message", "tracking_url"]), None);
        assert_eq!(nearest(&"x".repeat(10_000), &["x"]), None);
    }

    #[test]
    fn ids_are_suggested_in_a_valid_form() {
        assert_eq!(sanitized_id("Shop feedback!"), "Shop-feedback");
        assert_eq!(sanitized_id("  über  "), "ber");
        assert_eq!(sanitized_id("😀"), "");
        assert!(sanitized_id(&"a b ".repeat(100)).len() <= MAX_ID_CHARS);
        assert_eq!(id_problem("ok_id-2"), None);
        assert!(id_problem("").is_some());
    }

    #[test]
    fn quoted_text_is_short_and_visible() {
        assert_eq!(quoted("a\nb"), "a\\nb");
        assert_eq!(
            quoted(&"x".repeat(100)).chars().count(),
            MAX_QUOTED_CHARS + 1
        );
        assert_eq!(join("steps[0]", "a b"), "steps[0].\"a b\"");
        assert_eq!(join("", "id"), "id");
    }
}
