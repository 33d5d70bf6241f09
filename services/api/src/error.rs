//! The API service's errors and their one mapping to gRPC statuses.

/// Everything the API service can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
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

impl From<ApiError> for tonic::Status {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::Unimplemented(_) => tonic::Status::unimplemented(error.to_string()),
            other => {
                tracing::error!(error = %other, "api request failed");
                tonic::Status::internal("internal error")
            }
        }
    }
}
