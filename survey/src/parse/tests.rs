//! The parser's own checks: the demo surveys and the documented example read as intended, and
//! the helpers that word its messages hold at their edges. Every error a file can produce is
//! checked through `parse` alone, in the kiosk's tests/library/survey_errors.rs.

use super::advice::{edit_distance, join, nearest, quoted, MAX_QUOTED_CHARS};
use super::values::{id_problem, sanitized_id, DEFAULT_MAX_CHARS, MAX_ID_CHARS};
use super::{parse, Checker};
use crate::language::Localized;
use crate::{ChoiceOption, RatingScale, ReceiptMode, StepKind, Survey, Timing};

const SHOP: &str = include_str!("../../../assets/surveys/shop.toml");
const COUNCIL: &str = include_str!("../../../assets/surveys/council.toml");

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
    // A demo kiosk has no tracking page of its own: a provisioned kiosk uses its collector's.
    assert_eq!(survey.thanks.tracking_url, None);
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
    assert_eq!(survey.thanks.tracking_url, None);
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
    let docs = include_str!("../../../docs/survey-format.md");
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
