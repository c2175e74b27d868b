//! Where Earshot's programs (the kiosk and the collector) write their log, and in what form.
//!
//! - **The journal**, when systemd connected standard error to it: systemd then sets
//!   `JOURNAL_STREAM` to the device and inode of that stream, and a process whose standard
//!   error is still that stream (not redirected since) sends structured entries through
//!   journald's native socket instead: a `PRIORITY` per entry, so that
//!   `journalctl -p warning -u earshot` shows warnings and errors only, the whole line
//!   (message and fields) as `MESSAGE`, and every field of the event as a field of its own
//!   (`F_ERROR`, `F_PATH`, …). If the socket cannot be reached, the lines go to standard error
//!   (the journal's stream) as plain text, each with its priority as a `<N>` prefix, which the
//!   journal reads the same way.
//! - **Plain text**, when standard error is a pipe or a file: no colour codes, ever.
//! - **Colour**, on a terminal only (and not when `NO_COLOR` is set).
//!
//! `EARSHOT_LOG` filters in every form (`EARSHOT_LOG=debug`, `EARSHOT_LOG=earshot=debug,info`);
//! without it, `info` and above. A value that is not a filter is reported and `info` used.

use std::ffi::OsStr;
use std::io::IsTerminal;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

mod journal;
pub mod native;
/// For the tests of programs that use this crate.
pub mod testing;
mod text;

pub use journal::JournalLayer;

/// journald's socket for the native protocol.
pub const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";
/// The environment variable that filters the log.
pub const FILTER_VARIABLE: &str = "EARSHOT_LOG";
/// What is logged when `EARSHOT_LOG` is not set.
pub const DEFAULT_FILTER: &str = "info";

/// The form the log takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// Structured entries through journald's native socket.
    Journal,
    /// Text without colour codes on standard error.
    Plain,
    /// Text with colour codes on standard error, a terminal.
    Colour,
}

/// Which open file a stream is, as `JOURNAL_STREAM` names it: its device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamId {
    pub device: u64,
    pub inode: u64,
}

impl StreamId {
    /// The device and inode of an open file descriptor (`fstat`), if it is open.
    pub fn of(fd: impl AsFd) -> Option<StreamId> {
        let file = std::fs::File::from(fd.as_fd().try_clone_to_owned().ok()?);
        let meta = file.metadata().ok()?;
        Some(StreamId {
            device: meta.dev(),
            inode: meta.ino(),
        })
    }

    /// `JOURNAL_STREAM`'s value, `DEVICE:INODE` in decimal (systemd.exec(5)).
    pub fn parse(value: &OsStr) -> Option<StreamId> {
        let (device, inode) = value.to_str()?.split_once(':')?;
        Some(StreamId {
            device: device.parse().ok()?,
            inode: inode.parse().ok()?,
        })
    }
}

/// What the process was started with that decides the form of its log.
#[derive(Debug, Clone, Copy)]
pub struct Surroundings<'a> {
    /// `JOURNAL_STREAM`, if set.
    pub journal_stream: Option<&'a OsStr>,
    /// Standard error's device and inode; `None` when it is closed.
    pub stderr: Option<StreamId>,
    /// Whether standard error is a terminal.
    pub stderr_is_terminal: bool,
    /// `NO_COLOR`, if set (<https://no-color.org>: any non-empty value turns colour off).
    pub no_color: Option<&'a OsStr>,
}

/// The form of the log for these surroundings. The journal only when `JOURNAL_STREAM` names
/// standard error itself: a program started by a service but with its standard error sent
/// elsewhere (`earshot … 2>file`, or a pipe) inherits the variable, and must not take it for
/// the journal.
pub fn choose(s: Surroundings<'_>) -> Destination {
    let journal = match (s.journal_stream.and_then(StreamId::parse), s.stderr) {
        (Some(named), Some(stderr)) => named == stderr,
        _ => false,
    };
    if journal {
        Destination::Journal
    } else if s.stderr_is_terminal && s.no_color.is_none_or(|v| v.is_empty()) {
        Destination::Colour
    } else {
        Destination::Plain
    }
}

/// This process's surroundings, as `choose` wants them.
fn surroundings_now<'a>(
    journal_stream: Option<&'a OsStr>,
    no_color: Option<&'a OsStr>,
) -> Surroundings<'a> {
    let stderr = std::io::stderr();
    Surroundings {
        journal_stream,
        stderr: StreamId::of(&stderr),
        stderr_is_terminal: stderr.is_terminal(),
        no_color,
    }
}

/// The filter from `EARSHOT_LOG`, or the default with the reason it could not be used.
pub fn filter_from(value: Option<&OsStr>) -> (EnvFilter, Option<String>) {
    let Some(value) = value else {
        return (EnvFilter::new(DEFAULT_FILTER), None);
    };
    let Some(text) = value.to_str() else {
        return (
            EnvFilter::new(DEFAULT_FILTER),
            Some(format!("{FILTER_VARIABLE} is not UTF-8")),
        );
    };
    match EnvFilter::try_new(text) {
        Ok(filter) => (filter, None),
        Err(e) => (
            EnvFilter::new(DEFAULT_FILTER),
            Some(format!(
                "{FILTER_VARIABLE}={text:?} is not a log filter ({e})"
            )),
        ),
    }
}

/// Sets up this process's log for the program `identifier` (the journal's
/// `SYSLOG_IDENTIFIER`), and says where standard error goes: `Journal` when it is the
/// journal's stream (whether entries go through the socket, or as text when it could not be
/// reached), so that a program's own last words there can carry a priority too. Problems on
/// the way (a filter that could not be read, a journal socket that could not be reached) are
/// the first lines logged. Does nothing but answer if a log was set up already.
pub fn init(identifier: &str) -> Destination {
    let journal_stream = std::env::var_os("JOURNAL_STREAM");
    let no_color = std::env::var_os("NO_COLOR");
    let filter_value = std::env::var_os(FILTER_VARIABLE);
    let chosen = choose(surroundings_now(
        journal_stream.as_deref(),
        no_color.as_deref(),
    ));
    let (filter, filter_problem) = filter_from(filter_value.as_deref());
    let (layer, _, journal_problem) = layer_for(chosen, identifier, Path::new(JOURNAL_SOCKET));
    if Registry::default()
        .with(layer.with_filter(filter))
        .try_init()
        .is_err()
    {
        return chosen;
    }
    if let Some(problem) = journal_problem {
        tracing::warn!(socket = JOURNAL_SOCKET, error = %problem, "the journal's socket cannot be reached, so the log goes to standard error as text");
    }
    if let Some(problem) = filter_problem {
        tracing::warn!("{problem}; logging at {DEFAULT_FILTER}");
    }
    chosen
}

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// The layer for a destination. The journal may not answer: then its stream gets text with
/// priority prefixes, and the reason comes back.
fn layer_for(
    chosen: Destination,
    identifier: &str,
    socket: &Path,
) -> (BoxedLayer, Destination, Option<std::io::Error>) {
    let text = |colour: bool| -> BoxedLayer {
        Box::new(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(colour)
                // A log line that cannot be written is dropped, never reported on standard
                // error (which is the very writer that failed).
                .log_internal_errors(false),
        )
    };
    match chosen {
        Destination::Journal => match JournalLayer::connect(socket, identifier) {
            Ok(journal) => (Box::new(journal), Destination::Journal, None),
            Err(e) => (text::journal_stream_layer(), Destination::Plain, Some(e)),
        },
        Destination::Plain => (text(false), Destination::Plain, None),
        Destination::Colour => (text(true), Destination::Colour, None),
    }
}

/// The journal's priority for a level (syslog's severities): error 3, warning 4, info 6,
/// debug and trace 7.
pub fn priority(level: &tracing::Level) -> u8 {
    match *level {
        tracing::Level::ERROR => 3,
        tracing::Level::WARN => 4,
        tracing::Level::INFO => 6,
        tracing::Level::DEBUG | tracing::Level::TRACE => 7,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIPE: StreamId = StreamId {
        device: 14,
        inode: 5_242_881,
    };

    fn around<'a>(
        journal_stream: Option<&'a str>,
        terminal: bool,
        no_color: Option<&'a str>,
    ) -> Surroundings<'a> {
        Surroundings {
            journal_stream: journal_stream.map(OsStr::new),
            stderr: Some(PIPE),
            stderr_is_terminal: terminal,
            no_color: no_color.map(OsStr::new),
        }
    }

    #[test]
    fn the_journal_only_when_journal_stream_names_standard_error() {
        assert_eq!(
            choose(around(Some("14:5242881"), false, None)),
            Destination::Journal
        );
        // Even if the journal's stream were a terminal, or colour were off: it is the journal.
        assert_eq!(
            choose(around(Some("14:5242881"), true, Some("1"))),
            Destination::Journal
        );
        // Standard error redirected since systemd started the service (or a child of it run
        // with `2>file`): the variable is inherited but names another file.
        assert_eq!(
            choose(around(Some("14:5242882"), false, None)),
            Destination::Plain
        );
        assert_eq!(
            choose(around(Some("15:5242881"), true, None)),
            Destination::Colour
        );
        // Standard error closed: nothing to compare.
        let closed = Surroundings {
            stderr: None,
            ..around(Some("14:5242881"), false, None)
        };
        assert_eq!(choose(closed), Destination::Plain);
    }

    #[test]
    fn a_journal_stream_that_is_not_device_colon_inode_is_not_the_journal() {
        for bad in [
            "",
            "14",
            "14:",
            ":5242881",
            "14:5242881:3",
            "a:b",
            " 14:5242881",
            "-14:5242881",
        ] {
            assert_eq!(
                choose(around(Some(bad), false, None)),
                Destination::Plain,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn colour_only_on_a_terminal_and_not_with_no_color() {
        assert_eq!(choose(around(None, true, None)), Destination::Colour);
        assert_eq!(choose(around(None, false, None)), Destination::Plain);
        assert_eq!(choose(around(None, true, Some("1"))), Destination::Plain);
        // NO_COLOR set but empty does not count (no-color.org).
        assert_eq!(choose(around(None, true, Some(""))), Destination::Colour);
    }

    #[test]
    fn journal_stream_is_parsed_as_systemd_writes_it() {
        assert_eq!(StreamId::parse(OsStr::new("14:5242881")), Some(PIPE));
        // dev_t as one decimal number, however large.
        assert_eq!(
            StreamId::parse(OsStr::new("18446744073709551615:1")),
            Some(StreamId {
                device: u64::MAX,
                inode: 1
            })
        );
    }

    #[test]
    fn the_stream_id_of_a_file_is_its_device_and_inode() {
        let file = tempfile::tempfile().unwrap();
        let meta = file.metadata().unwrap();
        assert_eq!(
            StreamId::of(&file),
            Some(StreamId {
                device: meta.dev(),
                inode: meta.ino()
            })
        );
        let other = tempfile::tempfile().unwrap();
        assert_ne!(StreamId::of(&file), StreamId::of(&other));
    }

    #[test]
    fn the_filter_comes_from_earshot_log_and_a_bad_one_is_reported() {
        let (filter, problem) = filter_from(None);
        assert_eq!(filter.to_string(), "info");
        assert_eq!(problem, None);
        let (filter, problem) = filter_from(Some(OsStr::new("earshot=debug,warn")));
        assert_eq!(problem, None);
        assert!(filter.to_string().contains("earshot=debug"), "{filter}");
        let (filter, problem) = filter_from(Some(OsStr::new("earshot=loud")));
        assert_eq!(filter.to_string(), "info");
        let problem = problem.expect("reported");
        assert!(
            problem.contains("EARSHOT_LOG=\"earshot=loud\" is not a log filter"),
            "{problem}"
        );
    }

    #[test]
    fn a_journal_that_does_not_answer_leaves_text_on_standard_error() {
        let dir = tempfile::tempdir().unwrap();
        let (_, destination, problem) =
            layer_for(Destination::Journal, "earshot", &dir.path().join("socket"));
        assert_eq!(destination, Destination::Plain);
        assert!(problem.is_some());
    }

    #[test]
    fn priorities_are_syslog_severities() {
        use tracing::Level;
        let got: Vec<u8> = [
            Level::ERROR,
            Level::WARN,
            Level::INFO,
            Level::DEBUG,
            Level::TRACE,
        ]
        .iter()
        .map(priority)
        .collect();
        assert_eq!(got, [3, 4, 6, 7, 7]);
    }
}
