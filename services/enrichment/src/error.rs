//! The enrichment service's errors and their one mapping to gRPC statuses.

/// Everything the enrichment service can fail with.
#[derive(Debug, thiserror::Error)]
pub enum EnrichmentError {
    /// Serving failed (bind, transport).
    #[error(transparent)]
    Server(#[from] zerotrace_server::ServerError),
    /// Telemetry could not start.
    #[error(transparent)]
    Telemetry(#[from] zerotrace_telemetry::TelemetryError),
    /// The data directory is unusable.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The advisory database failed to open or import.
    #[error(transparent)]
    Database(#[from] zerotrace_advisory::Error),
    /// The request is malformed or over a limit.
    #[error("{0}")]
    InvalidArgument(String),
    /// No advisory has this id or alias.
    #[error("no advisory with id or alias {0:?}")]
    NotFound(String),
}

impl From<EnrichmentError> for tonic::Status {
    fn from(error: EnrichmentError) -> Self {
        match error {
            EnrichmentError::InvalidArgument(message) => tonic::Status::invalid_argument(message),
            EnrichmentError::NotFound(_) => tonic::Status::not_found(error.to_string()),
            other => {
                tracing::error!(error = %other, "enrichment request failed");
                tonic::Status::internal("internal error")
            }
        }
    }
}
