//! The fleet simulation: simulated agents registering, heartbeating and
//! submitting reports to API replicas, in compressed time, then a check that
//! the API holds exactly what was acknowledged.
//!
//! Each agent is a task with its own schedule (a heartbeat every simulated
//! interval, a report every simulated hour, at a phase of its own) and one
//! home replica (round-robin). A call that fails because the replica is gone
//! or overloaded is retried on the next replica, the same report with the
//! same scan id; a report counts as acknowledged only when SubmitScanReport
//! returned OK. The fleet can grow in steps (`steps`), each with its own
//! latency histograms, to find where submit latency breaks down.

mod model;
mod verify;
mod watch;

pub use model::{AgentModel, Catalog, Draft, FindingRef, Ledger, MAX_FINDINGS, MAX_PACKAGES, MIN_PACKAGES};
pub use verify::Verdict;

use crate::BoxError;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::time::sleep_until;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request, Status};
use zerotrace_proto::api::v1 as pb;
use zerotrace_proto::api::v1::api_service_client::ApiServiceClient;

/// Largest latency recorded, in microseconds (two minutes).
const MAX_MICROS: u64 = 120_000_000;
/// Longest a single call may take before the agent gives up on it and retries.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// First and largest pause between retries of a call.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(2));

/// What a simulation runs.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// gRPC addresses (`host:port`) of the API replicas.
    pub replicas: Vec<String>,
    /// The replicas' reader token (GetScan, ListFindings, WatchFindings).
    pub reader_token: String,
    /// The registration token, when the replicas require one.
    pub registration_token: String,
    /// Agents at each step; agents added by a step join over its first simulated hour.
    pub steps: Vec<usize>,
    /// Simulated hours each step lasts.
    pub step_hours: f64,
    /// Real seconds a simulated hour takes.
    pub sim_hour_seconds: f64,
    /// Simulated seconds between an agent's heartbeats.
    pub heartbeat_seconds: f64,
    /// Every how many reports an agent's scan is full (the others are incremental).
    pub full_every: u64,
    /// Vulnerable package versions the findings are drawn from.
    pub catalog: usize,
    /// Seeds the fleet: the same seed sends the same reports.
    pub seed: u64,
    /// HTTP/2 connections to each replica, shared by the agents.
    pub connections: usize,
    /// Real seconds agents may still retry their last report after the end.
    pub drain_seconds: f64,
    /// The replica a WatchFindings stream listens on; none: no watcher.
    pub watch: Option<usize>,
    /// The replica the end check reads from; none: no check.
    pub verify: Option<usize>,
    /// A shell command printing the database's size in bytes, run once the
    /// first step's agents have all reported and again at the end.
    pub db_size_command: Option<String>,
}

impl FleetOptions {
    /// Returns what is wrong with the options, as one line.
    pub fn check(&self) -> Result<(), String> {
        let replicas = self.replicas.len();
        if replicas == 0 {
            return Err("at least one replica is needed".into());
        }
        if self.steps.is_empty() || self.steps.contains(&0) || self.steps.windows(2).any(|w| w[1] < w[0]) {
            return Err("steps must be agent counts above 0, in increasing order".into());
        }
        for (name, value) in [
            ("step hours", self.step_hours),
            ("simulated hour seconds", self.sim_hour_seconds),
            ("heartbeat seconds", self.heartbeat_seconds),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(format!("{name} must be a positive number, got {value}"));
            }
        }
        if !(self.drain_seconds.is_finite() && self.drain_seconds >= 0.0) {
            return Err(format!("drain seconds must be 0 or more, got {}", self.drain_seconds));
        }
        for (name, index) in [("watch", self.watch), ("verify", self.verify)] {
            if index.is_some_and(|i| i >= replicas) {
                return Err(format!(
                    "{name} replica is out of range (there are {replicas} replicas)"
                ));
            }
        }
        Ok(())
    }

    fn step_len(&self) -> Duration {
        Duration::from_secs_f64(self.step_hours * self.sim_hour_seconds)
    }

    fn hour(&self) -> Duration {
        Duration::from_secs_f64(self.sim_hour_seconds)
    }
}

/// Latency and counts of one step of the run.
#[derive(Debug, Clone)]
pub struct StepStats {
    /// Agents during the step.
    pub agents: usize,
    /// SubmitScanReport calls that returned OK, by the time they started (µs).
    pub submit: Histogram<u64>,
    /// Heartbeat calls that returned OK (µs).
    pub heartbeat: Histogram<u64>,
    /// Reports acknowledged during the step.
    pub reports: u64,
    /// Real length of the step.
    pub elapsed: Duration,
}

impl StepStats {
    /// Returns acknowledged reports per real second.
    pub fn reports_per_second(&self) -> f64 {
        self.reports as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

/// Returns latency quantile `q` of `histogram` in milliseconds (0 when empty).
pub fn ms(histogram: &Histogram<u64>, q: f64) -> f64 {
    if histogram.is_empty() {
        0.0
    } else {
        histogram.value_at_quantile(q) as f64 / 1000.0
    }
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// One entry per step.
    pub steps: Vec<StepStats>,
    /// Every step together.
    pub total: StepStats,
    /// Reports acknowledged in total.
    pub acknowledged: u64,
    /// Reports still unacknowledged when the drain ended.
    pub unacknowledged: u64,
    /// Calls retried on another replica (connection lost, UNAVAILABLE, overloaded).
    pub retries: u64,
    /// Of those, SubmitScanReport calls: a report sent again, with the same scan id.
    pub report_retries: u64,
    /// Retried calls by the gRPC code of the failure (`Unavailable`, `ResourceExhausted`, ...).
    pub retry_codes: BTreeMap<String, u64>,
    /// Retried reports the API answered as already stored (the first attempt
    /// committed, but its answer was lost).
    pub already_stored: u64,
    /// Calls that failed for good (an answer no retry can change); calls
    /// still refused as overloaded or unavailable when the drain ended are
    /// not failures: their reports count as unacknowledged.
    pub failures: u64,
    /// The first of those failures.
    pub first_failure: Option<String>,
    /// Findings the acknowledged reports carried over the run, per report (mean).
    pub findings_per_report: f64,
    /// Packages per agent (mean).
    pub packages_per_agent: f64,
    /// Delivery lag of WatchFindings on the watched replica, for reports acknowledged by another (µs).
    pub watch_lag: Option<Histogram<u64>>,
    /// Database sizes (simulated hours since the first step's agents had all
    /// reported, bytes): then, every simulated hour, and at the end.
    pub db_sizes: Vec<(f64, u64)>,
    /// The end check, when asked for.
    pub verdict: Option<Verdict>,
}

impl Outcome {
    /// Returns the database growth per agent per simulated day, bytes.
    pub fn growth_per_agent_day(&self) -> Option<f64> {
        self.growth_between(self.db_sizes.first()?, self.db_sizes.last()?)
    }

    /// Returns the growth per agent per simulated day over the second half of
    /// the measurement, once tables that updates bloat (until vacuum reuses
    /// their space) have reached their steady size.
    pub fn steady_growth_per_agent_day(&self) -> Option<f64> {
        let last = self.db_sizes.last()?;
        let middle = self.db_sizes.iter().find(|(hours, _)| *hours >= last.0 / 2.0)?;
        self.growth_between(middle, last)
    }

    fn growth_between(&self, from: &(f64, u64), to: &(f64, u64)) -> Option<f64> {
        let hours = to.0 - from.0;
        let agents = self.total.agents as f64;
        (hours > 0.0).then(|| (to.1 as f64 - from.1 as f64) / agents / (hours / 24.0))
    }

    /// Returns the agent count of the first step whose submit p95 passed `limit_ms`.
    pub fn agents_past(&self, limit_ms: f64) -> Option<usize> {
        self.steps
            .iter()
            .find(|s| ms(&s.submit, 0.95) > limit_ms)
            .map(|s| s.agents)
    }
}

/// An acknowledged report, for the end check and the watch lag.
#[derive(Debug, Clone)]
pub(crate) struct Ack {
    pub(crate) agent_id: String,
    pub(crate) scan_id: String,
    pub(crate) replica: usize,
    pub(crate) at: Instant,
    pub(crate) findings: usize,
}

/// What every agent task shares.
struct Fleet {
    options: FleetOptions,
    catalog: Catalog,
    clients: Vec<Vec<ApiServiceClient<Channel>>>,
    started: Instant,
    end: Instant,
    drain_end: Instant,
    steps: Vec<Mutex<StepStats>>,
    acks: Mutex<Vec<Ack>>,
    first_reports: AtomicUsize,
    retries: AtomicU64,
    report_retries: AtomicU64,
    retry_codes: Mutex<BTreeMap<String, u64>>,
    already_stored: AtomicU64,
    failures: AtomicU64,
    first_failure: Mutex<Option<String>>,
}

/// What an agent task hands back.
struct AgentResult {
    agent_id: String,
    ledger: Ledger,
    unacknowledged: u64,
    packages: usize,
}

impl Fleet {
    fn step_of(&self, at: Instant) -> usize {
        let step = at.saturating_duration_since(self.started).as_secs_f64() / self.options.step_len().as_secs_f64();
        (step as usize).min(self.steps.len() - 1)
    }

    fn client(&self, replica: usize, agent: usize) -> ApiServiceClient<Channel> {
        let pool = &self.clients[replica % self.clients.len()];
        pool[agent % pool.len()].clone()
    }

    fn record(&self, at: Instant, latency: Duration, submit: bool) {
        let micros = u64::try_from(latency.as_micros())
            .unwrap_or(MAX_MICROS)
            .clamp(1, MAX_MICROS);
        if let Ok(mut step) = self.steps[self.step_of(at)].lock() {
            let histogram = if submit { &mut step.submit } else { &mut step.heartbeat };
            histogram.saturating_record(micros);
        }
    }

    fn retried(&self, status: &Status) {
        self.retries.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut codes) = self.retry_codes.lock() {
            *codes.entry(format!("{:?}", status.code())).or_default() += 1;
        }
    }

    fn fail(&self, what: String) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut first) = self.first_failure.lock() {
            first.get_or_insert(what);
        }
    }
}

/// Whether a failed call may pass on another replica or later.
fn retryable(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable | Code::Unknown | Code::Cancelled | Code::DeadlineExceeded | Code::ResourceExhausted
    )
}

fn authed<T>(message: T, token: &str) -> Result<Request<T>, Status> {
    let mut request = Request::new(message);
    let value = format!("Bearer {token}")
        .parse()
        .map_err(|_| Status::invalid_argument("token is not a valid header value"))?;
    request.metadata_mut().insert("authorization", value);
    Ok(request)
}

/// Runs the simulation and, when asked, the end check.
pub async fn run(options: FleetOptions) -> Result<Outcome, BoxError> {
    options.check()?;
    let mut clients = Vec::new();
    for addr in &options.replicas {
        let endpoint = Endpoint::from_shared(format!("http://{addr}"))?
            .connect_timeout(Duration::from_secs(2))
            .timeout(CALL_TIMEOUT)
            .tcp_nodelay(true);
        // Lazy: a replica that is down fails its calls, not the start.
        let pool = (0..options.connections.max(1))
            .map(|_| ApiServiceClient::new(endpoint.connect_lazy()).max_decoding_message_size(64 * 1024 * 1024))
            .collect();
        clients.push(pool);
    }
    let started = Instant::now() + Duration::from_millis(200);
    let end = started + options.step_len().mul_f64(options.steps.len() as f64);
    let drain_end = end + Duration::from_secs_f64(options.drain_seconds);
    let empty = Histogram::<u64>::new_with_bounds(1, MAX_MICROS, 3)?;
    let steps = options
        .steps
        .iter()
        .map(|&agents| {
            Mutex::new(StepStats {
                agents,
                submit: empty.clone(),
                heartbeat: empty.clone(),
                reports: 0,
                elapsed: options.step_len(),
            })
        })
        .collect();
    let fleet = Arc::new(Fleet {
        catalog: Catalog::new(options.catalog, options.seed),
        clients,
        started,
        end,
        drain_end,
        steps,
        acks: Mutex::new(Vec::new()),
        first_reports: AtomicUsize::new(0),
        retries: AtomicU64::new(0),
        report_retries: AtomicU64::new(0),
        retry_codes: Mutex::new(BTreeMap::new()),
        already_stored: AtomicU64::new(0),
        failures: AtomicU64::new(0),
        first_failure: Mutex::new(None),
        options,
    });

    let watcher = match fleet.options.watch {
        Some(replica) => {
            let client = fleet.clients[replica][0].clone();
            Some(watch::Watcher::start(client, fleet.options.reader_token.clone()).await?)
        }
        None => None,
    };
    let sizes = tokio::spawn(measure_growth(fleet.clone()));

    let mut tasks = Vec::new();
    let mut joined = 0;
    for (step, &agents) in fleet.options.steps.iter().enumerate() {
        let joins = started + fleet.options.step_len().mul_f64(step as f64);
        for index in joined..agents {
            tasks.push(tokio::spawn(agent(fleet.clone(), index, joins)));
        }
        joined = agents;
    }
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await?);
    }
    let db_sizes = sizes.await?;

    let acks = std::mem::take(&mut *fleet.acks.lock().map_err(|_| "ack list poisoned")?);
    let mut step_stats = Vec::new();
    for step in &fleet.steps {
        step_stats.push(step.lock().map_err(|_| "step stats poisoned")?.clone());
    }
    for ack in &acks {
        if let Some(step) = step_stats.get_mut(fleet.step_of(ack.at)) {
            step.reports += 1;
        }
    }
    let mut total = StepStats {
        agents: results.len(),
        submit: empty.clone(),
        heartbeat: empty.clone(),
        reports: acks.len() as u64,
        elapsed: end.saturating_duration_since(started),
    };
    for step in &step_stats {
        total.submit.add(&step.submit)?;
        total.heartbeat.add(&step.heartbeat)?;
    }

    let opened: u64 = results.iter().map(|r| r.ledger.opened).sum();
    let (watch_lag, events) = match watcher {
        Some(watcher) => {
            let events = watcher.finish(opened, Duration::from_secs(15)).await;
            let watched = fleet.options.watch.unwrap_or_default();
            (Some(watch::lag(&events, &acks, watched)?), Some(events.len() as u64))
        }
        None => (None, None),
    };
    let verdict = match fleet.options.verify {
        Some(replica) => Some(
            verify::check(
                fleet.clients[replica][0].clone(),
                &fleet.options.reader_token,
                &fleet.catalog,
                &results
                    .iter()
                    .map(|r| (r.agent_id.as_str(), &r.ledger))
                    .collect::<Vec<_>>(),
                &acks,
                events.map(|received| (received, opened)),
            )
            .await,
        ),
        None => None,
    };
    let findings: usize = acks.iter().map(|a| a.findings).sum();
    Ok(Outcome {
        steps: step_stats,
        acknowledged: acks.len() as u64,
        unacknowledged: results.iter().map(|r| r.unacknowledged).sum(),
        retries: fleet.retries.load(Ordering::Relaxed),
        report_retries: fleet.report_retries.load(Ordering::Relaxed),
        retry_codes: fleet.retry_codes.lock().map_err(|_| "poisoned")?.clone(),
        already_stored: fleet.already_stored.load(Ordering::Relaxed),
        failures: fleet.failures.load(Ordering::Relaxed),
        first_failure: fleet.first_failure.lock().map_err(|_| "poisoned")?.clone(),
        findings_per_report: findings as f64 / acks.len().max(1) as f64,
        packages_per_agent: results.iter().map(|r| r.packages).sum::<usize>() as f64 / results.len().max(1) as f64,
        total,
        watch_lag,
        db_sizes,
        verdict,
    })
}

/// Measures the database once the first step's agents have all reported
/// (their first reports insert every finding they have: growth before that
/// is the fleet arriving, not a day's wear), then every simulated hour, and
/// once more when every agent has stopped.
async fn measure_growth(fleet: Arc<Fleet>) -> Vec<(f64, u64)> {
    let mut sizes = Vec::new();
    let Some(command) = fleet.options.db_size_command.clone() else {
        return sizes;
    };
    let first = fleet.options.steps.first().copied().unwrap_or_default();
    while fleet.first_reports.load(Ordering::Relaxed) < first && Instant::now() < fleet.end {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let from = Instant::now();
    let hours = |at: Instant| at.saturating_duration_since(from).as_secs_f64() / fleet.options.sim_hour_seconds;
    let mut next = from;
    // Until every agent has stopped (its last report acknowledged, or given up).
    while Arc::strong_count(&fleet) > 2 {
        if Instant::now() >= next && Instant::now() < fleet.end {
            sizes.extend(db_size(&command).await.map(|bytes| (hours(Instant::now()), bytes)));
            next += fleet.options.hour();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The growth window ends with the run; the drain adds only the last retries.
    let end = hours(fleet.end.max(from));
    sizes.extend(db_size(&command).await.map(|bytes| (end, bytes)));
    sizes
}

async fn db_size(command: &str) -> Option<u64> {
    let output = tokio::process::Command::new("sh")
        .args(["-c", command])
        .output()
        .await
        .ok()?;
    String::from_utf8_lossy(&output.stdout).trim().parse().ok()
}

/// One simulated agent: joins at a phase of its own after `joins`, registers,
/// then heartbeats and reports on schedule until the end of the run.
async fn agent(fleet: Arc<Fleet>, index: usize, joins: Instant) -> AgentResult {
    let options = &fleet.options;
    let mut model = AgentModel::new(index, options.seed, options.full_every);
    let mut result = AgentResult {
        agent_id: String::new(),
        ledger: Ledger::default(),
        unacknowledged: 0,
        packages: model.packages(),
    };
    let phase = crate::Rng::new(options.seed ^ 0xa5a5 ^ index as u64).next_f64();
    let heartbeat_every = options.hour().mul_f64(options.heartbeat_seconds / 3600.0);
    let mut home = index % options.replicas.len();
    let mut next_report = joins + options.hour().mul_f64(phase);
    sleep_until(next_report.into()).await;
    let Some((agent_id, token)) = register(&fleet, index, &mut home).await else {
        // Never registered: its first report was never sent, let alone acknowledged.
        result.unacknowledged += 1;
        return result;
    };
    result.agent_id = agent_id.clone();
    let mut next_heartbeat = Instant::now() + heartbeat_every;
    let root = format!("/srv/fleet-{index}");
    let mut first = true;
    loop {
        let due = next_report.min(next_heartbeat);
        if due >= fleet.end {
            break;
        }
        sleep_until(due.into()).await;
        if next_report <= next_heartbeat {
            next_report += options.hour();
            let draft = model.next_report(&fleet.catalog, &root);
            let request = pb::SubmitScanReportRequest {
                agent_id: agent_id.clone(),
                report: Some(draft.report.clone()),
            };
            match submit(&fleet, index, &mut home, &token, request).await {
                Some(replica) => {
                    result.ledger.apply(&draft);
                    if let Ok(mut acks) = fleet.acks.lock() {
                        acks.push(Ack {
                            agent_id: agent_id.clone(),
                            scan_id: draft.scan_id.clone(),
                            replica,
                            at: Instant::now(),
                            findings: draft.findings.len(),
                        });
                    }
                    if first {
                        fleet.first_reports.fetch_add(1, Ordering::Relaxed);
                        first = false;
                    }
                }
                None => {
                    result.unacknowledged += 1;
                    break;
                }
            }
        } else {
            next_heartbeat += heartbeat_every;
            heartbeat(&fleet, index, &mut home, &agent_id, &token).await;
        }
    }
    result
}

async fn register(fleet: &Fleet, index: usize, home: &mut usize) -> Option<(String, String)> {
    let request = pb::RegisterAgentRequest {
        hostname: format!("fleet-{index}"),
        version: "fleet-simulation".to_string(),
        agent_id: String::new(),
    };
    let token = fleet.options.registration_token.clone();
    let response = retrying(fleet, index, home, "RegisterAgent", |mut client| {
        let request = if token.is_empty() {
            Ok(Request::new(request.clone()))
        } else {
            authed(request.clone(), &token)
        };
        async move { client.register_agent(request?).await }
    })
    .await?;
    let response = response.into_inner();
    Some((response.agent_id, response.token))
}

/// Submits one report until it is acknowledged; returns the replica that acknowledged it.
async fn submit(
    fleet: &Fleet,
    index: usize,
    home: &mut usize,
    token: &str,
    request: pb::SubmitScanReportRequest,
) -> Option<usize> {
    let answer = retrying(fleet, index, home, "SubmitScanReport", |mut client| {
        let request = authed(request.clone(), token);
        async move { client.submit_scan_report(request?).await }
    })
    .await?;
    if !answer.into_inner().created {
        fleet.already_stored.fetch_add(1, Ordering::Relaxed);
    }
    Some(*home)
}

/// Calls `call` on the agent's home replica; on a retryable failure moves
/// home to the next replica and tries again after a backoff, until the
/// drain ends. Records the latency of the call that succeeded; returns none
/// when the call failed for good or the drain ended first.
async fn retrying<T, F, Fut>(fleet: &Fleet, index: usize, home: &mut usize, what: &str, call: F) -> Option<T>
where
    F: Fn(ApiServiceClient<Channel>) -> Fut,
    Fut: std::future::Future<Output = Result<T, Status>>,
{
    let mut backoff = BACKOFF.0;
    loop {
        let started = Instant::now();
        match call(fleet.client(*home, index)).await {
            Ok(answer) => {
                if what == "SubmitScanReport" {
                    fleet.record(started, started.elapsed(), true);
                }
                return Some(answer);
            }
            Err(status) if retryable(&status) && Instant::now() + backoff < fleet.drain_end => {
                fleet.retried(&status);
                if what == "SubmitScanReport" {
                    fleet.report_retries.fetch_add(1, Ordering::Relaxed);
                }
                *home = (*home + 1) % fleet.options.replicas.len();
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF.1);
            }
            // Overloaded or gone until the end: the call is left unanswered, not failed.
            Err(status) if retryable(&status) => return None,
            Err(status) => {
                fleet.fail(format!(
                    "{what} of agent {index}: {}: {}",
                    status.code(),
                    status.message()
                ));
                return None;
            }
        }
    }
}

/// Sends one heartbeat; a failure moves the agent's home to the next replica (the next heartbeat goes there).
async fn heartbeat(fleet: &Fleet, index: usize, home: &mut usize, agent_id: &str, token: &str) {
    let request = authed(
        pb::HeartbeatRequest {
            agent_id: agent_id.to_string(),
        },
        token,
    );
    let started = Instant::now();
    let mut client = fleet.client(*home, index);
    let result = match request {
        Ok(request) => client.heartbeat(request).await.map(|_| ()),
        Err(status) => Err(status),
    };
    match result {
        Ok(()) => fleet.record(started, started.elapsed(), false),
        Err(status) if retryable(&status) => {
            fleet.retried(&status);
            *home = (*home + 1) % fleet.options.replicas.len();
        }
        Err(status) => fleet.fail(format!(
            "Heartbeat of agent {index}: {}: {}",
            status.code(),
            status.message()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> FleetOptions {
        FleetOptions {
            replicas: vec!["127.0.0.1:1".into(), "127.0.0.1:2".into()],
            reader_token: "r".into(),
            registration_token: String::new(),
            steps: vec![10, 20],
            step_hours: 1.0,
            sim_hour_seconds: 10.0,
            heartbeat_seconds: 60.0,
            full_every: 24,
            catalog: 100,
            seed: 1,
            connections: 4,
            drain_seconds: 5.0,
            watch: Some(1),
            verify: Some(1),
            db_size_command: None,
        }
    }

    #[test]
    fn bad_options_are_refused_with_a_reason() {
        assert_eq!(options().check(), Ok(()));
        type Spoil = fn(&mut FleetOptions);
        let cases: [(Spoil, &str); 5] = [
            (|o| o.replicas.clear(), "replica"),
            (|o| o.steps = vec![20, 10], "increasing"),
            (|o| o.steps = vec![0], "above 0"),
            (|o| o.sim_hour_seconds = f64::NAN, "positive"),
            (|o| o.verify = Some(2), "out of range"),
        ];
        for (spoil, reason) in cases {
            let mut o = options();
            spoil(&mut o);
            assert!(o.check().is_err_and(|e| e.contains(reason)), "{reason}");
        }
    }

    #[test]
    fn the_first_step_past_the_limit_is_reported() {
        let step = |agents, p95_micros: u64| {
            let mut submit = Histogram::<u64>::new_with_bounds(1, MAX_MICROS, 3).expect("bounds");
            submit.saturating_record(p95_micros);
            StepStats {
                agents,
                submit: submit.clone(),
                heartbeat: submit,
                reports: 0,
                elapsed: Duration::from_secs(1),
            }
        };
        let total = step(4000, 1);
        let outcome = Outcome {
            steps: vec![step(1000, 200_000), step(2000, 1_500_000), step(4000, 3_000_000)],
            total,
            acknowledged: 0,
            unacknowledged: 0,
            retries: 0,
            report_retries: 0,
            retry_codes: BTreeMap::new(),
            already_stored: 0,
            failures: 0,
            first_failure: None,
            findings_per_report: 0.0,
            packages_per_agent: 0.0,
            watch_lag: None,
            db_sizes: vec![(0.0, 1_000), (6.0, 3_000_000 + 1_000), (12.0, 4_000_000 + 1_000)],
            verdict: None,
        };
        assert_eq!(outcome.agents_past(1000.0), Some(2000));
        assert_eq!(outcome.agents_past(5000.0), None);
        // 4 MB over half a day for 4,000 agents: 2 kB per agent per day.
        assert_eq!(outcome.growth_per_agent_day().map(f64::round), Some(2000.0));
        // 1 MB over the last 6 hours: 1 kB per agent per day.
        assert_eq!(outcome.steady_growth_per_agent_day().map(f64::round), Some(1000.0));
    }
}
