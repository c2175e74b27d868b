//! Reading one value of the file as the type the format expects, and the ids steps and options
//! are known by. Each reader reports a value of the wrong type where it is written, in the
//! words of the file ("text in quotes", "a whole number"), and returns `None`, so that what
//! depends on the value is checked no further.

use toml::de::DeValue;

use super::advice::{nearest, quoted, unknown_key_message};
use super::{is_known_key, Checker, Table, Value, ROOT_KEYS};
use crate::MAX_CHARS_RANGE;

/// Longest survey, step or option id.
pub(super) const MAX_ID_CHARS: usize = 64;
/// `max_chars` of a text step when the file does not say.
pub(super) const DEFAULT_MAX_CHARS: u32 = 500;

impl Checker<'_> {
    pub(super) fn missing(&mut self, t: &Table<'_, '_>, key: &str, example: &str) {
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

    pub(super) fn line_of_key(&self, t: &Table<'_, '_>, key: &str) -> Option<usize> {
        t.entries.get_key_value(key).map(|(k, _)| self.line(k))
    }

    pub(super) fn unknown_keys(&mut self, t: &Table<'_, '_>, allowed: &[&str]) {
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

    pub(super) fn wrong_type(&mut self, v: &Value<'_>, field: &str, expected: &str, example: &str) {
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

    pub(super) fn string<'v>(
        &mut self,
        v: &'v Value<'_>,
        field: &str,
        example: &str,
    ) -> Option<&'v str> {
        match v.get_ref() {
            DeValue::String(s) => Some(s),
            _ => {
                self.wrong_type(v, field, TEXT, example);
                None
            }
        }
    }

    pub(super) fn integer(&mut self, v: &Value<'_>, field: &str, example: &str) -> Option<i64> {
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

    pub(super) fn boolean(&mut self, v: &Value<'_>, field: &str, example: &str) -> Option<bool> {
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

    pub(super) fn array<'v, 'i>(
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

    pub(super) fn table<'a, 'i>(
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
    pub(super) fn id(&mut self, v: &Value<'_>, field: &str, example: &str) -> Option<String> {
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

    pub(super) fn max_chars(&mut self, v: &Value<'_>, field: &str) -> Option<u32> {
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

    pub(super) fn optional_bool(
        &mut self,
        t: &Table<'_, '_>,
        key: &str,
        default: bool,
    ) -> Option<bool> {
        match t.get(key) {
            None => Some(default),
            Some(v) => self.boolean(v, &t.field(key), &format!("{key} = {default}")),
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
pub(super) fn id_problem(id: &str) -> Option<String> {
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
pub(super) fn sanitized_id(id: &str) -> String {
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
