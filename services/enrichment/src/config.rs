//! The enrichment service's configuration.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use zerotrace_server::parse_duration;

/// Default gRPC address of the enrichment service.
pub const DEFAULT_GRPC_ADDR: &str = "127.0.0.1:50052";
/// Default `/metrics` address of the enrichment service.
pub const DEFAULT_METRICS_ADDR: &str = "127.0.0.1:9102";

/// Configuration of `zerotrace-enrichment`, from flags or `ZEROTRACE_ENRICHMENT_*` variables.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "zerotrace-enrichment",
    version,
    about = "ZeroTrace enrichment service: the advisory database"
)]
pub struct EnrichmentConfig {
    /// gRPC listen address.
    #[arg(long, env = "ZEROTRACE_ENRICHMENT_LISTEN", default_value = DEFAULT_GRPC_ADDR)]
    pub listen: SocketAddr,
    /// Prometheus `/metrics` listen address.
    #[arg(long, env = "ZEROTRACE_ENRICHMENT_METRICS_LISTEN", default_value = DEFAULT_METRICS_ADDR)]
    pub metrics_listen: SocketAddr,
    /// Directory holding the advisory database.
    #[arg(
        long,
        env = "ZEROTRACE_ENRICHMENT_DATA_DIR",
        default_value = "./zerotrace-data/enrichment"
    )]
    pub data_dir: PathBuf,
    /// Advisory sources imported at start, before the service reports SERVING
    /// (OSV `all.zip` or directory, KEV JSON, EPSS CSV; repeatable).
    #[arg(long = "import", env = "ZEROTRACE_ENRICHMENT_IMPORT", value_delimiter = ',')]
    pub import: Vec<PathBuf>,
    /// Largest number of entries in each cache (vulnerabilities, package matches).
    #[arg(long, env = "ZEROTRACE_ENRICHMENT_CACHE_MAX_ENTRIES", default_value_t = 100_000)]
    pub cache_max_entries: u64,
    /// How long a cached entry lives.
    #[arg(long, env = "ZEROTRACE_ENRICHMENT_CACHE_TTL", default_value = "1h", value_parser = parse_duration)]
    pub cache_ttl: Duration,
    /// Largest MatchPackages batch; larger ones are INVALID_ARGUMENT.
    #[arg(long, env = "ZEROTRACE_ENRICHMENT_MAX_BATCH_SIZE", default_value_t = 10_000)]
    pub max_batch_size: u32,
    /// How long in-flight calls may finish after SIGTERM.
    #[arg(long, env = "ZEROTRACE_ENRICHMENT_SHUTDOWN_GRACE", default_value = "10s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,
    /// Whether `OTEL_SERVICE_NAME` may rename the service (the binary; not `zerotrace up`).
    #[arg(skip)]
    pub service_name_from_env: bool,
}
