//! The API service: the system of record for agents, scan reports and
//! findings, behind `zerotrace.api.v1.ApiService`.
//!
//! [`run`] is what `zerotrace-api` and `zerotrace up` call; tests call
//! [`serve`] with listeners bound to port 0.

mod config;
mod error;
mod service;

pub use config::{ApiConfig, DEFAULT_GRPC_ADDR, DEFAULT_METRICS_ADDR};
pub use error::ApiError;
pub use service::Api;

use std::future::Future;
use tonic::service::Routes;
use zerotrace_proto::api::v1::api_service_server::ApiServiceServer;
use zerotrace_server::{Listeners, ServeOptions};
use zerotrace_telemetry::{ApiMetrics, GrpcMetricsLayer, InFlightLayer, Service};

/// The full gRPC name of the service, as health and reflection report it.
pub const SERVICE_NAME: &str = "zerotrace.api.v1.ApiService";

/// Binds the configured addresses and serves until `shutdown` resolves.
pub async fn run(config: ApiConfig, shutdown: impl Future<Output = ()>) -> Result<(), ApiError> {
    let listeners = Listeners::bind(config.listen, config.metrics_listen).await?;
    serve(config, listeners, shutdown).await
}

/// Serves on already-bound listeners until `shutdown` resolves.
pub async fn serve(
    config: ApiConfig,
    listeners: Listeners,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ApiError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|source| ApiError::DataDir {
        path: config.data_dir.clone(),
        source,
    })?;
    let telemetry = zerotrace_telemetry::init(&zerotrace_telemetry::Config::new(Service::Api))?;
    let metrics = ApiMetrics::new(&telemetry.meter());
    let routes = routes(Api::default(), &metrics);
    let options = ServeOptions {
        grace: config.shutdown_grace,
        ..ServeOptions::default()
    };
    zerotrace_server::serve(SERVICE_NAME, routes, listeners, telemetry, options, shutdown).await?;
    Ok(())
}

/// Returns the service's routes wrapped in its metric layers.
pub fn routes(service: Api, metrics: &ApiMetrics) -> Routes {
    let recorder = metrics.clone();
    let layers = tower::ServiceBuilder::new()
        .layer(InFlightLayer::new(metrics.active_connections()))
        .layer(GrpcMetricsLayer::new(move |call| {
            recorder.record_request(call.method, call.service, call.code.name(), call.elapsed.as_secs_f64());
        }));
    let router = Routes::new(ApiServiceServer::new(service))
        .into_axum_router()
        .layer(layers);
    Routes::from(router)
}
