//! `zerotrace up`: all three services in one process, on embedded defaults.

use crate::error::{CliError, EXIT_FAILURE, EXIT_OK, exit, report};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use tokio::sync::watch;
use zerotrace_advisory::Database;
use zerotrace_agent::AgentConfig;
use zerotrace_api::ApiConfig;
use zerotrace_enrichment::EnrichmentConfig;
use zerotrace_server::Listeners;

/// Flags of `zerotrace up`: where each service listens, and the settings of
/// the services that users of `up` set most. Every other variable of the
/// service binaries applies too (see the README: `ZEROTRACE_AGENT_*`,
/// `ZEROTRACE_ENRICHMENT_*`, `ZEROTRACE_API_*`), and a flag here wins over
/// the variable of the same setting.
#[derive(Debug, clap::Args)]
#[command(after_help = UP_ENVIRONMENT)]
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
    /// A root the agent may scan (repeat, or comma-separate the variable); default the current directory.
    #[arg(long = "allowed-root", env = "ZEROTRACE_AGENT_ALLOWED_ROOTS", value_delimiter = ',')]
    allowed_roots: Vec<PathBuf>,
    /// Interval of the agent's periodic scans of every allowed root (`30m`, `6h`); `0s` turns them off.
    #[arg(long, env = "ZEROTRACE_AGENT_SCAN_INTERVAL", value_parser = zerotrace_server::parse_duration)]
    scan_interval: Option<std::time::Duration>,
    /// Bearer token of the API's read calls; default the one kept in `<data-dir>/api/reader_token` (made on first start).
    #[arg(long, env = "ZEROTRACE_API_READER_TOKEN", hide_env_values = true)]
    reader_token: Option<String>,
    /// Bearer token RegisterAgent requires for a new agent; default none (anyone on the network may register).
    #[arg(long, env = "ZEROTRACE_API_REGISTRATION_TOKEN", hide_env_values = true)]
    registration_token: Option<String>,
    /// PostgreSQL URL of the API (`postgres://user@host/db`); default SQLite in the data directory.
    #[arg(long, env = "ZEROTRACE_API_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

/// The end of `zerotrace up --help`.
const UP_ENVIRONMENT: &str = "\
Every setting of the three service binaries applies to `up` through its
environment variable, e.g.:
  ZEROTRACE_AGENT_INCLUDE, ZEROTRACE_AGENT_EXCLUDE, ZEROTRACE_AGENT_MAX_FILE_SIZE
  ZEROTRACE_ENRICHMENT_IMPORT, ZEROTRACE_ENRICHMENT_CACHE_MAX_ENTRIES, ZEROTRACE_ENRICHMENT_CACHE_TTL
  ZEROTRACE_ENRICHMENT_SYNC_INTERVAL, ZEROTRACE_ENRICHMENT_MAX_DATA_AGE, ZEROTRACE_ENRICHMENT_OSV_BASE_URL
  ZEROTRACE_API_RATE_LIMIT_PER_AGENT, ZEROTRACE_API_MAX_FINDINGS_PER_REPORT, ZEROTRACE_API_WATCH_BUFFER
Telemetry export: OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_METRIC_EXPORT_INTERVAL, OTEL_* (see the README).
A bad value prints one line and exits 64.";

/// Parses a service's config from its defaults and `ZEROTRACE_*` variables,
/// with `overrides` as flags; a bad value is a [`CliError::Config`] (exit 64,
/// one line), as the service binary would say it.
fn service_config<T: clap::Parser>(name: &str, overrides: &[String]) -> Result<T, CliError> {
    let args = std::iter::once(name.to_string()).chain(overrides.iter().cloned());
    T::try_parse_from(args).map_err(|e| {
        let message = e.to_string();
        let line = message
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("invalid configuration");
        CliError::Config(format!("{name}: {}", line.trim()))
    })
}

pub(crate) fn run(args: UpArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return report(&CliError::Failed(format!("cannot start the runtime: {e}"))),
    };
    let outcome = runtime.block_on(up(args));
    // A scan walk stuck in a read (a hung mount) must not hold the exit.
    runtime.shutdown_background();
    exit(outcome)
}

async fn up(args: UpArgs) -> Result<u8, CliError> {
    // Bind first: with port 0 the agent must be told the ports the kernel chose.
    let failed = |e: &dyn std::fmt::Display| CliError::Failed(e.to_string());
    let agent_listeners = Listeners::bind(args.agent_listen, args.agent_metrics_listen)
        .await
        .map_err(|e| failed(&e))?;
    let enrichment_listeners = Listeners::bind(args.enrichment_listen, args.enrichment_metrics_listen)
        .await
        .map_err(|e| failed(&e))?;
    let api_listeners = Listeners::bind(args.api_listen, args.api_metrics_listen)
        .await
        .map_err(|e| failed(&e))?;
    let enrichment_addr = enrichment_listeners.grpc_addr().map_err(|e| failed(&e))?;
    let api_addr = api_listeners.grpc_addr().map_err(|e| failed(&e))?;

    let dir = |sub: &str| args.data_dir.join(sub).display().to_string();
    // `--name=value` in one argument: a generated token may start with `-`.
    let flag = |name: &str, value: String| [format!("--{name}={value}")];
    let mut agent_flags = vec![
        flag("data-dir", dir("agent")),
        flag("enrichment-url", format!("http://{enrichment_addr}")),
        flag("api-url", format!("http://{api_addr}")),
    ];
    agent_flags.extend(
        args.allowed_roots
            .iter()
            .map(|r| flag("allowed-root", r.display().to_string())),
    );
    if let Some(interval) = args.scan_interval {
        agent_flags.push(flag("scan-interval", format!("{}ms", interval.as_millis())));
    }
    if let Some(token) = &args.registration_token {
        agent_flags.push(flag("registration-token", token.clone()));
    }
    let mut agent: AgentConfig = service_config("zerotrace-agent", &agent_flags.concat())?;
    let mut enrichment: EnrichmentConfig =
        service_config("zerotrace-enrichment", &flag("data-dir", dir("enrichment")))?;
    let mut api_flags = vec![flag("data-dir", dir("api"))];
    if let Some(token) = args.reader_token.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        api_flags.push(flag("reader-token", token.to_string()));
    }
    if let Some(token) = &args.registration_token {
        api_flags.push(flag("registration-token", token.clone()));
    }
    if let Some(url) = &args.database_url {
        api_flags.push(flag("database-url", url.clone()));
    }
    let mut api: ApiConfig = service_config("zerotrace-api", &api_flags.concat())?;
    // Read calls need a token: the operator's, else the one kept in the API's
    // data directory (made on first start), printed below.
    let reader_token = zerotrace_api::reader_token(&api).map_err(|e| failed(&e))?;
    api.reader_token = reader_token.clone();
    // up's services talk to each other in plaintext over loopback: TLS
    // (ZEROTRACE_TLS_*) is for the standalone binaries. A non-loopback
    // listen still needs ZEROTRACE_INSECURE_LISTEN.
    for tls in [&mut agent.tls, &mut enrichment.tls, &mut api.tls] {
        *tls = zerotrace_server::TlsArgs {
            insecure_listen: tls.insecure_listen,
            ..Default::default()
        };
    }
    agent.upstream_tls = zerotrace_server::TlsClientArgs::default();
    // A token enrichment requires (ZEROTRACE_ENRICHMENT_TOKEN) is the one up's agent presents.
    agent.enrichment_token = enrichment.token.clone();

    print_banner(
        &args,
        &agent_listeners,
        &enrichment_listeners,
        &api_listeners,
        &reader_token,
        &advisory_data_line(&enrichment),
    );

    let (stop, stopped) = watch::channel(false);
    let stop = std::sync::Arc::new(stop);
    let signal_stop = stop.clone();
    let signal = async move {
        zerotrace_server::shutdown_signal().await;
        let _ = signal_stop.send(true);
    };
    let until_stopped = || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    };
    // A service that ends on its own (it could not start, or failed) stops
    // the other two: `up` is one process, it runs whole or not at all.
    let stop_all = |result| {
        let _ = stop.send(true);
        result
    };
    let signal_task = tokio::spawn(signal);
    let (a, e, p) = tokio::join!(
        async {
            stop_all(
                zerotrace_agent::serve(agent, agent_listeners, until_stopped())
                    .await
                    .map_err(|e| e.to_string()),
            )
        },
        async {
            stop_all(
                zerotrace_enrichment::serve(enrichment, enrichment_listeners, until_stopped())
                    .await
                    .map_err(|e| e.to_string()),
            )
        },
        async {
            stop_all(
                zerotrace_api::serve(api, api_listeners, until_stopped())
                    .await
                    .map_err(|e| e.to_string()),
            )
        },
    );
    signal_task.abort();
    let mut ok = true;
    for (name, failure) in [("agent", a.err()), ("enrichment", e.err()), ("api", p.err())] {
        if let Some(message) = failure {
            eprintln!("zerotrace: {name} failed: {message}");
            ok = false;
        }
    }
    Ok(if ok { EXIT_OK } else { EXIT_FAILURE })
}

/// One line on the advisory data `up` starts with: where it comes from,
/// and, when there is none, that scans fail until there is.
fn advisory_data_line(config: &EnrichmentConfig) -> String {
    let offline = format!(
        "offline: zerotrace db import all.zip known_exploited_vulnerabilities.json epss_scores.csv.gz --data-dir {}",
        config.data_dir.parent().unwrap_or(&config.data_dir).display()
    );
    let held = Database::exists(&config.data_dir)
        .then(|| Database::open(&config.data_dir).and_then(|db| db.info()).ok())
        .flatten()
        .filter(|info| info.advisories > 0);
    let syncing = !config.sync_interval.is_zero();
    match held {
        _ if !config.import.is_empty() => format!("Advisory data: importing {} path(s) at start", config.import.len()),
        Some(info) => format!(
            "Advisory data: {} advisories, generation {}; {}",
            info.advisories,
            info.generation,
            if syncing {
                format!(
                    "synced every {}",
                    zerotrace_advisory::time::format_age(config.sync_interval.as_secs())
                )
            } else {
                "background sync off".to_string()
            }
        ),
        None if syncing => format!(
            "Advisory data: none yet; syncing OSV, KEV and EPSS from {} now; scans fail until it lands ({offline})",
            config.osv_base_url
        ),
        None => format!("Advisory data: none, and the background sync is off; scans fail until you import ({offline})"),
    }
}

fn print_banner(
    args: &UpArgs,
    agent: &Listeners,
    enrichment: &Listeners,
    api: &Listeners,
    reader_token: &str,
    advisory_data: &str,
) {
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
    println!("{advisory_data}");
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
