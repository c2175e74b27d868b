//! Every error a survey file can produce: each test starts from a small valid survey, changes
//! one thing, and checks that exactly that problem is reported, at the right line and field,
//! with a fix that names what to do.

use std::time::{Duration, Instant};

use earshot::core::survey::{parse, StepKind, SurveyError};

/// The smallest valid survey, two languages and one rating step. Line numbers in the tests
/// are looked up with `line_of`, so edits above a line do not break them.
const MINIMAL: &str = r#"format = 1
id = "test-survey"
version = "1"
languages = ["en", "cy"]

[attract]
title = { en = "How was your visit?", cy = "Sut oedd eich ymweliad?" }
subtitle = { en = "Tap to start", cy = "Cyffyrddwch i ddechrau" }

[thanks]
message = { en = "Thank you", cy = "Diolch" }

[[steps]]
id = "overall"
kind = "rating"
scale = "smiley5"
question = { en = "How was it?", cy = "Sut oedd e?" }
"#;

/// A reasons step for `overall`, for appending after it.
const REASONS: &str = r#"
[[steps]]
id = "why"
kind = "reasons"
rating_step = "overall"

[[steps.sets]]
ratings = [1, 2]
question = { en = "What went wrong?", cy = "Beth aeth o'i le?" }
options = [ { id = "queue", label = { en = "Long queue", cy = "Ciw hir" } } ]
"#;

/// A choice step, for appending.
const CHOICE: &str = r#"
[[steps]]
id = "channel"
kind = "choice"
question = { en = "How did you contact us?", cy = "Sut wnaethoch chi gysylltu?" }
options = [
  { id = "web", label = { en = "Website", cy = "Gwefan" } },
  { id = "phone", label = { en = "Phone", cy = "Ffôn" } },
]
"#;

/// A receipt step, for appending.
const RECEIPT: &str = r#"
[[steps]]
id = "receipt"
kind = "receipt"
prompt = { en = "Scan your receipt", cy = "Sganiwch eich derbynneb" }
"#;

/// A service step, for appending.
const SERVICE: &str = r#"
[[steps]]
id = "service"
kind = "service"
question = { en = "Which service?", cy = "Pa wasanaeth?" }
options = [
  { id = "tax", label = { en = "Council Tax", cy = "Treth Gyngor" } },
  { id = "parking", label = { en = "Parking", cy = "Parcio" } },
]
"#;

/// `MINIMAL` plus more TOML at the end (more steps, usually).
fn with(extra: &str) -> String {
    format!("{MINIMAL}{extra}")
}

/// `text` with `from` replaced by `to`; `from` must occur exactly once, so that a test cannot
/// silently change nothing.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert_eq!(
        text.matches(from).count(),
        1,
        "`{from}` should occur once in:\n{text}"
    );
    text.replacen(from, to, 1)
}

/// The 1-based line of the first line containing `needle` (after `skip` earlier matches).
fn line_of(text: &str, needle: &str) -> usize {
    nth_line_of(text, needle, 0)
}

fn nth_line_of(text: &str, needle: &str, skip: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .nth(skip)
        .map(|(i, _)| i + 1)
        .unwrap_or_else(|| panic!("`{needle}` not found in:\n{text}"))
}

fn errors(text: &str) -> Vec<SurveyError> {
    match parse(text, "test.toml") {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(e) => {
            for error in &e.0 {
                assert_eq!(error.file, "test.toml");
                assert!(
                    !error.problem.is_empty() && !error.fix.is_empty(),
                    "{error:?}"
                );
            }
            e.0
        }
    }
}

/// The one error `text` has; fails when there are none or several (a cascade).
fn single_error(text: &str) -> SurveyError {
    let mut all = errors(text);
    assert_eq!(all.len(), 1, "expected exactly one error, got:\n{all:#?}");
    all.remove(0)
}

/// Checks line, field, and that the problem and the fix each mention some words.
#[track_caller]
fn check(error: &SurveyError, line: usize, field: &str, problem: &[&str], fix: &[&str]) {
    assert_eq!(error.line, line, "line of {error:#?}");
    assert_eq!(error.field, field, "field of {error:#?}");
    for word in problem {
        assert!(
            error.problem.contains(word),
            "problem should mention `{word}`: {error:#?}"
        );
    }
    for word in fix {
        assert!(
            error.fix.contains(word),
            "fix should mention `{word}`: {error:#?}"
        );
    }
}

#[test]
fn minimal_survey_is_valid() {
    let survey = parse(MINIMAL, "test.toml").expect("the minimal survey is valid");
    assert_eq!(survey.steps.len(), 1);
    for extra in [REASONS, CHOICE, RECEIPT, SERVICE] {
        let text = with(extra);
        assert!(
            parse(&text, "test.toml").is_ok(),
            "{:?}",
            parse(&text, "test.toml")
        );
    }
}

// ---- the file as a whole -----------------------------------------------------------------

#[test]
fn syntax_error_names_its_line() {
    let text = edit(MINIMAL, "id = \"test-survey\"", "id = \"test-survey");
    let e = single_error(&text);
    check(&e, 2, "", &["quotes", "not closed"], &["quote mark"]);
}

#[test]
fn syntax_error_unquoted_text() {
    let text = edit(MINIMAL, "kind = \"rating\"", "kind = rating");
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "kind = rating"),
        "",
        &["not in quotes"],
        &["\"rating\""],
    );
}

#[test]
fn syntax_error_key_given_twice() {
    let text = edit(
        MINIMAL,
        "version = \"1\"\n",
        "version = \"1\"\nversion = \"2\"\n",
    );
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "version = \"2\""),
        "",
        &["version", "twice"],
        &["remove one"],
    );
}

#[test]
fn syntax_error_unclosed_list_points_at_its_line() {
    let text = edit(
        MINIMAL,
        "languages = [\"en\", \"cy\"]",
        "languages = [\"en\", \"cy\"",
    );
    let e = single_error(&text);
    check(&e, line_of(&text, "languages ="), "", &["list"], &["]"]);
}

#[test]
fn syntax_error_line_without_a_name() {
    let text = edit(MINIMAL, "version = \"1\"\n", "version = \"1\"\n= 5\n");
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "= 5"),
        "",
        &["name = value"],
        &["one setting per line"],
    );
}

#[test]
fn syntax_error_value_missing() {
    let text = edit(MINIMAL, "version = \"1\"", "version =");
    let e = single_error(&text);
    check(&e, 3, "", &["no value after ="], &["write the value"]);
}

#[test]
fn syntax_error_unclosed_multiline_text_points_at_its_start() {
    let text = edit(MINIMAL, "version = \"1\"", "version = \"\"\"1");
    let e = single_error(&text);
    check(&e, 3, "", &["not closed"], &["quote mark"]);
}

#[test]
fn empty_file() {
    for text in ["", "\n\n", "# only a comment\n"] {
        let e = single_error(text);
        check(&e, 0, "", &["empty"], &["shop.toml"]);
    }
}

#[test]
fn missing_format() {
    let text = edit(MINIMAL, "format = 1\n", "");
    let e = single_error(&text);
    check(&e, 0, "format", &["format"], &["format = 1"]);
}

#[test]
fn future_format_is_the_only_error() {
    // A newer format may have keys this build does not know; none of them is reported.
    let text = edit(MINIMAL, "format = 1", "format = 2\nnew_setting = true");
    let e = single_error(&text);
    check(
        &e,
        1,
        "format",
        &["this file uses format 2; this kiosk reads format 1"],
        &["update the kiosk software, or write the file in format 1"],
    );
}

#[test]
fn format_zero_does_not_exist() {
    let text = edit(MINIMAL, "format = 1", "format = 0");
    let e = single_error(&text);
    check(&e, 1, "format", &["no format 0"], &["format = 1"]);
}

#[test]
fn unknown_key_with_suggestion() {
    let text = edit(MINIMAL, "scale = \"smiley5\"", "scael = \"smiley5\"");
    // One error: the misspelt key, not also "scale is missing".
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "scael"),
        "steps[0].scael",
        &["scael"],
        &["did you mean `scale`"],
    );
}

#[test]
fn top_level_key_written_under_a_table() {
    let text = format!("{MINIMAL}\n[timing]\nidle_timeout_s = 40\ndefault_language = \"cy\"\n");
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "default_language"),
        "timing.default_language",
        &["inside `timing`"],
        &["move `default_language` above the first [ ] header"],
    );
}

#[test]
fn unknown_key_without_suggestion_lists_the_allowed_keys() {
    let text = edit(MINIMAL, "[thanks]\n", "[thanks]\ncolour = \"blue\"\n");
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "colour"),
        "thanks.colour",
        &["colour"],
        &["message, tracking_url"],
    );
}

#[test]
fn step_keys_inside_an_option_point_at_a_missing_steps_line() {
    // The [[steps]] line of a text step is missing, so its keys join the option above.
    let text = with(
        r#"
[[steps]]
id = "channel"
kind = "choice"
question = { en = "How did you contact us?", cy = "Sut wnaethoch chi gysylltu?" }

[[steps.options]]
id = "web"
label = { en = "Website", cy = "Gwefan" }

[[steps.options]]
label = { en = "Phone", cy = "Ffôn" }
id = "phone"

kind = "text"
"#,
    );
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "kind = \"text\""),
        "steps[1].options[1].kind",
        &["only steps have a kind"],
        &["[[steps]] line above it"],
    );
}

#[test]
fn key_of_another_step_kind() {
    let text = edit(
        MINIMAL,
        "scale = \"smiley5\"",
        "scale = \"smiley5\"\nmax_chars = 100",
    );
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "max_chars"),
        "steps[0].max_chars",
        &["rating steps"],
        &["text steps"],
    );
}

#[test]
fn wrong_type_text_expected() {
    let text = edit(MINIMAL, "scale = \"smiley5\"", "scale = 5");
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "scale = 5"),
        "steps[0].scale",
        &["text in quotes", "whole number"],
        &["scale = \""],
    );
}

#[test]
fn wrong_type_whole_number_in_quotes() {
    let text = with("\n[timing]\nidle_timeout_s = \"30\"\n");
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "idle_timeout_s"),
        "timing.idle_timeout_s",
        &["a whole number", "text in quotes"],
        &["remove the quotes", "30"],
    );
}

#[test]
fn wrong_type_true_or_false() {
    let text = edit(
        MINIMAL,
        "scale = \"smiley5\"",
        "scale = \"smiley5\"\noptional = \"yes\"",
    );
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "optional"),
        "steps[0].optional",
        &["true or false"],
        &["optional = "],
    );
}

#[test]
fn wrong_type_list() {
    let text = edit(
        MINIMAL,
        "languages = [\"en\", \"cy\"]",
        "languages = \"en\"",
    );
    // Without a readable list of languages no text can be checked for missing languages, and
    // none is reported.
    let e = single_error(&text);
    check(
        &e,
        4,
        "languages",
        &["a list", "text in quotes"],
        &["languages = [\"en\", \"cy\"]"],
    );
}

#[test]
fn wrong_type_table_written_as_array_of_tables() {
    let text = edit(MINIMAL, "[attract]", "[[attract]]");
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "[[attract]]"),
        "attract",
        &["a table", "a list"],
        &["single brackets"],
    );
}

#[test]
fn bad_survey_id() {
    let text = edit(MINIMAL, "id = \"test-survey\"", "id = \"test survey!\"");
    let e = single_error(&text);
    check(&e, 2, "id", &["a space"], &["letters", "\"test-survey\""]);
}

#[test]
fn survey_id_too_long() {
    let long = "a".repeat(65);
    let text = edit(MINIMAL, "id = \"test-survey\"", &format!("id = \"{long}\""));
    let e = single_error(&text);
    check(&e, 2, "id", &["65 characters", "64"], &["letters"]);
}

#[test]
fn missing_version() {
    let text = edit(MINIMAL, "version = \"1\"\n", "");
    let e = single_error(&text);
    check(
        &e,
        0,
        "version",
        &["`version` is missing"],
        &["version = \""],
    );
}

#[test]
fn version_may_be_a_number_or_a_date() {
    let text = edit(MINIMAL, "version = \"1\"", "version = 7");
    assert_eq!(parse(&text, "t").map(|s| s.version), Ok("7".to_string()));
    let text = edit(MINIMAL, "version = \"1\"", "version = 2026-11-23");
    assert_eq!(
        parse(&text, "t").map(|s| s.version),
        Ok("2026-11-23".to_string())
    );
}

#[test]
fn empty_version() {
    let text = edit(MINIMAL, "version = \"1\"", "version = \" \"");
    let e = single_error(&text);
    check(&e, 3, "version", &["empty"], &["version = "]);
}

// ---- languages ---------------------------------------------------------------------------

#[test]
fn unknown_language() {
    let text = edit(
        MINIMAL,
        "languages = [\"en\", \"cy\"]",
        "languages = [\"en\", \"cy\", \"fr\"]",
    );
    // The texts have no French and that is not reported again for every text.
    let e = single_error(&text);
    check(
        &e,
        4,
        "languages[2]",
        &["`fr`", "not a language"],
        &[
            "English (en)",
            "Simplified Chinese (zh_CN)",
            "Welsh (cy)",
            "Polish (pl)",
        ],
    );
}

#[test]
fn unknown_language_near_miss_is_suggested() {
    let text = edit(
        MINIMAL,
        "languages = [\"en\", \"cy\"]",
        "languages = [\"en\", \"cy\", \"zh-CN\"]",
    );
    let e = single_error(&text);
    check(
        &e,
        4,
        "languages[2]",
        &["zh-CN"],
        &["did you mean \"zh_CN\""],
    );
}

#[test]
fn duplicate_language() {
    let text = edit(
        MINIMAL,
        "languages = [\"en\", \"cy\"]",
        "languages = [\"en\", \"cy\", \"en\"]",
    );
    let e = single_error(&text);
    check(
        &e,
        4,
        "languages[2]",
        &["English (en)", "twice"],
        &["remove the second \"en\""],
    );
}

#[test]
fn no_languages() {
    let text = edit(MINIMAL, "languages = [\"en\", \"cy\"]", "languages = []");
    let e = single_error(&text);
    check(&e, 4, "languages", &["no language"], &["languages = ["]);
}

#[test]
fn default_language_not_declared() {
    let text = edit(
        MINIMAL,
        "languages = [\"en\", \"cy\"]",
        "languages = [\"en\", \"cy\"]\ndefault_language = \"pl\"",
    );
    let e = single_error(&text);
    check(
        &e,
        5,
        "default_language",
        &["Polish (pl)", "not in `languages`"],
        &["add \"pl\"", "en, cy"],
    );
}

#[test]
fn default_language_defaults_to_the_first() {
    let text = edit(
        MINIMAL,
        "languages = [\"en\", \"cy\"]",
        "languages = [\"cy\", \"en\"]",
    );
    let survey = parse(&text, "t").expect("valid");
    assert_eq!(survey.default_language, "cy");
    assert_eq!(survey.languages, ["cy", "en"]);
}

#[test]
fn missing_translation() {
    let text = edit(
        MINIMAL,
        "question = { en = \"How was it?\", cy = \"Sut oedd e?\" }",
        "question = { en = \"How was it?\" }",
    );
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "question ="),
        "steps[0].question.cy",
        &["no Welsh (cy) text"],
        &["add cy = \"…\" to this table"],
    );
}

#[test]
fn misspelt_language_is_one_error() {
    let text = edit(MINIMAL, "cy = \"Sut oedd e?\"", "cY = \"Sut oedd e?\"");
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "cY ="),
        "steps[0].question.cY",
        &["not a language"],
        &["did you mean \"cy\""],
    );
}

#[test]
fn language_missing_everywhere_is_one_error_at_languages() {
    let text = edit(
        MINIMAL,
        "languages = [\"en\", \"cy\"]",
        "languages = [\"en\", \"cy\", \"pl\"]",
    );
    let e = single_error(&text);
    check(
        &e,
        4,
        "languages",
        &["no Polish (pl) text anywhere"],
        &["remove \"pl\""],
    );
}

#[test]
fn translation_for_undeclared_language() {
    let text = edit(
        MINIMAL,
        "cy = \"Sut oedd e?\"",
        "cy = \"Sut oedd e?\", pl = \"Jak było?\"",
    );
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "pl = "),
        "steps[0].question.pl",
        &["Polish (pl)", "not in `languages`"],
        &["declare it in `languages`", "remove"],
    );
}

#[test]
fn text_not_a_language_at_all() {
    let text = edit(
        MINIMAL,
        "cy = \"Sut oedd e?\"",
        "cy = \"Sut oedd e?\", xx = \"?\"",
    );
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "xx = "),
        "steps[0].question.xx",
        &["`xx`", "not a language"],
        &["en", "cy"],
    );
}

#[test]
fn empty_text() {
    let text = edit(MINIMAL, "cy = \"Diolch\"", "cy = \"\"");
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "message ="),
        "thanks.message.cy",
        &["Welsh (cy)", "empty"],
        &["write the text"],
    );
}

#[test]
fn text_too_long() {
    let long = "a".repeat(501);
    let text = edit(MINIMAL, "cy = \"Diolch\"", &format!("cy = \"{long}\""));
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "message ="),
        "thanks.message.cy",
        &["501 characters", "500"],
        &["shorten"],
    );
}

#[test]
fn plain_string_where_texts_per_language_are_needed() {
    let text = edit(
        MINIMAL,
        "question = { en = \"How was it?\", cy = \"Sut oedd e?\" }",
        "question = \"How was it?\"",
    );
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "question ="),
        "steps[0].question",
        &["once for each of the survey's languages"],
        &["question = { en = \"How was it?\", cy = \"…\" }"],
    );
}

#[test]
fn texts_may_be_written_with_dotted_keys() {
    let text = edit(
        MINIMAL,
        "question = { en = \"How was it?\", cy = \"Sut oedd e?\" }",
        "question.en = \"How was it?\"\nquestion.cy = \"Sut oedd e?\"",
    );
    assert_eq!(parse(&text, "t"), parse(MINIMAL, "t"));
}

// ---- attract and thanks ------------------------------------------------------------------

#[test]
fn missing_attract() {
    let text = edit(
        MINIMAL,
        "[attract]\ntitle = { en = \"How was your visit?\", cy = \"Sut oedd eich ymweliad?\" }\nsubtitle = { en = \"Tap to start\", cy = \"Cyffyrddwch i ddechrau\" }\n",
        "",
    );
    let e = single_error(&text);
    check(
        &e,
        0,
        "attract",
        &["`attract` is missing"],
        &["[attract]", "title", "subtitle"],
    );
}

#[test]
fn missing_thanks_message() {
    let text = edit(
        MINIMAL,
        "message = { en = \"Thank you\", cy = \"Diolch\" }\n",
        "",
    );
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "[thanks]"),
        "thanks.message",
        &["`message` is missing"],
        &["message = { en = "],
    );
}

#[test]
fn tracking_url_not_https() {
    let text = edit(
        MINIMAL,
        "[thanks]\n",
        "[thanks]\ntracking_url = \"http://example.org/t/{ref}\"\n",
    );
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "tracking_url"),
        "thanks.tracking_url",
        &["https://"],
        &["\"https://example.org/t/{ref}\""],
    );
}

#[test]
fn tracking_url_without_ref() {
    let text = edit(
        MINIMAL,
        "[thanks]\n",
        "[thanks]\ntracking_url = \"https://example.org/t/\"\n",
    );
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "tracking_url"),
        "thanks.tracking_url",
        &["{ref}"],
        &["{ref}"],
    );
}

#[test]
fn tracking_url_is_kept() {
    let text = edit(
        MINIMAL,
        "[thanks]\n",
        "[thanks]\ntracking_url = \"https://example.org/t/{ref}\"\n",
    );
    let survey = parse(&text, "t").expect("valid");
    assert_eq!(
        survey.thanks.tracking_url_for("AB12"),
        Some("https://example.org/t/AB12".to_string())
    );
}

// ---- timing ------------------------------------------------------------------------------

#[track_caller]
fn check_timing_out_of_range(key: &str, value: i64, low: u32, high: u32) {
    let text = with(&format!("\n[timing]\n{key} = {value}\n"));
    let e = single_error(&text);
    let range = format!("from {low} to {high}");
    check(
        &e,
        line_of(&text, key),
        &format!("timing.{key}"),
        &[&value.to_string(), &range],
        &[&range],
    );
}

#[test]
fn idle_timeout_out_of_range() {
    check_timing_out_of_range("idle_timeout_s", 5, 10, 600);
    check_timing_out_of_range("idle_timeout_s", 601, 10, 600);
}

#[test]
fn still_there_out_of_range() {
    check_timing_out_of_range("still_there_s", 4, 5, 120);
    check_timing_out_of_range("still_there_s", 121, 5, 120);
}

#[test]
fn thanks_dwell_out_of_range() {
    check_timing_out_of_range("thanks_dwell_s", 1, 2, 60);
    check_timing_out_of_range("thanks_dwell_s", 61, 2, 60);
}

#[test]
fn misuse_interval_out_of_range() {
    check_timing_out_of_range("misuse_interval_s", -1, 0, 600);
    check_timing_out_of_range("misuse_interval_s", 601, 0, 600);
}

#[test]
fn number_far_too_large() {
    let text = with("\n[timing]\nidle_timeout_s = 99999999999999999999999\n");
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "idle_timeout_s"),
        "timing.idle_timeout_s",
        &["too large"],
        &["idle_timeout_s = 30"],
    );
}

// ---- steps -------------------------------------------------------------------------------

#[test]
fn no_steps() {
    let step = "[[steps]]\nid = \"overall\"\nkind = \"rating\"\nscale = \"smiley5\"\nquestion = { en = \"How was it?\", cy = \"Sut oedd e?\" }\n";
    let text = edit(MINIMAL, step, "");
    let e = single_error(&text);
    check(&e, 0, "steps", &["no steps"], &["[[steps]]"]);

    let text = edit(MINIMAL, step, "");
    let text = edit(&text, "version = \"1\"\n", "version = \"1\"\nsteps = []\n");
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "steps = []"),
        "steps",
        &["no steps"],
        &["[[steps]]"],
    );
}

#[test]
fn steps_written_as_a_single_table() {
    let text = edit(MINIMAL, "[[steps]]", "[steps]");
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "[steps]"),
        "steps",
        &["[[steps]]"],
        &["[[steps]]"],
    );
}

#[test]
fn unknown_step_kind() {
    let text = edit(MINIMAL, "kind = \"rating\"", "kind = \"ratng\"");
    // Nothing else about the step is judged when its kind is unknown.
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "kind ="),
        "steps[0].kind",
        &["`ratng`", "not a kind of step"],
        &[
            "did you mean \"rating\"",
            "service, choice, rating, reasons, agree, text, contact, receipt",
        ],
    );
}

#[test]
fn missing_step_kind() {
    let text = edit(MINIMAL, "kind = \"rating\"\n", "");
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "[[steps]]"),
        "steps[0].kind",
        &["what kind"],
        &["kind = \"", "rating"],
    );
}

#[test]
fn bad_step_id() {
    let text = edit(MINIMAL, "id = \"overall\"", "id = \"über\"");
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "über"),
        "steps[0].id",
        &["`ü`"],
        &["letters", "\"ber\""],
    );
}

#[test]
fn duplicate_step_ids() {
    let text = with(&CHOICE.replace("id = \"channel\"", "id = \"overall\""));
    let e = single_error(&text);
    check(
        &e,
        nth_line_of(&text, "id = \"overall\"", 1),
        "steps[1].id",
        &[
            "already the id of steps[0]",
            &format!("line {}", line_of(&text, "[[steps]]")),
        ],
        &["different id"],
    );
}

#[test]
fn missing_question() {
    let text = edit(
        MINIMAL,
        "question = { en = \"How was it?\", cy = \"Sut oedd e?\" }\n",
        "",
    );
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "[[steps]]"),
        "steps[0].question",
        &["`question` is missing"],
        &["question = { en = \"", "cy = \"…\""],
    );
}

#[test]
fn missing_scale() {
    let text = edit(MINIMAL, "scale = \"smiley5\"\n", "");
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "[[steps]]"),
        "steps[0].scale",
        &["`scale` is missing"],
        &["scale = \"smiley5\""],
    );
}

#[test]
fn unknown_scale() {
    let text = edit(MINIMAL, "scale = \"smiley5\"", "scale = \"thumbs\"");
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "scale ="),
        "steps[0].scale",
        &["`thumbs`", "not a rating scale"],
        &["smiley4, smiley5, nps, stars5"],
    );
}

#[test]
fn empty_options() {
    let text = with(&edit(
        CHOICE,
        "options = [\n  { id = \"web\", label = { en = \"Website\", cy = \"Gwefan\" } },\n  { id = \"phone\", label = { en = \"Phone\", cy = \"Ffôn\" } },\n]",
        "options = []",
    ));
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "options = []"),
        "steps[1].options",
        &["empty"],
        &["at least 2"],
    );
}

#[test]
fn one_option_is_not_a_choice() {
    let text = with(&edit(
        CHOICE,
        "  { id = \"phone\", label = { en = \"Phone\", cy = \"Ffôn\" } },\n",
        "",
    ));
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "options = ["),
        "steps[1].options",
        &["at least 2", "has 1"],
        &["at least 2"],
    );
}

#[test]
fn missing_options() {
    let text = with(&edit(
        CHOICE,
        "options = [\n  { id = \"web\", label = { en = \"Website\", cy = \"Gwefan\" } },\n  { id = \"phone\", label = { en = \"Phone\", cy = \"Ffôn\" } },\n]\n",
        "",
    ));
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "id = \"channel\"") - 1,
        "steps[1].options",
        &["list of options"],
        &["options = ["],
    );
}

#[test]
fn too_many_options() {
    let options: String = (0..13)
        .map(|i| {
            format!(
                "  {{ id = \"o{i}\", label = {{ en = \"Option {i}\", cy = \"Dewis {i}\" }} }},\n"
            )
        })
        .collect();
    let step = format!(
        "\n[[steps]]\nid = \"many\"\nkind = \"choice\"\nquestion = {{ en = \"Which?\", cy = \"Pa un?\" }}\noptions = [\n{options}]\n"
    );
    let text = with(&step);
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "options = ["),
        "steps[1].options",
        &["13 options", "at most 12"],
        &["12 or fewer"],
    );
}

#[test]
fn duplicate_option_ids() {
    let text = with(&CHOICE.replace("id = \"phone\"", "id = \"web\""));
    let e = single_error(&text);
    let second = nth_line_of(&text, "id = \"web\"", 1);
    check(
        &e,
        second,
        "steps[1].options[1].id",
        &[
            "already the id of steps[1].options[0]",
            &format!("line {}", line_of(&text, "id = \"web\"")),
        ],
        &["its own id"],
    );
}

#[test]
fn option_without_label() {
    let text = with(&CHOICE.replace(
        "{ id = \"phone\", label = { en = \"Phone\", cy = \"Ffôn\" } }",
        "{ id = \"phone\" }",
    ));
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "id = \"phone\""),
        "steps[1].options[1].label",
        &["`label` is missing"],
        &["label = {"],
    );
}

#[test]
fn options_as_array_of_tables() {
    let text = with(
        r#"
[[steps]]
id = "channel"
kind = "choice"
multiple = true
question = { en = "How did you contact us?", cy = "Sut wnaethoch chi gysylltu?" }

[[steps.options]]
id = "web"
label.en = "Website"
label.cy = "Gwefan"

[[steps.options]]
id = "phone"
label.en = "Phone"
label.cy = "Ffôn"
"#,
    );
    let survey = parse(&text, "t").expect("valid");
    match &survey.steps.get(1).map(|s| &s.kind) {
        Some(StepKind::Choice {
            options, multiple, ..
        }) => {
            assert!(*multiple);
            assert_eq!(
                options.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
                ["web", "phone"]
            );
        }
        other => panic!("expected a choice step, got {other:?}"),
    }
}

// ---- reasons -----------------------------------------------------------------------------

#[test]
fn reasons_pointing_at_unknown_step() {
    let text = with(&REASONS.replace("rating_step = \"overall\"", "rating_step = \"overal\""));
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "rating_step"),
        "steps[1].rating_step",
        &["no step has the id `overal`"],
        &["did you mean \"overall\""],
    );
}

#[test]
fn reasons_pointing_at_a_non_rating_step() {
    let text = with(&format!(
        "{CHOICE}{}",
        REASONS.replace("rating_step = \"overall\"", "rating_step = \"channel\"")
    ));
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "rating_step"),
        "steps[2].rating_step",
        &["`channel` is a choice step", "not a rating step"],
        &["rating_step = \"overall\""],
    );
}

#[test]
fn reasons_pointing_at_a_later_step() {
    let reasons_first = edit(
        MINIMAL,
        "[[steps]]\nid = \"overall\"",
        &format!("{}\n[[steps]]\nid = \"overall\"", REASONS.trim()),
    );
    let e = single_error(&reasons_first);
    check(
        &e,
        line_of(&reasons_first, "rating_step"),
        "steps[0].rating_step",
        &["comes after this step", "steps[1]"],
        &["move this reasons step below"],
    );
}

#[test]
fn reasons_without_rating_step() {
    let text = with(&REASONS.replace("rating_step = \"overall\"\n", ""));
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "id = \"why\"") - 1,
        "steps[1].rating_step",
        &["which rating"],
        &["rating_step = \"overall\""],
    );
}

#[test]
fn reasons_without_sets() {
    let text = with("\n[[steps]]\nid = \"why\"\nkind = \"reasons\"\nrating_step = \"overall\"\n");
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "id = \"why\"") - 1,
        "steps[1].sets",
        &["at least one set"],
        &["[[steps.sets]]", "ratings = [1, 2]"],
    );
}

#[test]
fn range_outside_scale() {
    let text = with(&REASONS.replace("ratings = [1, 2]", "ratings = [4, 6]"));
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "ratings ="),
        "steps[1].sets[0].ratings",
        &["rating 6 is outside the smiley5 scale", "from 1 to 5"],
        &["from 1 to 5"],
    );
}

#[test]
fn range_given_as_one_number() {
    let text = with(&REASONS.replace("ratings = [1, 2]", "ratings = 2"));
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "ratings ="),
        "steps[1].sets[0].ratings",
        &["range"],
        &["ratings = [2, 2]"],
    );
}

#[test]
fn range_with_three_numbers() {
    let text = with(&REASONS.replace("ratings = [1, 2]", "ratings = [1, 2, 3]"));
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "ratings ="),
        "steps[1].sets[0].ratings",
        &["3 numbers", "exactly two"],
        &["ratings = [1, 2]"],
    );
}

#[test]
fn range_min_greater_than_max() {
    let text = with(&REASONS.replace("ratings = [1, 2]", "ratings = [2, 1]"));
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "ratings ="),
        "steps[1].sets[0].ratings",
        &["first number (2) is bigger than the second (1)"],
        &["ratings = [1, 2]"],
    );
}

#[test]
fn overlapping_sets() {
    let second_set = "\n[[steps.sets]]\nratings = [2, 3]\nquestion = { en = \"What went well?\", cy = \"Beth aeth yn dda?\" }\noptions = [ { id = \"staff\", label = { en = \"Friendly staff\", cy = \"Staff cyfeillgar\" } } ]\n";
    let text = with(&format!("{REASONS}{second_set}"));
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "ratings = [2, 3]"),
        "steps[1].sets[1].ratings",
        &["[2, 3] overlap with steps[1].sets[0] (ratings [1, 2])"],
        &["do not share a rating"],
    );
}

#[test]
fn sets_follow_nps_range() {
    let text = with(&REASONS.replace("ratings = [1, 2]", "ratings = [0, 6]"))
        .replace("scale = \"smiley5\"", "scale = \"nps\"");
    let survey = parse(&text, "t").expect("valid");
    match survey.step("why").map(|s| &s.kind) {
        Some(StepKind::Reasons {
            sets,
            multiple,
            rating_step,
        }) => {
            assert_eq!(rating_step, "overall");
            assert!(
                *multiple,
                "reasons allow several answers unless the file says otherwise"
            );
            assert_eq!(sets.first().map(|s| s.ratings.clone()), Some(0..=6));
        }
        other => panic!("expected a reasons step, got {other:?}"),
    }
}

// ---- other kinds -------------------------------------------------------------------------

#[test]
fn text_max_chars_out_of_range() {
    for value in [5, 2001] {
        let step = format!(
            "\n[[steps]]\nid = \"comment\"\nkind = \"text\"\nmax_chars = {value}\nquestion = {{ en = \"Anything else?\", cy = \"Unrhyw beth arall?\" }}\n"
        );
        let text = with(&step);
        let e = single_error(&text);
        check(
            &e,
            line_of(&text, "max_chars"),
            "steps[1].max_chars",
            &[&value.to_string(), "from 10 to 2000"],
            &["max_chars = 500"],
        );
    }
}

#[test]
fn contact_without_consent() {
    let text = with("\n[[steps]]\nid = \"contact\"\nkind = \"contact\"\nquestion = { en = \"Contact you?\", cy = \"Cysylltu â chi?\" }\n");
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "id = \"contact\"") - 1,
        "steps[1].consent",
        &["`consent` is missing"],
        &["consent = {"],
    );
}

#[test]
fn agree_without_statement() {
    let text = with("\n[[steps]]\nid = \"fair\"\nkind = \"agree\"\nquestion = { en = \"Fair?\", cy = \"Teg?\" }\n");
    let all = errors(&text);
    // `question` is not an agree step's key (it is reported) and `statement` is missing.
    assert_eq!(all.len(), 2, "{all:#?}");
    check(
        &all[0],
        line_of(&text, "id = \"fair\"") - 1,
        "steps[1].statement",
        &["`statement` is missing"],
        &["statement = {"],
    );
    check(
        &all[1],
        line_of(&text, "Fair?"),
        "steps[1].question",
        &["not used by agree steps"],
        &["remove it"],
    );
}

#[test]
fn two_receipt_steps() {
    let text = with(&format!(
        "{RECEIPT}{}",
        RECEIPT.replace("id = \"receipt\"", "id = \"receipt-2\"")
    ));
    let e = single_error(&text);
    check(
        &e,
        nth_line_of(&text, "kind = \"receipt\"", 1),
        "steps[2].kind",
        &[
            "already has a receipt step (steps[1]",
            &format!("line {}", line_of(&text, "kind = \"receipt\"")),
        ],
        &["remove one"],
    );
}

#[test]
fn two_service_steps() {
    let text = with(&format!(
        "{SERVICE}{}",
        SERVICE.replace("id = \"service\"", "id = \"service-2\"")
    ));
    let e = single_error(&text);
    check(
        &e,
        nth_line_of(&text, "kind = \"service\"", 1),
        "steps[2].kind",
        &["already has a service step (steps[1]"],
        &["remove one", "kind = \"choice\""],
    );
}

#[test]
fn optional_on_receipt() {
    let text = with(&RECEIPT.replace("kind = \"receipt\"", "kind = \"receipt\"\noptional = true"));
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "optional = true"),
        "steps[1].optional",
        &["`optional`", "mode"],
        &["remove `optional`", "mode = \"required\""],
    );
}

#[test]
fn bad_receipt_mode() {
    let text = with(&RECEIPT.replace(
        "kind = \"receipt\"",
        "kind = \"receipt\"\nmode = \"always\"",
    ));
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "mode ="),
        "steps[1].mode",
        &["`always`", "not a receipt mode"],
        &["\"off\"", "\"optional\"", "\"required\""],
    );
}

#[test]
fn receipt_mode_decides_whether_it_is_optional() {
    for (mode, optional) in [("off", true), ("optional", true), ("required", false)] {
        let text = with(&RECEIPT.replace(
            "kind = \"receipt\"",
            &format!("kind = \"receipt\"\nmode = \"{mode}\""),
        ));
        let survey = parse(&text, "t").expect("valid");
        assert_eq!(
            survey.step("receipt").map(|s| s.optional),
            Some(optional),
            "{mode}"
        );
    }
}

// ---- several problems, hostile input -----------------------------------------------------

#[test]
fn several_errors_reported_together_in_file_order() {
    let text = edit(MINIMAL, "id = \"test-survey\"", "id = \"test survey\"");
    let text = edit(&text, "scale = \"smiley5\"", "scale = \"smiley9\"");
    let text = format!("{text}\n[timing]\nstill_there_s = 1\n");
    let all = errors(&text);
    assert_eq!(all.len(), 3, "{all:#?}");
    check(&all[0], 2, "id", &["a space"], &["test-survey"]);
    check(
        &all[1],
        line_of(&text, "smiley9"),
        "steps[0].scale",
        &["not a rating scale"],
        &["smiley5"],
    );
    check(
        &all[2],
        line_of(&text, "still_there_s"),
        "timing.still_there_s",
        &["from 5 to 120"],
        &["still_there_s = 15"],
    );
    let shown = parse(&text, "test.toml").expect_err("invalid").to_string();
    assert!(
        shown.contains("test.toml:2: id: the id `test survey` contains a space. Fix: "),
        "{shown}"
    );
}

#[test]
fn a_flood_of_problems_is_cut_short() {
    let keys: String = (0..5000).map(|i| format!("unknown_{i} = {i}\n")).collect();
    let text = format!("{MINIMAL}{keys}");
    let all = errors(&text);
    assert_eq!(all.len(), 50);
    assert!(
        all.last()
            .is_some_and(|e| e.problem.contains("more problems")),
        "{:?}",
        all.last()
    );
}

#[test]
fn garbage_of_a_megabyte_does_not_panic() {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let alphabet: Vec<char> = "[]{}=\"'.,#\n \tab1_-😀é\\".chars().collect();
    let mut text = String::new();
    while text.len() < 1 << 20 {
        // xorshift: reproducible noise without a dependency.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let index = usize::try_from(state % alphabet.len() as u64).unwrap_or(0);
        text.push(alphabet[index]);
    }
    let started = Instant::now();
    let all = errors(&text);
    let lines = text.lines().count() + 1;
    assert!(all.iter().all(|e| e.line <= lines), "{all:#?}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_megabyte_of_valid_toml_is_checked_quickly() {
    // Thousands of steps with emoji and long ids, all wrong in some way: the checks stay
    // linear and the answer stays readable.
    let mut text = MINIMAL.to_string();
    let mut i = 0;
    while text.len() < 1 << 20 {
        text.push_str(&format!(
            "\n[[steps]]\nid = \"s{i}😀\"\nkind = \"reasons\"\nrating_step = \"nowhere{i}\"\n\
             [[steps.sets]]\nratings = [{i}, 1]\nquestion = {{ en = \"🙂\", cy = \"🙂\" }}\n\
             options = [ {{ id = \"x\", label = {{ en = \"x\", cy = \"x\" }} }} ]\n"
        ));
        i += 1;
    }
    let started = Instant::now();
    let all = errors(&text);
    assert_eq!(all.len(), 50);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn deep_nesting_is_a_plain_error() {
    let deep_list = format!(
        "{MINIMAL}\nx = {}1{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let e = single_error(&deep_list);
    assert!(e.problem.contains("nested"), "{e:#?}");

    let deep_keys = format!("{MINIMAL}\n{} = 1\n", vec!["a"; 100_000].join("."));
    let e = single_error(&deep_keys);
    assert!(e.problem.contains("nested"), "{e:#?}");

    let deep_tables = format!("{MINIMAL}\n[{}]\n", vec!["t"; 100_000].join("."));
    let e = single_error(&deep_tables);
    assert!(e.problem.contains("nested"), "{e:#?}");
}

#[test]
fn odd_keys_are_quoted_back_safely() {
    let text = edit(MINIMAL, "[thanks]\n", "[thanks]\n\"line\\nbreak 😀\" = 1\n");
    let e = single_error(&text);
    check(
        &e,
        line_of(&text, "break"),
        "thanks.\"line\\nbreak 😀\"",
        &["line\\nbreak 😀"],
        &["remove it"],
    );
}
