//! `zerotrace-api`: parse config, serve, shut down.

use std::process::ExitCode;
use zerotrace_api::ApiConfig;

#[global_allocator]
static ALLOCATOR: zerotrace_server::Allocator = zerotrace_server::Allocator;

#[tokio::main]
async fn main() -> ExitCode {
    let mut config: ApiConfig = zerotrace_server::parse_config();
    config.service_name_from_env = true;
    zerotrace_telemetry::init_logging();
    match zerotrace_api::run(config, zerotrace_server::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "api service failed");
            ExitCode::FAILURE
        }
    }
}
