//! Load benchmark of the enrichment service (run by `scripts/load-test-enrichment.sh`).
//!
//! In one process, on loopback: a bare tonic echo server (the same
//! `EnrichmentService` whose GetVulnerability returns an empty message and
//! whose MatchPackages returns the packages it was sent: the floor of those
//! calls here), then the real service (`zerotrace_enrichment::serve`, both
//! shared OSV zips imported, default caches). Clients draw advisory ids and
//! aliases, and package versions named by the advisories, Zipf-wise, and
//! call GetVulnerability and MatchPackages (batches of 100) in a closed loop,
//! each phase bounded in time and count: first from a cold cache, then warm
//! (for look-ups: every id of the mix fetched once in between, so that the
//! warm phase measures cached look-ups only); the warm look-ups run once
//! more with clients that keep the advisory as the bytes it came in, which
//! leaves the service's own part of a look-up.
//! The cache hit rate of a phase is the delta of
//! `zerotrace_cve_cache_hits_total` / (hits + misses) on the service's
//! `/metrics`. Prints a Markdown table and one `RESULT` line per phase (its
//! req/s, latencies, hit rate and ratio to the echo: `echo_ratio`, `NaN`
//! without `--phases echo`).
//!
//! ```sh
//! cargo run --release -p zerotrace-enrichment --example load -- --data ../shared/data
//! ```
//!
//! `--otlp-sink` instead runs an OTLP/gRPC sink (metrics and traces, counted
//! and dropped) until SIGTERM, for the telemetry overhead runs, where the
//! service pushes to it: the OpenTelemetry SDK reads `OTEL_*` once at start,
//! so each telemetry mode is its own process. `--serve-echo` serves the echo
//! server alone until SIGTERM, its address on the first line of stdout, for
//! an outside client (h2load) to call beside the service binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{ExportMetricsServiceRequest, ExportMetricsServiceResponse};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tonic::client::Grpc;
use tonic::codec::CompressionEncoding;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic::transport::server::TcpIncoming;
use tonic::{Code, Request, Response, Status};
use tonic_prost::ProstCodec;
use zerotrace_enrichment::EnrichmentConfig;
use zerotrace_loadgen::{BoxError, Budget, OsvWorkload, Rng, Stats, WorkloadPackage, Zipf, measure, scrape_counter};
use zerotrace_proto::common::v1 as common;
use zerotrace_proto::encoded;
use zerotrace_proto::enrichment::v1 as pb;
use zerotrace_proto::enrichment::v1::enrichment_service_client::EnrichmentServiceClient;
use zerotrace_proto::enrichment::v1::enrichment_service_server::{EnrichmentService, EnrichmentServiceServer};
use zerotrace_server::Listeners;

type Client = EnrichmentServiceClient<Channel>;

const HITS: &str = "zerotrace_cve_cache_hits_total";
const MISSES: &str = "zerotrace_cve_cache_misses_total";

struct Options {
    data: PathBuf,
    concurrency: usize,
    duration: Duration,
    max_requests: usize,
    distinct: usize,
    zipf_s: f64,
    batch: usize,
    phases: Vec<String>,
    scrape_every: Option<Duration>,
    label: String,
    seed: u64,
    otlp_sink: bool,
    serve_echo: bool,
    sink_seconds: u64,
}

fn options() -> Result<Options, BoxError> {
    let mut o = Options {
        data: PathBuf::from("../shared/data"),
        concurrency: 8,
        duration: Duration::from_secs(10),
        max_requests: 2_000_000,
        distinct: 10_000,
        zipf_s: 1.1,
        batch: 100,
        phases: vec!["echo".into(), "get".into(), "match".into()],
        scrape_every: None,
        label: "default".to_string(),
        seed: 0x5eed,
        otlp_sink: false,
        serve_echo: false,
        sink_seconds: 900,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--data" => o.data = value()?.into(),
            "--concurrency" => o.concurrency = value()?.parse()?,
            "--duration" => o.duration = Duration::from_secs_f64(value()?.parse()?),
            "--max-requests" => o.max_requests = value()?.parse()?,
            "--distinct" => o.distinct = value()?.parse()?,
            "--zipf-s" => o.zipf_s = value()?.parse()?,
            "--batch" => o.batch = value()?.parse()?,
            "--phases" => o.phases = value()?.split(',').map(str::to_string).collect(),
            "--scrape-every" => o.scrape_every = Some(Duration::from_secs_f64(value()?.parse()?)),
            "--label" => o.label = value()?,
            "--seed" => o.seed = value()?.parse()?,
            "--otlp-sink" => o.otlp_sink = true,
            "--serve-echo" => o.serve_echo = true,
            "--sink-seconds" => o.sink_seconds = value()?.parse()?,
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    Ok(o)
}

/// The anchor: GetVulnerability returns an empty message, MatchPackages echoes its packages.
#[derive(Debug, Default)]
struct Echo;

#[tonic::async_trait]
impl EnrichmentService for Echo {
    async fn match_packages(
        &self,
        request: Request<pb::MatchPackagesRequest>,
    ) -> Result<Response<pb::MatchPackagesResponse>, Status> {
        let matches = request
            .into_inner()
            .packages
            .into_iter()
            .map(|package| pb::PackageMatch {
                package: Some(package),
                ..Default::default()
            })
            .collect();
        Ok(Response::new(pb::MatchPackagesResponse {
            matches,
            advisory_data: None,
            advisories: Vec::new(),
        }))
    }

    async fn get_vulnerability(
        &self,
        _: Request<pb::GetVulnerabilityRequest>,
    ) -> Result<Response<pb::GetVulnerabilityResponse>, Status> {
        Ok(Response::new(pb::GetVulnerabilityResponse::default()))
    }

    async fn batch_get_vulnerabilities(
        &self,
        _: Request<pb::BatchGetVulnerabilitiesRequest>,
    ) -> Result<Response<pb::BatchGetVulnerabilitiesResponse>, Status> {
        Err(Status::unimplemented("echo"))
    }

    async fn get_database_info(
        &self,
        _: Request<pb::GetDatabaseInfoRequest>,
    ) -> Result<Response<pb::GetDatabaseInfoResponse>, Status> {
        Err(Status::unimplemented("echo"))
    }
}

/// What the clients ask: Zipf over the first `distinct` ids and package versions of the workload.
struct Mix {
    ids: Vec<String>,
    id_zipf: Zipf,
    packages: Vec<WorkloadPackage>,
    package_zipf: Zipf,
    batch: usize,
}

impl Mix {
    fn new(workload: OsvWorkload, o: &Options) -> Self {
        let mut ids = workload.ids;
        let mut packages = workload.packages;
        ids.truncate(o.distinct);
        packages.truncate(o.distinct);
        Self {
            id_zipf: Zipf::new(ids.len(), o.zipf_s),
            package_zipf: Zipf::new(packages.len(), o.zipf_s),
            ids,
            packages,
            batch: o.batch,
        }
    }

    /// Returns the id of call `seq` of the phase seeded `seed` (the same seq draws the same id).
    fn id(&self, seed: u64, seq: usize) -> String {
        let mut rng = call_rng(seed, seq);
        self.ids[self.id_zipf.sample(&mut rng)].clone()
    }

    fn batch(&self, seed: u64, seq: usize) -> Vec<common::Package> {
        let mut rng = call_rng(seed, seq);
        (0..self.batch)
            .map(|_| {
                let p = &self.packages[self.package_zipf.sample(&mut rng)];
                common::Package {
                    ecosystem: p.ecosystem.clone(),
                    name: p.name.clone(),
                    version: p.version.clone(),
                    source: common::PackageSource::Registry as i32,
                    ..Default::default()
                }
            })
            .collect()
    }
}

fn call_rng(seed: u64, seq: usize) -> Rng {
    let mut rng = Rng::new(seed ^ (seq as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    rng.next_u64();
    rng
}

/// One connection per client, so N clients are N HTTP/2 connections.
async fn connect(addr: SocketAddr, n: usize) -> Result<Arc<Vec<Client>>, BoxError> {
    let clients = channels(addr, n)
        .await?
        .into_iter()
        .map(|channel| EnrichmentServiceClient::new(channel).max_decoding_message_size(256 * 1024 * 1024))
        .collect();
    Ok(Arc::new(clients))
}

async fn channels(addr: SocketAddr, n: usize) -> Result<Vec<Channel>, BoxError> {
    let mut channels = Vec::with_capacity(n);
    for _ in 0..n {
        channels.push(Channel::from_shared(format!("http://{addr}"))?.connect().await?);
    }
    Ok(channels)
}

fn budget(o: &Options) -> Budget {
    Budget {
        requests: o.max_requests,
        duration: o.duration,
    }
}

async fn run_get(
    name: &str,
    clients: &Arc<Vec<Client>>,
    mix: &Arc<Mix>,
    o: &Options,
    seed: u64,
) -> Result<Stats, BoxError> {
    let (clients, mix) = (clients.clone(), mix.clone());
    measure(name, budget(o), o.concurrency, move |call| {
        let mut client = clients[call.worker].clone();
        let id = mix.id(seed, call.seq);
        async move { served(client.get_vulnerability(pb::GetVulnerabilityRequest { id }).await) }
    })
    .await
}

/// Looks up every id of the mix, in batches, so that each is in the cache.
async fn warm_every_id(clients: &Arc<Vec<Client>>, mix: &Mix) -> Result<(), BoxError> {
    for ids in mix.ids.chunks(500) {
        let request = pb::BatchGetVulnerabilitiesRequest { ids: ids.to_vec() };
        clients[0].clone().batch_get_vulnerabilities(request).await?;
    }
    Ok(())
}

/// Whether a look-up was served: an alias of a withdrawn-only record may
/// resolve to nothing, which is still an answer.
fn served<T>(answer: Result<T, Status>) -> Result<(), Status> {
    match answer {
        Ok(_) => Ok(()),
        Err(status) if status.code() == Code::NotFound => Ok(()),
        Err(status) => Err(status),
    }
}

/// GetVulnerability with clients that keep the advisory as the bytes it came
/// in (`encoded::GetVulnerabilityResponse`), on connections of their own: the
/// service's part of a look-up, without the in-process client decoding an
/// advisory the echo server never sends.
async fn run_get_encoded(
    name: &str,
    addr: SocketAddr,
    mix: &Arc<Mix>,
    o: &Options,
    seed: u64,
) -> Result<Stats, BoxError> {
    const PATH: &str = "/zerotrace.enrichment.v1.EnrichmentService/GetVulnerability";
    let clients: Arc<Vec<Grpc<Channel>>> = Arc::new(
        channels(addr, o.concurrency)
            .await?
            .into_iter()
            .map(Grpc::new)
            .collect(),
    );
    let mix = mix.clone();
    measure(name, budget(o), o.concurrency, move |call| {
        let mut client = clients[call.worker].clone();
        let id = mix.id(seed, call.seq);
        async move {
            client.ready().await.map_err(|e| Status::unavailable(e.to_string()))?;
            let codec = ProstCodec::<pb::GetVulnerabilityRequest, encoded::GetVulnerabilityResponse>::default();
            let request = Request::new(pb::GetVulnerabilityRequest { id });
            served(client.unary(request, PathAndQuery::from_static(PATH), codec).await)
        }
    })
    .await
}

async fn run_match(
    name: &str,
    clients: &Arc<Vec<Client>>,
    mix: &Arc<Mix>,
    o: &Options,
    seed: u64,
    shape: Shape,
) -> Result<Stats, BoxError> {
    let (clients, mix) = (clients.clone(), mix.clone());
    measure(name, budget(o), o.concurrency, move |call| {
        let mut client = clients[call.worker].clone();
        let packages = mix.batch(seed, call.seq);
        let sent = packages.len();
        async move {
            let response = client.match_packages(shape.request(packages)).await?.into_inner();
            if response.matches.len() != sent {
                return Err(Status::internal("matches do not line up with packages"));
            }
            Ok(())
        }
    })
    .await
}

/// The response shape a MatchPackages phase asks for.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// Every advisory in full, once per package (the deprecated shape).
    Embedded,
    /// Each advisory in full, once per response.
    ByReference,
    /// Each advisory once, without its long text: what the agent asks for.
    Basic,
}

impl Shape {
    const ALL: [Shape; 3] = [Shape::Embedded, Shape::ByReference, Shape::Basic];

    fn request(self, packages: Vec<common::Package>) -> pb::MatchPackagesRequest {
        pb::MatchPackagesRequest {
            packages,
            advisories_by_reference: !matches!(self, Shape::Embedded),
            advisory_view: match self {
                Shape::Basic => pb::AdvisoryView::Basic,
                Shape::Embedded | Shape::ByReference => pb::AdvisoryView::Full,
            } as i32,
        }
    }
}

/// Echo phases: (empty unary, echoed batch).
async fn echo(mix: &Arc<Mix>, o: &Options) -> Result<(Stats, Stats), BoxError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(echo_server(listener, async {
        let _ = stopped.await;
    }));
    let clients = connect(addr, o.concurrency).await?;
    let unary = run_get("echo: empty unary (bare tonic)", &clients, mix, o, 1).await?;
    let batch = run_match(
        &format!("echo: MatchPackages of {} packages, echoed back", o.batch),
        &clients,
        mix,
        o,
        2,
        Shape::ByReference,
    )
    .await?;
    drop(clients);
    let _ = stop.send(());
    server.await??;
    Ok((unary, batch))
}

/// A measured phase of the real service, with its cache hit rate.
struct Phase {
    key: &'static str,
    stats: Stats,
    hit_rate: f64,
    lookups: f64,
}

async fn with_hit_rate(
    key: &'static str,
    metrics: SocketAddr,
    run: impl Future<Output = Result<Stats, BoxError>>,
) -> Result<Phase, BoxError> {
    let (hits, misses) = (
        scrape_counter(metrics, HITS).await?,
        scrape_counter(metrics, MISSES).await?,
    );
    let stats = run.await?;
    let hits = scrape_counter(metrics, HITS).await? - hits;
    let misses = scrape_counter(metrics, MISSES).await? - misses;
    let lookups = hits + misses;
    Ok(Phase {
        key,
        stats,
        hit_rate: if lookups > 0.0 { hits / lookups } else { f64::NAN },
        lookups,
    })
}

async fn enrichment(mix: &Arc<Mix>, o: &Options) -> Result<Vec<Phase>, BoxError> {
    let crates = o.data.join("osv/crates.io/all.zip");
    let pypi = o.data.join("osv/PyPI/all.zip");
    let dir = tempfile::tempdir()?;
    let mut config = <EnrichmentConfig as clap::Parser>::parse_from(["zerotrace-enrichment", "--sync-interval", "0s"]);
    config.listen = "127.0.0.1:0".parse()?;
    config.metrics_listen = "127.0.0.1:0".parse()?;
    config.data_dir = dir.path().join("data");
    config.import = vec![crates, pypi];
    config.cache_max_entries = 100_000;
    config.cache_ttl = Duration::from_secs(3600);
    config.max_batch_size = 10_000;
    config.shutdown_grace = Duration::from_secs(5);
    let listeners = Listeners::bind(config.listen, config.metrics_listen).await?;
    let (addr, metrics) = (listeners.grpc_addr()?, listeners.metrics_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let server = tokio::spawn(zerotrace_enrichment::serve(config, listeners, async {
        let _ = stopped.await;
    }));
    // The listeners are bound already; calls succeed once the start-up import is done.
    let clients = connect(addr, o.concurrency).await?;
    let info = loop {
        match clients[0]
            .clone()
            .get_database_info(pb::GetDatabaseInfoRequest {})
            .await
        {
            Ok(info) => break info.into_inner(),
            Err(_) if started.elapsed() < Duration::from_secs(300) && !server.is_finished() => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(status) => return Err(format!("enrichment never became ready: {status}").into()),
        }
    };
    eprintln!(
        "# enrichment ready in {:.1} s: {} advisories",
        started.elapsed().as_secs_f64(),
        info.total_advisories
    );
    // What one batch weighs, in each shape.
    for shape in Shape::ALL {
        let sample = clients[0]
            .clone()
            .match_packages(shape.request(mix.batch(0, 0)))
            .await?
            .into_inner();
        let (matched, warnings): (usize, usize) = sample.matches.iter().fold((0, 0), |(v, w), m| {
            (
                v + m.vulnerabilities.len() + m.vulnerability_refs.len(),
                w + m.warnings.len() + m.warning_refs.len(),
            )
        });
        eprintln!(
            "# a sample MatchPackages response ({shape:?}): {} packages, {matched} vulnerabilities and {warnings} \
             warnings, {} advisories carried, {} bytes",
            sample.matches.len(),
            if matches!(shape, Shape::Embedded) {
                matched + warnings
            } else {
                sample.advisories.len()
            },
            prost::Message::encoded_len(&sample)
        );
    }

    let scrapes = Arc::new(AtomicU64::new(0));
    let scraper = o.scrape_every.map(|every| {
        let scrapes = scrapes.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                // The body is dropped, as if a Prometheus server had stored it.
                if zerotrace_loadgen::scrape(metrics).await.is_ok() {
                    scrapes.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    });

    let mut phases = Vec::new();
    let batch = o.batch;
    if o.phases.iter().any(|p| p == "get") {
        phases.push(
            with_hit_rate(
                "get-cold",
                metrics,
                run_get("GetVulnerability, Zipf ids, cold cache", &clients, mix, o, 3),
            )
            .await?,
        );
        // Every id of the mix is looked up once more, so the warm phases
        // measure cached look-ups only; the cold phase above is the mix's
        // own hit rate, first sightings included.
        warm_every_id(&clients, mix).await?;
        phases.push(
            with_hit_rate(
                "get-warm",
                metrics,
                run_get("GetVulnerability, Zipf ids, warm cache", &clients, mix, o, 4),
            )
            .await?,
        );
        phases.push(
            with_hit_rate(
                "get-warm-encoded",
                metrics,
                run_get_encoded(
                    "GetVulnerability, warm cache, the client keeps the advisory encoded",
                    addr,
                    mix,
                    o,
                    4,
                ),
            )
            .await?,
        );
    }
    if o.phases.iter().any(|p| p == "match") {
        phases.push(
            with_hit_rate(
                "match-cold",
                metrics,
                run_match(
                    &format!("MatchPackages of {batch}, Zipf packages, cold cache"),
                    &clients,
                    mix,
                    o,
                    5,
                    Shape::ByReference,
                ),
            )
            .await?,
        );
        phases.push(
            with_hit_rate(
                "match-warm",
                metrics,
                run_match(
                    &format!("MatchPackages of {batch}, Zipf packages, warm cache"),
                    &clients,
                    mix,
                    o,
                    6,
                    Shape::ByReference,
                ),
            )
            .await?,
        );
        // The deprecated shape, every advisory embedded per package, as old clients get it.
        phases.push(
            with_hit_rate(
                "match-warm-embedded",
                metrics,
                run_match(
                    &format!("MatchPackages of {batch}, warm cache, advisories embedded (old shape)"),
                    &clients,
                    mix,
                    o,
                    6,
                    Shape::Embedded,
                ),
            )
            .await?,
        );
        // Each advisory once without its long text, as the agent asks
        // (it fetches the text once per scan with BatchGetVulnerabilities).
        phases.push(
            with_hit_rate(
                "match-warm-basic",
                metrics,
                run_match(
                    &format!("MatchPackages of {batch}, warm cache, basic view (the agent's shape)"),
                    &clients,
                    mix,
                    o,
                    6,
                    Shape::Basic,
                ),
            )
            .await?,
        );
    }
    if let Some(scraper) = scraper {
        // Stopped at once rather than at its next tick, up to an interval away.
        scraper.abort();
        let _ = scraper.await;
        eprintln!(
            "# /metrics scraped {} times during the run",
            scrapes.load(Ordering::Relaxed)
        );
    }
    drop(clients);
    let _ = stop.send(());
    server.await??;
    Ok(phases)
}

/// Counts what the service pushes, and drops it.
#[derive(Debug, Default, Clone)]
struct Sink {
    metric_exports: Arc<AtomicU64>,
    data_points: Arc<AtomicU64>,
    trace_exports: Arc<AtomicU64>,
    spans: Arc<AtomicU64>,
}

#[tonic::async_trait]
impl MetricsService for Sink {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let metrics: u64 = request
            .get_ref()
            .resource_metrics
            .iter()
            .flat_map(|r| &r.scope_metrics)
            .map(|s| s.metrics.len() as u64)
            .sum();
        self.metric_exports.fetch_add(1, Ordering::Relaxed);
        self.data_points.fetch_add(metrics, Ordering::Relaxed);
        Ok(Response::new(ExportMetricsServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl TraceService for Sink {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let spans: u64 = request
            .get_ref()
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len() as u64)
            .sum();
        self.trace_exports.fetch_add(1, Ordering::Relaxed);
        self.spans.fetch_add(spans, Ordering::Relaxed);
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

async fn otlp_sink(o: &Options) -> Result<(), BoxError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!("otlp sink listening on http://{}", listener.local_addr()?);
    std::io::stdout().flush()?;
    let sink = Sink::default();
    let limit = Duration::from_secs(o.sink_seconds);
    tonic::transport::Server::builder()
        .add_service(MetricsServiceServer::new(sink.clone()).accept_compressed(CompressionEncoding::Gzip))
        .add_service(TraceServiceServer::new(sink.clone()).accept_compressed(CompressionEncoding::Gzip))
        .serve_with_incoming_shutdown(TcpIncoming::from(listener), async {
            tokio::select! {
                () = zerotrace_server::shutdown_signal() => {}
                () = tokio::time::sleep(limit) => {}
            }
        })
        .await?;
    println!(
        "otlp sink received {} metric exports ({} metrics), {} trace exports ({} spans)",
        sink.metric_exports.load(Ordering::Relaxed),
        sink.data_points.load(Ordering::Relaxed),
        sink.trace_exports.load(Ordering::Relaxed),
        sink.spans.load(Ordering::Relaxed)
    );
    Ok(())
}

/// The bare tonic echo server, on `listener`, until `shutdown`.
async fn echo_server(listener: TcpListener, shutdown: impl Future<Output = ()>) -> Result<(), tonic::transport::Error> {
    tonic::transport::Server::builder()
        .add_service(EnrichmentServiceServer::new(Echo))
        .serve_with_incoming_shutdown(TcpIncoming::from(listener).with_nodelay(Some(true)), shutdown)
        .await
}

/// The echo server alone, on a port of its own, until SIGTERM.
async fn serve_echo() -> Result<(), BoxError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!("echo listening on {}", listener.local_addr()?);
    std::io::stdout().flush()?;
    echo_server(listener, zerotrace_server::shutdown_signal()).await?;
    Ok(())
}

/// A phase's req/s over its anchor's, if it has one.
fn ratio(stats: &Stats, anchor: Option<&Stats>) -> Option<f64> {
    anchor.map(|a| stats.rps() / a.rps())
}

/// As the service binaries, so that the figures are theirs.
#[global_allocator]
static ALLOCATOR: zerotrace_server::Allocator = zerotrace_server::Allocator;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    zerotrace_telemetry::init_logging();
    let o = options()?;
    if o.otlp_sink {
        return otlp_sink(&o).await;
    }
    if o.serve_echo {
        return serve_echo().await;
    }
    let zips = [o.data.join("osv/crates.io/all.zip"), o.data.join("osv/PyPI/all.zip")];
    if let Some(missing) = zips.iter().find(|z| !z.is_file()) {
        return Err(format!("{} is missing: the benchmark needs ../shared/data", missing.display()).into());
    }
    let seed = o.seed;
    let workload = tokio::task::spawn_blocking(move || OsvWorkload::from_zips(&zips, seed)).await??;
    eprintln!(
        "# workload: {} ids and aliases, {} package versions; Zipf s={} over the first {} of each; \
         {} clients, {:?} or {} calls per phase",
        workload.ids.len(),
        workload.packages.len(),
        o.zipf_s,
        o.distinct,
        o.concurrency,
        o.duration,
        o.max_requests
    );
    let mix = Arc::new(Mix::new(workload, &o));

    let (echo_unary, echo_batch) = if o.phases.iter().any(|p| p == "echo") {
        let (unary, batch) = echo(&mix, &o).await?;
        (Some(unary), Some(batch))
    } else {
        (None, None)
    };
    let phases = enrichment(&mix, &o).await?;

    println!("| operation | requests | req/s | p50 ms | p95 ms | p99 ms | cache hit rate | req/s / echo req/s |");
    println!("|---|---|---|---|---|---|---|---|");
    for echo in [&echo_unary, &echo_batch].into_iter().flatten() {
        println!("{} | |", echo.cells());
    }
    // A look-up's anchor is the echo's empty unary, a batch's the echoed batch.
    let anchor = |phase: &Phase| match phase.key.starts_with("get") {
        true => echo_unary.as_ref(),
        false => echo_batch.as_ref(),
    };
    for phase in &phases {
        println!(
            "{} {:.1}% of {:.0} | {} |",
            phase.stats.cells(),
            phase.hit_rate * 100.0,
            phase.lookups,
            ratio(&phase.stats, anchor(phase)).map_or_else(String::new, |r| format!("{r:.2}×"))
        );
    }
    for phase in &phases {
        println!(
            "RESULT label={} phase={} requests={} rps={:.1} p50_ms={:.3} p95_ms={:.3} p99_ms={:.3} hit_rate={:.4} \
             echo_ratio={:.4}",
            o.label,
            phase.key,
            phase.stats.requests,
            phase.stats.rps(),
            phase.stats.ms(0.5),
            phase.stats.ms(0.95),
            phase.stats.ms(0.99),
            phase.hit_rate,
            ratio(&phase.stats, anchor(phase)).unwrap_or(f64::NAN)
        );
    }
    Ok(())
}
