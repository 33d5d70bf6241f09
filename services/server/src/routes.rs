//! How a service crate routes its gRPC service behind its own tower layers.

use std::convert::Infallible;
use std::marker::PhantomData;
use std::task::{Context, Poll};
use tonic::body::Body;
use tonic::codegen::http;
use tonic::server::NamedService;
use tonic::service::Routes;
use tower::{Layer, Service};

/// Routes `service` under its gRPC name, wrapped in `layers`.
///
/// The layers wrap the service itself, and axum boxes the result once as
/// the route. Layering the router instead (`into_axum_router().layer(..)`)
/// wraps every route a second time, so that each call is boxed and cloned
/// twice, and puts the layers in front of the router's fallback as well,
/// where a call to an unknown service would be counted under a name the
/// caller chose.
pub fn layered<S, L>(service: S, layers: L) -> Routes
where
    S: NamedService + 'static,
    L: Layer<S>,
    L::Service: Service<http::Request<Body>, Error = Infallible> + Clone + Send + Sync + 'static,
    <L::Service as Service<http::Request<Body>>>::Response: axum::response::IntoResponse,
    <L::Service as Service<http::Request<Body>>>::Future: Send + 'static,
{
    Routes::new(Named::<_, S> {
        inner: layers.layer(service),
        name: PhantomData,
    })
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
