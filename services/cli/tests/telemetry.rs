//! Push telemetry end to end: `zerotrace up` exports OTLP to a sink owned by
//! this test (a tonic server implementing the OTLP metrics and trace
//! services). One triggered scan must be one trace across the three
//! services, the metric names must translate to exactly the contract's, and
//! a SIGTERM must flush what the (long) export interval had not sent yet.
//! The same run through `rotel` (a real collector) proves wire compatibility.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{ExportMetricsServiceRequest, ExportMetricsServiceResponse};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status};
use zerotrace_proto::agent::v1 as agent;
use zerotrace_proto::agent::v1::agent_service_client::AgentServiceClient;
use zerotrace_proto::common::v1 as common_pb;

const CONTRACT: [&str; 13] = [
    "zerotrace_scan_duration_seconds",
    "zerotrace_files_scanned_total",
    "zerotrace_vulnerabilities_found_total",
    "zerotrace_agent_cpu_usage_percent",
    "zerotrace_agent_memory_usage_bytes",
    "zerotrace_enrichment_requests_total",
    "zerotrace_enrichment_duration_seconds",
    "zerotrace_cve_cache_hits_total",
    "zerotrace_cve_cache_misses_total",
    "zerotrace_enrichment_active_connections",
    "zerotrace_api_requests_total",
    "zerotrace_api_request_duration_seconds",
    "zerotrace_api_active_connections",
];

const ADVISORY: &str = r#"{"id":"RUSTSEC-2099-0002","modified":"2099-01-02T00:00:00Z","aliases":["CVE-2099-2222"],
"summary":"demo","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
"affected":[{"package":{"ecosystem":"crates.io","name":"demo-crate"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"2.0.0"}]}]}]}"#;

const CARGO_LOCK: &str = "version = 3\n\n[[package]]\nname = \"demo-crate\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n";

#[derive(Default, Clone)]
struct Sink {
    metrics: Arc<Mutex<Vec<ExportMetricsServiceRequest>>>,
    traces: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
}

#[tonic::async_trait]
impl MetricsService for Sink {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        self.metrics
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(request.into_inner());
        Ok(Response::new(ExportMetricsServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl TraceService for Sink {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.traces
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(request.into_inner());
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

async fn start_sink() -> (Sink, String) {
    let sink = Sink::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = tonic::transport::Server::builder()
        .add_service(MetricsServiceServer::new(sink.clone()).accept_compressed(CompressionEncoding::Gzip))
        .add_service(TraceServiceServer::new(sink.clone()).accept_compressed(CompressionEncoding::Gzip))
        .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener));
    tokio::spawn(server);
    (sink, addr)
}

/// The collector's Prometheus translation (and opentelemetry-prometheus's):
/// dots to underscores, a unit suffix, `_total` for monotonic sums.
fn prometheus_name(name: &str, unit: &str, monotonic_sum: bool) -> String {
    let mut out = name.replace('.', "_");
    let suffix = match unit {
        "s" => "_seconds",
        "By" => "_bytes",
        "%" => "_percent",
        _ => "",
    };
    out.push_str(suffix);
    if monotonic_sum {
        out.push_str("_total");
    }
    out
}

fn attr(attrs: &[opentelemetry_proto::tonic::common::v1::KeyValue], key: &str) -> Option<String> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(s) => Some(s.clone()),
            Value::IntValue(i) => Some(i.to_string()),
            _ => None,
        })
}

struct Up(Child);

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `zerotrace up` pushing to `otlp` and returns it with the agent's gRPC address.
fn start_up(dir: &Path, otlp: &str) -> (Up, String) {
    start_up_with(dir, otlp, &[])
}

/// Like [`start_up`], with environment variables that override its defaults.
fn start_up_with(dir: &Path, otlp: &str, overrides: &[(&str, &str)]) -> (Up, String) {
    let project = dir.join("project");
    let osv = dir.join("osv");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::create_dir_all(&osv).unwrap();
    std::fs::write(project.join("Cargo.lock"), CARGO_LOCK).unwrap();
    std::fs::write(osv.join("RUSTSEC-2099-0002.json"), ADVISORY).unwrap();
    let mut child = common::up_command(&dir.join("data"))
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{otlp}"))
        // Long enough that only the shutdown flush can deliver the final points.
        .env("OTEL_METRIC_EXPORT_INTERVAL", "600000")
        .env("OTEL_BSP_SCHEDULE_DELAY", "600000")
        .env("ZEROTRACE_ENRICHMENT_IMPORT", &osv)
        .env("ZEROTRACE_AGENT_ALLOWED_ROOTS", &project)
        .env("ZEROTRACE_AGENT_RESOURCE_INTERVAL", "200ms")
        .env("NO_COLOR", "1")
        .envs(overrides.iter().copied())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("up.log")).unwrap())
        .spawn()
        .expect("zerotrace up starts");
    let stdout = child.stdout.take().unwrap();
    let mut agent_addr = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        if let ["agent", "gRPC", addr, ..] = words.as_slice() {
            agent_addr = Some(addr.to_string());
        }
        if line.starts_with("Stop with") {
            break;
        }
    }
    (Up(child), agent_addr.expect("agent address in the banner"))
}

async fn scan_and_stop(mut up: Up, agent_addr: &str, project: &Path) {
    let state = common::scan_to_end(agent_addr, project).await;
    assert_eq!(
        state.status,
        common_pb::ScanStatus::Succeeded as i32,
        "scan failed: {}",
        state.error_message
    );
    assert_eq!(state.progress.unwrap().findings, 1, "{state:?}");
    // Let the resource sampler record a point, then stop: the flush must deliver everything.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let pid = up.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = up.0.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn check_metrics(sink: &Sink) {
    let requests = sink.metrics.lock().unwrap_or_else(|e| e.into_inner());
    let mut names = BTreeSet::new();
    let mut services = BTreeSet::new();
    for request in requests.iter() {
        for rm in &request.resource_metrics {
            let service = rm
                .resource
                .as_ref()
                .and_then(|r| attr(&r.attributes, "service.name"))
                .unwrap_or_default();
            services.insert(service.clone());
            for sm in &rm.scope_metrics {
                for m in &sm.metrics {
                    let monotonic_sum = matches!(&m.data, Some(Data::Sum(s)) if s.is_monotonic);
                    let name = prometheus_name(&m.name, &m.unit, monotonic_sum);
                    if let Some(Data::Histogram(h)) = &m.data {
                        let bounds = &h.data_points.first().expect("a histogram point").explicit_bounds;
                        assert!(bounds.contains(&1.0) && !bounds.contains(&750.0), "{name}: {bounds:?}");
                    }
                    if name == "zerotrace_api_requests_total"
                        && let Some(Data::Sum(s)) = &m.data
                    {
                        for point in &s.data_points {
                            for key in ["method", "endpoint", "status"] {
                                assert!(attr(&point.attributes, key).is_some(), "{name} lacks {key}");
                            }
                        }
                    }
                    names.insert(name);
                }
            }
        }
    }
    let want: BTreeSet<String> = CONTRACT
        .iter()
        .chain(zerotrace_telemetry::SERIES_BEYOND_CONTRACT.iter())
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        names, want,
        "OTLP instruments translate to exactly the contract names and the documented series beyond it"
    );
    for s in ["zerotrace-agent", "zerotrace-enrichment", "zerotrace-api"] {
        assert!(services.contains(s), "no metrics from {s}: {services:?}");
    }
}

struct SpanInfo {
    service: String,
    name: String,
    kind: i32,
    trace_id: Vec<u8>,
    span_id: Vec<u8>,
    parent: Vec<u8>,
    attributes: Vec<opentelemetry_proto::tonic::common::v1::KeyValue>,
}

/// Log lines written inside the scan carry its trace id.
fn check_logs(sink: &Sink, log: &Path) {
    let trace_id = {
        let requests = sink.traces.lock().unwrap_or_else(|e| e.into_inner());
        requests
            .iter()
            .flat_map(|r| &r.resource_spans)
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| &ss.spans)
            .find(|s| s.name == "scan")
            .map(|s| s.trace_id.iter().map(|b| format!("{b:02x}")).collect::<String>())
            .expect("a scan span")
    };
    let log = std::fs::read_to_string(log).unwrap();
    let line = log
        .lines()
        .find(|l| l.contains("scan matched"))
        .unwrap_or_else(|| panic!("no \"scan matched\" line in:\n{log}"));
    assert!(
        line.contains(&format!("trace_id={trace_id}")),
        "log line lacks the scan's trace id: {line}"
    );
}

fn check_trace(sink: &Sink) {
    let requests = sink.traces.lock().unwrap_or_else(|e| e.into_inner());
    let mut spans = Vec::new();
    for request in requests.iter() {
        for rs in &request.resource_spans {
            let service = rs
                .resource
                .as_ref()
                .and_then(|r| attr(&r.attributes, "service.name"))
                .unwrap_or_default();
            for ss in &rs.scope_spans {
                for s in &ss.spans {
                    spans.push(SpanInfo {
                        service: service.clone(),
                        name: s.name.clone(),
                        kind: s.kind,
                        trace_id: s.trace_id.clone(),
                        span_id: s.span_id.clone(),
                        parent: s.parent_span_id.clone(),
                        attributes: s.attributes.clone(),
                    });
                }
            }
        }
    }
    let by_id: HashMap<&[u8], &SpanInfo> = spans.iter().map(|s| (s.span_id.as_slice(), s)).collect();
    let scan = spans
        .iter()
        .find(|s| s.service == "zerotrace-agent" && s.name == "scan")
        .expect("a scan span");
    let trace = &scan.trace_id;
    let find = |service: &str, name: &str, kind: SpanKind| {
        spans
            .iter()
            .find(|s| &s.trace_id == trace && s.service == service && s.name == name && s.kind == kind as i32)
            .unwrap_or_else(|| panic!("no {kind:?} span {name} from {service} in the scan's trace"))
    };
    let walk = find("zerotrace-agent", "walk", SpanKind::Internal);
    assert_eq!(walk.parent, scan.span_id, "walk is a child of scan");
    for (service, rpc, phase) in [
        (
            "zerotrace-enrichment",
            "zerotrace.enrichment.v1.EnrichmentService/MatchPackages",
            "match",
        ),
        (
            "zerotrace-api",
            "zerotrace.api.v1.ApiService/SubmitScanReport",
            "report",
        ),
    ] {
        let server = find(service, rpc, SpanKind::Server);
        let client = find("zerotrace-agent", rpc, SpanKind::Client);
        assert_eq!(
            server.parent, client.span_id,
            "{rpc}: the server span's parent is the agent's client span"
        );
        let phase_span = by_id.get(client.parent.as_slice()).expect("client span has a parent");
        assert_eq!(phase_span.name, phase);
        assert_eq!(phase_span.parent, scan.span_id, "{phase} is a child of scan");
        assert_eq!(attr(&server.attributes, "rpc.system").as_deref(), Some("grpc"));
        assert_eq!(attr(&server.attributes, "rpc.grpc.status_code").as_deref(), Some("0"));
        assert!(attr(&server.attributes, "rpc.service").is_some() && attr(&server.attributes, "rpc.method").is_some());
    }
}

#[tokio::test]
async fn one_scan_is_one_trace_and_names_match_the_contract() {
    let (sink, addr) = start_sink().await;
    let dir = tempfile::tempdir().unwrap();
    let (up, agent_addr) = start_up(dir.path(), &addr);
    scan_and_stop(up, &agent_addr, &dir.path().join("project")).await;
    check_metrics(&sink);
    check_trace(&sink);
    check_logs(&sink, &dir.path().join("up.log"));
}

fn rotel_binary() -> Option<std::path::PathBuf> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import rotel, os; print(os.path.join(os.path.dirname(rotel.__file__), 'rotel-agent'))",
        ])
        .output()
        .ok()?;
    let path = std::path::PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    path.exists().then_some(path)
}

#[tokio::test]
async fn the_same_telemetry_passes_through_rotel() {
    let Some(rotel) = rotel_binary() else {
        assert!(
            std::env::var("CI").is_err(),
            "rotel is missing in CI (pip install rotel)"
        );
        eprintln!("SKIP: rotel not installed (pip install rotel)");
        return;
    };
    let (sink, sink_addr) = start_sink().await;
    let dir = tempfile::tempdir().unwrap();
    // rotel cannot listen on port 0 and report the port; borrow a free one from
    // the kernel (a tiny race with other processes, acceptable in a test).
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let rotel = Command::new(rotel)
        .args(["start", "--otlp-grpc-endpoint", &format!("127.0.0.1:{port}")])
        .args(["--otlp-http-endpoint", "127.0.0.1:0"])
        .args([
            "--exporter",
            "otlp",
            "--otlp-exporter-endpoint",
            &format!("http://{sink_addr}"),
        ])
        .args(["--otlp-exporter-protocol", "grpc"])
        .args(["--batch-timeout", "200ms"])
        .arg("--pid-file")
        .arg(dir.path().join("rotel.pid"))
        .arg("--log-file")
        .arg(dir.path().join("rotel.log"))
        .stdout(std::fs::File::create(dir.path().join("rotel.out")).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("rotel starts");
    let mut rotel = Up(rotel);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "rotel did not listen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (up, agent_addr) = start_up(dir.path(), &format!("127.0.0.1:{port}"));
    scan_and_stop(up, &agent_addr, &dir.path().join("project")).await;
    // rotel batches; wait until the forwarded telemetry is complete.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let done = std::panic::catch_unwind(|| {
            check_metrics(&sink);
            check_trace(&sink);
        });
        if done.is_ok() {
            break;
        }
        if Instant::now() > deadline {
            let _ = rotel.0.kill();
            eprintln!(
                "rotel said:\n{}",
                std::fs::read_to_string(dir.path().join("rotel.out")).unwrap_or_default()
            );
            check_metrics(&sink);
            check_trace(&sink);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(rotel);
}

#[tokio::test]
async fn a_stuck_collector_never_blocks_requests_or_shutdown() {
    // A listener that never answers: connections queue in the backlog, exports hang.
    let stuck = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let stuck_addr = stuck.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let (mut up, agent_addr) = start_up_with(
        dir.path(),
        &stuck_addr,
        &[
            ("OTEL_METRIC_EXPORT_INTERVAL", "100"),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );
    let mut client = AgentServiceClient::connect(format!("http://{agent_addr}"))
        .await
        .unwrap();
    let started = Instant::now();
    for _ in 0..200 {
        client.get_agent_info(agent::GetAgentInfoRequest {}).await.unwrap();
    }
    // Two hundred local calls take milliseconds; a blocked export path would take seconds each.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "requests slowed: {:?}",
        started.elapsed()
    );
    let pid = up.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(25);
    loop {
        if let Some(status) = up.0.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a stuck collector held shutdown past the grace period"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(stuck);
}

/// The value of every point of `name` (its Prometheus name) in `request`, keyed by its attributes.
fn points(requests: &[ExportMetricsServiceRequest], name: &str) -> Vec<(Vec<(String, String)>, f64)> {
    let mut out = Vec::new();
    for rm in requests.iter().flat_map(|r| &r.resource_metrics) {
        for m in rm.scope_metrics.iter().flat_map(|sm| &sm.metrics) {
            let monotonic_sum = matches!(&m.data, Some(Data::Sum(s)) if s.is_monotonic);
            let prom = prometheus_name(&m.name, &m.unit, monotonic_sum);
            let labels = |attrs: &[opentelemetry_proto::tonic::common::v1::KeyValue]| {
                let mut l: Vec<(String, String)> = attrs
                    .iter()
                    .filter_map(|kv| Some((kv.key.clone(), attr(attrs, &kv.key)?)))
                    .collect();
                l.sort();
                l
            };
            match &m.data {
                Some(Data::Sum(s)) if prom == name => {
                    for p in &s.data_points {
                        let value = match p.value {
                            Some(opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsInt(i)) => {
                                i as f64
                            }
                            Some(opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsDouble(d)) => d,
                            None => f64::NAN,
                        };
                        out.push((labels(&p.attributes), value));
                    }
                }
                Some(Data::Histogram(h)) if format!("{prom}_count") == name => {
                    for p in &h.data_points {
                        out.push((labels(&p.attributes), p.count as f64));
                    }
                }
                _ => {}
            }
        }
    }
    out
}

#[tokio::test]
async fn series_with_known_labels_are_pushed_at_zero_before_any_event() {
    let (sink, addr) = start_sink().await;
    let dir = tempfile::tempdir().unwrap();
    // Nothing is scanned or asked: the first pushes must already hold every known series.
    let (up, _agent) = start_up_with(dir.path(), &addr, &[("OTEL_METRIC_EXPORT_INTERVAL", "200")]);
    let deadline = Instant::now() + Duration::from_secs(20);
    let first: Vec<ExportMetricsServiceRequest> = loop {
        let got = sink.metrics.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let services: BTreeSet<String> = got
            .iter()
            .flat_map(|r| &r.resource_metrics)
            .filter_map(|rm| attr(&rm.resource.as_ref()?.attributes, "service.name"))
            .collect();
        if services.len() == 3 {
            break got;
        }
        assert!(Instant::now() < deadline, "pushes from {services:?} only");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    drop(up);
    let zero = |name: &str, want: &[(&str, &str)]| {
        let found = points(&first, name);
        let hit = found.iter().find(|(labels, _)| {
            want.iter()
                .all(|(k, v)| labels.iter().any(|(lk, lv)| lk == k && lv == v))
        });
        match hit {
            Some((_, value)) => assert_eq!(*value, 0.0, "{name} {want:?}"),
            None => panic!("{name} {want:?} not pushed at start-up; points: {found:?}"),
        }
    };
    for severity in ["critical", "high", "medium", "low", "unknown"] {
        zero(
            "zerotrace_vulnerabilities_found_total",
            &[("severity", severity), ("type", "dependency")],
        );
    }
    for file_type in ["cargo-lock", "npm-lock", "other"] {
        zero("zerotrace_files_scanned_total", &[("file_type", file_type)]);
    }
    for scan_type in ["full", "incremental"] {
        for status in ["success", "failure", "cancelled"] {
            zero(
                "zerotrace_scan_duration_seconds_count",
                &[("scan_type", scan_type), ("status", status)],
            );
        }
    }
    for status in ["ok", "not_found", "invalid", "error"] {
        zero("zerotrace_enrichment_requests_total", &[("status", status)]);
    }
    zero("zerotrace_cve_cache_hits_total", &[]);
    for code in ["OK", "INTERNAL", "UNAVAILABLE", "UNAUTHENTICATED"] {
        zero(
            "zerotrace_api_requests_total",
            &[
                ("method", "SubmitScanReport"),
                ("endpoint", "zerotrace.api.v1.ApiService"),
                ("status", code),
            ],
        );
    }
    zero(
        "zerotrace_api_request_duration_seconds_count",
        &[("method", "ListFindings")],
    );
}
