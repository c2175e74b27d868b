//! Text lines for the journal's stream, when its native socket cannot be reached: each line
//! starts with its priority as `<N>` (sd-daemon(3)), which the journal takes off and keeps as
//! the entry's priority, and carries no time (the journal stamps every entry).

use std::fmt;

use tracing::{Event, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

struct PriorityPrefixed<F>(F);

impl<S, N, F> FormatEvent<S, N> for PriorityPrefixed<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let normalized = event.normalized_metadata();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        write!(writer, "<{}>", crate::priority(meta.level()))?;
        self.0.format_event(ctx, writer, event)
    }
}

/// The layer writing such lines to standard error.
pub(crate) fn journal_stream_layer(
) -> Box<dyn tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync> {
    Box::new(
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .log_internal_errors(false)
            .event_format(PriorityPrefixed(
                tracing_subscriber::fmt::format().without_time(),
            )),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::SubscriberExt;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn each_line_starts_with_its_priority_and_has_no_time_or_colour() {
        let captured = Captured::default();
        let writer = captured.clone();
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .event_format(PriorityPrefixed(
                tracing_subscriber::fmt::format().without_time(),
            ));
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            tracing::error!(error = "disk full", "response not stored");
            tracing::warn!("slow");
            tracing::info!("ready");
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("<3>ERROR "), "{text}");
        assert!(
            lines[0].ends_with("response not stored error=\"disk full\""),
            "{text}"
        );
        assert!(lines[1].starts_with("<4> WARN "), "{text}");
        assert!(lines[2].starts_with("<6> INFO "), "{text}");
        assert!(!text.contains('\x1b'), "{text:?}");
    }
}
