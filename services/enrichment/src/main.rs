//! `zerotrace-enrichment`: parse config, serve, shut down.

use std::process::ExitCode;
use zerotrace_enrichment::EnrichmentConfig;

#[global_allocator]
static ALLOCATOR: zerotrace_server::Allocator = zerotrace_server::Allocator;

#[tokio::main]
async fn main() -> ExitCode {
    let mut config: EnrichmentConfig = zerotrace_server::parse_config();
    config.service_name_from_env = true;
    zerotrace_telemetry::init_logging();
    match zerotrace_enrichment::run(config, zerotrace_server::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "enrichment service failed");
            ExitCode::FAILURE
        }
    }
}
