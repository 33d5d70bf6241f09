//! The agent's errors: why it could not start ([`StartError`]) and why a
//! request or a scan failed ([`AgentError`], mapped to a gRPC status through
//! the one map of `zerotrace_server::status`).

use zerotrace_server::{Kind, Problem};

/// Why the agent could not start or serve.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Serving failed (bind, transport).
    #[error(transparent)]
    Server(#[from] zerotrace_server::ServerError),
    /// Telemetry could not start.
    #[error(transparent)]
    Telemetry(#[from] zerotrace_telemetry::TelemetryError),
    /// The data directory is unusable.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory or file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A configuration value is unusable.
    #[error("{0}")]
    Config(String),
}

/// Why a request or a scan failed.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The request is malformed.
    #[error("{0}")]
    InvalidArgument(String),
    /// The scan root lies outside the allowed roots.
    #[error("{0}")]
    PermissionDenied(String),
    /// No scan with this id.
    #[error("no scan with id {0:?}")]
    NotFound(String),
    /// The root is being scanned already.
    #[error("{0}")]
    AlreadyRunning(String),
    /// The agent runs as many scans as it may.
    #[error("{0}")]
    Busy(String),
    /// The scan ran longer than --scan-timeout.
    #[error("{0}")]
    TimedOut(String),
    /// A needed upstream service is not configured.
    #[error("{0}")]
    NotConfigured(&'static str),
    /// An upstream service answered with an error.
    #[error("upstream call failed: {}: {}", .0.code(), .0.message())]
    Upstream(tonic::Status),
    /// A scan's report is over the limits the API told; it was not sent.
    #[error("the report was not sent, being over the api's limits: {0}")]
    ReportOverLimit(zerotrace_proto::reports::OverLimit),
    /// The lockfile walk failed.
    #[error(transparent)]
    Inventory(#[from] zerotrace_inventory::InventoryError),
    /// A file of the data directory could not be written.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The agent failed (a task panicked, a lock was poisoned).
    #[error("{0}")]
    Internal(String),
}

impl AgentError {
    /// Says what went wrong, as every ZeroTrace service does.
    pub fn problem(&self) -> Problem {
        match self {
            AgentError::InvalidArgument(m) => Problem::new(Kind::InvalidArgument, "INVALID_ARGUMENT", m.clone()),
            AgentError::PermissionDenied(m) => Problem::new(Kind::PermissionDenied, "ROOT_NOT_ALLOWED", m.clone()),
            AgentError::NotFound(_) => Problem::new(Kind::NotFound, "SCAN_NOT_FOUND", self.to_string()),
            AgentError::AlreadyRunning(m) => Problem::new(Kind::AlreadyExists, "SCAN_RUNNING", m.clone()),
            AgentError::Busy(m) => Problem::new(Kind::Busy, "TOO_MANY_SCANS", m.clone()),
            AgentError::ReportOverLimit(over) => {
                Problem::new(Kind::TooLarge, over.reason, self.to_string()).with("limit", over.limit)
            }
            other => Problem::internal(other),
        }
    }
}

impl From<AgentError> for tonic::Status {
    fn from(error: AgentError) -> Self {
        error.problem().into()
    }
}
