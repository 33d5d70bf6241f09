//! The enrichment service: owns the advisory database and answers which
//! packages are vulnerable, behind `zerotrace.enrichment.v1.EnrichmentService`.
//!
//! [`run`] is what `zerotrace-enrichment` and `zerotrace up` call; tests call
//! [`serve`] with listeners bound to port 0.

mod config;
mod error;
mod service;

pub use config::{DEFAULT_GRPC_ADDR, DEFAULT_METRICS_ADDR, EnrichmentConfig};
pub use error::EnrichmentError;
pub use service::Enrichment;

use std::future::Future;
use std::time::Instant;
use tonic::service::Routes;
use zerotrace_proto::enrichment::v1::enrichment_service_server::EnrichmentServiceServer;
use zerotrace_server::{Listeners, ServeOptions};
use zerotrace_telemetry::instruments::EnrichmentStatus;
use zerotrace_telemetry::{EnrichmentMetrics, GrpcMetricsLayer, InFlightLayer, Service};

/// The full gRPC name of the service, as health and reflection report it.
pub const SERVICE_NAME: &str = "zerotrace.enrichment.v1.EnrichmentService";

/// Binds the configured addresses and serves until `shutdown` resolves.
pub async fn run(config: EnrichmentConfig, shutdown: impl Future<Output = ()>) -> Result<(), EnrichmentError> {
    let listeners = Listeners::bind(config.listen, config.metrics_listen).await?;
    serve(config, listeners, shutdown).await
}

/// Serves on already-bound listeners until `shutdown` resolves.
pub async fn serve(
    config: EnrichmentConfig,
    listeners: Listeners,
    shutdown: impl Future<Output = ()>,
) -> Result<(), EnrichmentError> {
    let started = Instant::now();
    std::fs::create_dir_all(&config.data_dir).map_err(|source| EnrichmentError::DataDir {
        path: config.data_dir.clone(),
        source,
    })?;
    let telemetry = zerotrace_telemetry::init(&zerotrace_telemetry::Config::new(Service::Enrichment))?;
    let metrics = EnrichmentMetrics::new(&telemetry.meter());
    let routes = routes(Enrichment::default(), &metrics);
    tracing::info!(elapsed = ?started.elapsed(), "enrichment service ready");
    let options = ServeOptions {
        grace: config.shutdown_grace,
        ..ServeOptions::default()
    };
    zerotrace_server::serve(SERVICE_NAME, routes, listeners, telemetry, options, shutdown).await?;
    Ok(())
}

/// Returns the service's routes wrapped in its metric layers.
pub fn routes(service: Enrichment, metrics: &EnrichmentMetrics) -> Routes {
    let recorder = metrics.clone();
    let layers = tower::ServiceBuilder::new()
        .layer(InFlightLayer::new(metrics.active_connections()))
        .layer(GrpcMetricsLayer::new(move |call| {
            let status = match call.code.name() {
                "OK" => EnrichmentStatus::Ok,
                "NOT_FOUND" => EnrichmentStatus::NotFound,
                "INVALID_ARGUMENT" | "OUT_OF_RANGE" | "FAILED_PRECONDITION" | "RESOURCE_EXHAUSTED" => {
                    EnrichmentStatus::Invalid
                }
                _ => EnrichmentStatus::Error,
            };
            recorder.record_request(status, call.elapsed.as_secs_f64());
        }));
    let router = Routes::new(EnrichmentServiceServer::new(service))
        .into_axum_router()
        .layer(layers);
    Routes::from(router)
}
