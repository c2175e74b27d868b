//! The words results are shown in: each question's and option's own label from the survey
//! files, in the language the viewer chose, never a bare id where the surveys say more.
//! Pure: built from the survey catalogue once, at start.
//!
//! Invariants: a label is looked up by (step, option) across every known survey, the newest
//! version's wording winning; an id with no label anywhere is shown as the id itself; a
//! language a survey does not have falls back to that survey's default language.

use std::collections::{HashMap, HashSet};

use earshot_survey::language::{Localized, INTERFACE_LANGUAGES};
use earshot_survey::{StepKind, Survey};

/// One label in every language it was given in, with the language to fall back to.
#[derive(Debug, Clone)]
struct Label {
    text: Localized,
    fallback: String,
}

impl Label {
    fn get(&self, language: &str) -> &str {
        self.text.get(language, &self.fallback)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Labels {
    /// (step, option) → the option's label; for reasons, with the set's question.
    options: HashMap<(String, String), (Label, Option<Label>)>,
    /// Step → its question.
    steps: HashMap<String, Label>,
    /// Service option → its label.
    services: HashMap<String, Label>,
    /// (survey, step) of every follow-up reasons step; empty without surveys.
    reason_steps: HashSet<(String, String)>,
    has_surveys: bool,
}

impl Labels {
    pub fn from_surveys<'a>(surveys: impl IntoIterator<Item = &'a Survey>) -> Labels {
        let mut labels = Labels::default();
        for survey in surveys {
            labels.has_surveys = true;
            let label = |text: &Localized| Label {
                text: text.clone(),
                fallback: survey.default_language.clone(),
            };
            for step in &survey.steps {
                let question = match &step.kind {
                    StepKind::Service { question, options } => {
                        for o in options {
                            labels.services.insert(o.id.clone(), label(&o.label));
                            labels
                                .options
                                .insert((step.id.clone(), o.id.clone()), (label(&o.label), None));
                        }
                        Some(question)
                    }
                    StepKind::Choice {
                        question, options, ..
                    } => {
                        for o in options {
                            labels
                                .options
                                .insert((step.id.clone(), o.id.clone()), (label(&o.label), None));
                        }
                        Some(question)
                    }
                    StepKind::Reasons { sets, .. } => {
                        labels
                            .reason_steps
                            .insert((survey.id.clone(), step.id.clone()));
                        // Each set asks its own question ("What went wrong?", "What went
                        // well?"): an option is shown with the question it was asked under.
                        for set in sets {
                            for o in &set.options {
                                labels.options.insert(
                                    (step.id.clone(), o.id.clone()),
                                    (label(&o.label), Some(label(&set.question))),
                                );
                            }
                        }
                        sets.first().map(|s| &s.question)
                    }
                    StepKind::Rating { question, .. }
                    | StepKind::Text { question, .. }
                    | StepKind::Contact { question, .. } => Some(question),
                    StepKind::Agree { statement } => Some(statement),
                    StepKind::Receipt { prompt, .. } => Some(prompt),
                };
                if let Some(q) = question {
                    labels.steps.insert(step.id.clone(), label(q));
                }
            }
        }
        labels
    }

    /// The reasons steps, or `None` when no surveys are known (every choice then counts).
    pub fn reason_steps(&self) -> Option<&HashSet<(String, String)>> {
        self.has_surveys.then_some(&self.reason_steps)
    }

    pub fn option(&self, step: &str, option: &str, language: &str) -> String {
        self.options
            .get(&(step.to_string(), option.to_string()))
            .map(|(l, _)| l.get(language).to_string())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| option.to_string())
    }

    /// The question an option was chosen under: its reason set's, else its step's.
    pub fn question_of(&self, step: &str, option: &str, language: &str) -> String {
        match self.options.get(&(step.to_string(), option.to_string())) {
            Some((_, Some(question))) => question.get(language).to_string(),
            _ => self.step(step, language),
        }
    }

    pub fn step(&self, step: &str, language: &str) -> String {
        self.steps
            .get(step)
            .map(|l| l.get(language).to_string())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| step.to_string())
    }

    pub fn service(&self, service: &str, language: &str) -> String {
        self.services
            .get(service)
            .map(|l| l.get(language).to_string())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| service.to_string())
    }
}

/// The languages labels can be shown in: (code, name in that language).
pub fn languages() -> Vec<(&'static str, &'static str)> {
    INTERFACE_LANGUAGES
        .iter()
        .map(|l| (l.code, l.native_name))
        .collect()
}

/// `code` if labels can be shown in it, else English.
pub fn chosen_language(code: &str) -> &'static str {
    INTERFACE_LANGUAGES
        .iter()
        .find(|l| l.code == code.trim())
        .map(|l| l.code)
        .unwrap_or("en")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop() -> Survey {
        earshot_survey::parse(include_str!("../../assets/surveys/shop.toml"), "shop.toml").unwrap()
    }

    #[test]
    fn labels_come_from_the_survey_in_the_chosen_language_and_ids_stand_in_otherwise() {
        let survey = shop();
        let labels = Labels::from_surveys([&survey]);
        let (step, option, english, welsh) = survey
            .steps
            .iter()
            .find_map(|s| match &s.kind {
                StepKind::Reasons { sets, .. } => {
                    let o = &sets[0].options[0];
                    Some((
                        s.id.clone(),
                        o.id.clone(),
                        o.label.get("en", "en").to_string(),
                        o.label.get("cy", "en").to_string(),
                    ))
                }
                _ => None,
            })
            .expect("the shop survey asks for reasons");
        assert_eq!(labels.option(&step, &option, "en"), english);
        assert_eq!(labels.option(&step, &option, "cy"), welsh);
        assert_ne!(english, option, "a label, not the id");
        assert_eq!(
            labels.option(&step, "no-such-option", "en"),
            "no-such-option"
        );
        let asked = survey
            .steps
            .iter()
            .find_map(|s| match &s.kind {
                StepKind::Reasons { sets, .. } => {
                    Some(sets[0].question.get("cy", "en").to_string())
                }
                _ => None,
            })
            .unwrap();
        assert_eq!(labels.question_of(&step, &option, "cy"), asked);
        assert!(labels
            .reason_steps()
            .unwrap()
            .contains(&(survey.id.clone(), step)));
        assert!(Labels::default().reason_steps().is_none());
    }

    #[test]
    fn an_unknown_language_is_shown_in_english() {
        assert_eq!(chosen_language("cy"), "cy");
        assert_eq!(chosen_language("xx"), "en");
    }
}
