//! The agent's configuration.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use zerotrace_server::{Secret, parse_duration};

/// Default gRPC address of the agent.
pub const DEFAULT_GRPC_ADDR: &str = "127.0.0.1:50051";
/// Default `/metrics` address of the agent.
pub const DEFAULT_METRICS_ADDR: &str = "127.0.0.1:9101";

/// Configuration of `zerotrace-agent`, from flags or `ZEROTRACE_AGENT_*` variables.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "zerotrace-agent",
    version,
    about = "ZeroTrace agent: scans source trees for vulnerable dependencies"
)]
pub struct AgentConfig {
    /// gRPC listen address.
    #[arg(long, env = "ZEROTRACE_AGENT_LISTEN", default_value = DEFAULT_GRPC_ADDR)]
    pub listen: SocketAddr,
    /// Prometheus `/metrics` listen address.
    #[arg(long, env = "ZEROTRACE_AGENT_METRICS_LISTEN", default_value = DEFAULT_METRICS_ADDR)]
    pub metrics_listen: SocketAddr,
    /// Directory holding the agent id and the incremental-scan cache.
    #[arg(long, env = "ZEROTRACE_AGENT_DATA_DIR", default_value = "./zerotrace-data/agent")]
    pub data_dir: PathBuf,
    /// Roots that scans may lie under (repeatable, or comma-separated in the variable).
    #[arg(
        long = "allowed-root",
        env = "ZEROTRACE_AGENT_ALLOWED_ROOTS",
        value_delimiter = ',',
        default_value = "."
    )]
    pub allowed_roots: Vec<PathBuf>,
    /// Interval between periodic scans of every allowed root; 0 turns them off.
    #[arg(long, env = "ZEROTRACE_AGENT_SCAN_INTERVAL", default_value = "0s", value_parser = parse_duration)]
    pub scan_interval: Duration,
    /// A periodic scan of a root is full (it resolves the findings it no longer sees) when the root's last full
    /// scan is this old; the others are incremental. 0 makes every periodic scan full.
    #[arg(long, env = "ZEROTRACE_AGENT_FULL_SCAN_INTERVAL", default_value = "24h", value_parser = parse_duration)]
    pub full_scan_interval: Duration,
    /// Enrichment service URL (e.g. http://127.0.0.1:50052); empty for none.
    #[arg(long, env = "ZEROTRACE_AGENT_ENRICHMENT_URL", default_value = "")]
    pub enrichment_url: String,
    /// API service URL (e.g. http://127.0.0.1:50053); empty for none.
    #[arg(long, env = "ZEROTRACE_AGENT_API_URL", default_value = "")]
    pub api_url: String,
    /// Bearer token to register with, when the API requires one (--registration-token there).
    #[arg(
        long,
        env = "ZEROTRACE_AGENT_REGISTRATION_TOKEN",
        default_value = "",
        hide_env_values = true
    )]
    pub registration_token: Secret,
    /// Only walk paths matching these globs (relative to the scan root; repeatable).
    #[arg(long = "include", env = "ZEROTRACE_AGENT_INCLUDE", value_delimiter = ',')]
    pub include: Vec<String>,
    /// Skip paths matching these globs (relative to the scan root; repeatable).
    #[arg(long = "exclude", env = "ZEROTRACE_AGENT_EXCLUDE", value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Deepest directory level walked below the root; unlimited when unset.
    #[arg(long, env = "ZEROTRACE_AGENT_MAX_DEPTH")]
    pub max_depth: Option<usize>,
    /// Largest lockfile read, in bytes; larger ones are reported as scan errors.
    #[arg(long, env = "ZEROTRACE_AGENT_MAX_FILE_SIZE", default_value_t = 64 * 1024 * 1024)]
    pub max_file_size: u64,
    /// Walker threads; 0 uses every core.
    #[arg(long, env = "ZEROTRACE_AGENT_WALK_THREADS", default_value_t = 0)]
    pub walk_threads: usize,
    /// How often CPU and memory gauges are sampled.
    #[arg(long, env = "ZEROTRACE_AGENT_RESOURCE_INTERVAL", default_value = "15s", value_parser = parse_duration)]
    pub resource_interval: Duration,
    /// Longest a scan may run; past it the scan fails, its walk is stopped and its root is free again.
    #[arg(long, env = "ZEROTRACE_AGENT_SCAN_TIMEOUT", default_value = "1h", value_parser = parse_duration)]
    pub scan_timeout: Duration,
    /// Scans running at once; TriggerScan past it is RESOURCE_EXHAUSTED.
    #[arg(long, env = "ZEROTRACE_AGENT_MAX_CONCURRENT_SCANS", default_value_t = 4)]
    pub max_concurrent_scans: usize,
    /// How long in-flight calls may finish after SIGTERM.
    #[arg(long, env = "ZEROTRACE_AGENT_SHUTDOWN_GRACE", default_value = "10s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,
    /// TLS of the gRPC listener.
    #[command(flatten)]
    pub tls: zerotrace_server::TlsArgs,
    /// Bearer token every call to the agent must carry (health and reflection aside); needed beyond loopback unless mutual TLS.
    #[arg(long, env = "ZEROTRACE_AGENT_TOKEN", default_value = "", hide_env_values = true)]
    pub token: Secret,
    /// Bearer token of the enrichment service (its --token), if it requires one.
    #[arg(
        long,
        env = "ZEROTRACE_AGENT_ENRICHMENT_TOKEN",
        default_value = "",
        hide_env_values = true
    )]
    pub enrichment_token: Secret,
    /// TLS of the calls to enrichment and the API (https:// URLs).
    #[command(flatten)]
    pub upstream_tls: zerotrace_server::TlsClientArgs,
    /// Whether `OTEL_SERVICE_NAME` may rename the service (the binary; not `zerotrace up`).
    #[arg(skip)]
    pub service_name_from_env: bool,
}
