//! The words of the messages: unknown settings with the nearest known one, names and user text
//! quoted back safely, and TOML syntax errors explained in plain words. Nothing here reads the
//! survey; every function is bounded in the size of its input, so that a hostile file cannot
//! make a message expensive.

use super::values::MAX_ID_CHARS;
use super::DOCS;

/// Suggestions compare against at most this many names, so that a file with thousands of
/// steps stays linear.
pub(super) const MAX_SUGGESTION_CANDIDATES: usize = 32;
/// User text quoted back in a message is cut to this many characters.
pub(super) const MAX_QUOTED_CHARS: usize = 40;

pub(super) fn unknown_key_message(key: &str, allowed: &[&str]) -> (String, String) {
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
pub(super) fn join(path: &str, key: &str) -> String {
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
pub(super) fn quoted(s: &str) -> String {
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

pub(super) fn show_range(low: i64, high: i64) -> String {
    if low == high {
        format!("[{low}, {low}]")
    } else {
        format!("[{low}, {high}]")
    }
}

/// The candidate closest to `word` when it is close enough to be a likely typo.
pub(super) fn nearest<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
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
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
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
pub(super) fn explain_syntax(message: &str, snippet: Option<&str>) -> (String, String) {
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
