//! The metric contract (`../shared/METRICS.md`) as typed structs.
//!
//! Instrument names carry no unit or `_total` suffix: the Prometheus exporter
//! (and the collector's) appends them from the unit and kind, and would double
//! them otherwise. Label values are closed sets, spelled only here.
//!
//! Every series whose labels are known in advance exists from start-up at 0
//! (Prometheus instrumentation practice), so `rate()`, `increase()` and
//! `absent()` see the first event: counters get an `add(0)` per label set,
//! labelled histograms a bound (empty) data point per label set. The one
//! histogram without labels, `zerotrace_enrichment_duration_seconds`, appears
//! with the first request: the SDK exports an unlabelled histogram point only
//! once it holds a measurement.

use crate::grpc_layer::tonic_code::Code;
use opentelemetry::metrics::{
    BoundCounter, BoundHistogram, Counter, Gauge, Histogram, Meter, ObservableCounter, ObservableGauge, UpDownCounter,
};
use opentelemetry::{KeyValue, StringValue};
use std::collections::HashMap;
use std::sync::Arc;
use zerotrace_proto::common::v1::Severity;

/// Bucket bounds (seconds) of `zerotrace_scan_duration_seconds`: a scan spans
/// milliseconds (one lockfile) to tens of minutes (a monorepo over NFS).
pub const SCAN_DURATION_BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0,
];

/// Bucket bounds (seconds) of `zerotrace_enrichment_duration_seconds`: a cached
/// look-up takes microseconds, a cold batch match up to seconds.
pub const ENRICHMENT_DURATION_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Bucket bounds (seconds) of `zerotrace_api_request_duration_seconds`. `1.0`
/// must stay: the latency SLO (p95 < 1 s) is computed from `le="1"`.
pub const API_DURATION_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// `scan_type` label values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScanKind {
    /// Every lockfile parsed.
    Full,
    /// Unchanged lockfiles reused from the fingerprint cache.
    Incremental,
    /// A one-shot CLI scan (`zerotrace scan`).
    Offline,
}

impl ScanKind {
    /// Returns the label value.
    pub fn label(self) -> &'static str {
        match self {
            ScanKind::Full => "full",
            ScanKind::Incremental => "incremental",
            ScanKind::Offline => "offline",
        }
    }
}

/// `status` label values of scans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScanOutcome {
    /// The scan finished and its report was delivered.
    Success,
    /// The scan stopped on an error.
    Failure,
    /// The scan was stopped on request or by shutdown.
    Cancelled,
}

impl ScanOutcome {
    /// Every outcome.
    pub const ALL: [ScanOutcome; 3] = [ScanOutcome::Success, ScanOutcome::Failure, ScanOutcome::Cancelled];

    /// Returns the label value.
    pub fn label(self) -> &'static str {
        match self {
            ScanOutcome::Success => "success",
            ScanOutcome::Failure => "failure",
            ScanOutcome::Cancelled => "cancelled",
        }
    }
}

/// `severity` label values of found vulnerabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeverityLabel {
    /// CVSS 9.0–10.0.
    Critical,
    /// CVSS 7.0–8.9.
    High,
    /// CVSS 4.0–6.9.
    Medium,
    /// CVSS 0.1–3.9.
    Low,
    /// No score (or a score of 0).
    Unknown,
}

impl SeverityLabel {
    /// Every severity label.
    pub const ALL: [SeverityLabel; 5] = [
        SeverityLabel::Critical,
        SeverityLabel::High,
        SeverityLabel::Medium,
        SeverityLabel::Low,
        SeverityLabel::Unknown,
    ];

    /// Returns the label value.
    pub fn label(self) -> &'static str {
        match self {
            SeverityLabel::Critical => "critical",
            SeverityLabel::High => "high",
            SeverityLabel::Medium => "medium",
            SeverityLabel::Low => "low",
            SeverityLabel::Unknown => "unknown",
        }
    }
}

impl From<Severity> for SeverityLabel {
    /// The contract's severity of a finding as its metric label: a score of
    /// 0 (`NONE`), no score (`UNKNOWN`) and an unset value are all `unknown`.
    fn from(severity: Severity) -> Self {
        match severity {
            Severity::Critical => SeverityLabel::Critical,
            Severity::High => SeverityLabel::High,
            Severity::Medium => SeverityLabel::Medium,
            Severity::Low => SeverityLabel::Low,
            Severity::None | Severity::Unknown | Severity::Unspecified => SeverityLabel::Unknown,
        }
    }
}

/// `status` label values of enrichment requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrichmentStatus {
    /// Answered.
    Ok,
    /// The id or alias is unknown.
    NotFound,
    /// The request was malformed or over a limit.
    Invalid,
    /// The service failed.
    Error,
}

impl EnrichmentStatus {
    /// Every status.
    pub const ALL: [EnrichmentStatus; 4] = [
        EnrichmentStatus::Ok,
        EnrichmentStatus::NotFound,
        EnrichmentStatus::Invalid,
        EnrichmentStatus::Error,
    ];

    /// Returns the label value.
    pub fn label(self) -> &'static str {
        match self {
            EnrichmentStatus::Ok => "ok",
            EnrichmentStatus::NotFound => "not_found",
            EnrichmentStatus::Invalid => "invalid",
            EnrichmentStatus::Error => "error",
        }
    }
}

/// The agent's instruments.
#[derive(Debug, Clone)]
pub struct AgentMetrics {
    scan_duration: Histogram<f64>,
    /// The agent's scan kinds and outcomes, bound at start-up.
    scan_durations: Arc<HashMap<(ScanKind, ScanOutcome), BoundHistogram<f64>>>,
    files_scanned: Counter<u64>,
    vulnerabilities_found: Counter<u64>,
    cpu_usage: Gauge<f64>,
    memory_usage: Gauge<u64>,
}

impl AgentMetrics {
    /// Creates the agent's instruments on `meter`. `file_types` is the closed
    /// set of `file_type` values the agent can count; their series start at 0,
    /// as do those of every severity and every scan kind and outcome.
    pub fn new(meter: &Meter, file_types: &[&'static str]) -> Self {
        let scan_duration = meter
            .f64_histogram("zerotrace.scan.duration")
            .with_description("Duration of vulnerability scans")
            .with_unit("s")
            .with_boundaries(SCAN_DURATION_BUCKETS.to_vec())
            .build();
        let scan_durations = [ScanKind::Full, ScanKind::Incremental]
            .into_iter()
            .flat_map(|kind| ScanOutcome::ALL.map(|outcome| (kind, outcome)))
            .map(|(kind, outcome)| ((kind, outcome), scan_duration.bind(&scan_labels(kind, outcome))))
            .collect();
        let metrics = Self {
            scan_duration,
            scan_durations: Arc::new(scan_durations),
            files_scanned: meter
                .u64_counter("zerotrace.files.scanned")
                .with_description("Files walked by scans, by kind")
                .with_unit("{file}")
                .build(),
            vulnerabilities_found: meter
                .u64_counter("zerotrace.vulnerabilities.found")
                .with_description("Vulnerable package findings reported by scans")
                .with_unit("{vulnerability}")
                .build(),
            cpu_usage: meter
                .f64_gauge("zerotrace.agent.cpu.usage")
                .with_description("CPU usage of the agent process, percent of one core")
                .with_unit("%")
                .build(),
            memory_usage: meter
                .u64_gauge("zerotrace.agent.memory.usage")
                .with_description("Resident memory of the agent process")
                .with_unit("By")
                .build(),
        };
        for file_type in file_types {
            metrics.add_files(file_type, 0);
        }
        for severity in SeverityLabel::ALL {
            metrics.add_vulnerabilities(severity, 0);
        }
        metrics
    }

    /// Records one finished scan.
    pub fn record_scan(&self, kind: ScanKind, outcome: ScanOutcome, seconds: f64) {
        match self.scan_durations.get(&(kind, outcome)) {
            Some(bound) => bound.record(seconds),
            None => self.scan_duration.record(seconds, &scan_labels(kind, outcome)),
        }
    }

    /// Counts walked files of one kind (`file_type` is a closed label set, e.g. `cargo-lock`).
    pub fn add_files(&self, file_type: &'static str, count: u64) {
        self.files_scanned.add(count, &[KeyValue::new("file_type", file_type)]);
    }

    /// Counts vulnerable-package findings of one severity.
    pub fn add_vulnerabilities(&self, severity: SeverityLabel, count: u64) {
        self.vulnerabilities_found.add(
            count,
            &[
                KeyValue::new("severity", severity.label()),
                KeyValue::new("type", "dependency"),
            ],
        );
    }

    /// Sets the agent process's CPU (percent) and resident memory (bytes).
    pub fn set_resources(&self, agent_id: &str, cpu_percent: f64, memory_bytes: u64) {
        let attrs = [KeyValue::new("agent_id", agent_id.to_string())];
        self.cpu_usage.record(cpu_percent, &attrs);
        self.memory_usage.record(memory_bytes, &attrs);
    }
}

fn scan_labels(kind: ScanKind, outcome: ScanOutcome) -> [KeyValue; 2] {
    [
        KeyValue::new("scan_type", kind.label()),
        KeyValue::new("status", outcome.label()),
    ]
}

/// The enrichment service's instruments.
#[derive(Debug, Clone)]
pub struct EnrichmentMetrics {
    /// One bound counter per status, in the order of [`EnrichmentStatus::ALL`]:
    /// every call records into one, so none looks its attributes up.
    requests: Arc<[BoundCounter<u64>; 4]>,
    duration: BoundHistogram<f64>,
    cache_hits: BoundCounter<u64>,
    cache_misses: BoundCounter<u64>,
    active_connections: UpDownCounter<i64>,
}

impl EnrichmentMetrics {
    /// Creates the enrichment service's instruments on `meter`.
    ///
    /// The counters (every request status, cache hits and misses) and the
    /// connection gauge start at zero, so their series exist (and a
    /// service-down rule can see them vanish) before the first request.
    pub fn new(meter: &Meter) -> Self {
        let requests = meter
            .u64_counter("zerotrace.enrichment.requests")
            .with_description("Enrichment requests, by outcome")
            .with_unit("{request}")
            .build();
        let metrics = Self {
            requests: Arc::new(EnrichmentStatus::ALL.map(|status| {
                let bound = requests.bind(&[KeyValue::new("status", status.label())]);
                bound.add(0);
                bound
            })),
            duration: meter
                .f64_histogram("zerotrace.enrichment.duration")
                .with_description("Enrichment request processing time")
                .with_unit("s")
                .with_boundaries(ENRICHMENT_DURATION_BUCKETS.to_vec())
                .build()
                .bind(&[]),
            cache_hits: meter
                .u64_counter("zerotrace.cve.cache.hits")
                .with_description("Vulnerability and match cache hits")
                .with_unit("{hit}")
                .build()
                .bind(&[]),
            cache_misses: meter
                .u64_counter("zerotrace.cve.cache.misses")
                .with_description("Vulnerability and match cache misses")
                .with_unit("{miss}")
                .build()
                .bind(&[]),
            active_connections: meter
                .i64_up_down_counter("zerotrace.enrichment.active_connections")
                .with_description("Enrichment requests in flight")
                .with_unit("{connection}")
                .build(),
        };
        metrics.cache_hits.add(0);
        metrics.cache_misses.add(0);
        metrics.active_connections.add(0, &[]);
        metrics
    }

    /// Records one finished request.
    pub fn record_request(&self, status: EnrichmentStatus, seconds: f64) {
        self.requests[status as usize].add(1);
        self.duration.record(seconds);
    }

    /// Counts cache hits.
    pub fn cache_hits(&self, count: u64) {
        self.cache_hits.add(count);
    }

    /// Counts cache misses.
    pub fn cache_misses(&self, count: u64) {
        self.cache_misses.add(count);
    }

    /// Returns the in-flight gauge, for [`crate::InFlightLayer`].
    pub fn active_connections(&self) -> UpDownCounter<i64> {
        self.active_connections.clone()
    }
}

/// The series the services emit beyond the 13 of the contract (documented in
/// `collector/README.md` and `monitoring/README.md`), as they scrape.
pub const SERIES_BEYOND_CONTRACT: [&str; 7] = [
    "zerotrace_advisory_data_age_seconds",
    "zerotrace_advisory_data_entries",
    "zerotrace_advisory_data_max_age_seconds",
    "zerotrace_advisory_syncs_total",
    "zerotrace_findings_open",
    "zerotrace_agents",
    "zerotrace_findings_resolved_total",
];

/// One source of advisory data as the data gauges report it.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSourcePoint {
    /// The `source` label: `osv:<ecosystem>`, `kev` or `epss` (a closed set).
    pub source: String,
    /// Seconds since the data was current; `None` when the source holds
    /// nothing (no age sample then: `..._entries` says 0).
    pub age_seconds: Option<f64>,
    /// Advisories or entries it holds.
    pub entries: u64,
}

/// `outcome` label values of `zerotrace_advisory_syncs_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncOutcome {
    /// Downloaded and imported.
    Success,
    /// The server said nothing changed.
    NotModified,
    /// Failed; the source kept its data.
    Failure,
}

impl SyncOutcome {
    /// Every outcome, for start-up series.
    pub const ALL: [SyncOutcome; 3] = [SyncOutcome::Success, SyncOutcome::NotModified, SyncOutcome::Failure];

    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            SyncOutcome::Success => "success",
            SyncOutcome::NotModified => "not_modified",
            SyncOutcome::Failure => "failure",
        }
    }
}

/// The enrichment service's advisory-data series, beyond the contract:
/// `zerotrace_advisory_data_age_seconds{source}`,
/// `zerotrace_advisory_data_entries{source}`,
/// `zerotrace_advisory_data_max_age_seconds` and
/// `zerotrace_advisory_syncs_total{source,outcome}`.
///
/// The gauges are read at each collection from `read`, so an age grows
/// between imports and an import by another process shows at once.
#[derive(Debug, Clone)]
pub struct AdvisoryDataMetrics {
    syncs: Counter<u64>,
    _gauges: Arc<DataGauges>,
}

#[derive(Debug)]
struct DataGauges {
    _age: ObservableGauge<f64>,
    _entries: ObservableGauge<u64>,
    _max_age: ObservableGauge<f64>,
}

impl AdvisoryDataMetrics {
    /// Creates the series on `meter`. `read` returns a point for every
    /// source the service keeps (missing ones included, so every series
    /// exists from start-up); `max_age_seconds` is the age past which the
    /// service calls data stale.
    pub fn new<F>(meter: &Meter, sources: &[String], max_age_seconds: f64, read: F) -> Self
    where
        F: Fn() -> Vec<DataSourcePoint> + Send + Sync + 'static,
    {
        let read = Arc::new(read);
        let for_age = read.clone();
        let age = meter
            .f64_observable_gauge("zerotrace.advisory.data.age")
            .with_description("Age of each source of advisory data (absent while a source holds nothing)")
            .with_unit("s")
            .with_callback(move |observer| {
                for point in for_age() {
                    if let Some(age) = point.age_seconds {
                        observer.observe(age, &[KeyValue::new("source", point.source)]);
                    }
                }
            })
            .build();
        let entries = meter
            .u64_observable_gauge("zerotrace.advisory.data.entries")
            .with_description("Advisories (OSV) or entries (KEV, EPSS) held per source of advisory data")
            .with_unit("{entry}")
            .with_callback(move |observer| {
                for point in read() {
                    observer.observe(point.entries, &[KeyValue::new("source", point.source)]);
                }
            })
            .build();
        let max_age = meter
            .f64_observable_gauge("zerotrace.advisory.data.max_age")
            .with_description("The age past which the service calls advisory data stale")
            .with_unit("s")
            .with_callback(move |observer| observer.observe(max_age_seconds, &[]))
            .build();
        let syncs = meter
            .u64_counter("zerotrace.advisory.syncs")
            .with_description("Syncs of a source of advisory data, by outcome")
            .with_unit("{sync}")
            .build();
        for source in sources {
            for outcome in SyncOutcome::ALL {
                syncs.add(0, &sync_labels(source, outcome));
            }
        }
        Self {
            syncs,
            _gauges: Arc::new(DataGauges {
                _age: age,
                _entries: entries,
                _max_age: max_age,
            }),
        }
    }

    /// Counts one sync of one source.
    pub fn record_sync(&self, source: &str, outcome: SyncOutcome) {
        self.syncs.add(1, &sync_labels(source, outcome));
    }
}

fn sync_labels(source: &str, outcome: SyncOutcome) -> [KeyValue; 2] {
    [
        KeyValue::new("source", source.to_string()),
        KeyValue::new("outcome", outcome.label()),
    ]
}

/// What the API's exposure gauges show at one collection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExposurePoint {
    /// Open findings by severity (in the order of [`SeverityLabel::ALL`])
    /// and known exploited (index 1) or not (index 0).
    pub findings_open: [[u64; 2]; 5],
    /// Agents online, stale and offline.
    pub agents: [u64; 3],
    /// Findings this process's reports resolved since it started.
    pub findings_resolved: u64,
}

impl ExposurePoint {
    /// Adds `n` open findings of a severity, known exploited or not.
    pub fn add_open(&mut self, severity: SeverityLabel, known_exploited: bool, n: u64) {
        let row = SeverityLabel::ALL.iter().position(|s| *s == severity).unwrap_or(4);
        let cell = &mut self.findings_open[row][usize::from(known_exploited)];
        *cell = cell.saturating_add(n);
    }
}

/// The `status` label values of `zerotrace_agents`, in the order of
/// [`ExposurePoint::agents`].
pub const AGENT_STATUSES: [&str; 3] = ["online", "stale", "offline"];

/// The API's fleet exposure series, beyond the contract:
/// `zerotrace_findings_open{severity,known_exploited}` (open findings),
/// `zerotrace_agents{status}` and `zerotrace_findings_resolved_total`. Every
/// label combination is observed at each collection, 0 included, from
/// start-up; no label names an agent or a package. `read` returns the latest
/// point (the API keeps it from the counts every report maintains).
#[derive(Debug, Clone)]
pub struct ExposureMetrics {
    _gauges: Arc<[ObservableGauge<u64>; 2]>,
    _resolved: Arc<ObservableCounter<u64>>,
}

impl ExposureMetrics {
    /// Creates the gauges on `meter`.
    pub fn new<F>(meter: &Meter, read: F) -> Self
    where
        F: Fn() -> ExposurePoint + Send + Sync + 'static,
    {
        let read = Arc::new(read);
        let for_findings = read.clone();
        let findings = meter
            .u64_observable_gauge("zerotrace.findings.open")
            .with_description(
                "Open findings of the fleet (not resolved by a later full scan), by severity and CISA KEV",
            )
            .with_unit("{finding}")
            .with_callback(move |observer| {
                let point = for_findings();
                for (severity, counts) in SeverityLabel::ALL.iter().zip(point.findings_open) {
                    for (kev, n) in ["false", "true"].into_iter().zip(counts) {
                        observer.observe(
                            n,
                            &[
                                KeyValue::new("severity", severity.label()),
                                KeyValue::new("known_exploited", kev),
                            ],
                        );
                    }
                }
            })
            .build();
        let for_agents = read.clone();
        let agents = meter
            .u64_observable_gauge("zerotrace.agents")
            .with_description("Registered agents, by status (from their last heartbeat or report)")
            .with_unit("{agent}")
            .with_callback(move |observer| {
                for (status, n) in AGENT_STATUSES.into_iter().zip(for_agents().agents) {
                    observer.observe(n, &[KeyValue::new("status", status)]);
                }
            })
            .build();
        let resolved = meter
            .u64_observable_counter("zerotrace.findings.resolved")
            .with_description("Findings resolved by the full scans this API replica stored")
            .with_unit("{finding}")
            .with_callback(move |observer| observer.observe(read().findings_resolved, &[]))
            .build();
        Self {
            _gauges: Arc::new([findings, agents]),
            _resolved: Arc::new(resolved),
        }
    }
}

/// The `method` label of calls to a method the service does not have.
pub const UNKNOWN_METHOD: &str = "unknown";

/// The API service's instruments.
#[derive(Debug, Clone)]
pub struct ApiMetrics {
    requests: Counter<u64>,
    duration: Histogram<f64>,
    /// The service's `endpoint` label.
    endpoint: KeyValue,
    /// The `method` label and bound duration of each known method.
    methods: Arc<HashMap<String, (KeyValue, BoundHistogram<f64>)>>,
    active_connections: UpDownCounter<i64>,
}

impl ApiMetrics {
    /// Creates the API service's instruments on `meter` for the gRPC service
    /// `endpoint` (e.g. `zerotrace.api.v1.ApiService`) and its `methods`.
    ///
    /// The `method` label takes only those names, or [`UNKNOWN_METHOD`] for
    /// any other path a client sends. Every method's request counter starts
    /// at 0 for every status code and its duration histogram empty.
    pub fn new(meter: &Meter, endpoint: &str, methods: &[String]) -> Self {
        let requests = meter
            .u64_counter("zerotrace.api.requests")
            .with_description("API requests, by gRPC method, service and status code")
            .with_unit("{request}")
            .build();
        let duration = meter
            .f64_histogram("zerotrace.api.request.duration")
            .with_description("API request duration")
            .with_unit("s")
            .with_boundaries(API_DURATION_BUCKETS.to_vec())
            .build();
        let endpoint = KeyValue::new("endpoint", StringValue::from(Arc::<str>::from(endpoint)));
        let methods: HashMap<String, (KeyValue, BoundHistogram<f64>)> = methods
            .iter()
            .map(|name| {
                let label = KeyValue::new("method", StringValue::from(Arc::<str>::from(name.as_str())));
                for code in Code::ALL {
                    requests.add(
                        0,
                        &[label.clone(), endpoint.clone(), KeyValue::new("status", code.name())],
                    );
                }
                let bound = duration.bind(&[label.clone(), endpoint.clone()]);
                (name.clone(), (label, bound))
            })
            .collect();
        let active_connections = meter
            .i64_up_down_counter("zerotrace.api.active_connections")
            .with_description("API requests in flight")
            .with_unit("{connection}")
            .build();
        active_connections.add(0, &[]);
        Self {
            requests,
            duration,
            endpoint,
            methods: Arc::new(methods),
            active_connections,
        }
    }

    /// Records one finished request: `method` is the gRPC method (a name
    /// the service does not have counts as [`UNKNOWN_METHOD`]), `status` the
    /// gRPC code name (`OK`, `NOT_FOUND`, ...).
    pub fn record_request(&self, method: &str, status: &'static str, seconds: f64) {
        let status = KeyValue::new("status", status);
        match self.methods.get(method) {
            Some((label, bound)) => {
                bound.record(seconds);
                self.requests.add(1, &[label.clone(), self.endpoint.clone(), status]);
            }
            None => {
                let label = KeyValue::new("method", UNKNOWN_METHOD);
                self.duration.record(seconds, &[label.clone(), self.endpoint.clone()]);
                self.requests.add(1, &[label, self.endpoint.clone(), status]);
            }
        }
    }

    /// Returns the in-flight gauge, for [`crate::InFlightLayer`].
    pub fn active_connections(&self) -> UpDownCounter<i64> {
        self.active_connections.clone()
    }
}
