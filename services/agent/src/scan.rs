//! Scans: walk and parse (inventory), match (enrichment), report (API).
//!
//! A scan is one trace: a root span `scan` with the phases `walk`, `match`
//! and `report` as children; the enrichment and API calls are client spans
//! under them, and their servers' spans under those.

use crate::AgentError;
use crate::upstream::Upstream;
use opentelemetry::trace::{FutureExt as _, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::watch;
use tonic::Code;
use zerotrace_inventory::{FingerprintCache, Inventory, Progress, Source, WalkOptions};
use zerotrace_proto::advisories::AdvisoryList;
use zerotrace_proto::agent::v1 as pb;
use zerotrace_proto::api::v1 as api;
use zerotrace_proto::common::v1 as common;
use zerotrace_server::Diagnosis;
use zerotrace_telemetry::instruments::{ScanKind, ScanOutcome, SeverityLabel};
use zerotrace_telemetry::{AgentMetrics, SdkTracer};

/// Finished scans kept for GetScanStatus.
const KEEP_SCANS: usize = 100;

/// What matching found, as a scan's progress shows it.
#[derive(Debug, Default)]
struct MatchCounts {
    findings: AtomicU64,
    warnings: AtomicU64,
    unmatched: AtomicU64,
}

impl MatchCounts {
    fn set(&self, findings: usize, warnings: usize, unmatched: usize) {
        for (counter, n) in [
            (&self.findings, findings),
            (&self.warnings, warnings),
            (&self.unmatched, unmatched),
        ] {
            counter.store(n as u64, Ordering::Relaxed);
        }
    }
}

/// One scan's live state.
#[derive(Debug)]
pub(crate) struct ScanHandle {
    pub(crate) id: String,
    pub(crate) progress: Arc<Progress>,
    counts: MatchCounts,
    state: watch::Sender<pb::ScanState>,
}

impl ScanHandle {
    /// Returns the state with the live counters.
    pub(crate) fn snapshot(&self) -> pb::ScanState {
        let mut state = self.state.borrow().clone();
        let p = self.progress.snapshot();
        state.progress = Some(pb::ScanProgress {
            files_walked: p.files_walked,
            lockfiles_parsed: p.lockfiles_parsed,
            packages: p.packages,
            findings: self.counts.findings.load(Ordering::Relaxed),
            errors: p.errors,
            warnings: self.counts.warnings.load(Ordering::Relaxed),
            unmatched: self.counts.unmatched.load(Ordering::Relaxed),
        });
        state
    }

    /// Returns a receiver that changes when the status does.
    pub(crate) fn subscribe(&self) -> watch::Receiver<pb::ScanState> {
        self.state.subscribe()
    }

    fn update(&self, f: impl FnOnce(&mut pb::ScanState)) {
        self.state.send_modify(f);
    }
}

/// What scans may do: where, how they walk, how long and how many at once.
#[derive(Debug, Clone)]
pub(crate) struct ScanPolicy {
    /// Roots scans may start under.
    pub(crate) allowed_roots: Vec<PathBuf>,
    /// How the walk goes.
    pub(crate) walk: WalkOptions,
    /// Longest a scan may run.
    pub(crate) timeout: Duration,
    /// Scans running at once.
    pub(crate) max_concurrent: usize,
}

/// Starts scans and remembers them.
#[derive(Debug)]
pub(crate) struct Scanner {
    agent_id: String,
    data_dir: PathBuf,
    allowed_roots: Vec<PathBuf>,
    walk: WalkOptions,
    timeout: Duration,
    max_concurrent: usize,
    metrics: AgentMetrics,
    tracer: SdkTracer,
    upstream: Arc<Upstream>,
    scans: Mutex<ScanBook>,
}

#[derive(Debug, Default)]
struct ScanBook {
    by_id: HashMap<String, Arc<ScanHandle>>,
    order: VecDeque<String>,
    active_roots: HashMap<PathBuf, String>,
    last: Option<String>,
}

impl Scanner {
    pub(crate) fn new(
        agent_id: String,
        data_dir: PathBuf,
        policy: ScanPolicy,
        metrics: AgentMetrics,
        tracer: SdkTracer,
        upstream: Arc<Upstream>,
    ) -> Self {
        Self {
            agent_id,
            data_dir,
            allowed_roots: policy.allowed_roots,
            walk: policy.walk,
            timeout: policy.timeout,
            max_concurrent: policy.max_concurrent.max(1),
            metrics,
            tracer,
            upstream,
            scans: Mutex::default(),
        }
    }

    /// Returns the allowed roots as configured.
    pub(crate) fn allowed_roots(&self) -> &[PathBuf] {
        &self.allowed_roots
    }

    /// Returns the scan with this id.
    pub(crate) fn get(&self, id: &str) -> Option<Arc<ScanHandle>> {
        self.scans.lock().ok()?.by_id.get(id).cloned()
    }

    /// Returns the last scan started.
    pub(crate) fn last(&self) -> Option<Arc<ScanHandle>> {
        let book = self.scans.lock().ok()?;
        book.last.as_ref().and_then(|id| book.by_id.get(id)).cloned()
    }

    /// Resolves `path` and checks it lies under an allowed root.
    pub(crate) fn authorize(&self, path: &str) -> Result<PathBuf, AgentError> {
        if path.trim().is_empty() {
            return Err(AgentError::InvalidArgument("path must not be empty".to_string()));
        }
        let root = std::fs::canonicalize(path)
            .map_err(|e| AgentError::InvalidArgument(format!("cannot scan {path:?}: {e}")))?;
        let allowed = self
            .allowed_roots
            .iter()
            .filter_map(|r| std::fs::canonicalize(r).ok())
            .any(|r| root.starts_with(&r));
        if !allowed {
            return Err(AgentError::PermissionDenied(format!(
                "{} is outside the agent's allowed roots (--allowed-root)",
                root.display()
            )));
        }
        if !root.is_dir() {
            return Err(AgentError::InvalidArgument(format!(
                "{} is not a directory",
                root.display()
            )));
        }
        Ok(root)
    }

    /// Starts a scan of an authorized root; at most one scan per root runs at a time.
    pub(crate) fn start(
        self: &Arc<Self>,
        root: PathBuf,
        kind: common::ScanType,
    ) -> Result<Arc<ScanHandle>, AgentError> {
        let id = uuid::Uuid::new_v4().to_string();
        let state = pb::ScanState {
            scan_id: id.clone(),
            path: root.display().to_string(),
            scan_type: kind as i32,
            status: common::ScanStatus::Running as i32,
            started_at: Some(SystemTime::now().into()),
            ..Default::default()
        };
        let handle = Arc::new(ScanHandle {
            id: id.clone(),
            progress: Arc::new(Progress::default()),
            counts: MatchCounts::default(),
            state: watch::channel(state).0,
        });
        {
            let mut book = self
                .scans
                .lock()
                .map_err(|_| AgentError::Internal("scan book poisoned".to_string()))?;
            if let Some(running) = book.active_roots.get(&root) {
                return Err(AgentError::AlreadyRunning(format!(
                    "{} is being scanned already (scan {running})",
                    root.display()
                )));
            }
            if book.active_roots.len() >= self.max_concurrent {
                return Err(AgentError::Busy(format!(
                    "{} scans are running; the limit is {} (--max-concurrent-scans)",
                    book.active_roots.len(),
                    self.max_concurrent
                )));
            }
            book.active_roots.insert(root.clone(), id.clone());
            book.by_id.insert(id.clone(), handle.clone());
            book.order.push_back(id.clone());
            book.last = Some(id.clone());
            while book.order.len() > KEEP_SCANS {
                if let Some(old) = book.order.pop_front() {
                    book.by_id.remove(&old);
                }
            }
        }
        let parent = Context::current();
        let scanner = self.clone();
        let task_handle = handle.clone();
        tokio::spawn(async move {
            scanner.run(task_handle, root, kind, parent).await;
        });
        Ok(handle)
    }

    async fn run(self: Arc<Self>, handle: Arc<ScanHandle>, root: PathBuf, kind: common::ScanType, parent: Context) {
        let started = Instant::now();
        let span = self
            .tracer
            .span_builder("scan")
            .with_attributes([
                KeyValue::new("zerotrace.scan.id", handle.id.clone()),
                KeyValue::new("zerotrace.scan.type", kind.as_str_name()),
                KeyValue::new("zerotrace.agent.id", self.agent_id.clone()),
            ])
            .start_with_context(&self.tracer, &parent);
        let cx = parent.with_span(span);
        let phases = self.phases(&handle, &root, kind).with_context(cx.clone());
        let result = match tokio::time::timeout(self.timeout, phases).await {
            Ok(result) => result,
            Err(_) => {
                // The walk thread may be stuck in a read (a hung mount): it
                // is told to stop, and the root is free again either way.
                handle.progress.cancel();
                let error = AgentError::TimedOut(format!(
                    "the scan ran longer than {:?} (--scan-timeout) and was stopped",
                    self.timeout
                ));
                self.report_failure(&handle, &root, kind, &error).await;
                Err(error)
            }
        };
        let label = if kind == common::ScanType::Incremental {
            ScanKind::Incremental
        } else {
            ScanKind::Full
        };
        let (status, outcome, message) = match &result {
            Ok(warning) => (
                common::ScanStatus::Succeeded,
                ScanOutcome::Success,
                warning.clone().unwrap_or_default(),
            ),
            Err(e) => (common::ScanStatus::Failed, ScanOutcome::Failure, e.to_string()),
        };
        self.metrics
            .record_scan(label, outcome, started.elapsed().as_secs_f64());
        if let Err(e) = &result {
            tracing::warn!(scan_id = %handle.id, error = %e, "scan failed");
            cx.span().set_status(opentelemetry::trace::Status::error(e.to_string()));
        }
        cx.span().end();
        handle.update(|s| {
            s.status = status as i32;
            s.finished_at = Some(SystemTime::now().into());
            s.error_message = message;
        });
        if let Ok(mut book) = self.scans.lock() {
            book.active_roots.remove(&root);
        }
        tracing::info!(scan_id = %handle.id, status = status.as_str_name(), elapsed = ?started.elapsed(), "scan finished");
    }

    /// Runs the phases; `Ok(Some(warning))` is a scan whose report could not be delivered
    /// for a reason that is not a failure of the scan (no API configured).
    /// A scan that fails before its report is ready is reported to the API
    /// as FAILED, with the reason, so the fleet sees it.
    async fn phases(
        &self,
        handle: &Arc<ScanHandle>,
        root: &Path,
        kind: common::ScanType,
    ) -> Result<Option<String>, AgentError> {
        let report = match self.prepare(handle, root, kind).await {
            Ok(report) => report,
            Err(e) => {
                self.report_failure(handle, root, kind, &e).await;
                return Err(e);
            }
        };
        if !self.upstream.has_api() {
            return Ok(Some("report not delivered: no api configured (--api-url)".to_string()));
        }
        let reporting = self.tracer.start("report");
        let report_cx = Context::current().with_span(reporting);
        let delivered = self.upstream.submit(report).with_context(report_cx.clone()).await;
        report_cx.span().end();
        if let Err(error) = delivered {
            // A report over the API's limits (found before sending it, or by
            // the API), or one it refuses as invalid, is told as a failed
            // scan, with the reason and without findings, so the fleet sees
            // the scan and why it holds none; a refusal that may pass later
            // is not.
            let refused_for_good = match &error {
                AgentError::ReportOverLimit(_) => true,
                AgentError::Upstream(status) => {
                    matches!(status.code(), Code::ResourceExhausted | Code::InvalidArgument)
                        && Diagnosis::of(status).retry_after.is_none()
                }
                _ => false,
            };
            if refused_for_good {
                self.report_failure(handle, root, kind, &error).await;
            }
            return Err(error);
        }
        Ok(None)
    }

    /// Walks and matches: the report of a successful scan.
    async fn prepare(
        &self,
        handle: &Arc<ScanHandle>,
        root: &Path,
        kind: common::ScanType,
    ) -> Result<api::ScanReport, AgentError> {
        let inventory = self.walk(handle, root, kind).await?;
        handle.update(|s| {
            s.errors = inventory
                .errors
                .iter()
                .map(|e| common::ScanError {
                    path: e.path.clone(),
                    message: e.message.clone(),
                })
                .collect();
        });
        // Every package goes to enrichment, which owns the matching rule: the
        // packages it does not match come back with the reason.
        let packages: Vec<common::Package> = inventory.packages.iter().map(to_proto).collect();
        let package_count = packages.len();

        let matching = self.tracer.start("match");
        let match_cx = Context::current().with_span(matching);
        let matched = self
            .upstream
            .match_packages(packages)
            .with_context(match_cx.clone())
            .await;
        match_cx.span().end();
        let (matches, advisory_data) = matched?;
        for notice in &advisory_data.notices {
            tracing::warn!(scan_id = %handle.id, notice = %notice, "advisory data");
        }

        // The report carries each advisory once per package name; findings
        // and warnings refer to it by position.
        let mut advisories = AdvisoryList::default();
        let mut finding = |package: &Option<common::Package>, vulnerability: common::Vulnerability| {
            let (ecosystem, name) = package
                .as_ref()
                .map_or(("", ""), |p| (p.ecosystem.as_str(), p.name.as_str()));
            let position = advisories.position(ecosystem, name, &vulnerability.id, || vulnerability.clone());
            common::Finding {
                package: package.clone(),
                advisory_ref: Some(position),
                agent_id: self.agent_id.clone(),
                scan_id: handle.id.clone(),
                ..Default::default()
            }
        };
        let (mut findings, mut warnings, mut unmatched) = (Vec::new(), Vec::new(), Vec::new());
        let mut by_severity: BTreeMap<&'static str, (SeverityLabel, u64)> = BTreeMap::new();
        for m in matches {
            for vulnerability in m.vulnerabilities {
                let label = SeverityLabel::from(vulnerability.severity());
                by_severity.entry(label.label()).or_insert((label, 0)).1 += 1;
                findings.push(finding(&m.package, vulnerability));
            }
            warnings.extend(m.warnings.into_iter().map(|w| finding(&m.package, w)));
            if !m.unmatched_reason.is_empty() {
                unmatched.push(common::UnmatchedPackage {
                    package: m.package,
                    reason: m.unmatched_reason,
                });
            }
        }
        handle.counts.set(findings.len(), warnings.len(), unmatched.len());
        tracing::info!(
            scan_id = %handle.id,
            packages = package_count,
            findings = findings.len(),
            warnings = warnings.len(),
            unmatched = unmatched.len(),
            errors = inventory.errors.len(),
            generation = advisory_data.generation,
            "scan matched"
        );
        for (label, count) in by_severity.into_values() {
            self.metrics.add_vulnerabilities(label, count);
        }
        handle.update(|s| s.advisory_data = Some(advisory_data.clone()));
        let state = handle.snapshot();
        Ok(api::ScanReport {
            scan_id: handle.id.clone(),
            scan_type: kind as i32,
            status: common::ScanStatus::Succeeded as i32,
            root: root.display().to_string(),
            started_at: state.started_at,
            finished_at: Some(SystemTime::now().into()),
            packages_scanned: package_count as u64,
            files_scanned: inventory.files_walked,
            findings,
            errors: state.errors,
            warnings,
            unmatched,
            advisory_data: Some(advisory_data),
            error_message: String::new(),
            advisories: advisories.into_vec(),
        })
    }

    /// Tells the API that a scan failed and why (best effort: a failure to
    /// tell it is logged, the scan's own error stands).
    async fn report_failure(&self, handle: &Arc<ScanHandle>, root: &Path, kind: common::ScanType, error: &AgentError) {
        if !self.upstream.has_api() {
            return;
        }
        let state = handle.snapshot();
        let report = api::ScanReport {
            scan_id: handle.id.clone(),
            scan_type: kind as i32,
            status: common::ScanStatus::Failed as i32,
            root: root.display().to_string(),
            started_at: state.started_at,
            finished_at: Some(SystemTime::now().into()),
            packages_scanned: state.progress.map_or(0, |p| p.packages),
            files_scanned: state.progress.map_or(0, |p| p.files_walked),
            errors: state.errors,
            advisory_data: state.advisory_data,
            error_message: error.to_string(),
            ..Default::default()
        };
        if let Err(e) = self.upstream.submit(report).await {
            tracing::warn!(scan_id = %handle.id, error = %e, "the failed scan could not be reported");
        }
    }

    async fn walk(
        &self,
        handle: &Arc<ScanHandle>,
        root: &Path,
        kind: common::ScanType,
    ) -> Result<Inventory, AgentError> {
        let span = self.tracer.start("walk");
        let cx = Context::current().with_span(span);
        let cache_path = self.cache_path(root);
        let options = self.walk.clone();
        let progress = handle.progress.clone();
        let root_owned = root.to_path_buf();
        let incremental = kind == common::ScanType::Incremental;
        let result = tokio::task::spawn_blocking(move || -> Result<(Inventory, PathBuf), AgentError> {
            // A full scan starts from an empty cache: nothing is reused, and the
            // cache it returns serves the next incremental scan.
            let cache = if incremental {
                FingerprintCache::load(&cache_path).unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "fingerprint cache unreadable, scanning in full");
                    FingerprintCache::new()
                })
            } else {
                FingerprintCache::new()
            };
            let inventory = zerotrace_inventory::scan(&root_owned, &options, &progress, Some(&cache))?;
            if let Some(new_cache) = &inventory.cache
                && let Err(e) = cache_path
                    .parent()
                    .map_or(Ok(()), std::fs::create_dir_all)
                    .map_err(|e| e.to_string())
                    .and_then(|()| new_cache.save(&cache_path).map_err(|e| e.to_string()))
            {
                tracing::warn!(error = %e, "fingerprint cache not saved");
            }
            Ok((inventory, cache_path))
        })
        .await
        .map_err(|e| AgentError::Internal(format!("walk task failed: {e}")))?;
        let (inventory, _) = match result {
            Ok(r) => r,
            Err(e) => {
                cx.span().end();
                return Err(e);
            }
        };
        for (file_type, count) in &inventory.file_types {
            self.metrics.add_files(file_type.label(), *count);
        }
        let span = cx.span();
        span.set_attribute(KeyValue::new("zerotrace.files_walked", inventory.files_walked as i64));
        span.set_attribute(KeyValue::new("zerotrace.lockfiles", inventory.lockfiles as i64));
        span.set_attribute(KeyValue::new("zerotrace.packages", inventory.packages.len() as i64));
        span.end();
        Ok(inventory)
    }

    /// The fingerprint cache of one root: one file per root, named by a hash of its path.
    fn cache_path(&self, root: &Path) -> PathBuf {
        let key = zerotrace_inventory::content_hash(root.display().to_string().as_bytes());
        self.data_dir.join("fingerprints").join(format!("{key:016x}.json"))
    }
}

/// Returns the contract's package of an inventory package.
pub(crate) fn to_proto(p: &zerotrace_inventory::Package) -> common::Package {
    common::Package {
        ecosystem: p.ecosystem.osv_name().to_string(),
        name: p.name.clone(),
        version: p.version.clone(),
        purl: p.purl().unwrap_or_default(),
        source_path: p.path.clone(),
        scope: match p.scope {
            zerotrace_inventory::Scope::Unspecified => common::DependencyScope::Unspecified,
            zerotrace_inventory::Scope::Runtime => common::DependencyScope::Runtime,
            zerotrace_inventory::Scope::Development => common::DependencyScope::Development,
            zerotrace_inventory::Scope::Optional => common::DependencyScope::Optional,
        } as i32,
        source: match p.source {
            Source::Registry => common::PackageSource::Registry,
            Source::Git => common::PackageSource::Git,
            Source::Path => common::PackageSource::Path,
            Source::Workspace => common::PackageSource::Workspace,
        } as i32,
    }
}

/// Runs periodic scans of every allowed root: full when the root has had no
/// full scan for `full_every` (the first is full), incremental otherwise.
/// Only a full scan resolves the findings a fixed lockfile no longer has, so
/// without the full ones a fix would never show.
pub(crate) async fn periodic(scanner: Arc<Scanner>, interval: Duration, full_every: Duration) {
    let mut last_full: HashMap<PathBuf, tokio::time::Instant> = HashMap::new();
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        for root in scanner.allowed_roots().to_vec() {
            let Ok(root) = std::fs::canonicalize(&root) else {
                tracing::warn!(root = %root.display(), "allowed root is missing, not scanned");
                continue;
            };
            let full = last_full.get(&root).is_none_or(|at| at.elapsed() >= full_every);
            let kind = if full {
                common::ScanType::Full
            } else {
                common::ScanType::Incremental
            };
            match scanner.start(root.clone(), kind) {
                Ok(handle) => {
                    if full {
                        last_full.insert(root, tokio::time::Instant::now());
                    }
                    tracing::info!(scan_id = %handle.id, full, "periodic scan started");
                }
                Err(AgentError::AlreadyRunning(m)) => tracing::info!("{m}; periodic scan skipped"),
                Err(e) => tracing::warn!(error = %e, "periodic scan not started"),
            }
        }
    }
}
