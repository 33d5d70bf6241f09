//! Process-wide log output. A line written while an OpenTelemetry span is
//! current (inside a traced gRPC call or a scan) carries that span's
//! `trace_id` and `span_id`, so logs and traces join up.

use opentelemetry::trace::TraceContextExt as _;
use std::fmt;
use std::io::IsTerminal;
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
    let ansi = std::io::stderr().is_terminal();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .event_format(WithTraceIds(Format::default().with_ansi(ansi)))
        .with_writer(std::io::stderr)
        .try_init();
}

/// Prefixes each line with the current OpenTelemetry trace and span ids.
struct WithTraceIds(Format<Full>);

impl<S, N> FormatEvent<S, N> for WithTraceIds
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        write_trace_ids(&mut writer)?;
        self.0.format_event(ctx, writer, event)
    }
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
