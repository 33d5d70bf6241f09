//! How a service crate routes its gRPC service behind its own tower layers.

use std::convert::Infallible;
use std::future::Ready;
use std::marker::PhantomData;
use std::task::{Context, Poll};
use tonic::Status;
use tonic::body::Body;
use tonic::codegen::http;
use tonic::server::NamedService;
use tonic::service::Routes;
use tower::{Layer, Service, ServiceExt as _};

/// Routes `service` under its gRPC name, wrapped in `layers`, and answers
/// every other path UNIMPLEMENTED behind the same layers (so that a call to
/// a service this server does not have is counted and traced too).
///
/// The layers wrap the service itself, and axum boxes the result once as
/// the route. Layering the router instead (`into_axum_router().layer(..)`)
/// wraps every route a second time, so that each call is boxed and cloned
/// twice.
pub fn layered<S, L>(service: S, layers: L) -> Routes
where
    S: NamedService + 'static,
    L: Layer<S, Service: Routable> + Layer<Unrouted, Service: Routable>,
{
    let fallback = layers
        .layer(Unrouted)
        .map_request(|request: http::Request<axum::body::Body>| request.map(Body::new));
    let mut routes = Routes::new(Named::<_, S> {
        inner: layers.layer(service),
        name: PhantomData,
    });
    let router = std::mem::take(routes.axum_router_mut());
    *routes.axum_router_mut() = router.fallback_service(fallback);
    routes
}

/// A service axum can route a gRPC call to, as tonic's [`Routes`] take it.
pub trait Routable:
    Service<http::Request<Body>, Error = Infallible, Response: axum::response::IntoResponse, Future: Send + 'static>
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<T> Routable for T where
    T: Service<http::Request<Body>, Error = Infallible, Response: axum::response::IntoResponse, Future: Send + 'static>
        + Clone
        + Send
        + Sync
        + 'static
{
}

/// A layered service, routed under the name of the service `N` inside it.
struct Named<T, N> {
    inner: T,
    name: PhantomData<fn() -> N>,
}

impl<T: Clone, N> Clone for Named<T, N> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            name: PhantomData,
        }
    }
}

impl<T, N: NamedService> NamedService for Named<T, N> {
    const NAME: &'static str = N::NAME;
}

impl<T: Service<R>, R, N> Service<R> for Named<T, N> {
    type Response = T::Response;
    type Error = T::Error;
    type Future = T::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        self.inner.call(request)
    }
}

/// What answers a path no route has: UNIMPLEMENTED, as tonic's own fallback.
#[derive(Debug, Clone, Copy)]
pub struct Unrouted;

impl<B> Service<http::Request<B>> for Unrouted {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _request: http::Request<B>) -> Self::Future {
        std::future::ready(Ok(Status::unimplemented("").into_http()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use zerotrace_telemetry::GrpcMetricsLayer;

    #[tokio::test]
    async fn the_service_and_every_unknown_path_pass_the_layers() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let layer = GrpcMetricsLayer::new(move |call| {
            record
                .lock()
                .unwrap()
                .push(format!("{}/{} {}", call.service, call.method, call.code.name()));
        });
        let (_, health) = tonic_health::server::health_reporter();
        let routes = layered(health, layer).prepare();
        for path in ["/grpc.health.v1.Health/Check", "/zerotrace.nowhere.v1.Nothing/Call"] {
            let request = http::Request::post(path)
                .header("content-type", "application/grpc")
                .body(Body::empty())
                .unwrap();
            let response = routes.clone().oneshot(request).await.unwrap();
            assert_eq!(response.status(), http::StatusCode::OK, "{path}");
        }
        assert_eq!(
            *seen.lock().unwrap(),
            [
                // An empty body is not a request message.
                "grpc.health.v1.Health/Check INTERNAL",
                "zerotrace.nowhere.v1.Nothing/Call UNIMPLEMENTED",
            ]
        );
    }
}
