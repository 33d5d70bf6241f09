//! The enrichment service's errors: why it could not start ([`StartError`])
//! and why a request failed ([`EnrichmentError`], mapped to a gRPC status
//! through the one map of `zerotrace_server::status`).

use zerotrace_server::{Kind, Problem};

/// Why the enrichment service could not start or serve.
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
        /// The directory.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The advisory database failed to open or a start-up import failed.
    #[error(transparent)]
    Database(#[from] zerotrace_advisory::Error),
    /// A configuration value is unusable.
    #[error("{0}")]
    Config(String),
    /// The start-up work failed (its task panicked).
    #[error("{0}")]
    Internal(String),
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum EnrichmentError {
    /// The request is malformed.
    #[error("{0}")]
    InvalidArgument(String),
    /// The request holds more items than the service takes in one call.
    #[error("{count} {what} in one request; the limit is {limit}")]
    TooLarge {
        /// What was counted (`packages`, `ids`).
        what: &'static str,
        /// How many the request holds.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// No advisory has this id or alias.
    #[error("no advisory with id or alias {0:?}")]
    NotFound(String),
    /// The database holds no advisory: matching would be a false all-clear.
    #[error("the advisory database is empty: {0}")]
    NoData(String),
    /// The advisory database failed.
    #[error(transparent)]
    Database(#[from] zerotrace_advisory::Error),
}

impl EnrichmentError {
    /// Says what went wrong, as every ZeroTrace service does.
    pub fn problem(&self) -> Problem {
        match self {
            EnrichmentError::InvalidArgument(m) => Problem::new(Kind::InvalidArgument, "INVALID_ARGUMENT", m.clone()),
            EnrichmentError::TooLarge { what, limit, .. } => {
                Problem::new(Kind::TooLarge, "BATCH_TOO_LARGE", self.to_string())
                    .with("limit", limit)
                    .with("counted", what)
            }
            EnrichmentError::NotFound(_) => Problem::new(Kind::NotFound, "ADVISORY_NOT_FOUND", self.to_string()),
            EnrichmentError::NoData(_) => Problem::new(Kind::FailedPrecondition, "NO_ADVISORY_DATA", self.to_string()),
            EnrichmentError::Database(e) => Problem::internal(e),
        }
    }
}

impl From<EnrichmentError> for tonic::Status {
    fn from(error: EnrichmentError) -> Self {
        error.problem().into()
    }
}
