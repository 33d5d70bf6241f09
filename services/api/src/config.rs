//! The API service's configuration.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use zerotrace_server::parse_duration;

/// Default gRPC address of the API service.
pub const DEFAULT_GRPC_ADDR: &str = "127.0.0.1:50053";
/// Default `/metrics` address of the API service.
pub const DEFAULT_METRICS_ADDR: &str = "127.0.0.1:9103";

/// Configuration of `zerotrace-api`, from flags or `ZEROTRACE_API_*` variables.
#[derive(Clone, clap::Parser)]
#[command(
    name = "zerotrace-api",
    version,
    about = "ZeroTrace API service: agents, scan reports, findings"
)]
pub struct ApiConfig {
    /// gRPC listen address.
    #[arg(long, env = "ZEROTRACE_API_LISTEN", default_value = DEFAULT_GRPC_ADDR)]
    pub listen: SocketAddr,
    /// Prometheus `/metrics` listen address.
    #[arg(long, env = "ZEROTRACE_API_METRICS_LISTEN", default_value = DEFAULT_METRICS_ADDR)]
    pub metrics_listen: SocketAddr,
    /// Directory holding the embedded SQLite database (and the generated reader token).
    #[arg(long, env = "ZEROTRACE_API_DATA_DIR", default_value = "./zerotrace-data/api")]
    pub data_dir: PathBuf,
    /// How long in-flight calls may finish after SIGTERM.
    #[arg(long, env = "ZEROTRACE_API_SHUTDOWN_GRACE", default_value = "10s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,
    /// TLS of the gRPC listener.
    #[command(flatten)]
    pub tls: zerotrace_server::TlsArgs,
    /// PostgreSQL URL (`postgres://user@host/db`); empty for SQLite in the data directory.
    #[arg(long, env = "ZEROTRACE_API_DATABASE_URL", default_value = "", hide_env_values = true)]
    pub database_url: String,
    /// Bearer token of read calls; empty to generate one into `<data-dir>/reader_token`.
    #[arg(long, env = "ZEROTRACE_API_READER_TOKEN", default_value = "", hide_env_values = true)]
    pub reader_token: String,
    /// Bearer token RegisterAgent requires; empty lets anyone register a new agent.
    #[arg(
        long,
        env = "ZEROTRACE_API_REGISTRATION_TOKEN",
        default_value = "",
        hide_env_values = true
    )]
    pub registration_token: String,
    /// Bearer token of admin calls (ResetAgentToken, the writes of decisions); empty: admin calls are refused.
    #[arg(long, env = "ZEROTRACE_API_ADMIN_TOKEN", default_value = "", hide_env_values = true)]
    pub admin_token: String,
    /// Requests handled at once; more are refused with RESOURCE_EXHAUSTED.
    #[arg(long, env = "ZEROTRACE_API_MAX_CONCURRENT_REQUESTS", default_value_t = 256)]
    pub max_concurrent_requests: usize,
    /// Longest a unary call may take (WatchFindings streams are exempt).
    #[arg(long, env = "ZEROTRACE_API_REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: Duration,
    /// Agent calls per second per agent token (bursts of twice that); 0 turns the limit off.
    #[arg(long, env = "ZEROTRACE_API_RATE_LIMIT_PER_AGENT", default_value_t = 50)]
    pub rate_limit_per_agent: u32,
    /// Largest accepted request message, bytes.
    #[arg(long, env = "ZEROTRACE_API_MAX_MESSAGE_SIZE", default_value_t = 16 * 1024 * 1024)]
    pub max_message_size: usize,
    /// Request bytes all calls in flight may hold together; past it calls are
    /// refused with RESOURCE_EXHAUSTED (at least --max-message-size).
    #[arg(long, env = "ZEROTRACE_API_MAX_INFLIGHT_BYTES", default_value_t = 256 * 1024 * 1024)]
    pub max_inflight_bytes: usize,
    /// RegisterAgent calls per second per peer address (bursts of twice that); 0 turns the limit off.
    #[arg(long, env = "ZEROTRACE_API_REGISTRATIONS_PER_PEER", default_value_t = 5)]
    pub registrations_per_peer: u32,
    /// Most findings one scan report may carry.
    #[arg(long, env = "ZEROTRACE_API_MAX_FINDINGS_PER_REPORT", default_value_t = 50_000)]
    pub max_findings_per_report: usize,
    /// An agent heard from within this window is online.
    #[arg(long, env = "ZEROTRACE_API_ONLINE_WINDOW", default_value = "2m", value_parser = parse_duration)]
    pub online_window: Duration,
    /// An agent not heard from for this long is offline (stale in between).
    #[arg(long, env = "ZEROTRACE_API_OFFLINE_AFTER", default_value = "15m", value_parser = parse_duration)]
    pub offline_after: Duration,
    /// Delete scans received and findings resolved longer ago than this
    /// (hourly; the newest scan of each agent and open findings stay); `0`
    /// keeps everything.
    #[arg(long, env = "ZEROTRACE_API_RETENTION", default_value = "0s", value_parser = parse_duration)]
    pub retention: Duration,
    /// Stored reports a WatchFindings stream may fall behind before it is ended.
    #[arg(long, env = "ZEROTRACE_API_WATCH_BUFFER", default_value_t = 1024)]
    pub watch_buffer: usize,
    /// Prints `zerotrace-api listening grpc=ADDR metrics=ADDR` on stdout once bound.
    #[arg(long, env = "ZEROTRACE_API_PRINT_ADDR")]
    pub print_addr: bool,
    /// Whether `OTEL_SERVICE_NAME` may rename the service (the binary; not `zerotrace up`).
    #[arg(skip)]
    pub service_name_from_env: bool,
}

impl std::fmt::Debug for ApiConfig {
    // Tokens and the database URL (which may hold a password) stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |s: &str| if s.is_empty() { "" } else { "<redacted>" };
        f.debug_struct("ApiConfig")
            .field("listen", &self.listen)
            .field("metrics_listen", &self.metrics_listen)
            .field("data_dir", &self.data_dir)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("database_url", &redacted(&self.database_url))
            .field("reader_token", &redacted(&self.reader_token))
            .field("registration_token", &redacted(&self.registration_token))
            .field("admin_token", &redacted(&self.admin_token))
            .field("max_concurrent_requests", &self.max_concurrent_requests)
            .field("request_timeout", &self.request_timeout)
            .field("rate_limit_per_agent", &self.rate_limit_per_agent)
            .field("max_message_size", &self.max_message_size)
            .field("max_inflight_bytes", &self.max_inflight_bytes)
            .field("registrations_per_peer", &self.registrations_per_peer)
            .field("max_findings_per_report", &self.max_findings_per_report)
            .field("online_window", &self.online_window)
            .field("offline_after", &self.offline_after)
            .field("watch_buffer", &self.watch_buffer)
            .field("retention", &self.retention)
            .field("print_addr", &self.print_addr)
            .finish()
    }
}

impl ApiConfig {
    /// Returns the defaults with `data_dir`, as tests and embedders start from.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        let mut config = <Self as clap::Parser>::parse_from(["zerotrace-api"]);
        config.data_dir = data_dir.into();
        config
    }
}
