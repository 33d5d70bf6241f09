//! `zerotrace-agent`: parse config, serve, shut down.

use std::process::ExitCode;
use zerotrace_agent::AgentConfig;

#[tokio::main]
async fn main() -> ExitCode {
    let mut config: AgentConfig = zerotrace_server::parse_config();
    config.service_name_from_env = true;
    zerotrace_telemetry::init_logging();
    match zerotrace_agent::run(config, zerotrace_server::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "agent failed");
            ExitCode::FAILURE
        }
    }
}
