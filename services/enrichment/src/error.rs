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
    /// A method a later issue implements.
    #[error("{0} is not implemented yet")]
    Unimplemented(&'static str),
}

impl From<EnrichmentError> for tonic::Status {
    fn from(error: EnrichmentError) -> Self {
        match error {
            EnrichmentError::Unimplemented(_) => tonic::Status::unimplemented(error.to_string()),
            other => {
                tracing::error!(error = %other, "enrichment request failed");
                tonic::Status::internal("internal error")
            }
        }
    }
}
