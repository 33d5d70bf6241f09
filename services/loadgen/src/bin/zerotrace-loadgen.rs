//! `zerotrace-loadgen`: load tools the scripts under `scripts/` drive.
//!
//! - `rpc-latency --agent ADDR`: calls the agent's GetAgentInfo (a call
//!   with no I/O of its own, whose server span still goes through the
//!   telemetry pipeline) in a closed loop and prints one JSON line of
//!   latency percentiles, so a script can compare runs.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use zerotrace_loadgen::{Budget, measure};
use zerotrace_proto::agent::v1 as agent;
use zerotrace_proto::agent::v1::agent_service_client::AgentServiceClient;

#[derive(Debug, Parser)]
#[command(
    name = "zerotrace-loadgen",
    version,
    about = "Load tools for ZeroTrace's benchmark and test scripts"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Latency of a simple RPC (GetAgentInfo), as one JSON line.
    RpcLatency {
        /// The agent's gRPC address (`127.0.0.1:50051`).
        #[arg(long)]
        agent: String,
        /// Calls to make.
        #[arg(long, default_value_t = 2000)]
        calls: usize,
        /// Calls in flight at once (one connection each).
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
        /// Label of the run in the JSON line.
        #[arg(long, default_value = "run")]
        label: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::RpcLatency {
            agent,
            calls,
            concurrency,
            label,
        } => rpc_latency(&agent, calls, concurrency, &label).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zerotrace-loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn rpc_latency(
    addr: &str,
    calls: usize,
    concurrency: usize,
    label: &str,
) -> Result<(), zerotrace_loadgen::BoxError> {
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10));
    let mut clients = Vec::new();
    for _ in 0..concurrency.max(1) {
        clients.push(AgentServiceClient::new(endpoint.connect().await?));
    }
    // Warm the connections and the server before measuring.
    for client in &mut clients {
        for _ in 0..20 {
            client.get_agent_info(agent::GetAgentInfoRequest {}).await?;
        }
    }
    let clients = std::sync::Arc::new(clients);
    let stats = measure(label, Budget::requests(calls), concurrency, move |call| {
        let mut client = clients[call.worker].clone();
        async move { client.get_agent_info(agent::GetAgentInfoRequest {}).await.map(|_| ()) }
    })
    .await?;
    let line = serde_json::json!({
        "label": label,
        "calls": stats.requests,
        "rps": stats.rps(),
        "p50_ms": stats.ms(0.5),
        "p90_ms": stats.ms(0.9),
        "p99_ms": stats.ms(0.99),
        "max_ms": stats.ms(1.0),
    });
    println!("{line}");
    Ok(())
}
