//! Tower layers that observe every gRPC call once it has ended: its service,
//! method, status code and duration (for metrics), and a span following the
//! OpenTelemetry RPC conventions, as a server span ([`GrpcMetricsLayer`] with
//! a tracer) or a client span ([`GrpcClientLayer`]) whose context travels in
//! the request's `traceparent` header.
//!
//! The status of a unary error is in the response headers (a trailers-only
//! response); an OK status, and any status of a streaming call, comes in the
//! trailers. The layer therefore wraps the response body and reports when the
//! trailers (or the end of the body, or its drop) are seen.

use crate::propagation;
use http::{HeaderMap, Request, Response, Uri};
use http_body::{Body, Frame, SizeHint};
use opentelemetry::trace::{SpanKind, Status, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::SdkTracer;
use pin_project_lite::pin_project;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as Context_, Poll};
use std::time::{Duration, Instant};
use tower::{Layer, Service};

/// One finished gRPC call.
#[derive(Debug, Clone)]
pub struct GrpcCall<'a> {
    /// The gRPC service, e.g. `zerotrace.api.v1.ApiService`.
    pub service: &'a str,
    /// The method, e.g. `ListFindings`.
    pub method: &'a str,
    /// The final status code.
    pub code: tonic_code::Code,
    /// From request to end of response.
    pub elapsed: Duration,
}

/// gRPC status codes by number, without depending on tonic here.
pub mod tonic_code {
    /// A gRPC status code.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Code(pub i32);

    impl Code {
        /// Every code gRPC defines, `OK` (0) to `UNAUTHENTICATED` (16).
        pub const ALL: [Code; 17] = {
            let mut all = [Code(0); 17];
            let mut i = 0;
            while i < 17 {
                all[i] = Code(i as i32);
                i += 1;
            }
            all
        };

        /// The canonical upper-case name (`OK`, `NOT_FOUND`, ...), the API's `status` label.
        pub fn name(self) -> &'static str {
            match self.0 {
                0 => "OK",
                1 => "CANCELLED",
                2 => "UNKNOWN",
                3 => "INVALID_ARGUMENT",
                4 => "DEADLINE_EXCEEDED",
                5 => "NOT_FOUND",
                6 => "ALREADY_EXISTS",
                7 => "PERMISSION_DENIED",
                8 => "RESOURCE_EXHAUSTED",
                9 => "FAILED_PRECONDITION",
                10 => "ABORTED",
                11 => "OUT_OF_RANGE",
                12 => "UNIMPLEMENTED",
                13 => "INTERNAL",
                14 => "UNAVAILABLE",
                15 => "DATA_LOSS",
                16 => "UNAUTHENTICATED",
                _ => "UNKNOWN",
            }
        }

        /// Returns whether a server span with this code is an error (OpenTelemetry RPC conventions).
        pub fn is_server_error(self) -> bool {
            matches!(self.0, 2 | 4 | 12 | 13 | 14 | 15)
        }
    }
}

type Recorder = Arc<dyn Fn(&GrpcCall<'_>) + Send + Sync>;

/// Reports each gRPC call a server handles to a recorder function, and, with
/// a tracer, wraps it in a server span whose parent comes from `traceparent`.
#[derive(Clone)]
pub struct GrpcMetricsLayer {
    record: Recorder,
    tracer: Option<SdkTracer>,
}

impl std::fmt::Debug for GrpcMetricsLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcMetricsLayer").finish_non_exhaustive()
    }
}

impl GrpcMetricsLayer {
    /// Returns a layer calling `record` once per finished call.
    pub fn new(record: impl Fn(&GrpcCall<'_>) + Send + Sync + 'static) -> Self {
        Self {
            record: Arc::new(record),
            tracer: None,
        }
    }

    /// Also records a server span per call with `tracer`.
    pub fn with_tracer(mut self, tracer: SdkTracer) -> Self {
        self.tracer = Some(tracer);
        self
    }
}

impl<S> Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcMetricsService {
            inner,
            record: self.record.clone(),
            tracer: self.tracer.clone(),
        }
    }
}

/// The service of [`GrpcMetricsLayer`].
#[derive(Clone)]
pub struct GrpcMetricsService<S> {
    inner: S,
    record: Recorder,
    tracer: Option<SdkTracer>,
}

impl<S> std::fmt::Debug for GrpcMetricsService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcMetricsService").finish_non_exhaustive()
    }
}

impl<S, B, RB> Service<Request<B>> for GrpcMetricsService<S>
where
    S: Service<Request<B>, Response = Response<RB>>,
    RB: Body,
{
    type Response = Response<ObservedBody<RB>>;
    type Error = S::Error;
    type Future = ObservedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context_<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let path = request.uri().clone();
        let (cx, traced) = match &self.tracer {
            Some(tracer) => {
                let parent = propagation::extract(request.headers()).unwrap_or_else(Context::current);
                let (service, method) = rpc_names(path.path());
                (
                    Some(start_span(tracer, SpanKind::Server, service, method, &parent)),
                    true,
                )
            }
            // No span, but a caller's trace still joins the logs of this call.
            None => (propagation::extract(request.headers()), false),
        };
        let mut call = CallInfo::new(path, Some(self.record.clone()), cx, traced);
        let inner = call.enter(|| self.inner.call(request));
        ObservedFuture {
            inner,
            call: Some(call),
        }
    }
}

/// Splits `/zerotrace.api.v1.ApiService/ListFindings` into service and method.
fn rpc_names(path: &str) -> (&str, &str) {
    path.trim_start_matches('/')
        .split_once('/')
        .unwrap_or(("unknown", "unknown"))
}

fn start_span(tracer: &SdkTracer, kind: SpanKind, service: &str, method: &str, parent: &Context) -> Context {
    let span = tracer
        .span_builder(format!("{service}/{method}"))
        .with_kind(kind)
        .with_attributes([
            KeyValue::new("rpc.system", "grpc"),
            KeyValue::new("rpc.service", service.to_string()),
            KeyValue::new("rpc.method", method.to_string()),
        ])
        .start_with_context(tracer, parent);
    parent.with_span(span)
}

/// Traces each outgoing gRPC call of a client channel: a client span, child
/// of the caller's current context, whose context is sent as `traceparent`.
#[derive(Clone, Debug)]
pub struct GrpcClientLayer {
    tracer: SdkTracer,
}

impl GrpcClientLayer {
    /// Returns a layer tracing with `tracer`.
    pub fn new(tracer: SdkTracer) -> Self {
        Self { tracer }
    }
}

impl<S> Layer<S> for GrpcClientLayer {
    type Service = GrpcClientService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcClientService {
            inner,
            tracer: self.tracer.clone(),
        }
    }
}

/// The service of [`GrpcClientLayer`].
#[derive(Clone, Debug)]
pub struct GrpcClientService<S> {
    inner: S,
    tracer: SdkTracer,
}

impl<S, B, RB> Service<Request<B>> for GrpcClientService<S>
where
    S: Service<Request<B>, Response = Response<RB>>,
    RB: Body,
{
    type Response = Response<ObservedBody<RB>>;
    type Error = S::Error;
    type Future = ObservedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context_<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let path = request.uri().clone();
        let (service, method) = rpc_names(path.path());
        let cx = start_span(&self.tracer, SpanKind::Client, service, method, &Context::current());
        propagation::inject(&cx, request.headers_mut());
        let call = CallInfo::new(path, None, Some(cx), true);
        ObservedFuture {
            inner: self.inner.call(request),
            call: Some(call),
        }
    }
}

thread_local! {
    /// The failure note of the served call being polled on this thread
    /// (`None` outside one): the slot [`note_failure`] writes to.
    static CURRENT_NOTE: RefCell<Option<Option<String>>> = const { RefCell::new(None) };
}

/// Notes the detail of the current call's internal failure. The client gets
/// a generic status; the layer observing the call logs this detail once,
/// with the call's method and code, when the call ends. Outside an observed
/// call (or on another task or thread than the one serving it) it is logged
/// here, so that nothing is lost.
pub fn note_failure(detail: &str) {
    let noted = CURRENT_NOTE.with(|slot| match slot.borrow_mut().as_mut() {
        Some(note) => {
            *note = Some(detail.to_string());
            true
        }
        None => false,
    });
    if !noted {
        tracing::error!(detail, "request failed");
    }
}

struct CallInfo {
    /// The request's URI, whose path names the service and method.
    path: Uri,
    started: Instant,
    /// The server's recorder; a client call has none.
    record: Option<Recorder>,
    /// The context the call runs in, when it has a trace (its own span or a caller's).
    cx: Option<Context>,
    /// `cx` holds a span this layer started, to end with the call.
    traced: bool,
    /// The detail its handler noted ([`note_failure`]), for a served call.
    noted: Option<String>,
    done: bool,
}

impl CallInfo {
    fn new(path: Uri, record: Option<Recorder>, cx: Option<Context>, traced: bool) -> Self {
        Self {
            path,
            started: Instant::now(),
            record,
            cx,
            traced,
            noted: None,
            done: false,
        }
    }

    /// Runs `f` (a poll of the call's future or body) in the call's context,
    /// and, for a served call, with its failure note as the current one.
    fn enter<R>(&mut self, f: impl FnOnce() -> R) -> R {
        let _attached = self.cx.clone().map(Context::attach);
        if self.record.is_none() {
            return f();
        }
        let _scope = NoteScope::enter(&mut self.noted);
        f()
    }

    fn finish(&mut self, code: i32) {
        if self.done {
            return;
        }
        self.done = true;
        let code = tonic_code::Code(code);
        let (service, method) = rpc_names(self.path.path());
        if let Some(record) = &self.record {
            record(&GrpcCall {
                service,
                method,
                code,
                elapsed: self.started.elapsed(),
            });
        }
        let detail = self.noted.take();
        if self.record.is_some() && code.0 != 0 {
            // The one log line of a served call that failed.
            if code.is_server_error() {
                tracing::error!(
                    rpc = %format_args!("{service}/{method}"),
                    code = code.name(),
                    detail = detail.as_deref().unwrap_or(""),
                    "call failed"
                );
            } else {
                tracing::debug!(rpc = %format_args!("{service}/{method}"), code = code.name(), "call refused");
            }
        }
        if let (true, Some(cx)) = (self.traced, &self.cx) {
            let span = cx.span();
            span.set_attribute(KeyValue::new("rpc.grpc.status_code", i64::from(code.0)));
            if code.is_server_error() {
                span.set_status(Status::error(detail.unwrap_or_else(|| code.name().to_string())));
            }
            span.end();
        }
    }
}

/// While alive, makes a served call's note the thread's current one; on drop
/// (a panic included) takes back what was noted and restores the outer note.
struct NoteScope<'a> {
    noted: &'a mut Option<String>,
    outer: Option<Option<String>>,
}

impl<'a> NoteScope<'a> {
    fn enter(noted: &'a mut Option<String>) -> Self {
        let outer = CURRENT_NOTE.with(|slot| slot.replace(Some(noted.take())));
        Self { noted, outer }
    }
}

impl Drop for NoteScope<'_> {
    fn drop(&mut self) {
        let ours = CURRENT_NOTE.with(|slot| slot.replace(self.outer.take()));
        *self.noted = ours.flatten();
    }
}

impl Drop for CallInfo {
    fn drop(&mut self) {
        // A body dropped before its trailers: the client went away.
        self.finish(1);
    }
}

fn status_of(headers: &HeaderMap) -> Option<i32> {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

pin_project! {
    /// The response future of [`GrpcMetricsService`].
    pub struct ObservedFuture<F> {
        #[pin]
        inner: F,
        call: Option<CallInfo>,
    }
}

impl<F, RB, E> Future for ObservedFuture<F>
where
    F: Future<Output = Result<Response<RB>, E>>,
{
    type Output = Result<Response<ObservedBody<RB>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context_<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let polled = match this.call.as_mut() {
            Some(call) => call.enter(|| this.inner.poll(cx)),
            None => this.inner.poll(cx),
        };
        let result = match polled {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(result) => result,
        };
        let mut call = this.call.take();
        match result {
            Ok(response) => {
                if let (Some(code), Some(call)) = (status_of(response.headers()), call.as_mut()) {
                    call.finish(code);
                }
                Poll::Ready(Ok(response.map(|body| ObservedBody { inner: body, call })))
            }
            Err(e) => {
                if let Some(call) = call.as_mut() {
                    call.finish(13);
                }
                Poll::Ready(Err(e))
            }
        }
    }
}

pin_project! {
    /// The response body of [`GrpcMetricsService`]: reports at its trailers.
    pub struct ObservedBody<B> {
        #[pin]
        inner: B,
        call: Option<CallInfo>,
    }
}

impl<B: Body> Body for ObservedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context_<'_>) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = match this.call.as_mut() {
            Some(call) => call.enter(|| this.inner.poll_frame(cx)),
            None => this.inner.poll_frame(cx),
        };
        if let Poll::Ready(ready) = &frame {
            match ready {
                Some(Ok(frame)) => {
                    if let (Some(trailers), Some(call)) = (frame.trailers_ref(), this.call.as_mut()) {
                        call.finish(status_of(trailers).unwrap_or(0));
                    }
                }
                Some(Err(_)) => {
                    if let Some(call) = this.call.as_mut() {
                        call.finish(13);
                    }
                }
                None => {
                    if let Some(call) = this.call.as_mut() {
                        call.finish(0);
                    }
                }
            }
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::TraceId;
    use std::sync::Mutex;

    #[tokio::test]
    async fn without_a_tracer_a_callers_trace_still_reaches_the_handler_and_the_call_is_recorded() {
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&recorded);
        let layer = GrpcMetricsLayer::new(move |call| {
            record
                .lock()
                .unwrap()
                .push((call.service.to_string(), call.method.to_string(), call.code.0));
        });
        let traces = Arc::new(Mutex::new(Vec::new()));
        let inside = Arc::clone(&traces);
        let mut service = layer.layer(tower::service_fn(move |_request: Request<()>| {
            inside
                .lock()
                .unwrap()
                .push(Context::current().span().span_context().trace_id());
            async {
                let response = Response::builder()
                    .header("grpc-status", "5")
                    .body(axum::body::Body::empty())
                    .unwrap();
                Ok::<_, std::convert::Infallible>(response)
            }
        }));
        let request = Request::builder()
            .uri("/zerotrace.test.v1.TestService/Get")
            .header("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
            .body(())
            .unwrap();
        drop(service.call(request).await.unwrap());

        assert_eq!(
            *traces.lock().unwrap(),
            [TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap()]
        );
        assert_eq!(
            *recorded.lock().unwrap(),
            [("zerotrace.test.v1.TestService".to_string(), "Get".to_string(), 5)]
        );
    }

    /// A writer the test's subscriber logs into.
    #[derive(Clone, Default)]
    struct Logs(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Logs {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_failure_noted_by_the_handler_is_in_the_calls_one_log_line_and_not_in_the_next_call() {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _default = tracing::subscriber::set_default(subscriber);
        let mut service = GrpcMetricsLayer::new(|_| {}).layer(tower::service_fn(|request: Request<()>| async move {
            let failed = request.uri().path().ends_with("/Fail");
            if failed {
                tokio::task::yield_now().await;
                note_failure("the disk is on fire");
            }
            let response = Response::builder()
                .header("grpc-status", if failed { "13" } else { "0" })
                .body(axum::body::Body::empty())
                .unwrap();
            Ok::<_, std::convert::Infallible>(response)
        }));
        for path in [
            "/zerotrace.test.v1.TestService/Fail",
            "/zerotrace.test.v1.TestService/Get",
        ] {
            let request = Request::builder().uri(path).body(()).unwrap();
            drop(service.call(request).await.unwrap());
        }
        note_failure("outside any call");

        let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = logs.lines().collect();
        assert_eq!(lines.len(), 2, "{logs}");
        assert!(lines[0].contains("call failed"), "{logs}");
        assert!(lines[0].contains("zerotrace.test.v1.TestService/Fail"), "{logs}");
        assert!(lines[0].contains("the disk is on fire"), "{logs}");
        assert!(lines[1].contains("request failed"), "{logs}");
        assert!(lines[1].contains("outside any call"), "{logs}");
    }
}
