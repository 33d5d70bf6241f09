//! The API service: the system of record for agents, scan reports and
//! findings, behind `zerotrace.api.v1.ApiService`.
//!
//! Storage is SQLite in the data directory by default, or PostgreSQL with
//! `--database-url` ([`store`]). [`run`] is what `zerotrace-api` and
//! `zerotrace up` call; tests call [`serve`] with listeners bound to port 0.

mod admission;
mod auth;
mod config;
mod digest;
mod error;
mod exposure;
mod feed;
mod names;
mod paging;
mod rate;
mod report;
mod retention;
mod service;
pub mod store;
mod time;
mod validate;

pub use auth::generate_token;
pub use config::{ApiConfig, DEFAULT_GRPC_ADDR, DEFAULT_METRICS_ADDR};
pub use error::{ApiError, StartError};
pub use exposure::Exposure;
pub use feed::StreamStopper;
pub use report::prepare_report;
pub use service::{Api, ApiSettings};
pub use validate::{DEFAULT_PAGE_SIZE, MAX_PAGE_BYTES, MAX_PAGE_SIZE};

use std::future::Future;
use std::io::Write as _;
use tonic::service::Routes;
use zerotrace_proto::api::v1::api_service_server::ApiServiceServer;
use zerotrace_server::{Listeners, ServeOptions};
use zerotrace_telemetry::{ApiMetrics, ExposureMetrics, GrpcMetricsLayer, InFlightLayer, SdkTracer, Service};

/// The full gRPC name of the service, as health and reflection report it.
pub const SERVICE_NAME: &str = "zerotrace.api.v1.ApiService";

/// File in the data directory holding the generated reader token.
pub const READER_TOKEN_FILE: &str = "reader_token";

/// Binds the configured addresses and serves until `shutdown` resolves.
pub async fn run(config: ApiConfig, shutdown: impl Future<Output = ()>) -> Result<(), StartError> {
    let listeners = Listeners::bind(config.listen, config.metrics_listen).await?;
    serve(config, listeners, shutdown).await
}

/// Serves on already-bound listeners until `shutdown` resolves.
pub async fn serve(
    config: ApiConfig,
    listeners: Listeners,
    shutdown: impl Future<Output = ()>,
) -> Result<(), StartError> {
    let tls = listeners.grpc_tls(&config.tls)?;
    let reader_token = reader_token(&config)?;
    let store = store::open(&config.database_url, &config.data_dir).await?;
    let mut telemetry_config = zerotrace_telemetry::Config::new(Service::Api);
    telemetry_config.service_name_from_env = config.service_name_from_env;
    let telemetry = zerotrace_telemetry::init(&telemetry_config)?;
    let metrics = ApiMetrics::new(
        &telemetry.meter(),
        SERVICE_NAME,
        &zerotrace_proto::method_names(SERVICE_NAME),
    );
    let (api, streams) = Api::new(store, ApiSettings::from_config(&config, reader_token)).await?;
    let _exposure = ExposureMetrics::new(&telemetry.meter(), api.exposure().reader());
    let routes = routes(api, &metrics, telemetry.exported_tracer());
    let options = ServeOptions {
        grace: config.shutdown_grace,
        // The guard layer in `routes` times unary calls out itself, so that
        // DEADLINE_EXCEEDED is counted in the API's metrics.
        request_timeout: None,
        tls,
    };
    if config.print_addr {
        let addr = |r: std::io::Result<std::net::SocketAddr>| r.map(|a| a.to_string()).unwrap_or_default();
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(
            stdout,
            "zerotrace-api listening grpc={} metrics={}",
            addr(listeners.grpc_addr()),
            addr(listeners.metrics_addr())
        );
        let _ = stdout.flush();
    }
    let shutdown = async move {
        shutdown.await;
        streams.stop();
    };
    zerotrace_server::serve(SERVICE_NAME, routes, listeners, telemetry, options, shutdown).await?;
    Ok(())
}

/// Returns the reader token: the configured one, else the one in
/// `<data_dir>/reader_token`, else a new one written there (mode 0600), so
/// that it stays the same across restarts. Makes the data directory (0700)
/// if needed. Only the file's path is logged.
pub fn reader_token(config: &ApiConfig) -> Result<String, StartError> {
    zerotrace_files::create_private_dir(&config.data_dir).map_err(|source| StartError::DataDir {
        path: config.data_dir.clone(),
        source,
    })?;
    if !config.reader_token.trim().is_empty() {
        return Ok(config.reader_token.trim().to_string());
    }
    let path = config.data_dir.join(READER_TOKEN_FILE);
    if let Ok(existing) = std::fs::read_to_string(&path)
        && !existing.trim().is_empty()
    {
        tracing::info!(path = %path.display(), "reader token read from file");
        return Ok(existing.trim().to_string());
    }
    let token = generate_token().map_err(|e| StartError::Secret(e.to_string()))?;
    zerotrace_files::write_private(&path, format!("{token}\n").as_bytes())
        .map_err(|e| StartError::Secret(format!("cannot write {}: {e}", path.display())))?;
    tracing::info!(path = %path.display(), "reader token generated; read calls need it as a Bearer token");
    Ok(token)
}

/// Returns the service's routes wrapped in its layers: in-flight gauge,
/// request metrics, then admission (authentication from the headers, the
/// concurrency limit, per-method body limits and the byte budget, the unary
/// timeout), with tonic's own decoding limit set from the settings.
pub fn routes(service: Api, metrics: &ApiMetrics, tracer: Option<SdkTracer>) -> Routes {
    let settings = service.settings().clone();
    let recorder = metrics.clone();
    let observe = GrpcMetricsLayer::new(move |call| {
        recorder.record_request(call.method, call.code.name(), call.elapsed.as_secs_f64());
    });
    let observe = match tracer {
        Some(tracer) => observe.with_tracer(tracer),
        None => observe,
    };
    let layers = tower::ServiceBuilder::new()
        .layer(InFlightLayer::new(metrics.active_connections()))
        .layer(observe)
        .layer(service.admission());
    let server = ApiServiceServer::new(service).max_decoding_message_size(settings.max_message_size);
    zerotrace_server::layered(server, layers)
}
