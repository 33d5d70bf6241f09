//! `zerotrace-api`: parse config, serve, shut down.

use std::process::ExitCode;
use zerotrace_api::ApiConfig;

#[tokio::main]
async fn main() -> ExitCode {
    let config: ApiConfig = zerotrace_server::parse_config();
    zerotrace_telemetry::init_logging();
    match zerotrace_api::run(config, zerotrace_server::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "api service failed");
            ExitCode::FAILURE
        }
    }
}
