//! The survey's languages and its texts, each given once per language. A language problem is
//! reported where it is written; a text missing a language, or written in one that is not
//! declared, is held back until the whole file is read, because when every text has the same
//! gap the mistake is in `languages` and one error there says it.

use std::collections::BTreeMap;

use toml::de::DeValue;

use super::advice::{join, nearest, quoted, MAX_QUOTED_CHARS};
use super::{Checker, Table, Value};
use crate::language::{interface_language, Localized, INTERFACE_LANGUAGES};
use crate::SurveyError;

/// Longest text in one language: beyond this it no longer fits a kiosk screen.
const MAX_TEXT_CHARS: usize = 500;

/// A reported problem that may be folded into one error about `languages` when every text
/// in the file has the same problem.
pub(super) struct LanguageProblem {
    language: String,
    error: SurveyError,
}

impl Checker<'_> {
    pub(super) fn languages(&mut self, root: &Table<'_, '_>) -> Option<Vec<String>> {
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

    pub(super) fn default_language(
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

    pub(super) fn required_text(
        &mut self,
        t: &Table<'_, '_>,
        key: &str,
        sample: &str,
    ) -> Option<Localized> {
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
    pub(super) fn text_example(&self, key: &str, sample: &str) -> String {
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
    pub(super) fn report_language_problems(&mut self) {
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
