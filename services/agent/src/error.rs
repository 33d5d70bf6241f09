//! The agent's errors and their one mapping to gRPC statuses.

/// Everything the agent can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
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
    /// A needed upstream service is not configured.
    #[error("{0}")]
    NotConfigured(&'static str),
    /// An upstream service answered with an error.
    #[error("upstream call failed: {}: {}", .0.code(), .0.message())]
    Upstream(tonic::Status),
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
    /// The lockfile walk failed.
    #[error(transparent)]
    Inventory(#[from] zerotrace_inventory::InventoryError),
}

impl From<AgentError> for tonic::Status {
    fn from(error: AgentError) -> Self {
        match error {
            AgentError::InvalidArgument(m) => tonic::Status::invalid_argument(m),
            AgentError::PermissionDenied(m) => tonic::Status::permission_denied(m),
            AgentError::NotFound(_) => tonic::Status::not_found(error.to_string()),
            AgentError::AlreadyRunning(m) => tonic::Status::already_exists(m),
            other => {
                tracing::error!(error = %other, "agent request failed");
                tonic::Status::internal("internal error")
            }
        }
    }
}
