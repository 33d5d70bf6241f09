//! The agent: walks source trees, parses lockfiles into packages, asks the
//! enrichment service which are vulnerable and reports scans to the API,
//! behind `zerotrace.agent.v1.AgentService`.
//!
//! [`run`] is what `zerotrace-agent` and `zerotrace up` call; tests call
//! [`serve`] with listeners bound to port 0.

mod config;
mod error;
mod identity;
mod resources;
mod scan;
mod service;
mod upstream;

pub use config::{AgentConfig, DEFAULT_GRPC_ADDR, DEFAULT_METRICS_ADDR};
pub use error::{AgentError, StartError};
pub use service::Agent;

use scan::{ScanPolicy, Scanner};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use upstream::{Upstream, UpstreamCredentials};
use zerotrace_inventory::WalkOptions;
use zerotrace_proto::agent::v1::agent_service_server::AgentServiceServer;
use zerotrace_server::{Listeners, ServeOptions};
use zerotrace_telemetry::{AgentMetrics, GrpcMetricsLayer, Service};

/// The full gRPC name of the service, as health and reflection report it.
pub const SERVICE_NAME: &str = "zerotrace.agent.v1.AgentService";

/// Binds the configured addresses and serves until `shutdown` resolves.
pub async fn run(config: AgentConfig, shutdown: impl Future<Output = ()>) -> Result<(), StartError> {
    let listeners = Listeners::bind(config.listen, config.metrics_listen).await?;
    serve(config, listeners, shutdown).await
}

/// Serves on already-bound listeners until `shutdown` resolves.
pub async fn serve(
    config: AgentConfig,
    listeners: Listeners,
    shutdown: impl Future<Output = ()>,
) -> Result<(), StartError> {
    let tls = listeners.grpc_tls(&config.tls)?;
    let require = listeners.grpc_token(&config.token, &config.tls, "--token")?;
    zerotrace_files::create_private_dir(&config.data_dir).map_err(|source| StartError::DataDir {
        path: config.data_dir.clone(),
        source,
    })?;
    let agent_id = identity::load_or_create(&config.data_dir)?;
    let mut telemetry_config = zerotrace_telemetry::Config::new(Service::Agent);
    telemetry_config
        .resource_attributes
        .push(("zerotrace.agent.id".to_string(), agent_id.clone()));
    telemetry_config.service_name_from_env = config.service_name_from_env;
    let telemetry = zerotrace_telemetry::init(&telemetry_config)?;
    let file_types = zerotrace_inventory::FileType::ALL.map(|t| t.label());
    let metrics = AgentMetrics::new(&telemetry.meter(), &file_types);
    let tracer = telemetry.tracer();

    let upstream = Arc::new(Upstream::new(
        &agent_id,
        &config.data_dir,
        &config.enrichment_url,
        &config.api_url,
        UpstreamCredentials {
            registration_token: config.registration_token.get(),
            enrichment_token: config.enrichment_token.get(),
            tls: &config.upstream_tls,
        },
        &tracer,
    )?);
    let walk = WalkOptions {
        include: config.include.clone(),
        exclude: config.exclude.clone(),
        max_depth: config.max_depth,
        max_file_size: config.max_file_size,
        threads: config.walk_threads,
        ..WalkOptions::default()
    };
    let scanner = Arc::new(Scanner::new(
        agent_id.clone(),
        config.data_dir.clone(),
        ScanPolicy {
            allowed_roots: config.allowed_roots.clone(),
            walk,
            timeout: config.scan_timeout,
            max_concurrent: config.max_concurrent_scans,
        },
        metrics.clone(),
        tracer.clone(),
        upstream.clone(),
    ));

    let mut background = tokio::task::JoinSet::new();
    background.spawn(resources::sample(
        metrics.clone(),
        agent_id.clone(),
        config.resource_interval,
    ));
    if upstream.has_api() {
        background.spawn(heartbeats(upstream.clone(), HEARTBEAT_INTERVAL));
    }
    if !config.scan_interval.is_zero() {
        background.spawn(scan::periodic(
            scanner.clone(),
            config.scan_interval,
            config.full_scan_interval,
        ));
    }

    let agent = Agent {
        agent_id,
        scan_interval: config.scan_interval,
        scanner,
        upstream,
    };
    let layers = tower::ServiceBuilder::new()
        .layer(GrpcMetricsLayer::new(|_| {}).with_tracer(tracer))
        .layer(require);
    let routes = zerotrace_server::layered(AgentServiceServer::new(agent), layers);
    let options = ServeOptions {
        grace: config.shutdown_grace,
        tls,
        ..ServeOptions::default()
    };
    let result = zerotrace_server::serve(SERVICE_NAME, routes, listeners, telemetry, options, shutdown).await;
    background.shutdown().await;
    result?;
    Ok(())
}

/// How often a registered agent says it is alive.
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(30);

async fn heartbeats(upstream: Arc<Upstream>, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        ticker.tick().await;
        match upstream.heartbeat().await {
            Ok(()) => {
                if failing {
                    tracing::info!("api reachable again");
                }
                failing = false;
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "heartbeat failed");
                }
                failing = true;
            }
        }
    }
}
