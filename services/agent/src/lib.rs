//! The agent: walks source trees, parses lockfiles into packages, asks the
//! enrichment service which are vulnerable and reports scans to the API,
//! behind `zerotrace.agent.v1.AgentService`.
//!
//! [`run`] is what `zerotrace-agent` and `zerotrace up` call; tests call
//! [`serve`] with listeners bound to port 0.

mod config;
mod error;
mod identity;
mod service;

pub use config::{AgentConfig, DEFAULT_GRPC_ADDR, DEFAULT_METRICS_ADDR};
pub use error::AgentError;
pub use service::Agent;

use std::future::Future;
use tonic::service::Routes;
use zerotrace_proto::agent::v1::agent_service_server::AgentServiceServer;
use zerotrace_server::{Listeners, ServeOptions};
use zerotrace_telemetry::{AgentMetrics, Service};

/// The full gRPC name of the service, as health and reflection report it.
pub const SERVICE_NAME: &str = "zerotrace.agent.v1.AgentService";

/// Binds the configured addresses and serves until `shutdown` resolves.
pub async fn run(config: AgentConfig, shutdown: impl Future<Output = ()>) -> Result<(), AgentError> {
    let listeners = Listeners::bind(config.listen, config.metrics_listen).await?;
    serve(config, listeners, shutdown).await
}

/// Serves on already-bound listeners until `shutdown` resolves.
pub async fn serve(
    config: AgentConfig,
    listeners: Listeners,
    shutdown: impl Future<Output = ()>,
) -> Result<(), AgentError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|source| AgentError::DataDir {
        path: config.data_dir.clone(),
        source,
    })?;
    let agent_id = identity::load_or_create(&config.data_dir)?;
    let mut telemetry_config = zerotrace_telemetry::Config::new(Service::Agent);
    telemetry_config
        .resource_attributes
        .push(("zerotrace.agent.id".to_string(), agent_id.clone()));
    let telemetry = zerotrace_telemetry::init(&telemetry_config)?;
    let _metrics = AgentMetrics::new(&telemetry.meter());
    let agent = Agent {
        agent_id,
        allowed_roots: config.allowed_roots.clone(),
        scan_interval: config.scan_interval,
    };
    let routes = Routes::new(AgentServiceServer::new(agent));
    let options = ServeOptions {
        grace: config.shutdown_grace,
        ..ServeOptions::default()
    };
    zerotrace_server::serve(SERVICE_NAME, routes, listeners, telemetry, options, shutdown).await?;
    Ok(())
}
