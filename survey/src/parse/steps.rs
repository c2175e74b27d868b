//! The steps of a survey, with their options and follow-up reasons. A reasons step may refer
//! to a rating step that is checked after it, so every step is summarised first and indexed
//! once; checking each step's references then costs the same however many steps there are.

use std::collections::{BTreeMap, HashMap};
use std::ops::RangeInclusive;

use toml::de::DeValue;

use super::advice::{nearest, quoted, show_range, unknown_key_message, MAX_SUGGESTION_CANDIDATES};
use super::values::{id_problem, DEFAULT_MAX_CHARS};
use super::{Checker, Table, Value};
use crate::{ChoiceOption, RatingScale, ReasonSet, ReceiptMode, Step, StepKind, STEP_KINDS};

/// Options of a service or choice step: a choice needs two answers, and more than twelve tiles
/// do not fit the screen at a size a shaky finger can hit.
const CHOICE_OPTIONS: RangeInclusive<usize> = 2..=12;
/// Options of one reason set: a single reason is allowed (the visitor may still skip).
const REASON_OPTIONS: RangeInclusive<usize> = 1..=12;

pub(super) const OPTION_KEYS: &[&str] = &["id", "label"];
pub(super) const SET_KEYS: &[&str] = &["ratings", "question", "options"];
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

/// Every key some step kind may have, for steps whose kind could not be read.
pub(super) const ANY_STEP_KEYS: &[&str] = &[
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

impl Checker<'_> {
    pub(super) fn steps(&mut self, root: &Table<'_, '_>) -> Option<Vec<Step>> {
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
}
