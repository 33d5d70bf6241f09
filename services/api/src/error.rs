//! The API service's errors: why it could not start ([`StartError`]) and why
//! a request failed ([`ApiError`], mapped to a gRPC status through the one
//! map of `zerotrace_server::status`).

use crate::store::StoreError;
use std::time::Duration;
use zerotrace_server::{Kind, Problem};

/// How long a client should wait before retrying a call the server could
/// not take now (a rate or concurrency limit, a database hiccup).
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Why the API service could not start or serve.
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
    /// A secret could not be made or read (randomness, the reader token file).
    #[error("{0}")]
    Secret(String),
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The call carries no token where it needs one.
    #[error("missing {0} (authorization: Bearer <token>)")]
    TokenMissing(&'static str),
    /// The call's token is not valid for it.
    #[error("invalid {0}")]
    TokenInvalid(&'static str),
    /// A valid token that may not do this.
    #[error("{message}")]
    PermissionDenied {
        /// Stable reason (`AGENT_MISMATCH`, `AGENT_ID_TAKEN`).
        reason: &'static str,
        /// For people.
        message: String,
    },
    /// The request is malformed.
    #[error("{0}")]
    InvalidArgument(String),
    /// The thing asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// What the call would create exists already: a scan id reused for a
    /// different report, a decision id taken.
    #[error("{message}")]
    AlreadyExists {
        /// Stable reason (`SCAN_ID_CONFLICT`, `DECISION_EXISTS`).
        reason: &'static str,
        /// For people.
        message: String,
    },
    /// What the call would change changed since the caller read it (its etag).
    #[error("{0}")]
    Aborted(String),
    /// The request is over a limit it can never fit.
    #[error("{message}")]
    TooLarge {
        /// Stable reason (`TOO_MANY_FINDINGS`).
        reason: &'static str,
        /// For people.
        message: String,
        /// The limit.
        limit: u64,
    },
    /// The agent sends faster than its rate limit; later calls pass.
    #[error("rate limit of {0} requests/s per agent exceeded; retry later")]
    RateLimited(f64),
    /// One peer registers faster than its rate limit; later calls pass.
    #[error("rate limit of {0} registrations/s per peer address exceeded; retry later")]
    RegistrationsLimited(f64),
    /// A WatchFindings resume token points before what the retention job kept.
    #[error(
        "the resume token is older than the API's retention (--retention deleted events up to {floor}): \
         watch again without it, and list findings to catch up"
    )]
    ResumeTokenExpired {
        /// The event floor.
        floor: i64,
    },
    /// A WatchFindings stream fell behind the live feed; resume and watch again.
    #[error("stream fell behind; watch again with the last resume_token")]
    StreamLagged,
    /// The service cannot serve this now.
    #[error("{message}")]
    Unavailable {
        /// Stable reason (`SHUTTING_DOWN`, `REPLICA_FEED_LOST`).
        reason: &'static str,
        /// For people.
        message: &'static str,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The service failed.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// Returns an [`ApiError::InvalidArgument`] with `message`.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        ApiError::InvalidArgument(message.into())
    }

    /// Returns an [`ApiError::PermissionDenied`].
    pub(crate) fn denied(reason: &'static str, message: impl Into<String>) -> Self {
        ApiError::PermissionDenied {
            reason,
            message: message.into(),
        }
    }

    /// Says what went wrong, as every ZeroTrace service does.
    pub fn problem(&self) -> Problem {
        let message = self.to_string();
        match self {
            ApiError::TokenMissing(_) => Problem::new(Kind::Unauthenticated, "TOKEN_MISSING", message),
            ApiError::TokenInvalid(_) => Problem::new(Kind::Unauthenticated, "TOKEN_INVALID", message),
            ApiError::PermissionDenied { reason, .. } => Problem::new(Kind::PermissionDenied, reason, message),
            ApiError::InvalidArgument(_) => Problem::new(Kind::InvalidArgument, "INVALID_ARGUMENT", message),
            ApiError::NotFound(_) => Problem::new(Kind::NotFound, "NOT_FOUND", message),
            ApiError::AlreadyExists { reason, .. } => Problem::new(Kind::AlreadyExists, reason, message),
            ApiError::Aborted(_) => Problem::new(Kind::Aborted, "ETAG_MISMATCH", message),
            ApiError::TooLarge { reason, limit, .. } => {
                Problem::new(Kind::TooLarge, reason, message).with("limit", limit)
            }
            ApiError::RateLimited(limit) => Problem::new(Kind::Busy, "RATE_LIMITED", message)
                .with("limit", limit)
                .retry_after(RETRY_AFTER),
            ApiError::RegistrationsLimited(limit) => Problem::new(Kind::Busy, "REGISTRATIONS_LIMITED", message)
                .with("limit", limit)
                .retry_after(RETRY_AFTER),
            ApiError::ResumeTokenExpired { floor } => {
                Problem::new(Kind::FailedPrecondition, "RESUME_TOKEN_EXPIRED", message).with("floor", floor)
            }
            ApiError::StreamLagged => Problem::new(Kind::Busy, "STREAM_LAGGED", message).retry_after(Duration::ZERO),
            ApiError::Unavailable { reason, .. } => {
                Problem::new(Kind::Unavailable, reason, message).retry_after(RETRY_AFTER)
            }
            ApiError::Store(StoreError::Unavailable(e)) => Problem::new(
                Kind::Unavailable,
                "DATABASE_UNAVAILABLE",
                "database unavailable, retry later",
            )
            .detail(e)
            .retry_after(RETRY_AFTER),
            ApiError::Store(e) => Problem::internal(e),
            ApiError::Internal(detail) => Problem::internal(detail),
        }
    }
}

impl From<zerotrace_proto::reports::OverLimit> for ApiError {
    fn from(over: zerotrace_proto::reports::OverLimit) -> Self {
        ApiError::TooLarge {
            reason: over.reason,
            message: over.message,
            limit: over.limit,
        }
    }
}

impl From<ApiError> for tonic::Status {
    fn from(error: ApiError) -> Self {
        error.problem().into()
    }
}

/// What the server's own limits refuse before (or around) a handler (see
/// [`crate::admission`]).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Refusal {
    /// All request slots are taken.
    Busy {
        /// The limit of concurrent requests.
        limit: usize,
    },
    /// A unary call ran past the server's timeout.
    Timeout(Duration),
    /// The request message is over the size limit of its method.
    MessageTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The request bytes held by all calls in flight reached the budget.
    BytesBusy {
        /// The budget, in bytes.
        budget: usize,
    },
}

impl Refusal {
    /// Says what went wrong, as every ZeroTrace service does.
    pub(crate) fn problem(self) -> Problem {
        match self {
            Refusal::Busy { limit } => Problem::new(
                Kind::Busy,
                "SERVER_BUSY",
                format!("server is at its limit of {limit} concurrent requests; retry later"),
            )
            .with("limit", limit)
            .retry_after(RETRY_AFTER),
            Refusal::Timeout(timeout) => Problem::new(
                Kind::DeadlineExceeded,
                "TIMEOUT",
                format!("request took longer than the server's {timeout:?} timeout"),
            )
            .with("timeout_ms", timeout.as_millis()),
            Refusal::MessageTooLarge { limit } => Problem::new(
                Kind::TooLarge,
                "MESSAGE_TOO_LARGE",
                format!("request message exceeds this method's limit of {limit} bytes"),
            )
            .with("limit", limit),
            Refusal::BytesBusy { budget } => Problem::new(
                Kind::Busy,
                "SERVER_BUSY",
                format!("requests in flight hold the server's budget of {budget} bytes; retry later"),
            )
            .with("byte_budget", budget)
            .retry_after(RETRY_AFTER),
        }
    }
}
