//! The log as structured journal entries, sent to journald's native socket.
//!
//! Each event becomes one entry: `MESSAGE` is the line as a person reads it (the spans, the
//! message, then every field as `name=value`, as on a terminal), so `journalctl -u earshot`
//! shows all of it; `PRIORITY` from the level; `SYSLOG_IDENTIFIER`; `TARGET`, `CODE_FILE`
//! and `CODE_LINE`; and each field of the event again on its own as `F_<NAME>`
//! (`journalctl -u earshot F_ERROR=…`, or `-o verbose` to see them).

use std::fmt::Write as _;
use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::native;

/// A `MESSAGE` is cut to this much when its entry is too large for one datagram.
const CUT_MESSAGE_BYTES: usize = 8 * 1024;

/// Sends every event to journald as an entry of its own.
pub struct JournalLayer {
    socket: UnixDatagram,
    path: PathBuf,
    identifier: String,
}

impl JournalLayer {
    /// A layer sending to the journald socket at `path` (normally
    /// [`JOURNAL_SOCKET`](crate::JOURNAL_SOCKET)) as `identifier`. Fails when nothing listens
    /// there: an empty datagram, which journald ignores, is sent to find out.
    pub fn connect(path: &Path, identifier: &str) -> io::Result<JournalLayer> {
        let socket = UnixDatagram::unbound()?;
        socket.send_to(&[], path)?;
        Ok(JournalLayer {
            socket,
            path: path.to_owned(),
            identifier: identifier.to_owned(),
        })
    }

    /// Sends one entry. Addressed each time, not connected once: a restarted journald binds
    /// its socket anew, and entries then reach the new one.
    fn send(&self, entry: &[u8]) -> io::Result<()> {
        self.socket.send_to(entry, &self.path).map(drop)
    }
}

/// An event's or a span's fields: its message, and the others in order, each as recorded and
/// as shown in a line.
#[derive(Default)]
struct Fields {
    message: String,
    others: Vec<(&'static str, String, String)>,
}

impl Fields {
    /// ` name=value` for each field but the message, as a terminal line shows them.
    fn write_shown(&self, line: &mut String) {
        for (name, _, shown) in &self.others {
            let _ = write!(line, " {name}={shown}");
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_owned();
        } else if !field.name().starts_with("log.") {
            self.others
                .push((field.name(), value.to_owned(), format!("{value:?}")));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = text;
        } else if !field.name().starts_with("log.") {
            // Fields of events from the `log` crate (log.target, log.file, …) are its
            // metadata, put back in place by `normalized_metadata`.
            self.others.push((field.name(), text.clone(), text));
        }
    }
}

/// A span's fields, kept in its extensions for the events inside it.
struct SpanFields(Fields);

impl<S> tracing_subscriber::Layer<S> for JournalLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        span.extensions_mut().insert(SpanFields(fields));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(SpanFields(fields)) = extensions.get_mut::<SpanFields>() {
            values.record(fields);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let normalized = event.normalized_metadata();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        let mut fields = Fields::default();
        event.record(&mut fields);

        let mut line = String::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                line.push_str(span.name());
                if let Some(SpanFields(span_fields)) = span.extensions().get::<SpanFields>() {
                    if !span_fields.others.is_empty() {
                        let mut shown = String::new();
                        span_fields.write_shown(&mut shown);
                        let _ = write!(line, "{{{}}}", shown.trim_start());
                    }
                }
                line.push_str(": ");
            }
        }
        line.push_str(&fields.message);
        fields.write_shown(&mut line);

        let priority = [b'0' + crate::priority(meta.level())];
        let head = |entry: &mut Vec<u8>, message: &str| {
            native::put(entry, "MESSAGE", message.as_bytes());
            native::put(entry, "PRIORITY", &priority);
            native::put(entry, "SYSLOG_IDENTIFIER", self.identifier.as_bytes());
        };
        let mut entry = Vec::with_capacity(256 + line.len());
        head(&mut entry, &line);
        native::put(&mut entry, "TARGET", meta.target().as_bytes());
        if let Some(file) = meta.file() {
            native::put(&mut entry, "CODE_FILE", file.as_bytes());
        }
        if let Some(number) = meta.line() {
            native::put(&mut entry, "CODE_LINE", number.to_string().as_bytes());
        }
        for (name, value, _) in &fields.others {
            native::put(
                &mut entry,
                &native::field_name("F_", name),
                value.as_bytes(),
            );
        }
        match self.send(&entry) {
            Err(e) if e.raw_os_error() == Some(libc::EMSGSIZE) => {
                // Too large for one datagram (journald takes larger ones only through a
                // memfd): the start of the line, said to be cut, rather than nothing.
                let mut end = CUT_MESSAGE_BYTES.min(line.len());
                while !line.is_char_boundary(end) {
                    end -= 1;
                }
                let cut = format!("{} … (cut: {} bytes in all)", &line[..end], line.len());
                let mut entry = Vec::with_capacity(cut.len() + 64);
                head(&mut entry, &cut);
                let _ = self.send(&entry);
            }
            // Nowhere left to say it: dropped, as a line that cannot be written to standard
            // error is.
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tracing_subscriber::layer::SubscriberExt;

    struct Listener {
        socket: UnixDatagram,
        _dir: tempfile::TempDir,
        path: PathBuf,
    }

    fn listener() -> Listener {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("socket");
        let socket = UnixDatagram::bind(&path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        Listener {
            socket,
            _dir: dir,
            path,
        }
    }

    impl Listener {
        /// The next entry that is not the empty probe.
        fn next(&self) -> Vec<(String, Vec<u8>)> {
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = self.socket.recv(&mut buf).expect("an entry arrives");
                if n > 0 {
                    return native::parse(&buf[..n]).unwrap();
                }
            }
        }
    }

    #[test]
    fn an_event_is_one_entry_with_its_priority_whole_line_and_fields() {
        let journal = listener();
        let layer = JournalLayer::connect(&journal.path, "earshot").unwrap();
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("upload", device = "kiosk-1");
            let _in = span.enter();
            tracing::warn!(error = %"connection reset", responses = 3, path = "/var/x y", "batch not delivered");
            tracing::info!("multi\nline");
        });
        let fields = journal.next();
        let get = |name| native::value(&fields, name);
        assert_eq!(
            get("MESSAGE"),
            Some("upload{device=\"kiosk-1\"}: batch not delivered error=connection reset responses=3 path=\"/var/x y\"")
        );
        assert_eq!(get("PRIORITY"), Some("4"));
        assert_eq!(get("SYSLOG_IDENTIFIER"), Some("earshot"));
        assert_eq!(get("F_ERROR"), Some("connection reset"));
        assert_eq!(get("F_RESPONSES"), Some("3"));
        assert_eq!(get("F_PATH"), Some("/var/x y"));
        assert_eq!(get("TARGET"), Some(module_path!()));
        assert!(get("CODE_FILE").unwrap().ends_with("journal.rs"));
        assert!(get("CODE_LINE").unwrap().parse::<u32>().is_ok());

        let fields = journal.next();
        assert_eq!(
            native::value(&fields, "MESSAGE"),
            Some("upload{device=\"kiosk-1\"}: multi\nline")
        );
        assert_eq!(native::value(&fields, "PRIORITY"), Some("6"));
    }

    #[test]
    fn an_entry_too_large_for_a_datagram_arrives_cut() {
        let journal = listener();
        let layer = JournalLayer::connect(&journal.path, "earshot").unwrap();
        let subscriber = tracing_subscriber::registry().with(layer);
        let huge = "é".repeat(2 * 1024 * 1024);
        tracing::subscriber::with_default(subscriber, || {
            tracing::error!(text = %huge, "hostile input");
        });
        let fields = journal.next();
        let message = native::value(&fields, "MESSAGE").unwrap();
        assert!(
            message.starts_with("hostile input text=éé"),
            "{}",
            &message[..40]
        );
        assert!(
            message.ends_with(&format!("(cut: {} bytes in all)", huge.len() + 19)),
            "{}",
            &message[message.len() - 60..]
        );
        assert!(message.len() < CUT_MESSAGE_BYTES + 100);
        assert_eq!(native::value(&fields, "PRIORITY"), Some("3"));
    }

    #[test]
    fn no_journal_listening_is_an_error_at_once() {
        let dir = tempfile::tempdir().unwrap();
        assert!(JournalLayer::connect(&dir.path().join("socket"), "earshot").is_err());
    }
}
