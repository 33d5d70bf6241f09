//! `zerotrace-loadgen`: load tools the scripts under `scripts/` drive.
//!
//! - `rpc-latency --agent ADDR`: calls the agent's GetAgentInfo (a call
//!   with no I/O of its own, whose server span still goes through the
//!   telemetry pipeline) in a closed loop and prints one JSON line of
//!   latency percentiles, so a script can compare runs.
//! - `fleet --replica ADDR ...`: the fleet simulation (simulated agents on
//!   API replicas, `scripts/fleet-simulation.sh` starts them); prints a
//!   Markdown table and one JSON line, and with `--verify` exits 1 with a
//!   one-line reason when the API does not hold what was acknowledged.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use zerotrace_loadgen::fleet::{self, FleetOptions};
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
    /// Simulated agents on API replicas, and a check of what they stored.
    Fleet(FleetArgs),
}

#[derive(Debug, clap::Args)]
struct FleetArgs {
    /// gRPC address of an API replica (`127.0.0.1:50053`); repeat for each replica.
    #[arg(long = "replica", required = true)]
    replicas: Vec<String>,
    /// The replicas' reader token.
    #[arg(long, env = "ZEROTRACE_API_READER_TOKEN", hide_env_values = true)]
    reader_token: String,
    /// The replicas' registration token, if they require one.
    #[arg(
        long,
        env = "ZEROTRACE_API_REGISTRATION_TOKEN",
        default_value = "",
        hide_env_values = true
    )]
    registration_token: String,
    /// Agents; a comma-separated increasing list grows the fleet in steps (`250,500,1000`).
    #[arg(long, value_delimiter = ',', default_value = "1000")]
    agents: Vec<usize>,
    /// Simulated hours each step lasts.
    #[arg(long, default_value_t = 3.0)]
    step_hours: f64,
    /// Real seconds one simulated hour takes.
    #[arg(long, default_value_t = 60.0)]
    sim_hour_seconds: f64,
    /// Simulated seconds between an agent's heartbeats.
    #[arg(long, default_value_t = 60.0)]
    heartbeat_seconds: f64,
    /// Every how many reports an agent's scan is full (a day, with hourly reports).
    #[arg(long, default_value_t = 24)]
    full_every: u64,
    /// Vulnerable package versions the fleet's findings are drawn from.
    #[arg(long, default_value_t = 5000)]
    catalog: usize,
    /// Seed: the same seed sends the same reports.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// HTTP/2 connections to each replica, shared by the agents.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Real seconds agents may retry their last report after the run.
    #[arg(long, default_value_t = 60.0)]
    drain_seconds: f64,
    /// Index (from 0) of the replica a WatchFindings stream listens on.
    #[arg(long)]
    watch: Option<usize>,
    /// Index (from 0) of the replica the end check reads from.
    #[arg(long)]
    verify: Option<usize>,
    /// Shell command printing the database size in bytes (growth per agent per day).
    #[arg(long)]
    db_size_command: Option<String>,
    /// Label of the run in the output.
    #[arg(long, default_value = "fleet")]
    label: String,
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
        Command::Fleet(args) => fleet(args).await,
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

async fn fleet(args: FleetArgs) -> Result<(), zerotrace_loadgen::BoxError> {
    let options = FleetOptions {
        replicas: args.replicas,
        reader_token: args.reader_token,
        registration_token: args.registration_token,
        steps: args.agents,
        step_hours: args.step_hours,
        sim_hour_seconds: args.sim_hour_seconds,
        heartbeat_seconds: args.heartbeat_seconds,
        full_every: args.full_every,
        catalog: args.catalog,
        seed: args.seed,
        connections: args.connections,
        drain_seconds: args.drain_seconds,
        watch: args.watch,
        verify: args.verify,
        db_size_command: args.db_size_command,
    };
    options.check()?;
    let sim_hour_seconds = options.sim_hour_seconds;
    let label = args.label;
    let outcome = fleet::run(options).await?;
    println!("| {label}: step | agents | reports/s | submit p50 / p95 / p99 ms | heartbeat p50 / p95 / p99 ms |");
    println!("|---|---|---|---|---|");
    let quantiles = |h: &hdrhistogram::Histogram<u64>| {
        format!(
            "{:.1} / {:.1} / {:.1}",
            fleet::ms(h, 0.5),
            fleet::ms(h, 0.95),
            fleet::ms(h, 0.99)
        )
    };
    let steps = outcome.steps.iter().enumerate().map(|(i, s)| (format!("{}", i + 1), s));
    for (name, step) in steps.chain(std::iter::once(("all".to_string(), &outcome.total))) {
        println!(
            "| {label}: {name} | {} | {:.2} | {} | {} |",
            step.agents,
            step.reports_per_second(),
            quantiles(&step.submit),
            quantiles(&step.heartbeat)
        );
    }
    let lag = outcome.watch_lag.as_ref();
    let verdict = outcome.verdict.as_ref();
    let line = serde_json::json!({
        "label": label,
        "agents": outcome.total.agents,
        "sim_hour_seconds": sim_hour_seconds,
        "acknowledged": outcome.acknowledged,
        "unacknowledged": outcome.unacknowledged,
        "retries": outcome.retries,
        "report_retries": outcome.report_retries,
        "retry_codes": outcome.retry_codes,
        "already_stored": outcome.already_stored,
        "failures": outcome.failures,
        "first_failure": outcome.first_failure,
        "reports_per_s": outcome.total.reports_per_second(),
        "findings_per_report": outcome.findings_per_report,
        "packages_per_agent": outcome.packages_per_agent,
        "submit_ms": [fleet::ms(&outcome.total.submit, 0.5), fleet::ms(&outcome.total.submit, 0.95), fleet::ms(&outcome.total.submit, 0.99)],
        "heartbeat_ms": [fleet::ms(&outcome.total.heartbeat, 0.5), fleet::ms(&outcome.total.heartbeat, 0.95), fleet::ms(&outcome.total.heartbeat, 0.99)],
        "steps": outcome.steps.iter().map(|s| serde_json::json!({
            "agents": s.agents,
            "reports_per_s": s.reports_per_second(),
            "submit_p95_ms": fleet::ms(&s.submit, 0.95),
            "heartbeat_p95_ms": fleet::ms(&s.heartbeat, 0.95),
        })).collect::<Vec<_>>(),
        "agents_past_1s_submit_p95": outcome.agents_past(1000.0),
        "watch_lag_ms": lag.map(|h| serde_json::json!({
            "events": h.len(),
            "p50": fleet::ms(h, 0.5), "p95": fleet::ms(h, 0.95), "p99": fleet::ms(h, 0.99), "max": fleet::ms(h, 1.0),
        })),
        "db_bytes": (!outcome.db_sizes.is_empty()).then(|| serde_json::json!({
            "before": outcome.db_sizes.first().map(|s| s.1),
            "after": outcome.db_sizes.last().map(|s| s.1),
            "sim_hours": outcome.db_sizes.last().map(|s| s.0),
            "samples": outcome.db_sizes,
        })),
        "db_bytes_per_agent_day": outcome.growth_per_agent_day(),
        "db_bytes_per_agent_day_second_half": outcome.steady_growth_per_agent_day(),
        "check": verdict.map(|v| serde_json::json!({
            "scans_found": v.scans_found,
            "findings_listed": v.findings_listed,
            "findings_expected": v.findings_expected,
            "open_listed": v.open_listed,
            "open_expected": v.open_expected,
            "watched": v.watched,
            "violation": v.violation,
        })),
    });
    println!("{line}");
    if let Some(violation) = verdict.and_then(|v| v.violation.as_ref()) {
        return Err(format!("check failed: {violation}").into());
    }
    if let Some(failure) = &outcome.first_failure {
        return Err(format!("{} calls failed for good; the first: {failure}", outcome.failures).into());
    }
    if verdict.is_some() && outcome.unacknowledged > 0 {
        return Err(format!(
            "check failed: {} reports were never acknowledged",
            outcome.unacknowledged
        )
        .into());
    }
    Ok(())
}
