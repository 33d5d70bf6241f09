//! How every ZeroTrace gRPC service is served.
//!
//! A service crate builds its own [`Routes`] (its gRPC service behind its own
//! layers, with [`layered`]) and hands them to [`serve`], which adds tonic-health and gRPC
//! reflection (v1 and v1alpha: grpcurl 1.8 asks v1alpha), serves `/metrics`,
//! and on shutdown sets health to NOT_SERVING, drains within a grace timeout
//! and flushes telemetry last.

mod config;
mod one_write;
mod routes;
pub mod status;
mod tls;
mod token;

pub use config::{CONFIG_ERROR_EXIT, Secret, parse_config, parse_duration};
pub use routes::{Routable, Unrouted, layered};
pub use status::{Diagnosis, Kind, Problem};
pub use tls::{TlsArgs, TlsClientArgs};
pub use token::{RequireToken, TokenChecked};

/// The memory allocator of every ZeroTrace program: each binary's `main.rs`
/// installs it with `#[global_allocator]`. glibc's malloc and free took a
/// third of the CPU of a MatchPackages call; with mimalloc's 2.x line,
/// without transparent huge pages (the workspace's `mimalloc` features), the
/// same process serves about 1.5 times the calls in the same memory
/// (docs/performance.md, "Allocator").
pub use mimalloc::MiMalloc as Allocator;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use zerotrace_telemetry::TelemetryGuard;

/// What can stop a service from serving.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {error}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        error: std::io::Error,
    },
    /// The reflection service could not be built from the descriptor set.
    #[error("reflection setup failed: {0}")]
    Reflection(String),
    /// The gRPC server failed.
    #[error("grpc server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The metrics endpoint failed.
    #[error(transparent)]
    Telemetry(#[from] zerotrace_telemetry::TelemetryError),
    /// TLS is misconfigured, or plaintext was asked where it is refused.
    #[error("{0}")]
    Tls(String),
}

/// The two listeners of a service.
#[derive(Debug)]
pub struct Listeners {
    /// gRPC (HTTP/2, plaintext).
    pub grpc: TcpListener,
    /// Prometheus `/metrics` (HTTP/1.1).
    pub metrics: TcpListener,
}

impl Listeners {
    /// Binds both addresses.
    pub async fn bind(grpc: SocketAddr, metrics: SocketAddr) -> Result<Self, ServerError> {
        Ok(Self {
            grpc: bind(grpc).await?,
            metrics: bind(metrics).await?,
        })
    }

    /// Returns the bound gRPC address (useful with port 0).
    pub fn grpc_addr(&self) -> std::io::Result<SocketAddr> {
        self.grpc.local_addr()
    }

    /// Returns the TLS of the gRPC listener under `args`; plaintext only on
    /// loopback unless `--insecure-listen` ([`TlsArgs::server_config`]).
    pub fn grpc_tls(&self, args: &TlsArgs) -> Result<Option<tonic::transport::ServerTlsConfig>, ServerError> {
        args.server_config(self.grpc_listen_addr()?)
    }

    /// Returns the token check of the gRPC listener: `token` is required on
    /// every call when set, and beyond loopback it must be set unless mutual
    /// TLS or `--insecure-listen` ([`RequireToken::check_listen`]).
    pub fn grpc_token(&self, token: &Secret, tls: &TlsArgs, flag: &str) -> Result<RequireToken, ServerError> {
        let require = RequireToken::new(token);
        require.check_listen(self.grpc_listen_addr()?, tls, flag)?;
        Ok(require)
    }

    fn grpc_listen_addr(&self) -> Result<SocketAddr, ServerError> {
        self.grpc
            .local_addr()
            .map_err(|e| ServerError::Tls(format!("the gRPC listener has no address: {e}")))
    }

    /// Returns the bound metrics address.
    pub fn metrics_addr(&self) -> std::io::Result<SocketAddr> {
        self.metrics.local_addr()
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    TcpListener::bind(addr)
        .await
        .map_err(|error| ServerError::Bind { addr, error })
}

/// Streams one HTTP/2 connection may have open at once.
pub const MAX_STREAMS_PER_CONNECTION: u32 = 100;
/// Largest header block a request may send (HTTP/2 SETTINGS_MAX_HEADER_LIST_SIZE).
const MAX_HEADER_LIST_BYTES: u32 = 16 * 1024;
/// How often an idle connection is pinged.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
/// How long a ping may go unanswered before the connection is closed.
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);
/// Age after which a connection is asked to go away (GOAWAY).
const MAX_CONNECTION_AGE: Duration = Duration::from_secs(3600);

/// Tunables of [`serve`].
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// How long in-flight calls may run after shutdown starts before they are cut.
    pub grace: Duration,
    /// Per-request timeout enforced by the transport, if any.
    pub request_timeout: Option<Duration>,
    /// TLS of the gRPC listener ([`TlsArgs::server_config`]); `None` is plaintext.
    pub tls: Option<tonic::transport::ServerTlsConfig>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            grace: Duration::from_secs(10),
            request_timeout: None,
            tls: None,
        }
    }
}

/// Serves `routes` (whose gRPC service is named `service_name`, e.g.
/// `zerotrace.agent.v1.AgentService`) until `shutdown` resolves, then drains
/// and flushes `telemetry`.
pub async fn serve(
    service_name: &'static str,
    routes: Routes,
    listeners: Listeners,
    telemetry: TelemetryGuard,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    let (health, health_service) = tonic_health::server::health_reporter();
    set_health(&health, service_name, ServingStatus::Serving).await;

    let reflection_v1 = reflection(service_name)
        .build_v1()
        .map_err(|e| ServerError::Reflection(e.to_string()))?;
    let reflection_v1alpha = reflection(service_name)
        .build_v1alpha()
        .map_err(|e| ServerError::Reflection(e.to_string()))?;
    let routes = routes
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);

    let (stop_grpc, grpc_stopped) = tokio::sync::oneshot::channel::<()>();
    let (stop_metrics, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
    let tls = options.tls.is_some();
    let mut builder = tonic::transport::Server::builder()
        .layer(one_write::SmallFramesLayer::new(tls))
        // A connection opens at most this many streams at once (HTTP/2
        // SETTINGS_MAX_CONCURRENT_STREAMS); a client that wants more opens
        // more connections.
        .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION)
        .http2_max_header_list_size(MAX_HEADER_LIST_BYTES)
        // A peer that stops answering pings is dropped, whatever it holds.
        .http2_keepalive_interval(Some(KEEPALIVE_INTERVAL))
        .http2_keepalive_timeout(Some(KEEPALIVE_TIMEOUT))
        .tcp_keepalive(Some(KEEPALIVE_INTERVAL))
        // Connections are recycled, so load spreads over replicas and no
        // connection lives for ever; streams in flight finish first.
        .max_connection_age(MAX_CONNECTION_AGE);
    if let Some(timeout) = options.request_timeout {
        builder = builder.timeout(timeout);
    }
    if let Some(config) = options.tls {
        builder = builder.tls_config(config)?;
    }
    let grpc_addr = listeners.grpc.local_addr().ok();
    let mut grpc = tokio::spawn(builder.add_routes(routes).serve_with_incoming_shutdown(
        // A small answer leaves in one write (`one_write`).
        futures_util::StreamExt::map(TcpIncoming::from(listeners.grpc).with_nodelay(Some(true)), |accepted| {
            accepted.map(one_write::Socket::new)
        }),
        async {
            let _ = grpc_stopped.await;
        },
    ));
    let metrics = tokio::spawn(zerotrace_telemetry::serve_metrics(
        listeners.metrics,
        telemetry.metrics(),
        async {
            let _ = metrics_stopped.await;
        },
    ));
    tracing::info!(service = service_name, addr = ?grpc_addr, tls, "serving");

    let result = tokio::select! {
        finished = &mut grpc => Some(finished),
        () = shutdown => None,
    };
    let result = match result {
        Some(finished) => flatten(finished),
        None => {
            tracing::info!(service = service_name, grace = ?options.grace, "shutting down");
            set_health(&health, service_name, ServingStatus::NotServing).await;
            let _ = stop_grpc.send(());
            match tokio::time::timeout(options.grace, &mut grpc).await {
                Ok(finished) => flatten(finished),
                Err(_) => {
                    tracing::warn!(service = service_name, "grace period over, cutting in-flight calls");
                    grpc.abort();
                    Ok(())
                }
            }
        }
    };
    let _ = stop_metrics.send(());
    if let Ok(Err(e)) = metrics.await {
        tracing::warn!(service = service_name, error = %e, "metrics endpoint failed");
    }
    if let Err(e) = telemetry.shutdown(options.grace).await {
        tracing::warn!(service = service_name, error = %e, "telemetry flush failed");
    }
    tracing::info!(service = service_name, "stopped");
    result
}

fn flatten(finished: Result<Result<(), tonic::transport::Error>, tokio::task::JoinError>) -> Result<(), ServerError> {
    match finished {
        Ok(result) => Ok(result?),
        Err(e) => {
            tracing::error!(error = %e, "grpc server task failed");
            Ok(())
        }
    }
}

/// Returns a reflection builder that advertises only this service, health and
/// reflection itself (the descriptor set holds every ZeroTrace service).
fn reflection(service_name: &'static str) -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(zerotrace_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET)
        .with_service_name(service_name)
        .with_service_name("grpc.health.v1.Health")
        .with_service_name("grpc.reflection.v1.ServerReflection")
        .with_service_name("grpc.reflection.v1alpha.ServerReflection")
}

async fn set_health(health: &HealthReporter, service_name: &str, status: ServingStatus) {
    // "" is the server's overall health, which `grpc_health_probe` and grpcurl ask by default.
    health.set_service_status("", status).await;
    health.set_service_status(service_name, status).await;
}

/// Resolves on SIGINT or SIGTERM (Ctrl-C only where there are no Unix signals).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("received SIGINT"),
        () = terminate => tracing::info!("received SIGTERM"),
    }
}
