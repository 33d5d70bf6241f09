//! OTLP push over gRPC, configured only by the standard `OTEL_*` variables.
//!
//! The exporters read the endpoint, headers, timeout and compression
//! themselves; the SDK reads `OTEL_METRIC_EXPORT_INTERVAL`, the sampler
//! (`OTEL_TRACES_SAMPLER(_ARG)`) and the span queue bounds (`OTEL_BSP_*`).
//! This module decides whether to push at all and wraps the exporters so a
//! missing collector is logged at most once per export interval instead of
//! on every batch.

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What the environment asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PushSettings {
    /// `OTEL_SDK_DISABLED=true`: no push, and no spans.
    pub(crate) sdk_disabled: bool,
    /// An endpoint for metrics is set.
    pub(crate) metrics: bool,
    /// An endpoint for traces is set.
    pub(crate) traces: bool,
    /// `OTEL_TRACES_SAMPLER` is set: the SDK's sampler is the user's.
    pub(crate) sampler_set: bool,
}

impl PushSettings {
    pub(crate) fn from_env() -> Self {
        let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
        let sdk_disabled = std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let any = set("OTEL_EXPORTER_OTLP_ENDPOINT");
        Self {
            sdk_disabled,
            metrics: !sdk_disabled && (any || set("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")),
            traces: !sdk_disabled && (any || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")),
            sampler_set: set("OTEL_TRACES_SAMPLER"),
        }
    }

    /// Returns the start-up log line's description of the push.
    pub(crate) fn describe(self) -> &'static str {
        match (self.sdk_disabled, self.metrics, self.traces) {
            (true, _, _) => "OTEL_SDK_DISABLED=true: no OTLP push, /metrics still served",
            (false, true, true) => "OTLP push of metrics and traces enabled, /metrics served",
            (false, true, false) => "OTLP push of metrics enabled (no traces endpoint), /metrics served",
            (false, false, true) => "OTLP push of traces enabled (no metrics endpoint), /metrics served",
            (false, false, false) => "no OTLP endpoint set: no push, /metrics served",
        }
    }
}

/// Logs export failures, at most once per `every`.
#[derive(Debug)]
struct FailureLog {
    signal: &'static str,
    every: Duration,
    last: Mutex<Option<Instant>>,
}

impl FailureLog {
    fn new(signal: &'static str, every: Duration) -> Self {
        Self {
            signal,
            every,
            last: Mutex::new(None),
        }
    }

    fn record(&self, result: &OTelSdkResult) {
        let Err(error) = result else { return };
        let Ok(mut last) = self.last.lock() else { return };
        if last.is_none_or(|t| t.elapsed() >= self.every) {
            *last = Some(Instant::now());
            tracing::warn!(signal = self.signal, error = %error, "otlp export failed");
        }
    }
}

/// A metric exporter that logs its failures once per interval.
#[derive(Debug)]
pub(crate) struct LoggedMetricExporter<E> {
    inner: E,
    failures: FailureLog,
}

impl<E> LoggedMetricExporter<E> {
    pub(crate) fn new(inner: E, interval: Duration) -> Self {
        Self {
            inner,
            failures: FailureLog::new("metrics", interval),
        }
    }
}

impl<E: PushMetricExporter> PushMetricExporter for LoggedMetricExporter<E> {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let result = self.inner.export(metrics).await;
        self.failures.record(&result);
        result
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}

/// A span exporter that logs its failures once per interval.
#[derive(Debug)]
pub(crate) struct LoggedSpanExporter<E> {
    inner: E,
    failures: FailureLog,
}

impl<E> LoggedSpanExporter<E> {
    pub(crate) fn new(inner: E, interval: Duration) -> Self {
        Self {
            inner,
            failures: FailureLog::new("traces", interval),
        }
    }
}

impl<E: SpanExporter> SpanExporter for LoggedSpanExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let result = self.inner.export(batch).await;
        self.failures.record(&result);
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.inner.set_resource(resource);
    }
}

/// Returns the metric export interval the SDK will use (for log throttling).
pub(crate) fn metric_interval() -> Duration {
    std::env::var("OTEL_METRIC_EXPORT_INTERVAL")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_secs(60))
}
