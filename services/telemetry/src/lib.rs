//! The one place that knows OpenTelemetry.
//!
//! [`init`] builds a meter provider for one service (its resource names the
//! service), with a Prometheus reader behind `/metrics` ([`serve_metrics`]).
//! The contract's instruments (`../shared/METRICS.md`) are created in
//! [`instruments`] and handed to services as typed structs, so no service
//! spells a metric name. [`TelemetryGuard::shutdown`] flushes everything and
//! must be awaited last on the way out; nothing relies on `Drop`.

mod error;
mod grpc_layer;
pub mod instruments;
mod layer;
mod logging;
mod metrics_http;
mod otlp;
pub mod propagation;
mod sampling;

pub use error::TelemetryError;
pub use grpc_layer::{
    GrpcCall, GrpcClientLayer, GrpcClientService, GrpcMetricsLayer, GrpcMetricsService, note_failure, tonic_code,
};
pub use instruments::{
    AGENT_STATUSES, AdvisoryDataMetrics, AgentMetrics, ApiMetrics, DataSourcePoint, EnrichmentMetrics, ExposureMetrics,
    ExposurePoint, SERIES_BEYOND_CONTRACT, SyncOutcome,
};
pub use layer::{InFlightLayer, InFlightService};
pub use logging::init_logging;
pub use metrics_http::{MetricsHandle, serve_metrics};
pub use opentelemetry::metrics::Meter;
pub use opentelemetry_sdk::trace::SdkTracer;
pub use sampling::SERVER_ROOTS_PER_SECOND;

use opentelemetry::KeyValue;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use std::time::Duration;

/// Which ZeroTrace service the telemetry is for; it names the resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// `zerotrace-agent`.
    Agent,
    /// `zerotrace-enrichment`.
    Enrichment,
    /// `zerotrace-api`.
    Api,
}

impl Service {
    /// The sampler of the service when `OTEL_TRACES_SAMPLER` is unset; `None`
    /// keeps the SDK's default (`parentbased_always_on`). Every service
    /// follows its caller's decision, so a scan (a root of the agent, which
    /// traces all of them) is one whole trace; the servers trace at most
    /// [`SERVER_ROOTS_PER_SECOND`] of the calls that come without one.
    pub fn default_sampler(self) -> Option<Sampler> {
        match self {
            Service::Agent => None,
            Service::Enrichment | Service::Api => Some(sampling::server_default()),
        }
    }

    /// Returns the `service.name` resource value, which is also the scrape job name.
    pub fn name(self) -> &'static str {
        match self {
            Service::Agent => "zerotrace-agent",
            Service::Enrichment => "zerotrace-enrichment",
            Service::Api => "zerotrace-api",
        }
    }
}

/// What [`init`] needs to know about the service.
#[derive(Debug, Clone)]
pub struct Config {
    /// The service the telemetry describes.
    pub service: Service,
    /// `service.instance.id`: unique per running instance.
    pub instance_id: String,
    /// Extra resource attributes (the agent adds `zerotrace.agent.id`).
    pub resource_attributes: Vec<(String, String)>,
    /// Whether `OTEL_SERVICE_NAME` may rename the service. True for the
    /// service binaries; `zerotrace up` runs three services in one process,
    /// where one variable cannot name all three.
    pub service_name_from_env: bool,
}

impl Config {
    /// Returns a config for `service` with a fresh instance id.
    pub fn new(service: Service) -> Self {
        Self {
            service,
            instance_id: instance_id(),
            resource_attributes: Vec::new(),
            service_name_from_env: false,
        }
    }
}

/// Owns the providers of one service. Await [`TelemetryGuard::shutdown`] before exit.
#[derive(Debug)]
pub struct TelemetryGuard {
    service: Service,
    meter_provider: SdkMeterProvider,
    tracer_provider: SdkTracerProvider,
    /// Spans go somewhere: an OTLP endpoint for traces is set.
    traces_exported: bool,
    metrics: MetricsHandle,
}

/// Builds the meter and tracer providers of one service: a Prometheus reader
/// for `/metrics` always, and OTLP push of metrics and traces when the
/// standard `OTEL_EXPORTER_OTLP_*ENDPOINT` variables ask for it.
///
/// Several services may live in one process (`zerotrace up`): each gets its
/// own providers and registry, so each `/metrics` shows only its own series
/// and each span carries its own service's resource.
pub fn init(config: &Config) -> Result<TelemetryGuard, TelemetryError> {
    let push = otlp::PushSettings::from_env();
    let resource = resource(config);

    let registry = prometheus::Registry::new();
    let prometheus_reader = opentelemetry_prometheus::exporter()
        .with_registry(registry.clone())
        .scope_info_enabled(false)
        .build()
        .map_err(|e| TelemetryError::Init(format!("prometheus exporter: {e}")))?;
    let mut meters = SdkMeterProvider::builder()
        .with_resource(resource.clone())
        .with_reader(prometheus_reader);
    if push.metrics {
        let exporter = opentelemetry_otlp::MetricExporter::builder()
            .with_tonic()
            .build()
            .map_err(|e| TelemetryError::Init(format!("otlp metric exporter: {e}")))?;
        meters = meters.with_periodic_exporter(otlp::LoggedMetricExporter::new(exporter, otlp::metric_interval()));
    }

    let mut tracers = SdkTracerProvider::builder().with_resource(resource);
    if push.sdk_disabled {
        tracers = tracers.with_sampler(Sampler::AlwaysOff);
    } else if !push.sampler_set
        && let Some(sampler) = config.service.default_sampler()
    {
        tracers = tracers.with_sampler(sampler);
    }
    if push.traces {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .build()
            .map_err(|e| TelemetryError::Init(format!("otlp span exporter: {e}")))?;
        tracers = tracers.with_batch_exporter(otlp::LoggedSpanExporter::new(exporter, otlp::metric_interval()));
    }
    tracing::info!(service = config.service.name(), "{}", push.describe());
    Ok(TelemetryGuard {
        service: config.service,
        meter_provider: meters.build(),
        tracer_provider: tracers.build(),
        traces_exported: push.traces,
        metrics: MetricsHandle::new(registry),
    })
}

impl TelemetryGuard {
    /// Returns the meter that the contract's instruments are created on.
    pub fn meter(&self) -> Meter {
        self.meter_provider.meter("zerotrace")
    }

    /// Returns the tracer of this service's spans.
    pub fn tracer(&self) -> SdkTracer {
        self.tracer_provider.tracer("zerotrace")
    }

    /// Returns the tracer of a server's per-call spans when spans are
    /// exported, and `None` when they would go nowhere: a span per call costs
    /// allocations on every request, and without an exporter nobody sees it.
    /// The caller's `traceparent` still reaches the logs either way.
    pub fn exported_tracer(&self) -> Option<SdkTracer> {
        self.traces_exported.then(|| self.tracer())
    }

    /// Returns a handle that renders this service's `/metrics`.
    pub fn metrics(&self) -> MetricsHandle {
        self.metrics.clone()
    }

    /// Returns the service this guard belongs to.
    pub fn service(&self) -> Service {
        self.service
    }

    /// Flushes pending spans, then metrics, and shuts the providers down,
    /// giving up after `timeout` in all.
    pub async fn shutdown(self, timeout: Duration) -> Result<(), TelemetryError> {
        let (tracers, meters) = (self.tracer_provider, self.meter_provider);
        let task = tokio::task::spawn_blocking(move || {
            let deadline = std::time::Instant::now() + timeout;
            let traces = tracers.shutdown_with_timeout(timeout);
            let metrics = meters.shutdown_with_timeout(deadline.saturating_duration_since(std::time::Instant::now()));
            match (traces, metrics) {
                (Ok(()), Ok(())) => Ok(()),
                (Err(e), _) | (_, Err(e)) => Err(e),
            }
        });
        match tokio::time::timeout(timeout, task).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(TelemetryError::Shutdown(e.to_string())),
            Ok(Err(e)) => Err(TelemetryError::Shutdown(e.to_string())),
            Err(_) => Err(TelemetryError::Shutdown(format!("timed out after {timeout:?}"))),
        }
    }
}

fn resource(config: &Config) -> Resource {
    let mut attributes = vec![
        KeyValue::new("service.version", env!("CARGO_PKG_VERSION")),
        KeyValue::new("service.instance.id", config.instance_id.clone()),
    ];
    attributes.extend(
        config
            .resource_attributes
            .iter()
            .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
    );
    // `Resource::builder()` reads OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME;
    // ours override them except where the service name may come from the environment.
    let env_name = std::env::var("OTEL_SERVICE_NAME")
        .ok()
        .filter(|n| config.service_name_from_env && !n.is_empty());
    Resource::builder()
        .with_service_name(env_name.unwrap_or_else(|| config.service.name().to_string()))
        .with_attributes(attributes)
        .build()
}

/// Returns a process-unique instance id: host name, process id and a counter.
fn instance_id() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string());
    format!("{host}-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::Context;
    use opentelemetry::trace::{SpanContext, SpanId, SpanKind, TraceContextExt as _, TraceFlags, TraceId, TraceState};
    use opentelemetry_sdk::trace::{SamplingDecision, ShouldSample as _};

    /// How many of `n` calls `sampler` samples, without a caller or with a
    /// sampled one.
    fn sampled(sampler: &Sampler, n: u64, parent: Option<&Context>) -> u64 {
        (1..=n)
            .filter(|i| {
                // Trace ids spread over the whole range, as random ones do.
                let id = TraceId::from(u128::from(*i).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835));
                let result = sampler.should_sample(parent, id, "call", &SpanKind::Server, &[], &[]);
                result.decision == SamplingDecision::RecordAndSample
            })
            .count() as u64
    }

    #[test]
    fn servers_trace_a_few_of_their_own_calls_a_second_and_every_call_of_a_sampled_caller() {
        assert!(
            Service::Agent.default_sampler().is_none(),
            "the agent keeps the SDK's default"
        );
        let caller = Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from(7u128),
            SpanId::from(9u64),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        ));
        for service in [Service::Enrichment, Service::Api] {
            let sampler = service.default_sampler().expect("servers sample their roots");
            let started = std::time::Instant::now();
            let roots = sampled(&sampler, 10_000, None);
            let most = SERVER_ROOTS_PER_SECOND * (1.0 + started.elapsed().as_secs_f64());
            assert!(
                roots >= 1 && roots as f64 <= most,
                "{service:?}: {roots} of 10,000 roots, at most {most}"
            );
            assert_eq!(
                sampled(&sampler, 1_000, Some(&caller)),
                1_000,
                "{service:?}: a sampled caller's calls"
            );
        }
    }
}
