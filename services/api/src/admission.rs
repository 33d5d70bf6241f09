//! Admission: what the API decides from a call's headers, before it reads
//! a byte of its body. A tower layer inside the metric layers, so what it
//! refuses is counted with its gRPC code.
//!
//! In order, for each call of `ApiService`:
//! 1. **Who calls.** Read calls need the reader token; agent calls (Heartbeat,
//!    SubmitScanReport) a known agent token, within the agent's rate;
//!    RegisterAgent is rate-limited per peer address, and needs the
//!    registration token (or an agent token, to re-register) when one is
//!    configured. A refusal is UNAUTHENTICATED or RESOURCE_EXHAUSTED at once:
//!    a 15 MiB body sent without a token is never read.
//! 2. **A request slot**, only now: a global limit of calls in flight that
//!    sheds load (RESOURCE_EXHAUSTED) rather than queueing without bound.
//! 3. **The body, counted as it arrives**: each method has a size limit
//!    sized to its use (small for reads; large only for SubmitScanReport),
//!    and every byte in flight takes a share of a global byte budget until
//!    the call ends, so a few large reports cannot exhaust memory together.
//! 4. **A deadline** on unary calls, reading the body included; a
//!    WatchFindings stream is exempt once set up.
//!
//! The handlers check again (and are the only check in tests that call
//! them directly): the agent this layer authenticated travels in the
//! request's extensions ([`AuthenticatedAgent`]), so the store is asked once.

use crate::auth::{Credentials, bearer, hash_token};
use crate::error::{ApiError, Refusal};
use crate::rate::RateLimiter;
use crate::store::Store;
use axum::body::Bytes;
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::body::Body as GrpcBody;
use tower::{Layer, Service};

/// The body limit of every call but SubmitScanReport: their requests are
/// ids, filters and page tokens, a few hundred bytes.
pub(crate) const SMALL_MESSAGE_LIMIT: usize = 64 * 1024;

/// What a call of `ApiService` is, for admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CallKind {
    /// A read call: the reader token.
    Read,
    /// Heartbeat: an agent token.
    Agent,
    /// SubmitScanReport: an agent token, and the large body limit.
    Report,
    /// RegisterAgent: rate-limited per peer; the registration token when configured.
    Register,
    /// An admin call: the admin token.
    Admin,
    /// A method the service does not have: tonic answers UNIMPLEMENTED.
    Unknown,
}

impl CallKind {
    fn of(path: &str) -> (Self, bool) {
        let method = path.rsplit('/').next().unwrap_or_default();
        let kind = match method {
            "RegisterAgent" => CallKind::Register,
            "Heartbeat" => CallKind::Agent,
            "SubmitScanReport" => CallKind::Report,
            "ResetAgentToken" | "CreateDecision" | "UpdateDecision" | "DeleteDecision" => CallKind::Admin,
            "ListScans" | "GetScan" | "ListFindings" | "GetSummary" | "ListAgents" | "WatchFindings" | "GetFinding"
            | "GetDecision" | "ListDecisions" => CallKind::Read,
            _ => CallKind::Unknown,
        };
        (kind, method == "WatchFindings")
    }
}

/// The agent a call's token belongs to, as admission found it.
#[derive(Debug, Clone)]
pub(crate) struct AuthenticatedAgent(pub(crate) String);

/// The limits of [`AdmissionLayer`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Calls in flight at once.
    pub(crate) max_concurrent: usize,
    /// Longest a unary call may take.
    pub(crate) timeout: Duration,
    /// Largest SubmitScanReport body, bytes.
    pub(crate) max_message_size: usize,
    /// Request bytes held by all calls at once.
    pub(crate) byte_budget: usize,
    /// RegisterAgent calls per second per peer address (bursts of twice that); 0 is off.
    pub(crate) registrations_per_peer: u32,
}

/// Admits calls of `ApiService` (see the module documentation).
#[derive(Clone)]
pub(crate) struct AdmissionLayer {
    state: Arc<State>,
}

struct State {
    credentials: Arc<Credentials>,
    store: Arc<dyn Store>,
    limits: Limits,
    slots: Arc<Semaphore>,
    bytes: Arc<Semaphore>,
    registrations: Option<RateLimiter>,
}

impl std::fmt::Debug for AdmissionLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdmissionLayer")
            .field("limits", &self.state.limits)
            .finish_non_exhaustive()
    }
}

impl AdmissionLayer {
    pub(crate) fn new(credentials: Arc<Credentials>, store: Arc<dyn Store>, limits: Limits) -> Self {
        let max_concurrent = limits.max_concurrent.clamp(1, Semaphore::MAX_PERMITS);
        let byte_budget = limits
            .byte_budget
            .max(limits.max_message_size)
            .clamp(1, Semaphore::MAX_PERMITS);
        Self {
            state: Arc::new(State {
                credentials,
                store,
                limits: Limits {
                    max_concurrent,
                    byte_budget,
                    ..limits
                },
                slots: Arc::new(Semaphore::new(max_concurrent)),
                bytes: Arc::new(Semaphore::new(byte_budget)),
                registrations: RateLimiter::new(limits.registrations_per_peer),
            }),
        }
    }
}

impl<S> Layer<S> for AdmissionLayer {
    type Service = Admission<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Admission {
            inner,
            state: self.state.clone(),
        }
    }
}

/// The service of [`AdmissionLayer`].
#[derive(Clone)]
pub(crate) struct Admission<S> {
    inner: S,
    state: Arc<State>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, RB> Service<Request<GrpcBody>> for Admission<S>
where
    S: Service<Request<GrpcBody>, Response = Response<RB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    RB: Default + Send + 'static,
{
    type Response = Response<RB>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<RB>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<GrpcBody>) -> Self::Future {
        // The readied service handles this call; a clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let state = self.state.clone();
        Box::pin(async move {
            let (kind, streaming) = CallKind::of(request.uri().path());
            let (mut parts, body) = request.into_parts();
            if let Err(refused) = state.authenticate(kind, &mut parts).await {
                return Ok(refused.into_http());
            }
            let Ok(slot) = state.slots.clone().try_acquire_owned() else {
                let busy = Refusal::Busy {
                    limit: state.limits.max_concurrent,
                };
                return Ok(tonic::Status::from(busy.problem()).into_http());
            };
            let limit = match kind {
                CallKind::Report => state.limits.max_message_size,
                _ => SMALL_MESSAGE_LIMIT.min(state.limits.max_message_size),
            };
            let held = Arc::new(Mutex::new(Vec::new()));
            let body = CountedBody {
                inner: body,
                limit,
                read: 0,
                bytes: state.bytes.clone(),
                budget: state.limits.byte_budget,
                held: held.clone(),
            };
            let request = Request::from_parts(parts, GrpcBody::new(body));
            let response = if streaming {
                inner.call(request).await
            } else {
                match tokio::time::timeout(state.limits.timeout, inner.call(request)).await {
                    Ok(response) => response,
                    Err(_) => {
                        let refusal = Refusal::Timeout(state.limits.timeout);
                        return Ok(tonic::Status::from(refusal.problem()).into_http());
                    }
                }
            };
            // The bytes and the slot are held until the handler answered.
            drop(held);
            drop(slot);
            response.map(|r| too_large_is_resource_exhausted(r, limit))
        })
    }
}

impl State {
    /// Decides from the headers alone whether the call may go on.
    async fn authenticate(&self, kind: CallKind, parts: &mut http::request::Parts) -> Result<(), tonic::Status> {
        let metadata = tonic::metadata::MetadataMap::from_headers(parts.headers.clone());
        match kind {
            CallKind::Read => self.credentials.reader(&metadata).map_err(tonic::Status::from),
            CallKind::Admin => self.credentials.admin(&metadata).map_err(tonic::Status::from),
            CallKind::Agent | CallKind::Report => {
                let agent = self
                    .credentials
                    .agent(self.store.as_ref(), &metadata)
                    .await
                    .map_err(tonic::Status::from)?;
                parts.extensions.insert(AuthenticatedAgent(agent));
                Ok(())
            }
            CallKind::Register => {
                if let Some(limiter) = &self.registrations {
                    let peer = parts
                        .extensions
                        .get::<tonic::transport::server::TcpConnectInfo>()
                        .and_then(|info| info.remote_addr())
                        .map(|addr| addr.ip().to_string())
                        .unwrap_or_default();
                    if !limiter.allow(&peer) {
                        return Err(ApiError::RegistrationsLimited(limiter.rate()).into());
                    }
                }
                if !self.credentials.registration_required() {
                    return Ok(());
                }
                let hash = bearer(&metadata).map(hash_token);
                if !self.credentials.registration_refused(hash.as_deref()) {
                    return Ok(());
                }
                // An agent re-registering its own id carries its own token.
                match &hash {
                    Some(hash)
                        if self
                            .store
                            .agent_for_token(hash)
                            .await
                            .map_err(ApiError::from)?
                            .is_some() =>
                    {
                        Ok(())
                    }
                    Some(_) => Err(ApiError::TokenInvalid("registration token").into()),
                    None => Err(ApiError::TokenMissing("registration token").into()),
                }
            }
            CallKind::Unknown => Ok(()),
        }
    }
}

/// A request body that counts its bytes as they arrive: past the method's
/// limit it fails with RESOURCE_EXHAUSTED (the rest is never read), and the
/// bytes it read hold a share of the global byte budget until the call ends.
pub(crate) struct CountedBody {
    inner: GrpcBody,
    limit: usize,
    read: usize,
    bytes: Arc<Semaphore>,
    budget: usize,
    held: Arc<Mutex<Vec<OwnedSemaphorePermit>>>,
}

impl Body for CountedBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let frame = match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => frame,
            Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => return Poll::Pending,
        };
        let Some(data) = frame.data_ref() else {
            return Poll::Ready(Some(Ok(frame)));
        };
        let n = data.len();
        self.read = self.read.saturating_add(n);
        if self.read > self.limit {
            let refusal = Refusal::MessageTooLarge { limit: self.limit };
            return Poll::Ready(Some(Err(Box::new(tonic::Status::from(refusal.problem())))));
        }
        let permits = u32::try_from(n).unwrap_or(u32::MAX);
        match self.bytes.clone().try_acquire_many_owned(permits) {
            Ok(permit) => self.held.lock().unwrap_or_else(|p| p.into_inner()).push(permit),
            Err(_) => {
                let refusal = Refusal::BytesBusy { budget: self.budget };
                return Poll::Ready(Some(Err(Box::new(tonic::Status::from(refusal.problem())))));
            }
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// tonic reports a message over its own decoding limit as OUT_OF_RANGE; the
/// contract says RESOURCE_EXHAUSTED with the limit.
fn too_large_is_resource_exhausted<RB: Default>(response: Response<RB>, limit: usize) -> Response<RB> {
    let headers = response.headers();
    let out_of_range = headers.get("grpc-status").is_some_and(|v| v.as_bytes() == b"11");
    let too_large = headers.get("grpc-message").is_some_and(|v| {
        String::from_utf8_lossy(v.as_bytes())
            .replace("%20", " ")
            .contains("message length too large")
    });
    if out_of_range && too_large {
        return tonic::Status::from(Refusal::MessageTooLarge { limit }.problem()).into_http();
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_classified_by_method() {
        assert_eq!(
            CallKind::of("/zerotrace.api.v1.ApiService/SubmitScanReport"),
            (CallKind::Report, false)
        );
        assert_eq!(
            CallKind::of("/zerotrace.api.v1.ApiService/WatchFindings"),
            (CallKind::Read, true)
        );
        assert_eq!(
            CallKind::of("/zerotrace.api.v1.ApiService/RegisterAgent").0,
            CallKind::Register
        );
        assert_eq!(CallKind::of("/zerotrace.api.v1.ApiService/Nope").0, CallKind::Unknown);
        assert_eq!(
            CallKind::of("/zerotrace.api.v1.ApiService/UpdateDecision").0,
            CallKind::Admin
        );
        assert_eq!(
            CallKind::of("/zerotrace.api.v1.ApiService/GetFinding").0,
            CallKind::Read
        );
    }
}
