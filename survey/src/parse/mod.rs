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
//!
//! The checker is split by what each part reads: this module holds the checker itself and the
//! walk over the top of the file; `values` reads single typed values and ids, `texts` the
//! languages and the texts given per language, `steps` the steps with their options and
//! reasons, and `advice` words the problems and suggests fixes. Every part reports into the
//! one checker, which puts the errors in line order at the end, so which part found a problem
//! never changes what a file's errors are or the order they are listed in.

mod advice;
mod steps;
mod texts;
mod values;

#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::ops::RangeInclusive;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::{
    Attract, Survey, SurveyError, SurveyErrors, Thanks, Timing, FORMAT_VERSION, IDLE_TIMEOUT_RANGE,
    MISUSE_INTERVAL_RANGE, STILL_THERE_RANGE, THANKS_DWELL_RANGE,
};
use advice::{explain_syntax, join, quoted};
use steps::{ANY_STEP_KEYS, OPTION_KEYS, SET_KEYS};
use texts::LanguageProblem;

/// Longest survey version.
const MAX_VERSION_CHARS: usize = 64;
/// Past this many problems the list stops being useful to a person fixing the file by hand.
const MAX_REPORTED_ERRORS: usize = 50;
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

type Value<'i> = Spanned<DeValue<'i>>;

/// Parses and validates a survey file's text; see [`crate::parse`].
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
}
