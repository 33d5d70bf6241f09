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

pub use error::TelemetryError;
pub use grpc_layer::{GrpcCall, GrpcMetricsLayer, GrpcMetricsService, tonic_code};
pub use instruments::{AgentMetrics, ApiMetrics, EnrichmentMetrics};
pub use layer::{InFlightLayer, InFlightService};
pub use logging::init_logging;
pub use metrics_http::{MetricsHandle, serve_metrics};

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Meter, MeterProvider as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
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
}

impl Config {
    /// Returns a config for `service` with a fresh instance id.
    pub fn new(service: Service) -> Self {
        Self {
            service,
            instance_id: instance_id(),
            resource_attributes: Vec::new(),
        }
    }
}

/// Owns the providers of one service. Await [`TelemetryGuard::shutdown`] before exit.
#[derive(Debug)]
pub struct TelemetryGuard {
    service: Service,
    meter_provider: SdkMeterProvider,
    metrics: MetricsHandle,
}

/// Builds the meter provider of one service: a Prometheus reader for `/metrics`.
///
/// Several services may live in one process (`zerotrace up`): each gets its
/// own provider and registry, so each `/metrics` shows only its own series.
pub fn init(config: &Config) -> Result<TelemetryGuard, TelemetryError> {
    let registry = prometheus::Registry::new();
    let exporter = opentelemetry_prometheus::exporter()
        .with_registry(registry.clone())
        .scope_info_enabled(false)
        .build()
        .map_err(|e| TelemetryError::Init(format!("prometheus exporter: {e}")))?;
    let meter_provider = SdkMeterProvider::builder()
        .with_resource(resource(config))
        .with_reader(exporter)
        .build();
    Ok(TelemetryGuard {
        service: config.service,
        meter_provider,
        metrics: MetricsHandle::new(registry),
    })
}

impl TelemetryGuard {
    /// Returns the meter that the contract's instruments are created on.
    pub fn meter(&self) -> Meter {
        self.meter_provider.meter("zerotrace")
    }

    /// Returns a handle that renders this service's `/metrics`.
    pub fn metrics(&self) -> MetricsHandle {
        self.metrics.clone()
    }

    /// Returns the service this guard belongs to.
    pub fn service(&self) -> Service {
        self.service
    }

    /// Flushes and shuts the providers down, giving up after `timeout`.
    pub async fn shutdown(self, timeout: Duration) -> Result<(), TelemetryError> {
        let provider = self.meter_provider;
        let task = tokio::task::spawn_blocking(move || provider.shutdown_with_timeout(timeout));
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
    Resource::builder_empty()
        .with_service_name(config.service.name())
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
