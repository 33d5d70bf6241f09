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
#[derive(Debug, Clone, clap::Parser)]
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
    /// Directory holding the embedded SQLite database.
    #[arg(long, env = "ZEROTRACE_API_DATA_DIR", default_value = "./zerotrace-data/api")]
    pub data_dir: PathBuf,
    /// How long in-flight calls may finish after SIGTERM.
    #[arg(long, env = "ZEROTRACE_API_SHUTDOWN_GRACE", default_value = "10s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,
}
