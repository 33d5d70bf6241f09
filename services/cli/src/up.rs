//! `zerotrace up`: all three services in one process, on embedded defaults.

use anyhow::Context;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use tokio::sync::watch;
use zerotrace_agent::AgentConfig;
use zerotrace_api::ApiConfig;
use zerotrace_enrichment::EnrichmentConfig;
use zerotrace_server::Listeners;

/// Flags of `zerotrace up`. Every service's own `ZEROTRACE_<SERVICE>_*`
/// variables apply too (scan interval, cache size, ...).
#[derive(Debug, clap::Args)]
pub(crate) struct UpArgs {
    /// Directory for all service data (agent id, advisory database, SQLite).
    #[arg(long, env = "ZEROTRACE_DATA_DIR", default_value = "./zerotrace-data")]
    data_dir: PathBuf,
    /// Agent gRPC address.
    #[arg(long, env = "ZEROTRACE_AGENT_LISTEN", default_value = zerotrace_agent::DEFAULT_GRPC_ADDR)]
    agent_listen: SocketAddr,
    /// Agent `/metrics` address.
    #[arg(long, env = "ZEROTRACE_AGENT_METRICS_LISTEN", default_value = zerotrace_agent::DEFAULT_METRICS_ADDR)]
    agent_metrics_listen: SocketAddr,
    /// Enrichment gRPC address.
    #[arg(long, env = "ZEROTRACE_ENRICHMENT_LISTEN", default_value = zerotrace_enrichment::DEFAULT_GRPC_ADDR)]
    enrichment_listen: SocketAddr,
    /// Enrichment `/metrics` address.
    #[arg(long, env = "ZEROTRACE_ENRICHMENT_METRICS_LISTEN", default_value = zerotrace_enrichment::DEFAULT_METRICS_ADDR)]
    enrichment_metrics_listen: SocketAddr,
    /// API gRPC address.
    #[arg(long, env = "ZEROTRACE_API_LISTEN", default_value = zerotrace_api::DEFAULT_GRPC_ADDR)]
    api_listen: SocketAddr,
    /// API `/metrics` address.
    #[arg(long, env = "ZEROTRACE_API_METRICS_LISTEN", default_value = zerotrace_api::DEFAULT_METRICS_ADDR)]
    api_metrics_listen: SocketAddr,
}

/// Parses a service's config from its defaults and `ZEROTRACE_*` variables,
/// with `overrides` as flags; a bad variable exits 64 like the service binary.
fn service_config<T: clap::Parser>(name: &str, overrides: &[String]) -> T {
    let args = std::iter::once(name.to_string()).chain(overrides.iter().cloned());
    match T::try_parse_from(args) {
        Ok(config) => config,
        Err(e) => {
            let message = e.to_string();
            eprintln!(
                "{name}: {}",
                message.lines().next().unwrap_or("invalid configuration").trim()
            );
            std::process::exit(zerotrace_server::CONFIG_ERROR_EXIT);
        }
    }
}

pub(crate) fn run(args: UpArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("failed to start runtime")?;
    runtime.block_on(up(args))
}

async fn up(args: UpArgs) -> anyhow::Result<ExitCode> {
    // Bind first: with port 0 the agent must be told the ports the kernel chose.
    let agent_listeners = Listeners::bind(args.agent_listen, args.agent_metrics_listen).await?;
    let enrichment_listeners = Listeners::bind(args.enrichment_listen, args.enrichment_metrics_listen).await?;
    let api_listeners = Listeners::bind(args.api_listen, args.api_metrics_listen).await?;
    let enrichment_addr = enrichment_listeners.grpc_addr().context("enrichment address")?;
    let api_addr = api_listeners.grpc_addr().context("api address")?;

    let dir = |sub: &str| args.data_dir.join(sub).display().to_string();
    // `--name=value` in one argument: a generated token may start with `-`.
    let flag = |name: &str, value: String| [format!("--{name}={value}")];
    let agent: AgentConfig = service_config(
        "zerotrace-agent",
        &[
            flag("data-dir", dir("agent")),
            flag("enrichment-url", format!("http://{enrichment_addr}")),
            flag("api-url", format!("http://{api_addr}")),
        ]
        .concat(),
    );
    let enrichment: EnrichmentConfig = service_config("zerotrace-enrichment", &flag("data-dir", dir("enrichment")));
    // Read calls need a token: the operator's, or one made for this run and printed below.
    let reader_token = match std::env::var("ZEROTRACE_API_READER_TOKEN") {
        Ok(token) if !token.trim().is_empty() => token.trim().to_string(),
        _ => zerotrace_api::generate_token().context("failed to generate the API reader token")?,
    };
    let api: ApiConfig = service_config(
        "zerotrace-api",
        &[flag("data-dir", dir("api")), flag("reader-token", reader_token.clone())].concat(),
    );

    print_banner(
        &args,
        &agent_listeners,
        &enrichment_listeners,
        &api_listeners,
        &reader_token,
    );

    let (stop, stopped) = watch::channel(false);
    let signal = async move {
        zerotrace_server::shutdown_signal().await;
        let _ = stop.send(true);
    };
    let until_stopped = || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    };
    let signal_task = tokio::spawn(signal);
    let (a, e, p) = tokio::join!(
        zerotrace_agent::serve(agent, agent_listeners, until_stopped()),
        zerotrace_enrichment::serve(enrichment, enrichment_listeners, until_stopped()),
        zerotrace_api::serve(api, api_listeners, until_stopped()),
    );
    signal_task.abort();
    let mut ok = true;
    for (name, failure) in [
        ("agent", a.err().map(|e| e.to_string())),
        ("enrichment", e.err().map(|e| e.to_string())),
        ("api", p.err().map(|e| e.to_string())),
    ] {
        if let Some(message) = failure {
            eprintln!("zerotrace: {name} failed: {message}");
            ok = false;
        }
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn print_banner(args: &UpArgs, agent: &Listeners, enrichment: &Listeners, api: &Listeners, reader_token: &str) {
    let addr = |r: std::io::Result<SocketAddr>| r.map(|a| a.to_string()).unwrap_or_else(|_| "?".to_string());
    println!("ZeroTrace is up (data in {})", args.data_dir.display());
    println!(
        "  {:<11} gRPC {:<22} metrics http://{}/metrics",
        "agent",
        addr(agent.grpc_addr()),
        addr(agent.metrics_addr())
    );
    println!(
        "  {:<11} gRPC {:<22} metrics http://{}/metrics",
        "enrichment",
        addr(enrichment.grpc_addr()),
        addr(enrichment.metrics_addr())
    );
    println!(
        "  {:<11} gRPC {:<22} metrics http://{}/metrics",
        "api",
        addr(api.grpc_addr()),
        addr(api.metrics_addr())
    );
    println!("API reader token: {reader_token}");
    println!("Try: grpcurl -plaintext {} list", addr(agent.grpc_addr()));
    println!(
        "     grpcurl -plaintext {} zerotrace.agent.v1.AgentService/GetAgentInfo",
        addr(agent.grpc_addr())
    );
    println!(
        "     grpcurl -plaintext -H \"authorization: Bearer {reader_token}\" {} zerotrace.api.v1.ApiService/GetSummary",
        addr(api.grpc_addr())
    );
    println!("Stop with Ctrl-C (SIGINT) or SIGTERM.");
}
