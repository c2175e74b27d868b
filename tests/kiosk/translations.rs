//! Every interface string is translated into every shipped language, with the same
//! placeholders: a string left out shows up in English in the middle of a Welsh visit, and a
//! lost `{}` drops the number from the sentence.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const LANGUAGES: &[&str] = &["cy", "pl", "zh_CN"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The first (singular) string of every `@tr(...)` in the .slint sources.
fn interface_strings() -> BTreeMap<String, PathBuf> {
    let pattern = regex::Regex::new(r#"@tr\("((?:[^"\\]|\\.)*)""#).unwrap();
    let mut found = BTreeMap::new();
    let mut dirs = vec![root().join("ui")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "slint") {
                let text = std::fs::read_to_string(&path).unwrap();
                for c in pattern.captures_iter(&text) {
                    found.insert(c[1].replace("\\\"", "\""), path.clone());
                }
            }
        }
    }
    found
}

fn unquote(line: &str, key: &str) -> Option<String> {
    let rest = line.strip_prefix(key)?.trim();
    let inner = rest.strip_prefix('"')?.strip_suffix('"')?;
    Some(inner.replace("\\\"", "\""))
}

/// msgid → every msgstr (one, or one per plural form).
fn catalogue(path: &Path) -> BTreeMap<String, Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut entries: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if let Some(id) = unquote(line, "msgid") {
            current = Some(id);
        } else if let Some(s) = unquote(line, "msgstr").or_else(|| {
            line.strip_prefix("msgstr[")
                .and_then(|l| l.split_once(']'))
                .and_then(|(_, rest)| unquote(rest.trim(), ""))
        }) {
            if let Some(id) = &current {
                entries.entry(id.clone()).or_default().push(s);
            }
        }
    }
    entries
}

fn placeholders(s: &str) -> Vec<&str> {
    let mut found: Vec<&str> = ["{}", "{n}"]
        .into_iter()
        .flat_map(|p| s.matches(p))
        .collect();
    found.sort_unstable();
    found
}

#[test]
fn every_interface_string_is_translated_with_its_placeholders() {
    let strings = interface_strings();
    assert!(
        strings.len() > 40,
        "the .slint sources were read: {strings:?}"
    );
    assert!(strings.contains_key("We already have your feedback for this receipt, thank you."));
    let mut problems = Vec::new();
    for language in LANGUAGES {
        let path = root().join(format!("ui/translations/{language}/LC_MESSAGES/earshot.po"));
        let po = catalogue(&path);
        for (english, source) in &strings {
            match po.get(english) {
                None => problems.push(format!(
                    "{language}: {english:?} (from {}) is not translated",
                    source.display()
                )),
                Some(forms) => {
                    for form in forms {
                        if form.is_empty() {
                            problems
                                .push(format!("{language}: {english:?} has an empty translation"));
                        } else if placeholders(form) != placeholders(english) {
                            problems.push(format!(
                                "{language}: {form:?} does not keep the placeholders of {english:?}"
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
