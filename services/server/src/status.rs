//! The one map from a request failure to a gRPC status.
//!
//! Each service says what went wrong as a [`Problem`]: a [`Kind`] (which
//! decides the gRPC code, here and nowhere else), a stable `reason` for
//! machines (`google.rpc.ErrorInfo`, domain [`ERROR_DOMAIN`]) with metadata
//! such as the limit that was hit, a message for people, and, only when a
//! retry can succeed, how long to wait (`google.rpc.RetryInfo`).
//!
//! A limit the request can never fit (a report over the findings limit, a
//! batch over the batch limit) and a limit that passes (a rate limit, a full
//! server) are both `RESOURCE_EXHAUSTED`, told apart by their reason and by
//! RetryInfo, which only the passing kind carries.
//!
//! An internal failure keeps its detail out of the status: the detail is
//! noted on the call (`zerotrace_telemetry::note_failure`) and logged once,
//! by the layer that observes every call.

use std::collections::HashMap;
use std::time::Duration;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt as _};

/// The `ErrorInfo.domain` of every ZeroTrace error.
pub const ERROR_DOMAIN: &str = "zerotrace.dev";

/// What kind of failure a request met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The request is malformed; the same request will always fail.
    InvalidArgument,
    /// What the request names does not exist.
    NotFound,
    /// What the request would create exists already (or conflicts).
    AlreadyExists,
    /// The caller is known but may not do this.
    PermissionDenied,
    /// The caller's credentials are missing or wrong.
    Unauthenticated,
    /// The request is over a size limit it can never fit (no retry helps).
    TooLarge,
    /// A limit that passes: rate, concurrency (a later retry can succeed).
    Busy,
    /// The call lost a race: what it read changed since (an etag that no
    /// longer matches); read again and retry.
    Aborted,
    /// The system is not in the state the call needs (no advisory data
    /// yet); the same call fails until an operator or a background job
    /// changes that state.
    FailedPrecondition,
    /// The service cannot serve now (shutting down, database unreachable).
    Unavailable,
    /// The call took longer than the server allows it.
    DeadlineExceeded,
    /// The service failed; the detail is in its log, not in the status.
    Internal,
}

impl Kind {
    /// Returns the gRPC code of this kind: the one place that decides it.
    pub fn code(self) -> Code {
        match self {
            Kind::InvalidArgument => Code::InvalidArgument,
            Kind::NotFound => Code::NotFound,
            Kind::AlreadyExists => Code::AlreadyExists,
            Kind::PermissionDenied => Code::PermissionDenied,
            Kind::Unauthenticated => Code::Unauthenticated,
            Kind::TooLarge | Kind::Busy => Code::ResourceExhausted,
            Kind::Unavailable => Code::Unavailable,
            Kind::DeadlineExceeded => Code::DeadlineExceeded,
            Kind::FailedPrecondition => Code::FailedPrecondition,
            Kind::Aborted => Code::Aborted,
            Kind::Internal => Code::Internal,
        }
    }
}

/// A request failure, as a service describes it.
#[derive(Debug, Clone)]
pub struct Problem {
    kind: Kind,
    reason: &'static str,
    message: String,
    metadata: HashMap<String, String>,
    retry_after: Option<Duration>,
    internal: Option<String>,
}

impl Problem {
    /// Returns a problem of `kind` with a stable `reason` (`UPPER_SNAKE`)
    /// and a message for people.
    pub fn new(kind: Kind, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            reason,
            message: message.into(),
            metadata: HashMap::new(),
            retry_after: None,
            internal: None,
        }
    }

    /// Returns an internal failure: the client sees "internal error", the
    /// service's log gets `detail`.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self {
            internal: Some(detail.to_string()),
            ..Self::new(Kind::Internal, "INTERNAL", "internal error")
        }
    }

    /// Keeps a detail for the service's log (never sent to the client).
    pub fn detail(mut self, detail: impl std::fmt::Display) -> Self {
        self.internal = Some(detail.to_string());
        self
    }

    /// Adds a metadata entry (e.g. `limit`, `field`) to the ErrorInfo.
    pub fn with(mut self, key: &str, value: impl ToString) -> Self {
        self.metadata.insert(key.to_string(), value.to_string());
        self
    }

    /// Says when a retry can succeed (RetryInfo). Only for failures that pass.
    pub fn retry_after(mut self, delay: Duration) -> Self {
        self.retry_after = Some(delay);
        self
    }

    /// Returns the kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Returns the stable reason.
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

impl From<Problem> for Status {
    fn from(problem: Problem) -> Self {
        if let Some(detail) = &problem.internal {
            zerotrace_telemetry::note_failure(detail);
        }
        let mut details = ErrorDetails::with_error_info(problem.reason, ERROR_DOMAIN, problem.metadata);
        if let Some(delay) = problem.retry_after {
            details.set_retry_info(Some(delay));
        }
        Status::with_error_details(problem.kind.code(), problem.message, details)
    }
}

/// What a client reads from a status: the reason and whether a retry can
/// succeed (the status carries RetryInfo, or the call never reached a
/// server able to answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    /// The ErrorInfo reason, if the status carries one.
    pub reason: Option<String>,
    /// When to retry, if a retry can succeed.
    pub retry_after: Option<Duration>,
}

impl Diagnosis {
    /// Reads a status. UNAVAILABLE and DEADLINE_EXCEEDED without details
    /// (a connection refused, a timeout on the way) may pass, so they get
    /// a retry too; everything else is retried only on RetryInfo.
    pub fn of(status: &Status) -> Self {
        let reason = status.get_details_error_info().map(|info| info.reason);
        let retry_after = status
            .get_details_retry_info()
            .map(|info| info.retry_delay.unwrap_or_default())
            .or_else(|| {
                matches!(status.code(), Code::Unavailable | Code::DeadlineExceeded).then_some(Duration::from_secs(1))
            });
        Diagnosis { reason, retry_after }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passing_limit_and_a_permanent_one_are_told_apart() {
        let busy: Status = Problem::new(Kind::Busy, "RATE_LIMITED", "slow down")
            .with("limit", 50)
            .retry_after(Duration::from_secs(1))
            .into();
        let too_large: Status = Problem::new(Kind::TooLarge, "TOO_MANY_FINDINGS", "too many")
            .with("limit", 50_000)
            .into();
        assert_eq!(busy.code(), Code::ResourceExhausted);
        assert_eq!(too_large.code(), Code::ResourceExhausted);
        let (b, t) = (Diagnosis::of(&busy), Diagnosis::of(&too_large));
        assert_eq!(b.reason.as_deref(), Some("RATE_LIMITED"));
        assert_eq!(b.retry_after, Some(Duration::from_secs(1)));
        assert_eq!(t.reason.as_deref(), Some("TOO_MANY_FINDINGS"));
        assert_eq!(t.retry_after, None, "a permanent limit has no RetryInfo");
        let info = too_large.get_details_error_info().unwrap();
        assert_eq!(info.domain, ERROR_DOMAIN);
        assert_eq!(info.metadata.get("limit").map(String::as_str), Some("50000"));
    }

    #[test]
    fn internal_details_stay_out_of_the_status() {
        let status: Status = Problem::internal("disk /var/lib full").into();
        assert_eq!(status.code(), Code::Internal);
        assert_eq!(status.message(), "internal error");
        assert_eq!(Diagnosis::of(&status).retry_after, None);
        assert_eq!(
            Diagnosis::of(&Status::unavailable("connection refused")).retry_after,
            Some(Duration::from_secs(1))
        );
    }
}
