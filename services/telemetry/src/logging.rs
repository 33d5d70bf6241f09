//! Process-wide log output. A line written while an OpenTelemetry span is
//! current (inside a traced gRPC call or a scan) carries that span's
//! `trace_id` and `span_id`, so logs and traces join up.
//!
//! One event is one line, whatever its fields hold: values come from clients
//! (host names, paths, scan ids), so every control character of a formatted
//! event (newline, carriage return, ANSI escape, NUL, …) is written escaped
//! (`\n`, `\u{1b}`). A client cannot forge a log line or drive the terminal
//! of whoever reads the log; for the same reason lines carry no colour.

use opentelemetry::trace::TraceContextExt as _;
use std::fmt;
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{Format, Full, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Installs the process's log subscriber once: `RUST_LOG` filters (default
/// `info`), lines go to stderr. Later calls are no-ops, so every binary and
/// `zerotrace up` (three services, one process) may call it.
pub fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .event_format(WithTraceIds(Format::default().with_ansi(false)))
        .with_writer(std::io::stderr)
        .try_init();
}

/// Prefixes each line with the current OpenTelemetry trace and span ids,
/// and writes it with its control characters escaped.
struct WithTraceIds(Format<Full>);

impl<S, N> FormatEvent<S, N> for WithTraceIds
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let mut line = String::new();
        write_trace_ids(&mut line)?;
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        let body = line.strip_suffix('\n').unwrap_or(&line);
        write_escaped(&mut writer, body)?;
        writer.write_char('\n')
    }
}

/// Writes `text` with every control character escaped as Rust writes it
/// (`\n`, `\r`, `\t`, `\0`, `\u{1b}`, …); the rest as it is.
fn write_escaped(writer: &mut impl fmt::Write, text: &str) -> fmt::Result {
    for c in text.chars() {
        if c.is_control() {
            write!(writer, "{}", c.escape_default())?;
        } else {
            writer.write_char(c)?;
        }
    }
    Ok(())
}

fn write_trace_ids(writer: &mut impl fmt::Write) -> fmt::Result {
    let cx = opentelemetry::Context::current();
    let span = cx.span();
    let ids = span.span_context();
    if ids.is_valid() {
        write!(writer, "trace_id={} span_id={} ", ids.trace_id(), ids.span_id())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

    #[test]
    fn control_characters_are_escaped() {
        let mut out = String::new();
        write_escaped(&mut out, "host\n2026-12-04 INFO forged\r\u{1b}[31mred\u{0}end\u{85}é").unwrap();
        assert_eq!(out, "host\\n2026-12-04 INFO forged\\r\\u{1b}[31mred\\u{0}end\\u{85}é");
        assert!(!out.chars().any(char::is_control));
    }

    #[test]
    fn lines_in_a_span_carry_its_ids() {
        let mut outside = String::new();
        write_trace_ids(&mut outside).unwrap();
        assert_eq!(outside, "");

        let span = SpanContext::new(
            TraceId::from(0xabc),
            SpanId::from(0xdef),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        );
        let _attached = opentelemetry::Context::new().with_remote_span_context(span).attach();
        let mut inside = String::new();
        write_trace_ids(&mut inside).unwrap();
        assert_eq!(
            inside,
            "trace_id=00000000000000000000000000000abc span_id=0000000000000def "
        );
    }
}
