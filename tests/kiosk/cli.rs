//! The command line as staff use it: the real binary, real files.

use std::path::Path;
use std::process::{Command, Output};

use earshot::core::record::Outcome;

use crate::common::read_records;
use crate::process::{self, text};

fn earshot(args: &[&str], config: Option<&Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_earshot"));
    cmd.args(args)
        .env_remove("EARSHOT_CONFIG")
        .env("HOME", std::env::temp_dir());
    if let Some(c) = config {
        cmd.env("EARSHOT_CONFIG", c);
    }
    cmd.output().unwrap()
}

fn write_config(dir: &Path, extra: &str) -> std::path::PathBuf {
    let path = dir.join("earshot.toml");
    let responses = dir.join("responses.db");
    std::fs::write(
        &path,
        format!(
            "[device]\nid = \"cli-kiosk\"\nsite = \"cli-site\"\n[storage]\npath = \"{}\"\n{extra}",
            responses.display()
        ),
    )
    .unwrap();
    path
}

#[test]
fn check_survey_accepts_the_demo_surveys() {
    for name in ["shop", "council"] {
        let file = format!("{}/assets/surveys/{name}.toml", env!("CARGO_MANIFEST_DIR"));
        let out = earshot(&["check-survey", &file], None);
        assert!(out.status.success(), "{}", text(&out));
        assert!(text(&out).contains("OK"), "{}", text(&out));
    }
}

#[test]
fn check_survey_names_the_file_line_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let shop = std::fs::read_to_string(format!(
        "{}/assets/surveys/shop.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let broken = shop.replacen("kind = \"rating\"", "kind = \"ratting\"", 1);
    let line = broken.lines().position(|l| l.contains("ratting")).unwrap() + 1;
    let file = dir.path().join("broken.toml");
    std::fs::write(&file, broken).unwrap();
    let out = earshot(&["check-survey", file.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    let msg = text(&out);
    assert!(msg.contains(&format!("broken.toml:{line}:")), "{msg}");
    assert!(msg.contains("ratting") && msg.contains("Fix:"), "{msg}");
}

#[test]
fn check_survey_refuses_binary_and_missing_files_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("survey.toml");
    std::fs::write(&file, b"format = 1\nid = \"\xff\xfe\"\n").unwrap();
    let out = earshot(&["check-survey", file.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("not UTF-8"), "{}", text(&out));

    let out = earshot(&["check-survey", "/nonexistent/survey.toml"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("cannot read"), "{}", text(&out));
}

#[test]
fn simulate_stores_every_visit_through_the_configured_sink() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "[survey]\ndemo = \"council\"\n");
    let out = earshot(
        &["simulate", "--visits", "200", "--seed", "7"],
        Some(&config),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("stored 200 of 200"), "{}", text(&out));
    let records = read_records(&dir.path().join("responses.db"));
    assert_eq!(records.len(), 200);
    assert!(records.iter().all(|r| r.survey_id == "council-services"
        && r.device_id == "cli-kiosk"
        && r.site_id == "cli-site"));
    for outcome in [Outcome::Completed, Outcome::Timeout, Outcome::Abandoned] {
        assert!(
            records.iter().any(|r| r.outcome == outcome),
            "no {outcome:?} among 200 random visits"
        );
    }
    assert!(records.iter().any(|r| r.flags.suspected_misuse));
    let ids: std::collections::HashSet<_> = records.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), 200);
}

#[test]
fn simulate_with_a_seed_repeats_itself() {
    let runs: Vec<Vec<(Outcome, usize)>> = (0..2)
        .map(|_| {
            let dir = tempfile::tempdir().unwrap();
            let config = write_config(dir.path(), "");
            let out = earshot(
                &["simulate", "--visits", "50", "--seed", "42"],
                Some(&config),
            );
            assert!(out.status.success(), "{}", text(&out));
            let records = read_records(&dir.path().join("responses.db"));
            records
                .iter()
                .map(|r| (r.outcome, r.answers.len()))
                .collect()
        })
        .collect();
    assert_eq!(runs[0], runs[1]);
}

#[test]
fn the_config_flag_wins_over_the_environment_and_bad_configs_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_config(dir.path(), "");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[device]\nid = \"x\"\n").unwrap();
    // EARSHOT_CONFIG points at the bad file, --config at the good one.
    let out = earshot(
        &[
            "--config",
            good.to_str().unwrap(),
            "simulate",
            "--visits",
            "1",
            "--seed",
            "1",
        ],
        Some(&bad),
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = earshot(&["simulate", "--visits", "1"], Some(&bad));
    assert_eq!(out.status.code(), Some(2));
    let msg = text(&out);
    assert!(
        msg.contains("bad.toml") && msg.contains("site") && msg.contains("Fix:"),
        "{msg}"
    );
}

#[test]
fn simulate_with_a_survey_file_uses_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let survey = format!("{}/assets/surveys/council.toml", env!("CARGO_MANIFEST_DIR"));
    let out = earshot(
        &["simulate", "--visits", "3", "--survey", &survey],
        Some(&config),
    );
    assert!(out.status.success(), "{}", text(&out));
    let records = read_records(&dir.path().join("responses.db"));
    assert!(records.iter().all(|r| r.survey_id == "council-services"));
}

#[test]
fn an_invalid_survey_falls_back_to_the_last_good_one() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let survey = dir.path().join("survey.toml");
    let council = std::fs::read_to_string(format!(
        "{}/assets/surveys/council.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    std::fs::write(&survey, &council).unwrap();
    let config = write_config(
        dir.path(),
        &format!("[survey]\npath = \"{}\"\n", survey.display()),
    );
    let run = |visits: &str| {
        Command::new(env!("CARGO_BIN_EXE_earshot"))
            .args(["simulate", "--visits", visits, "--seed", "3"])
            .env("EARSHOT_CONFIG", &config)
            .env("STATE_DIRECTORY", &state)
            .output()
            .unwrap()
    };
    assert!(run("1").status.success());
    std::fs::write(&survey, council.replace("format = 1", "format = \"one\"")).unwrap();
    let out = run("1");
    assert!(
        out.status.success(),
        "the last good survey keeps the kiosk going: {}",
        text(&out)
    );
    assert!(
        text(&out).contains("survey-invalid"),
        "staff are alarmed: {}",
        text(&out)
    );

    std::fs::remove_file(state.join("last-good-survey.toml")).unwrap();
    let out = run("1");
    assert_eq!(
        out.status.code(),
        Some(2),
        "no good survey ever: refuse with the reason"
    );
    assert!(text(&out).contains("format"), "{}", text(&out));
}

#[test]
fn touch_rotation_writes_the_udev_rule_for_the_configured_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.d");
    std::fs::create_dir_all(&rules).unwrap();
    let config = write_config(dir.path(), "[display]\nrotation = 270\n");
    let out = earshot(
        &[
            "touch-rotation",
            "--rules-dir",
            rules.to_str().unwrap(),
            "--no-reload",
        ],
        Some(&config),
    );
    assert!(out.status.success(), "{}", text(&out));
    let rule = std::fs::read_to_string(rules.join("98-earshot-touch-rotation.rules")).unwrap();
    assert!(
        rule.contains("LIBINPUT_CALIBRATION_MATRIX}=\"0 -1 1 1 0 0\""),
        "{rule}"
    );

    // Settings the device cannot honour are refused with the fix, before anything is written.
    for (extra, expected) in [
        ("[display]\nrotation = 45\n", "use 0, 90, 180 or 270"),
        (
            "[display.blank]\nfrom = \"10pm\"\nuntil = \"07:00\"\n",
            "write the local time as HH:MM",
        ),
        ("[gpio]\nstaff_call_pin = 40\n", "BCM GPIO number"),
        (
            "[gpio]\nstaff_call_pin = 17\nwake_pin = 17\n",
            "each needs a pin of its own",
        ),
    ] {
        let config = write_config(dir.path(), extra);
        let out = earshot(&["queue", "stats"], Some(&config));
        assert!(!out.status.success(), "{extra}");
        assert!(text(&out).contains(expected), "{extra}: {}", text(&out));
    }
}

/// `earshot ARGS` with its output captured and its state in `state`, watched by
/// [`process::run_measured`].
fn measured(args: &[&str], config: Option<&Path>, state: &Path) -> process::Measured {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_earshot"));
    cmd.args(args)
        .env_remove("EARSHOT_CONFIG")
        .env("HOME", state)
        .env("STATE_DIRECTORY", state)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if let Some(c) = config {
        cmd.env("EARSHOT_CONFIG", c);
    }
    // Killed past 600 MB: a survey read whole could take the machine.
    process::run_measured(cmd, std::time::Duration::from_secs(60), 600.0)
}

/// The most memory refusing a survey file may take: the kiosk's own working set, with room
/// to spare, and nowhere near a file read and parsed whole.
const SURVEY_PEAK_RSS_BOUND_MB: f64 = 100.0;

#[test]
fn a_survey_file_far_too_large_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    // A survey with 200,000 options: about 10 MB, and 2 MiB is the most a survey file may be.
    let mut big = String::from(
        "format = 1\nid = \"big\"\nversion = \"1\"\nlanguages = [\"en\"]\n\n[attract]\ntitle = { en = \"Hello\" }\n\n[thanks]\nmessage = { en = \"Thanks\" }\n\n[[steps]]\nid = \"which\"\nkind = \"choice\"\nquestion = { en = \"Which?\" }\noptions = [\n",
    );
    for i in 0..200_000 {
        big.push_str(&format!(
            "  {{ id = \"option-{i}\", label = {{ en = \"Option {i}\" }} }},\n"
        ));
    }
    big.push_str("]\n");
    let file = dir.path().join("big.toml");
    std::fs::write(&file, &big).unwrap();
    let megabytes = format!("{:.1} MB", big.len() as f64 / 1e6);

    let out = measured(&["check-survey", file.to_str().unwrap()], None, dir.path());
    out.assert_ended_by_itself();
    assert_eq!(out.status.code(), Some(1), "{}", out.text());
    assert!(
        out.stderr.contains(&format!(
            "big.toml: the file is {megabytes}; a survey file may be at most 2 MiB, so this is almost certainly not the intended file"
        )) && out.stderr.contains("Fix:"),
        "{}",
        out.text()
    );
    assert!(
        out.elapsed < std::time::Duration::from_secs(5),
        "{:?}",
        out.elapsed
    );
    assert!(
        out.peak_rss_mb < SURVEY_PEAK_RSS_BOUND_MB,
        "check-survey of {megabytes} peaked at {:.0} MB",
        out.peak_rss_mb
    );

    // A device or pipe tells no length: the reading itself stops past the limit.
    let zero = measured(&["check-survey", "/dev/zero"], None, dir.path());
    zero.assert_ended_by_itself();
    assert_eq!(zero.status.code(), Some(1), "{}", zero.text());
    assert!(
        zero.stderr
            .contains("/dev/zero: the file goes on past 2 MiB; a survey file may be at most 2 MiB"),
        "{}",
        zero.text()
    );
    assert!(
        zero.peak_rss_mb < SURVEY_PEAK_RSS_BOUND_MB,
        "check-survey /dev/zero peaked at {:.0} MB",
        zero.peak_rss_mb
    );

    // The kiosk's own survey (`run --survey`, `simulate --survey`) is read the same way; with
    // no last good survey to fall back on, it does not start.
    let config = write_config(dir.path(), "");
    let simulate = measured(
        &[
            "simulate",
            "--visits",
            "1",
            "--survey",
            file.to_str().unwrap(),
        ],
        Some(&config),
        dir.path(),
    );
    simulate.assert_ended_by_itself();
    assert_eq!(simulate.status.code(), Some(2), "{}", simulate.text());
    assert!(
        simulate.stderr.contains("at most 2 MiB"),
        "{}",
        simulate.text()
    );
    assert!(simulate.peak_rss_mb < SURVEY_PEAK_RSS_BOUND_MB);
    eprintln!(
        "peak resident memory: check-survey of {megabytes}: {:.0} MB, of /dev/zero: {:.0} MB, simulate: {:.0} MB",
        out.peak_rss_mb, zero.peak_rss_mb, simulate.peak_rss_mb
    );
}

/// How a command ended whose standard output was closed before it wrote anything, as
/// `earshot … | head -1` leaves it once head has its line. Standard error is captured, or
/// closed too with `close_stderr`.
fn with_stdout_closed(
    args: &[&str],
    config: Option<&Path>,
    close_stderr: bool,
) -> process::Measured {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_earshot"));
    cmd.args(args)
        .env_remove("EARSHOT_CONFIG")
        .env("HOME", std::env::temp_dir())
        .stdout(writer);
    if close_stderr {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        cmd.stderr(writer);
    } else {
        cmd.stderr(std::process::Stdio::piped());
    }
    if let Some(c) = config {
        cmd.env("EARSHOT_CONFIG", c)
            .env("STATE_DIRECTORY", c.parent().unwrap());
    }
    process::run_measured(cmd, std::time::Duration::from_secs(60), 600.0)
}

#[test]
fn no_command_panics_when_its_output_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let refused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nobody = format!("http://{}", refused.local_addr().unwrap());
    drop(refused);
    let config = write_config(
        dir.path(),
        &format!(
            "[upload]\nserver = \"{nobody}\"\nconnect_timeout_s = 2\ntoken_path = \"{}\"\n",
            dir.path().join("device-token").display()
        ),
    );
    std::fs::write(
        dir.path().join("device-token"),
        "test-token-0123456789abcdef\n",
    )
    .unwrap();
    let out = earshot(
        &["simulate", "--visits", "40", "--seed", "2"],
        Some(&config),
    );
    assert!(out.status.success(), "{}", text(&out));
    let shop = format!("{}/assets/surveys/shop.toml", env!("CARGO_MANIFEST_DIR"));
    let broken = dir.path().join("broken.toml");
    std::fs::write(
        &broken,
        std::fs::read_to_string(&shop)
            .unwrap()
            .replace("kind = \"", "kind = \"no-such-"),
    )
    .unwrap();
    let export = dir.path().join("export.jsonl");

    // 141: the closed pipe ended the command quietly, as a shell shows for any tool.
    let closed = Some(141);
    let cases: Vec<(Vec<&str>, bool, Option<i32>)> = vec![
        (vec!["queue", "stats"], false, closed),
        (vec!["queue", "stats", "--json"], false, closed),
        (vec!["check-survey", &shop], false, closed),
        // Its problems go to standard error: closed too, they are dropped, never a panic.
        (
            vec!["check-survey", broken.to_str().unwrap()],
            true,
            Some(1),
        ),
        (vec!["simulate", "--visits", "50"], false, closed),
        (
            vec!["simulate", "--visits", "50", "--print-committed"],
            true,
            closed,
        ),
        (
            vec!["queue", "export", "--out", export.to_str().unwrap()],
            false,
            closed,
        ),
        (
            vec!["scanner", "listen", "--port", "/nonexistent/tty"],
            false,
            closed,
        ),
        (vec!["upload", "--once"], false, closed),
        // clap writes the help itself, and ignores a closed pipe.
        (vec!["--help"], false, Some(0)),
        (vec!["queue", "--help"], true, Some(0)),
    ];
    for (args, close_stderr, expected) in cases {
        let out = with_stdout_closed(&args, Some(&config), close_stderr);
        out.assert_ended_by_itself();
        assert_eq!(out.status.code(), expected, "{args:?}: {}", out.text());
        assert!(
            !out.stderr.contains("cannot write"),
            "{args:?}: {}",
            out.text()
        );
    }
    // The export was written whole before its report line found nobody reading.
    assert_eq!(
        std::fs::read_to_string(&export).unwrap().lines().count(),
        read_records(&dir.path().join("responses.db")).len()
    );
}
