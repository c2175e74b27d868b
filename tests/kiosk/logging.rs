//! Where the kiosk's log goes, with the real binary: plain text into a pipe or a file,
//! colour only on a terminal, and under systemd structured entries in the journal with their
//! priorities (a stand-in journald in a mount namespace of the test's own, so the machine
//! needs no journald), or, when the journal's socket is missing, text lines that carry their
//! priority on the journal's stream.

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use earshot_logging::native;
use earshot_logging::testing::{self, FakeJournal};

const ESC: u8 = 0x1b;

struct Kiosk {
    dir: tempfile::TempDir,
    config: PathBuf,
}

fn kiosk() -> Kiosk {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("earshot.toml");
    std::fs::write(
        &config,
        format!(
            "[device]\nid = \"log-kiosk\"\nsite = \"log-site\"\n[storage]\npath = \"{}\"\n",
            dir.path().join("responses.db").display()
        ),
    )
    .unwrap();
    Kiosk { dir, config }
}

const ARGS: [&str; 5] = ["simulate", "--visits", "2", "--seed", "3"];

impl Kiosk {
    /// The kiosk's environment for `command`: its config, a home of its own, and nothing
    /// inherited that would change where the log goes.
    fn prepare(&self, command: &mut Command) {
        command
            .env("EARSHOT_CONFIG", &self.config)
            .env("HOME", self.dir.path())
            .env_remove("JOURNAL_STREAM")
            .env_remove("NO_COLOR")
            // Not a filter: the kiosk says so as its first warning.
            .env("EARSHOT_LOG", "earshot=loud")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
    }
}

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_earshot"))
}

/// Runs `command` with standard error into `writer`, and reads it to its end; it must succeed.
fn run_with_stderr(
    command: Command,
    reader: std::io::PipeReader,
    writer: std::io::PipeWriter,
) -> String {
    let (success, text) = run_to_end(command, reader, writer);
    assert!(success, "{text}");
    text
}

/// Runs `command` with standard error into `writer`: whether it succeeded, and what it wrote.
fn run_to_end(
    mut command: Command,
    reader: std::io::PipeReader,
    writer: std::io::PipeWriter,
) -> (bool, String) {
    command.stderr(writer);
    let mut child = command.spawn().expect("the kiosk starts");
    // The parent's copy of the write end goes with the command, so the read below ends
    // when the child does.
    drop(command);
    let mut text = String::new();
    let mut reader = reader;
    reader.read_to_string(&mut text).unwrap();
    (child.wait().unwrap().success(), text)
}

#[test]
fn into_a_pipe_the_log_is_plain_text_without_colour_codes() {
    let k = kiosk();
    let mut command = Command::new(bin());
    command.args(ARGS);
    k.prepare(&mut command);
    let (reader, writer) = std::io::pipe().unwrap();
    let text = run_with_stderr(command, reader, writer);
    assert!(
        text.contains("INFO") && text.contains("configuration"),
        "{text}"
    );
    assert!(text.contains("WARN"), "{text}");
    assert!(
        text.contains("EARSHOT_LOG=\"earshot=loud\" is not a log filter"),
        "{text}"
    );
    assert!(
        !text.as_bytes().contains(&ESC),
        "colour codes in a pipe: {text:?}"
    );
    // Not the journal's prefixes either: this is no journal.
    assert!(!text.lines().any(|l| l.starts_with('<')), "{text}");
}

#[test]
fn a_journal_stream_inherited_by_a_redirected_standard_error_is_not_the_journal() {
    // A command run from a service's shell with `2>file`: JOURNAL_STREAM names the journal's
    // stream, standard error is the file.
    let k = kiosk();
    let log = k.dir.path().join("log.txt");
    let file = std::fs::File::create(&log).unwrap();
    let mut command = Command::new(bin());
    command.args(ARGS);
    k.prepare(&mut command);
    command.env("JOURNAL_STREAM", "8:123456").stderr(file);
    let status = command.status().unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("configuration"), "{text}");
    assert!(!text.as_bytes().contains(&ESC), "{text:?}");
    assert!(!text.lines().any(|l| l.starts_with('<')), "{text}");
}

#[test]
fn on_a_terminal_the_log_is_in_colour() {
    let k = kiosk();
    let (mut master, slave) = {
        let (mut m, mut s) = (0, 0);
        // SAFETY: openpty writes two new descriptors, which are owned from here on.
        let rc = unsafe {
            libc::openpty(
                &mut m,
                &mut s,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: both are open and owned by nothing else.
        unsafe {
            (
                std::fs::File::from(OwnedFd::from_raw_fd(m)),
                OwnedFd::from_raw_fd(s),
            )
        }
    };
    let mut command = Command::new(bin());
    command.args(ARGS);
    k.prepare(&mut command);
    command.stderr(slave);
    let mut child = command.spawn().unwrap();
    drop(command);
    let mut text = Vec::new();
    let mut buf = [0u8; 4096];
    // A terminal's master reads until every slave is closed, then fails (EIO).
    while let Ok(n) = master.read(&mut buf) {
        if n == 0 {
            break;
        }
        text.extend_from_slice(&buf[..n]);
    }
    assert!(child.wait().unwrap().success());
    let text = String::from_utf8_lossy(&text);
    assert!(text.contains("configuration"), "{text}");
    assert!(text.contains("\x1b["), "no colour on a terminal: {text:?}");
}

/// Runs the kiosk as systemd would with its standard error on the journal's stream, in a
/// private /run whose journal folder is `journal_dir` (none: its socket is missing). None when
/// this machine cannot make a mount namespace (not root).
fn as_a_service(journal_dir: Option<&Path>) -> Option<String> {
    let (success, text) = as_a_service_running(&ARGS, journal_dir)?;
    assert!(success, "{text}");
    Some(text)
}

/// `earshot args…` as `as_a_service` runs it: whether it succeeded, and its standard error.
fn as_a_service_running(args: &[&str], journal_dir: Option<&Path>) -> Option<(bool, String)> {
    if !testing::private_run_available() {
        eprintln!("skipped: making a mount namespace needs root and unshare(1)");
        return None;
    }
    let k = kiosk();
    let mut command = testing::with_private_run(bin(), args, journal_dir);
    k.prepare(&mut command);
    let (reader, writer, journal_stream) = testing::stderr_pipe().unwrap();
    command.env("JOURNAL_STREAM", journal_stream);
    Some(run_to_end(command, reader, writer))
}

#[test]
fn under_systemd_a_failure_at_start_is_logged_with_the_error_priority() {
    let journal = FakeJournal::new().unwrap();
    let Some((success, stderr)) = as_a_service_running(
        &["--config", "/nonexistent/earshot.toml", "queue", "stats"],
        Some(journal.dir()),
    ) else {
        return;
    };
    assert!(!success);
    // The last words go to the journal's stream, which takes `<3>` as the error priority.
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("<3>earshot: ") && last.contains("/nonexistent/earshot.toml"),
        "{stderr}"
    );
}

#[test]
fn under_systemd_the_log_is_journal_entries_with_priorities() {
    let journal = FakeJournal::new().unwrap();
    let Some(stderr) = as_a_service(Some(journal.dir())) else {
        return;
    };
    let entries = journal.entries(Duration::from_millis(500));
    assert!(
        stderr.is_empty(),
        "the log went to standard error as well: {stderr}"
    );
    let find = |needle: &str| {
        entries
            .iter()
            .find(|e| native::value(e, "MESSAGE").is_some_and(|m| m.contains(needle)))
            .unwrap_or_else(|| {
                let messages: Vec<_> = entries
                    .iter()
                    .map(|e| native::value(e, "MESSAGE"))
                    .collect();
                panic!("no entry with {needle:?}: {messages:?}")
            })
    };
    // `journalctl -p warning` shows this one, and not the next.
    let warning = find("is not a log filter");
    assert_eq!(native::value(warning, "PRIORITY"), Some("4"));
    let configuration = find("configuration");
    assert_eq!(native::value(configuration, "PRIORITY"), Some("6"));
    assert_eq!(
        native::value(configuration, "SYSLOG_IDENTIFIER"),
        Some("earshot")
    );
    // The whole line, fields too, is what `journalctl -u earshot` shows…
    let message = native::value(configuration, "MESSAGE").unwrap();
    assert!(
        message.contains("device=log-kiosk") && message.contains("site=log-site"),
        "{message}"
    );
    // … and each field is a field of the entry.
    assert_eq!(native::value(configuration, "F_DEVICE"), Some("log-kiosk"));
    assert!(native::value(configuration, "CODE_FILE").is_some_and(|f| f.ends_with("cli.rs")));
    for entry in &entries {
        let message = native::value(entry, "MESSAGE").unwrap_or_default();
        assert!(!message.as_bytes().contains(&ESC), "{message:?}");
    }
}

#[test]
fn under_systemd_without_the_journal_socket_text_lines_carry_their_priority() {
    let Some(stderr) = as_a_service(None) else {
        return;
    };
    assert!(!stderr.as_bytes().contains(&ESC), "{stderr:?}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("<4>") && l.contains("the journal's socket cannot be reached")),
        "{stderr}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("<6>") && l.contains("configuration")),
        "{stderr}"
    );
    // Every line has its priority, and no time of its own (the journal stamps each line).
    for line in &lines {
        let after = line
            .strip_prefix('<')
            .and_then(|l| l.split_once('>'))
            .map(|(_, rest)| rest);
        assert!(
            after.is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_digit())),
            "{line}"
        );
    }
}
