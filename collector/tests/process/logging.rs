//! Where the collector's log goes, with the real process serving on 127.0.0.1: plain text
//! into a pipe (no colour codes), and under systemd structured entries in the journal with
//! their priorities (a stand-in journald in a mount namespace of the test's own).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use earshot_logging::native;
use earshot_logging::testing::{self, FakeJournal};

use super::bin;

/// Serves until it is ready, then is stopped as systemd stops it (SIGTERM); returns what it
/// wrote to standard error, read from `stderr` to its end.
fn serve_and_stop(
    mut command: Command,
    stderr: std::io::PipeReader,
    writer: std::io::PipeWriter,
) -> String {
    command
        .env_remove("NO_COLOR")
        // Not a filter: the collector says so as its first warning.
        .env("EARSHOT_LOG", "earshot_collector=loud")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(writer);
    let mut child = command.spawn().expect("the collector starts");
    drop(command);
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_owned();
    // Once a request is answered the server loop runs, and with it its handler of SIGTERM.
    let mut health = TcpStream::connect(&addr).unwrap();
    write!(
        health,
        "GET /v1/health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    health.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut text = String::new();
    let mut stderr = stderr;
    stderr.read_to_string(&mut text).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}: {text}");
    text
}

fn args(db: &Path) -> Vec<String> {
    [
        "--db",
        &db.display().to_string(),
        "serve",
        "--listen",
        "127.0.0.1:0",
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn into_a_pipe_the_log_is_plain_text_without_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(bin());
    command
        .args(args(&dir.path().join("c.db")))
        .env_remove("JOURNAL_STREAM");
    let (reader, writer) = std::io::pipe().unwrap();
    let text = serve_and_stop(command, reader, writer);
    assert!(
        text.contains("collector ready") && text.contains("collector stopped"),
        "{text}"
    );
    assert!(text.contains("is not a log filter"), "{text}");
    assert!(
        !text.as_bytes().contains(&0x1b),
        "colour codes in a pipe: {text:?}"
    );
}

#[test]
fn under_systemd_the_log_is_journal_entries_with_priorities() {
    if !testing::private_run_available() {
        eprintln!("skipped: making a mount namespace needs root and unshare(1)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let journal = FakeJournal::new().unwrap();
    let args = args(&dir.path().join("c.db"));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut command = testing::with_private_run(Path::new(bin()), &args, Some(journal.dir()));
    let (reader, writer, journal_stream) = testing::stderr_pipe().unwrap();
    command.env("JOURNAL_STREAM", journal_stream);
    let stderr = serve_and_stop(command, reader, writer);
    assert!(
        stderr.is_empty(),
        "the log went to standard error as well: {stderr}"
    );
    let entries = journal.entries(Duration::from_millis(500));
    let find = |needle: &str| {
        entries
            .iter()
            .find(|e| native::value(e, "MESSAGE").is_some_and(|m| m.contains(needle)))
            .unwrap_or_else(|| panic!("no entry with {needle:?} in {} entries", entries.len()))
    };
    let warning = find("is not a log filter");
    assert_eq!(native::value(warning, "PRIORITY"), Some("4"));
    assert_eq!(
        native::value(warning, "SYSLOG_IDENTIFIER"),
        Some("earshot-collector")
    );
    let ready = find("collector ready");
    assert_eq!(native::value(ready, "PRIORITY"), Some("6"));
    let message = native::value(ready, "MESSAGE").unwrap();
    assert!(message.contains("local=127.0.0.1:"), "{message}");
    assert!(native::value(ready, "F_LOCAL").is_some_and(|l| l.starts_with("127.0.0.1:")));
    find("collector stopped");
}
