//! The bearer token a whole service may require (enrichment, the agent):
//! checked from the headers before a request is decoded. Health and
//! reflection are served beside it and stay open.

use crate::{Kind, Problem, Secret, ServerError, TlsArgs};
use futures_util::future::Either;
use std::future::Ready;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use tonic::Status;
use tonic::body::Body;
use tonic::codegen::http;
use tower::{Layer, Service};

/// Requires `authorization: Bearer <token>` on every call, when a token is set.
#[derive(Debug, Clone)]
pub struct RequireToken(Option<Arc<str>>);

impl RequireToken {
    /// Requires `token`, or nothing when it is unset.
    pub fn new(token: &Secret) -> Self {
        RequireToken(token.get().map(Arc::from))
    }

    /// Checks that a service listening on `listen` is not open to the
    /// network: beyond loopback it needs this token or mutual TLS, unless
    /// `--insecure-listen` says a proxy or a private network guards it.
    pub fn check_listen(&self, listen: SocketAddr, tls: &TlsArgs, flag: &str) -> Result<(), ServerError> {
        if self.0.is_some() || listen.ip().is_loopback() || tls.client_ca.is_some() || tls.insecure_listen {
            return Ok(());
        }
        Err(ServerError::Tls(format!(
            "refusing to serve on {listen}, beyond loopback, without a token: pass {flag} (or mutual TLS with \
             --tls-client-ca, or --insecure-listen when a proxy or a private network guards it)"
        )))
    }
}

impl RequireToken {
    /// Checks the `authorization` header of a call against the token.
    fn check(&self, headers: &http::HeaderMap) -> Result<(), Status> {
        let Some(expected) = &self.0 else {
            return Ok(());
        };
        let presented = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        match presented {
            Some(token) if same(token.as_bytes(), expected.as_bytes()) => Ok(()),
            Some(_) => Err(Problem::new(Kind::Unauthenticated, "TOKEN_INVALID", "the service token is wrong").into()),
            None => Err(Problem::new(
                Kind::Unauthenticated,
                "TOKEN_MISSING",
                "this service requires a token: authorization: Bearer <token>",
            )
            .into()),
        }
    }
}

/// Wraps a gRPC service in the token check.
impl<S> Layer<S> for RequireToken {
    type Service = TokenChecked<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TokenChecked {
            inner,
            require: self.clone(),
        }
    }
}

/// A gRPC service behind [`RequireToken`]: a call without the token is
/// answered UNAUTHENTICATED from its headers, before its body is read.
#[derive(Debug, Clone)]
pub struct TokenChecked<S> {
    inner: S,
    require: RequireToken,
}

impl<S, B> Service<http::Request<B>> for TokenChecked<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>>,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Either<Ready<Result<Self::Response, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        match self.require.check(request.headers()) {
            Ok(()) => Either::Right(self.inner.call(request)),
            Err(status) => Either::Left(std::future::ready(Ok(status.into_http()))),
        }
    }
}

/// Compares in time independent of where the inputs differ (their length aside).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(token: &str, header: Option<&str>) -> Result<(), tonic::Code> {
        let mut headers = http::HeaderMap::new();
        if let Some(value) = header {
            headers.insert("authorization", value.parse().unwrap());
        }
        RequireToken::new(&token.parse().unwrap())
            .check(&headers)
            .map_err(|s| s.code())
    }

    #[test]
    fn a_set_token_is_required_and_an_unset_one_is_not() {
        assert_eq!(call("", None), Ok(()));
        assert_eq!(call("s3cret", Some("Bearer s3cret")), Ok(()));
        assert_eq!(call("s3cret", Some("bearer s3cret")), Ok(()));
        assert_eq!(call("s3cret", None), Err(tonic::Code::Unauthenticated));
        assert_eq!(call("s3cret", Some("Bearer s3cre")), Err(tonic::Code::Unauthenticated));
        assert_eq!(call("s3cret", Some("Basic s3cret")), Err(tonic::Code::Unauthenticated));
    }

    #[test]
    fn beyond_loopback_a_token_or_mutual_tls_is_needed() {
        let open = RequireToken::new(&Secret::default());
        let plain = TlsArgs::default();
        assert!(
            open.check_listen("127.0.0.1:1".parse().unwrap(), &plain, "--token")
                .is_ok()
        );
        let err = open
            .check_listen("0.0.0.0:1".parse().unwrap(), &plain, "--token")
            .unwrap_err();
        assert!(err.to_string().contains("--token"), "{err}");
        let guarded = RequireToken::new(&"t".parse().unwrap());
        assert!(
            guarded
                .check_listen("0.0.0.0:1".parse().unwrap(), &plain, "--token")
                .is_ok()
        );
    }
}
