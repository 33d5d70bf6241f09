//! The API service's errors and their one mapping to gRPC statuses.

use crate::store::StoreError;

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
    /// A secret could not be made or read (randomness, the reader token file).
    #[error("{0}")]
    Secret(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No token, or one that is not valid for the call.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// A valid token that may not do this.
    #[error("{0}")]
    PermissionDenied(String),
    /// The request is malformed.
    #[error("{0}")]
    InvalidArgument(String),
    /// The thing asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A scan id reused for a different report.
    #[error("{0}")]
    AlreadyExists(String),
    /// A size or rate limit was exceeded.
    #[error("{0}")]
    ResourceExhausted(String),
    /// The service is shutting down.
    #[error("{0}")]
    Unavailable(&'static str),
}

impl ApiError {
    /// Returns an [`ApiError::InvalidArgument`] with `message`.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        ApiError::InvalidArgument(message.into())
    }
}

impl From<ApiError> for tonic::Status {
    fn from(error: ApiError) -> Self {
        use tonic::Status;
        match error {
            ApiError::Unauthenticated(m) => Status::unauthenticated(m),
            ApiError::PermissionDenied(m) => Status::permission_denied(m),
            ApiError::InvalidArgument(m) => Status::invalid_argument(m),
            ApiError::NotFound(m) => Status::not_found(m),
            ApiError::AlreadyExists(m) => Status::already_exists(m),
            ApiError::ResourceExhausted(m) => Status::resource_exhausted(m),
            ApiError::Unavailable(m) => Status::unavailable(m),
            ApiError::Store(StoreError::Unavailable(e)) => {
                tracing::warn!(error = %e, "database unavailable");
                Status::unavailable("database unavailable, retry later")
            }
            other => {
                tracing::error!(error = %other, "api request failed");
                Status::internal("internal error")
            }
        }
    }
}
