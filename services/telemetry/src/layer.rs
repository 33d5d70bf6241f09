//! A tower layer that keeps an in-flight gauge: +1 when a request enters,
//! -1 when its response future finishes or is dropped.

use opentelemetry::metrics::{BoundUpDownCounter, UpDownCounter};
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tower::{Layer, Service};

/// Wraps a service so that `gauge` counts its requests in flight.
#[derive(Debug, Clone)]
pub struct InFlightLayer {
    gauge: BoundUpDownCounter<i64>,
}

impl InFlightLayer {
    /// Returns a layer counting into `gauge` (without attributes).
    pub fn new(gauge: UpDownCounter<i64>) -> Self {
        Self { gauge: gauge.bind(&[]) }
    }
}

impl<S> Layer<S> for InFlightLayer {
    type Service = InFlightService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        InFlightService {
            inner,
            gauge: self.gauge.clone(),
        }
    }
}

/// The service of [`InFlightLayer`].
#[derive(Debug, Clone)]
pub struct InFlightService<S> {
    inner: S,
    gauge: BoundUpDownCounter<i64>,
}

impl<S, R> Service<R> for InFlightService<S>
where
    S: Service<R>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = InFlightFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        self.gauge.add(1);
        InFlightFuture {
            inner: self.inner.call(request),
            _guard: Decrement(self.gauge.clone()),
        }
    }
}

struct Decrement(BoundUpDownCounter<i64>);

impl Drop for Decrement {
    fn drop(&mut self) {
        self.0.add(-1);
    }
}

pin_project! {
    /// The response future of [`InFlightService`].
    pub struct InFlightFuture<F> {
        #[pin]
        inner: F,
        _guard: Decrement,
    }
}

impl<F: Future> Future for InFlightFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx)
    }
}
