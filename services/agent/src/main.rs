//! `zerotrace-agent`: parse config, serve, shut down.

use std::process::ExitCode;
use zerotrace_agent::AgentConfig;

#[global_allocator]
static ALLOCATOR: zerotrace_server::Allocator = zerotrace_server::Allocator;

fn main() -> ExitCode {
    let mut config: AgentConfig = zerotrace_server::parse_config();
    config.service_name_from_env = true;
    zerotrace_telemetry::init_logging();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!(error = %e, "agent failed: no async runtime");
            return ExitCode::FAILURE;
        }
    };
    let code = match runtime.block_on(zerotrace_agent::run(config, zerotrace_server::shutdown_signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "agent failed");
            ExitCode::FAILURE
        }
    };
    // A walk stuck in a read (a hung mount) must not hold the exit: the
    // runtime is left behind instead of waiting for its blocking threads.
    runtime.shutdown_background();
    code
}
