//! The enrichment service: owns the advisory database and answers which
//! packages are vulnerable, behind `zerotrace.enrichment.v1.EnrichmentService`.
//!
//! [`run`] is what `zerotrace-enrichment` and `zerotrace up` call; tests call
//! [`serve`] with listeners bound to port 0.

mod config;
mod convert;
mod data;
mod error;
mod service;
mod sync;

pub use config::{DEFAULT_GRPC_ADDR, DEFAULT_METRICS_ADDR, EnrichmentConfig};
pub use error::{EnrichmentError, StartError};
pub use service::{CacheConfig, Enrichment};

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tonic::service::Routes;
use zerotrace_advisory::Database;
use zerotrace_proto::enrichment::v1::encoded_server::enrichment_service_server::EnrichmentServiceServer;
use zerotrace_server::{Listeners, RequireToken, ServeOptions};
use zerotrace_telemetry::SdkTracer;
use zerotrace_telemetry::instruments::EnrichmentStatus;
use zerotrace_telemetry::{AdvisoryDataMetrics, EnrichmentMetrics, GrpcMetricsLayer, InFlightLayer, Service};

use crate::data::DataState;
use crate::sync::BackgroundSync;

/// Largest request accepted, in bytes (a batch of the default 10,000 packages fits easily).
const MAX_MESSAGE_SIZE: usize = 16 * 1024 * 1024;

/// The full gRPC name of the service, as health and reflection report it.
pub const SERVICE_NAME: &str = "zerotrace.enrichment.v1.EnrichmentService";

/// Binds the configured addresses and serves until `shutdown` resolves.
pub async fn run(config: EnrichmentConfig, shutdown: impl Future<Output = ()>) -> Result<(), StartError> {
    let listeners = Listeners::bind(config.listen, config.metrics_listen).await?;
    serve(config, listeners, shutdown).await
}

/// Serves on already-bound listeners until `shutdown` resolves.
pub async fn serve(
    config: EnrichmentConfig,
    listeners: Listeners,
    shutdown: impl Future<Output = ()>,
) -> Result<(), StartError> {
    let started = Instant::now();
    let tls = listeners.grpc_tls(&config.tls)?;
    let require = listeners.grpc_token(&config.token, &config.tls, "--token")?;
    zerotrace_files::create_private_dir(&config.data_dir).map_err(|source| StartError::DataDir {
        path: config.data_dir.clone(),
        source,
    })?;
    let mut telemetry_config = zerotrace_telemetry::Config::new(Service::Enrichment);
    telemetry_config.service_name_from_env = config.service_name_from_env;
    let telemetry = zerotrace_telemetry::init(&telemetry_config)?;
    let metrics = EnrichmentMetrics::new(&telemetry.meter());
    let sources = config.sources();
    sources
        .validate()
        .map_err(|e| StartError::Config(format!("advisory sources: {e}")))?;
    let db = open_database(&config).await?;
    let interval = Some(config.sync_interval).filter(|i| !i.is_zero());
    let data = Arc::new(DataState::new(db, config.ecosystems(), config.max_data_age, interval));
    let data_metrics = data_metrics(&telemetry.meter(), &data, config.max_data_age);
    let cache = CacheConfig {
        max_entries: config.cache_max_entries,
        max_bytes: config.cache_max_bytes,
        ttl: config.cache_ttl,
    };
    let service = Enrichment::new(data.clone(), metrics.clone(), cache, config.max_batch_size);
    let routes = routes(service, &metrics, telemetry.exported_tracer(), require);
    let background = interval.map(|interval| {
        let scratch = zerotrace_advisory::sync::scratch_dir(&config.data_dir);
        BackgroundSync::start(data.clone(), sources, scratch, interval, data_metrics)
    });
    if background.is_none() {
        tracing::info!("background sync off (--sync-interval 0s): import data with `zerotrace db import`");
    }
    tracing::info!(elapsed = ?started.elapsed(), "enrichment service ready");
    let options = ServeOptions {
        grace: config.shutdown_grace,
        tls,
        ..ServeOptions::default()
    };
    let served = zerotrace_server::serve(SERVICE_NAME, routes, listeners, telemetry, options, shutdown).await;
    if let Some(background) = background {
        background.stop();
    }
    served?;
    Ok(())
}

/// Registers the advisory-data series, read from `data` at each collection.
fn data_metrics(meter: &zerotrace_telemetry::Meter, data: &Arc<DataState>, max_age: Duration) -> AdvisoryDataMetrics {
    let names: Vec<String> = data.feeds().iter().map(|f| f.name()).collect();
    let reader = data.clone();
    AdvisoryDataMetrics::new(meter, &names, max_age.as_secs_f64(), move || reader.points())
}

/// Opens the database in the data directory and runs the start-up imports.
async fn open_database(config: &EnrichmentConfig) -> Result<Database, StartError> {
    let dir = config.data_dir.clone();
    let imports = config.import.clone();
    let task = tokio::task::spawn_blocking(move || -> Result<Database, StartError> {
        let db = Database::open(&dir)?;
        if let Some(old) = Database::legacy_file(&dir) {
            tracing::warn!(
                file = %old.display(),
                "an advisory database of an earlier format is no longer read; import or sync its sources again"
            );
        }
        for path in &imports {
            let report = db.import_path(path)?;
            tracing::info!(
                path = %path.display(),
                imported = report.imported,
                updated = report.updated,
                unchanged = report.unchanged,
                invalid = report.invalid.len(),
                "advisories imported"
            );
            for invalid in report.invalid.iter().take(20) {
                tracing::warn!(file = %invalid.file, reason = %invalid.reason, "invalid advisory skipped");
            }
        }
        let info = db.info()?;
        tracing::info!(
            advisories = info.advisories,
            kev = info.kev_entries,
            epss = info.epss_entries,
            "advisory database open"
        );
        Ok(db)
    });
    task.await
        .map_err(|e| StartError::Internal(format!("database task failed: {e}")))?
}

/// Returns the service's routes wrapped in its layers: in-flight gauge,
/// request metrics, then the token check when a token is set.
pub fn routes(
    service: Enrichment,
    metrics: &EnrichmentMetrics,
    tracer: Option<SdkTracer>,
    require: RequireToken,
) -> Routes {
    let recorder = metrics.clone();
    let grpc_layer = GrpcMetricsLayer::new(move |call| {
        let status = match call.code.name() {
            "OK" => EnrichmentStatus::Ok,
            "NOT_FOUND" => EnrichmentStatus::NotFound,
            "INVALID_ARGUMENT" | "OUT_OF_RANGE" | "FAILED_PRECONDITION" | "RESOURCE_EXHAUSTED" => {
                EnrichmentStatus::Invalid
            }
            _ => EnrichmentStatus::Error,
        };
        recorder.record_request(status, call.elapsed.as_secs_f64());
    });
    let grpc_layer = match tracer {
        Some(tracer) => grpc_layer.with_tracer(tracer),
        None => grpc_layer,
    };
    let layers = tower::ServiceBuilder::new()
        .layer(InFlightLayer::new(metrics.active_connections()))
        .layer(grpc_layer)
        .layer(require);
    let server = EnrichmentServiceServer::new(service).max_decoding_message_size(MAX_MESSAGE_SIZE);
    zerotrace_server::layered(server, layers)
}
