//! The API's own tower layer, inside the metric layers so that what it
//! refuses is counted with its gRPC code:
//!
//! - a global concurrency limit that sheds load at once (RESOURCE_EXHAUSTED)
//!   rather than queueing without bound;
//! - a per-call timeout on unary calls (DEADLINE_EXCEEDED); a WatchFindings
//!   stream is exempt, and only its set-up counts against the limit;
//! - tonic reports a request over `max_decoding_message_size` as
//!   OUT_OF_RANGE; the contract says RESOURCE_EXHAUSTED with the limit, so
//!   that one status is rewritten.

use crate::error::Refusal;
use http::{Request, Response};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::Semaphore;
use tower::{Layer, Service};

/// Limits of [`GuardLayer`].
#[derive(Debug, Clone)]
pub(crate) struct GuardLayer {
    permits: Arc<Semaphore>,
    max_concurrent: usize,
    timeout: Duration,
    max_message_size: usize,
}

impl GuardLayer {
    pub(crate) fn new(max_concurrent: usize, timeout: Duration, max_message_size: usize) -> Self {
        let max_concurrent = max_concurrent.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            permits: Arc::new(Semaphore::new(max_concurrent)),
            max_concurrent,
            timeout,
            max_message_size,
        }
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Guard {
            inner,
            limits: self.clone(),
        }
    }
}

/// The service of [`GuardLayer`].
#[derive(Debug, Clone)]
pub(crate) struct Guard<S> {
    inner: S,
    limits: GuardLayer,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B, RB> Service<Request<B>> for Guard<S>
where
    S: Service<Request<B>, Response = Response<RB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
    RB: Default + Send + 'static,
{
    type Response = Response<RB>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<RB>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The readied service handles this call; a clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let limits = self.limits.clone();
        let streaming = request.uri().path().ends_with("/WatchFindings");
        Box::pin(async move {
            let Ok(permit) = limits.permits.clone().try_acquire_owned() else {
                let refusal = Refusal::Busy {
                    limit: limits.max_concurrent,
                };
                return Ok(tonic::Status::from(refusal.problem()).into_http());
            };
            let response = if streaming {
                inner.call(request).await
            } else {
                match tokio::time::timeout(limits.timeout, inner.call(request)).await {
                    Ok(response) => response,
                    Err(_) => {
                        let refusal = Refusal::Timeout(limits.timeout);
                        return Ok(tonic::Status::from(refusal.problem()).into_http());
                    }
                }
            };
            drop(permit);
            response.map(|r| too_large_is_resource_exhausted(r, limits.max_message_size))
        })
    }
}

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
