//! The enrichment service's configuration.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use zerotrace_advisory::sync::{self, Sources};
use zerotrace_ecosystem::Ecosystem;
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
    /// Largest size of each cache, bytes (keys and answers as encoded); the
    /// entry limit and this one both hold.
    #[arg(long, env = "ZEROTRACE_ENRICHMENT_CACHE_MAX_BYTES", default_value_t = 256 * 1024 * 1024)]
    pub cache_max_bytes: u64,
    /// How long a cached entry lives.
    #[arg(long, env = "ZEROTRACE_ENRICHMENT_CACHE_TTL", default_value = "1h", value_parser = parse_duration)]
    pub cache_ttl: Duration,
    /// Largest MatchPackages batch; larger ones are INVALID_ARGUMENT.
    #[arg(long, env = "ZEROTRACE_ENRICHMENT_MAX_BATCH_SIZE", default_value_t = 10_000)]
    pub max_batch_size: u32,
    /// How often the advisory data is synced (with 10% jitter); `0s` turns the
    /// background sync off (import with `zerotrace db import` instead).
    #[arg(long, env = "ZEROTRACE_ENRICHMENT_SYNC_INTERVAL", default_value = "6h", value_parser = parse_duration)]
    pub sync_interval: Duration,
    /// Data older than this is stale: synced at start, flagged in scans and in
    /// `zerotrace_advisory_data_age_seconds` against `..._max_age_seconds`.
    #[arg(long, env = "ZEROTRACE_ENRICHMENT_MAX_DATA_AGE", default_value = "5d", value_parser = parse_duration)]
    pub max_data_age: Duration,
    /// The OSV ecosystems this service keeps data for (synced, watched for
    /// age); default every ecosystem ZeroTrace reads.
    #[arg(long = "ecosystem", env = "ZEROTRACE_ENRICHMENT_ECOSYSTEMS", value_delimiter = ',', value_parser = parse_ecosystem)]
    pub ecosystems: Vec<Ecosystem>,
    /// Where OSV zips come from: `{URL}/{ecosystem}/all.zip` (https://, http:// or file://).
    #[arg(long, env = "ZEROTRACE_ENRICHMENT_OSV_BASE_URL", default_value = sync::DEFAULT_OSV_BASE_URL)]
    pub osv_base_url: String,
    /// Where the CISA KEV catalog comes from; empty to skip it.
    #[arg(long, env = "ZEROTRACE_ENRICHMENT_KEV_URL", default_value = sync::DEFAULT_KEV_URL)]
    pub kev_url: String,
    /// Where the EPSS scores come from; empty to skip them.
    #[arg(long, env = "ZEROTRACE_ENRICHMENT_EPSS_URL", default_value = sync::DEFAULT_EPSS_URL)]
    pub epss_url: String,
    /// Longest a single download may take.
    #[arg(long, env = "ZEROTRACE_ENRICHMENT_SYNC_TIMEOUT", default_value = "10m", value_parser = parse_duration)]
    pub sync_timeout: Duration,
    /// How long in-flight calls may finish after SIGTERM.
    #[arg(long, env = "ZEROTRACE_ENRICHMENT_SHUTDOWN_GRACE", default_value = "10s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,
    /// TLS of the gRPC listener.
    #[command(flatten)]
    pub tls: zerotrace_server::TlsArgs,
    /// Bearer token every call must carry (health and reflection aside); needed beyond loopback unless mutual TLS.
    #[arg(long, env = "ZEROTRACE_ENRICHMENT_TOKEN", default_value = "", hide_env_values = true)]
    pub token: zerotrace_server::Secret,
    /// Whether `OTEL_SERVICE_NAME` may rename the service (the binary; not `zerotrace up`).
    #[arg(skip)]
    pub service_name_from_env: bool,
}

impl EnrichmentConfig {
    /// Where each source comes from, as configured.
    pub fn sources(&self) -> Sources {
        let url = |u: &str| Some(u.trim().to_string()).filter(|u| !u.is_empty());
        Sources {
            osv_base_url: self.osv_base_url.trim().trim_end_matches('/').to_string(),
            ecosystems: self.ecosystems(),
            kev_url: url(&self.kev_url),
            epss_url: url(&self.epss_url),
            timeout: self.sync_timeout,
            ..Sources::default()
        }
    }

    /// The ecosystems this service keeps data for.
    pub fn ecosystems(&self) -> Vec<Ecosystem> {
        if self.ecosystems.is_empty() {
            Ecosystem::ALL.to_vec()
        } else {
            self.ecosystems.clone()
        }
    }
}

fn parse_ecosystem(name: &str) -> Result<Ecosystem, String> {
    Ecosystem::from_osv(name.trim())
        .filter(|_| !name.contains(':'))
        .ok_or_else(|| {
            let known: Vec<&str> = Ecosystem::ALL.iter().map(|e| e.osv_name()).collect();
            format!("unknown ecosystem {name:?} (one of: {})", known.join(", "))
        })
}
