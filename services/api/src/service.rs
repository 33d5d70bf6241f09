//! The `ApiService` gRPC implementation: authentication, validation, paging
//! and the live findings feed around the [`Store`].
//!
//! Every call first authenticates (UNAUTHENTICATED), then validates its
//! request (INVALID_ARGUMENT), then checks that an agent acts only as itself
//! (PERMISSION_DENIED). Tokens are compared by their SHA-256 and never logged.

use crate::ApiError;
use crate::rate::RateLimiter;
use crate::store::{
    FindingCursor, FindingOrder, FindingQuery, FindingSelector, NewAgent, NewFinding, NewReport, ReplicaEvent,
    ReplicaEvents, ScanCursor, ScanQuery, Store, SubmitOutcome,
};
use crate::time::{micros, now_micros, timestamp};
use crate::token::{BodyReader, BodyWriter, PageKind, PageTokens, digest_parts, hash_token};
use futures_util::StreamExt as _;
use prost::Message as _;
use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch};
use tokio_stream::Stream;
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};
use zerotrace_proto::api::v1 as pb;
use zerotrace_proto::common::v1 as common;

/// Default page size of every list call.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// Largest page size of every list call.
pub const MAX_PAGE_SIZE: u32 = 1000;
/// Packages GetSummary lists.
const TOP_PACKAGES: u32 = 10;
/// Longest accepted id (agent, scan), bytes.
const MAX_ID_LEN: usize = 256;
/// Longest accepted free text (host name, version, root, package fields), bytes.
const MAX_TEXT_LEN: usize = 4096;

/// What the service needs beyond its store.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// Bearer token of read calls.
    pub reader_token: String,
    /// Bearer token RegisterAgent requires for a new agent, if any.
    pub registration_token: Option<String>,
    /// Agent calls per second per agent (0 = off).
    pub rate_limit_per_agent: u32,
    /// Most findings per report.
    pub max_findings_per_report: usize,
    /// Largest request message, bytes.
    pub max_message_size: usize,
    /// Requests served at once.
    pub max_concurrent_requests: usize,
    /// Unary call timeout.
    pub request_timeout: Duration,
    /// Online window of agent status.
    pub online_window: Duration,
    /// Offline threshold of agent status.
    pub offline_after: Duration,
    /// Reports a WatchFindings stream may fall behind.
    pub watch_buffer: usize,
}

impl ApiSettings {
    /// Returns the settings of `config` with the resolved reader token.
    pub fn from_config(config: &crate::ApiConfig, reader_token: String) -> Self {
        Self {
            reader_token,
            registration_token: Some(config.registration_token.clone()).filter(|t| !t.is_empty()),
            rate_limit_per_agent: config.rate_limit_per_agent,
            max_findings_per_report: config.max_findings_per_report,
            max_message_size: config.max_message_size,
            max_concurrent_requests: config.max_concurrent_requests,
            request_timeout: config.request_timeout,
            online_window: config.online_window,
            offline_after: config.offline_after,
            watch_buffer: config.watch_buffer,
        }
    }
}

/// The API gRPC service.
#[derive(Debug, Clone)]
pub struct Api {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn Store>,
    reader_hash: String,
    registration_hash: Option<String>,
    settings: ApiSettings,
    rate: Option<RateLimiter>,
    pages: PageTokens,
    feed: broadcast::Sender<Arc<FeedEvent>>,
    stopping: watch::Receiver<bool>,
}

/// What the live feed of WatchFindings carries.
#[derive(Debug)]
enum FeedEvent {
    /// Findings a report opened (new or reopened), stored through this
    /// replica or another one.
    Opened(Vec<common::Finding>),
    /// Reports of other replicas may have gone unheard (the connection that
    /// hears of them was lost): streams end, so that clients resume.
    Missed,
}

/// Ends every WatchFindings stream when dropped or told to.
#[derive(Debug)]
pub struct StreamStopper(watch::Sender<bool>);

impl StreamStopper {
    /// Ends the live streams (the server is shutting down).
    pub fn stop(&self) {
        let _ = self.0.send(true);
    }
}

/// The stream type of WatchFindings.
pub(crate) type FindingStream = Pin<Box<dyn Stream<Item = Result<pb::WatchFindingsResponse, Status>> + Send + 'static>>;

impl Api {
    /// Builds the service on `store`; the [`StreamStopper`] ends WatchFindings streams at shutdown.
    pub async fn new(store: Arc<dyn Store>, settings: ApiSettings) -> Result<(Self, StreamStopper), ApiError> {
        if settings.reader_token.is_empty() {
            return Err(ApiError::Secret("the reader token is empty".to_string()));
        }
        let pages = PageTokens::new(&store.page_secret().await?)?;
        let (feed, _) = broadcast::channel(settings.watch_buffer.max(1));
        let (stop, stopping) = watch::channel(false);
        if let Some(events) = store.replica_events().await? {
            tokio::spawn(relay_other_replicas(
                Arc::clone(&store),
                events,
                feed.clone(),
                stopping.clone(),
            ));
        }
        let inner = Inner {
            reader_hash: hash_token(&settings.reader_token),
            registration_hash: settings.registration_token.as_deref().map(hash_token),
            rate: RateLimiter::new(settings.rate_limit_per_agent),
            store,
            settings,
            pages,
            feed,
            stopping,
        };
        Ok((Self { inner: Arc::new(inner) }, StreamStopper(stop)))
    }

    /// Returns the settings the service runs with.
    pub fn settings(&self) -> &ApiSettings {
        &self.inner.settings
    }
}

/// Returns the bearer token of a call, if any.
fn bearer(metadata: &MetadataMap) -> Option<&str> {
    let value = metadata.get("authorization")?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

impl Inner {
    fn authorize_reader(&self, metadata: &MetadataMap) -> Result<(), ApiError> {
        match bearer(metadata) {
            Some(token) if hash_token(token) == self.reader_hash => Ok(()),
            Some(_) => Err(ApiError::Unauthenticated("invalid reader token")),
            None => Err(ApiError::Unauthenticated(
                "missing reader token (authorization: Bearer <token>)",
            )),
        }
    }

    /// Returns the agent the call's token belongs to, within its rate limit.
    async fn authenticate_agent(&self, metadata: &MetadataMap) -> Result<String, ApiError> {
        let token = bearer(metadata).ok_or(ApiError::Unauthenticated(
            "missing agent token (authorization: Bearer <token>)",
        ))?;
        let hash = hash_token(token);
        let agent = self
            .store
            .agent_for_token(&hash)
            .await?
            .ok_or(ApiError::Unauthenticated("invalid agent token"))?;
        if let Some(rate) = &self.rate
            && !rate.allow(&hash)
        {
            return Err(ApiError::ResourceExhausted(format!(
                "rate limit of {} requests/s per agent exceeded",
                rate.rate()
            )));
        }
        Ok(agent)
    }

    /// Authenticates an agent call that names the calling agent (`agent_id`):
    /// an agent acts only as itself (PERMISSION_DENIED otherwise).
    async fn authenticate_as(&self, metadata: &MetadataMap, agent_id: &str) -> Result<String, ApiError> {
        let caller = self.authenticate_agent(metadata).await?;
        check_id("agent_id", agent_id)?;
        if agent_id != caller {
            return Err(ApiError::PermissionDenied(
                "agent_id is not the token's agent".to_string(),
            ));
        }
        Ok(caller)
    }

    /// Status of an agent last heard from at `last_seen`, by the thresholds
    /// GetSummary counts with.
    fn agent_status(&self, last_seen: i64, now: i64) -> pb::AgentStatus {
        let (online_since, offline_before) = self.status_thresholds(now);
        if last_seen >= online_since {
            pb::AgentStatus::Online
        } else if last_seen >= offline_before {
            pb::AgentStatus::Stale
        } else {
            pb::AgentStatus::Offline
        }
    }

    /// Returns the microsecond thresholds (online since, offline before) at `now`.
    fn status_thresholds(&self, now: i64) -> (i64, i64) {
        let window = |d: Duration| i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
        (
            now.saturating_sub(window(self.settings.online_window)),
            now.saturating_sub(window(self.settings.offline_after)),
        )
    }
}

/// The name of a field of a report's finding, written out only when an error
/// message needs it (a report carries up to thousands of findings).
struct FindingField {
    index: usize,
    name: &'static str,
}

impl std::fmt::Display for FindingField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "report.findings[{}].{}", self.index, self.name)
    }
}

/// Checks an id: present, at most 256 bytes, no control characters.
fn check_id(field: impl std::fmt::Display, value: &str) -> Result<(), ApiError> {
    if value.is_empty() {
        return Err(ApiError::invalid(format!("{field} is required")));
    }
    if value.len() > MAX_ID_LEN || value.chars().any(char::is_control) {
        return Err(ApiError::invalid(format!(
            "{field} must be at most {MAX_ID_LEN} bytes without control characters"
        )));
    }
    Ok(())
}

/// Checks free text: at most 4096 bytes.
fn check_text(field: impl std::fmt::Display, value: &str) -> Result<(), ApiError> {
    if value.len() > MAX_TEXT_LEN {
        return Err(ApiError::invalid(format!(
            "{field} must be at most {MAX_TEXT_LEN} bytes"
        )));
    }
    Ok(())
}

/// Checks an optional id filter; empty means unset.
fn optional_id(field: &str, value: &str) -> Result<Option<String>, ApiError> {
    if value.is_empty() {
        return Ok(None);
    }
    check_id(field, value)?;
    Ok(Some(value.to_string()))
}

fn page_size(size: i32) -> Result<u32, ApiError> {
    match u32::try_from(size) {
        Ok(0) => Ok(DEFAULT_PAGE_SIZE),
        Ok(n) if n <= MAX_PAGE_SIZE => Ok(n),
        _ => Err(ApiError::invalid(format!(
            "page_size must be between 0 (default {DEFAULT_PAGE_SIZE}) and {MAX_PAGE_SIZE}, got {size}"
        ))),
    }
}

fn enum_value<E: TryFrom<i32>>(field: impl std::fmt::Display, value: i32) -> Result<E, ApiError> {
    E::try_from(value).map_err(|_| ApiError::invalid(format!("{field} has unknown value {value}")))
}

/// Returns the validated filter of ListFindings and WatchFindings.
fn selector(filter: Option<&pb::FindingFilter>) -> Result<FindingSelector, ApiError> {
    let Some(filter) = filter else {
        return Ok(FindingSelector::default());
    };
    let min: common::Severity = enum_value("filter.min_severity", filter.min_severity)?;
    let text = |field: &str, value: &str| -> Result<Option<String>, ApiError> {
        check_text(field, value)?;
        Ok(Some(value.to_string()).filter(|v| !v.is_empty()))
    };
    Ok(FindingSelector {
        min_severity: (min != common::Severity::Unspecified).then_some(min as i32),
        ecosystem: text("filter.ecosystem", &filter.ecosystem)?,
        package_name: text("filter.package_name", &filter.package_name)?,
        vulnerability_id: optional_id("filter.vulnerability_id", &filter.vulnerability_id)?,
        agent_id: optional_id("filter.agent_id", &filter.agent_id)?,
        known_exploited_only: filter.known_exploited_only,
        fix_available_only: filter.fix_available_only,
        include_resolved: filter.include_resolved,
    })
}

impl FindingSelector {
    /// Returns whether a new (open) finding passes the filter, as the SQL would decide.
    fn matches(&self, finding: &common::Finding) -> bool {
        let (Some(package), Some(vuln)) = (&finding.package, &finding.vulnerability) else {
            return false;
        };
        self.min_severity.is_none_or(|min| vuln.severity >= min)
            && self.ecosystem.as_ref().is_none_or(|e| *e == package.ecosystem)
            && self.package_name.as_ref().is_none_or(|n| *n == package.name)
            && self
                .vulnerability_id
                .as_ref()
                .is_none_or(|id| *id == vuln.id || vuln.aliases.contains(id))
            && self.agent_id.as_ref().is_none_or(|a| *a == finding.agent_id)
            && (!self.known_exploited_only || vuln.known_exploited)
            && (!self.fix_available_only || !vuln.fixed_versions.is_empty())
    }
}

/// Returns the stable key of a finding: the first 128 bits of a hash of agent,
/// package, version, lockfile (root and path within it) and vulnerability.
/// Its lowercase hex is the finding id of the API.
fn finding_key(agent_id: &str, root: &str, package: &common::Package, vuln_id: &str) -> [u8; 16] {
    let digest = digest_parts(&[
        agent_id.as_bytes(),
        package.ecosystem.as_bytes(),
        package.name.as_bytes(),
        package.version.as_bytes(),
        root.as_bytes(),
        package.source_path.as_bytes(),
        vuln_id.as_bytes(),
    ]);
    let mut key = [0u8; 16];
    if let Some(head) = digest.get(..16) {
        key.copy_from_slice(head);
    }
    key
}

/// Validates a report of `agent_id` received at `now` (microseconds) and
/// turns it into what the store writes: finding ids, deduplicated findings,
/// encoded bytes and the content hash that makes retries idempotent. The
/// report is taken apart, not copied: a report carries up to
/// `max_findings` findings.
pub fn prepare_report(
    agent_id: &str,
    mut report: pb::ScanReport,
    max_findings: usize,
    now: i64,
) -> Result<NewReport, ApiError> {
    check_id("report.scan_id", &report.scan_id)?;
    let scan_type: common::ScanType = enum_value("report.scan_type", report.scan_type)?;
    if scan_type == common::ScanType::Unspecified {
        return Err(ApiError::invalid("report.scan_type is required (FULL or INCREMENTAL)"));
    }
    let status: common::ScanStatus = enum_value("report.status", report.status)?;
    if status == common::ScanStatus::Unspecified {
        return Err(ApiError::invalid("report.status is required"));
    }
    check_text("report.root", &report.root)?;
    let started_at = match &report.started_at {
        Some(ts) => micros("report.started_at", ts)?,
        None => now,
    };
    if let Some(ts) = &report.finished_at {
        micros("report.finished_at", ts)?;
    }
    if report.findings.len() > max_findings {
        return Err(ApiError::ResourceExhausted(format!(
            "report has {} findings; the limit is {max_findings} per report (--max-findings-per-report)",
            report.findings.len()
        )));
    }
    let content_hash = digest_parts(&[&report.encode_to_vec()]).to_vec();
    let reported = std::mem::take(&mut report.findings);
    let mut by_key: HashMap<[u8; 16], NewFinding> = HashMap::with_capacity(reported.len());
    for (i, finding) in reported.into_iter().enumerate() {
        let field = |name: &'static str| FindingField { index: i, name };
        let package = finding
            .package
            .ok_or_else(|| ApiError::invalid(format!("{} is required", field("package"))))?;
        let mut vuln = finding
            .vulnerability
            .ok_or_else(|| ApiError::invalid(format!("{} is required", field("vulnerability"))))?;
        check_id(field("package.ecosystem"), &package.ecosystem)?;
        check_id(field("package.name"), &package.name)?;
        check_text(field("package.version"), &package.version)?;
        check_text(field("package.source_path"), &package.source_path)?;
        check_id(field("vulnerability.id"), &vuln.id)?;
        enum_value::<common::DependencyScope>(field("package.scope"), package.scope)?;
        enum_value::<common::PackageSource>(field("package.source"), package.source)?;
        let severity: common::Severity = enum_value(field("vulnerability.severity"), vuln.severity)?;
        for (name, value) in [
            ("vulnerability.risk_score", vuln.risk_score),
            ("vulnerability.cvss_score", vuln.cvss_score),
            ("vulnerability.epss_score", vuln.epss_score),
            ("vulnerability.epss_percentile", vuln.epss_percentile),
        ] {
            if !value.is_finite() {
                return Err(ApiError::invalid(format!("{} must be a finite number", field(name))));
            }
        }
        let key = finding_key(agent_id, &report.root, &package, &vuln.id);
        if severity == common::Severity::Unspecified {
            vuln.severity = common::Severity::Unknown as i32;
        }
        let stored = common::Finding {
            package: Some(package),
            vulnerability: Some(vuln),
            ..Default::default()
        };
        let new = NewFinding {
            key,
            data: stored.encode_to_vec(),
            finding: stored,
        };
        // A finding listed twice in one report is one finding: the last listing wins.
        by_key.insert(key, new);
    }
    let mut findings: Vec<NewFinding> = by_key.into_values().collect();
    // One order for every writer keeps concurrent PostgreSQL transactions from deadlocking.
    findings.sort_unstable_by_key(|f| f.key);
    Ok(NewReport {
        agent_id: agent_id.to_string(),
        scan_id: report.scan_id.clone(),
        content_hash,
        status: status as i32,
        started_at,
        received_at: now,
        report: report.encode_to_vec(),
        root: report.root,
        findings,
        resolves: scan_type == common::ScanType::Full && status == common::ScanStatus::Succeeded,
        publish: true,
    })
}

/// Returns the hash that ties a page token to its listing.
fn scope<M: prost::Message>(kind: PageKind, request: &M) -> [u8; 32] {
    digest_parts(&[&[kind as u8], &request.encode_to_vec()])
}

#[tonic::async_trait]
impl pb::api_service_server::ApiService for Api {
    async fn register_agent(
        &self,
        request: Request<pb::RegisterAgentRequest>,
    ) -> Result<Response<pb::RegisterAgentResponse>, Status> {
        let inner = &self.inner;
        let bearer_hash = bearer(request.metadata()).map(hash_token);
        let req = request.get_ref();
        if !req.agent_id.is_empty() {
            check_id("agent_id", &req.agent_id)?;
        }
        check_text("hostname", &req.hostname)?;
        check_text("version", &req.version)?;
        let token = crate::token::generate_token()?;
        let mut agent = NewAgent {
            agent_id: req.agent_id.clone(),
            hostname: req.hostname.clone(),
            version: req.version.clone(),
            token_hash: hash_token(&token),
            now: now_micros(),
        };
        // An agent renewing its own credentials shows its current token.
        if !agent.agent_id.is_empty()
            && let Some(old) = &bearer_hash
            && inner.store.rotate_agent(&agent, old).await.map_err(ApiError::from)?
        {
            tracing::info!(agent_id = %agent.agent_id, "agent re-registered");
            return Ok(Response::new(pb::RegisterAgentResponse {
                agent_id: agent.agent_id,
                token,
            }));
        }
        if let Some(required) = &inner.registration_hash
            && bearer_hash.as_ref() != Some(required)
        {
            if !agent.agent_id.is_empty()
                && inner
                    .store
                    .agent_exists(&agent.agent_id)
                    .await
                    .map_err(ApiError::from)?
            {
                return Err(ApiError::PermissionDenied(
                    "agent_id is registered; re-register with that agent's current token".to_string(),
                )
                .into());
            }
            return Err(ApiError::Unauthenticated("missing or invalid registration token").into());
        }
        if agent.agent_id.is_empty() {
            agent.agent_id = uuid::Uuid::new_v4().to_string();
        }
        if !inner.store.create_agent(&agent).await.map_err(ApiError::from)? {
            return Err(ApiError::PermissionDenied(
                "agent_id is registered; re-register with that agent's current token".to_string(),
            )
            .into());
        }
        tracing::info!(agent_id = %agent.agent_id, hostname = %agent.hostname, "agent registered");
        Ok(Response::new(pb::RegisterAgentResponse {
            agent_id: agent.agent_id,
            token,
        }))
    }

    async fn heartbeat(
        &self,
        request: Request<pb::HeartbeatRequest>,
    ) -> Result<Response<pb::HeartbeatResponse>, Status> {
        let inner = &self.inner;
        let caller = inner
            .authenticate_as(request.metadata(), &request.get_ref().agent_id)
            .await?;
        let now = now_micros();
        if !inner.store.heartbeat(&caller, now).await.map_err(ApiError::from)? {
            return Err(ApiError::NotFound("agent is not registered".to_string()).into());
        }
        Ok(Response::new(pb::HeartbeatResponse {
            received_at: Some(timestamp(now)),
        }))
    }

    async fn submit_scan_report(
        &self,
        request: Request<pb::SubmitScanReportRequest>,
    ) -> Result<Response<pb::SubmitScanReportResponse>, Status> {
        let inner = &self.inner;
        let caller = inner
            .authenticate_as(request.metadata(), &request.get_ref().agent_id)
            .await?;
        let req = request.into_inner();
        let report = req.report.ok_or_else(|| ApiError::invalid("report is required"))?;
        let mut prepared = prepare_report(&caller, report, inner.settings.max_findings_per_report, now_micros())?;
        // Copies of the new findings are only made for WatchFindings streams.
        prepared.publish = inner.feed.receiver_count() > 0;
        let outcome = inner.store.submit_report(&prepared).await.map_err(ApiError::from)?;
        let (created, new_findings, resolved_findings) = match outcome {
            SubmitOutcome::Stored {
                new_findings,
                resolved_findings,
                published,
            } => {
                tracing::debug!(
                    agent_id = %caller,
                    scan_id = %prepared.scan_id,
                    findings = prepared.findings.len(),
                    new_findings,
                    resolved_findings,
                    "scan report stored"
                );
                if !published.is_empty() {
                    // No receiver is not an error: nobody is watching.
                    let _ = inner.feed.send(Arc::new(FeedEvent::Opened(published)));
                }
                (true, new_findings, resolved_findings)
            }
            SubmitOutcome::Duplicate {
                new_findings,
                resolved_findings,
            } => (false, new_findings, resolved_findings),
            SubmitOutcome::Conflict => {
                return Err(ApiError::AlreadyExists(format!(
                    "scan_id {:?} of this agent is stored with different content; a new report needs a new scan_id",
                    prepared.scan_id
                ))
                .into());
            }
        };
        Ok(Response::new(pb::SubmitScanReportResponse {
            scan_id: prepared.scan_id,
            created,
            new_findings,
            resolved_findings,
        }))
    }

    async fn list_scans(
        &self,
        request: Request<pb::ListScansRequest>,
    ) -> Result<Response<pb::ListScansResponse>, Status> {
        let inner = &self.inner;
        inner.authorize_reader(request.metadata())?;
        let req = request.get_ref();
        let limit = page_size(req.page_size)?;
        let status: common::ScanStatus = enum_value("status", req.status)?;
        let start = req.start_time.as_ref().map(|t| micros("start_time", t)).transpose()?;
        let end = req.end_time.as_ref().map(|t| micros("end_time", t)).transpose()?;
        if let (Some(start), Some(end)) = (start, end)
            && start > end
        {
            return Err(ApiError::invalid("start_time is after end_time").into());
        }
        let scope = scope(
            PageKind::Scans,
            &pb::ListScansRequest {
                page_size: 0,
                page_token: String::new(),
                ..req.clone()
            },
        );
        let after = if req.page_token.is_empty() {
            None
        } else {
            let body = inner.pages.open(&req.page_token, PageKind::Scans, &scope)?;
            let mut reader = BodyReader::new(&body);
            let cursor = ScanCursor {
                started_at: reader.i64()?,
                seq: reader.i64()?,
            };
            reader.end()?;
            Some(cursor)
        };
        let query = ScanQuery {
            agent_id: optional_id("agent_id", &req.agent_id)?,
            start,
            end,
            status: (status != common::ScanStatus::Unspecified).then_some(status as i32),
            after,
            limit: limit + 1,
        };
        let mut scans = inner.store.list_scans(&query).await.map_err(ApiError::from)?;
        let mut next_page_token = String::new();
        if scans.len() > limit as usize {
            scans.truncate(limit as usize);
            if let Some(last) = scans.last() {
                let body = BodyWriter::default()
                    .i64(last.cursor.started_at)
                    .i64(last.cursor.seq)
                    .finish();
                next_page_token = inner.pages.seal(PageKind::Scans, &scope, &body);
            }
        }
        Ok(Response::new(pb::ListScansResponse {
            // The lists stay with GetScan; a page of scans carries their counts.
            scans: scans
                .into_iter()
                .map(|s| {
                    let mut scan = s.scan;
                    if let Some(report) = scan.report.as_mut() {
                        report.warnings.clear();
                        report.unmatched.clear();
                    }
                    scan
                })
                .collect(),
            next_page_token,
        }))
    }

    async fn get_scan(&self, request: Request<pb::GetScanRequest>) -> Result<Response<pb::GetScanResponse>, Status> {
        let inner = &self.inner;
        inner.authorize_reader(request.metadata())?;
        let req = request.get_ref();
        check_id("agent_id", &req.agent_id)?;
        check_id("scan_id", &req.scan_id)?;
        let scan = inner
            .store
            .get_scan(&req.agent_id, &req.scan_id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::NotFound(format!("no scan {:?} of agent {:?}", req.scan_id, req.agent_id)))?;
        Ok(Response::new(pb::GetScanResponse { scan: Some(scan) }))
    }

    async fn list_findings(
        &self,
        request: Request<pb::ListFindingsRequest>,
    ) -> Result<Response<pb::ListFindingsResponse>, Status> {
        let inner = &self.inner;
        inner.authorize_reader(request.metadata())?;
        let req = request.get_ref();
        let limit = page_size(req.page_size)?;
        let filter = selector(req.filter.as_ref())?;
        let sort: pb::FindingSort = enum_value("sort", req.sort)?;
        let order = match sort {
            pb::FindingSort::Unspecified | pb::FindingSort::Risk => FindingOrder::Risk,
            pb::FindingSort::Severity => FindingOrder::Severity,
            pb::FindingSort::Time => FindingOrder::Time,
        };
        let scope = scope(
            PageKind::Findings,
            &pb::ListFindingsRequest {
                filter: req.filter.clone(),
                sort: order as i32,
                page_size: 0,
                page_token: String::new(),
            },
        );
        // Later pages carry the first page's total: counting every page would
        // cost a scan of all matches per page.
        let (after, total) = if req.page_token.is_empty() {
            (None, None)
        } else {
            let body = inner.pages.open(&req.page_token, PageKind::Findings, &scope)?;
            let mut reader = BodyReader::new(&body);
            let cursor = FindingCursor {
                risk_score: reader.f64()?,
                severity: reader.i64()?,
                last_seen: reader.i64()?,
                key: crate::token::unhex(&reader.str()?).ok_or_else(|| ApiError::invalid("invalid page_token"))?,
            };
            let total = reader.i64()?;
            reader.end()?;
            (Some(cursor), Some(u64::try_from(total).unwrap_or(0)))
        };
        let query = FindingQuery {
            filter,
            order,
            after,
            limit,
            count_total: total.is_none(),
        };
        let page = inner.store.list_findings(&query).await.map_err(ApiError::from)?;
        let total_size = total.or(page.total).unwrap_or(0);
        let next_page_token = page
            .next
            .map(|c| {
                let body = BodyWriter::default()
                    .f64(c.risk_score)
                    .i64(c.severity)
                    .i64(c.last_seen)
                    .str(&crate::token::hex(&c.key))
                    .i64(i64::try_from(total_size).unwrap_or(i64::MAX))
                    .finish();
                inner.pages.seal(PageKind::Findings, &scope, &body)
            })
            .unwrap_or_default();
        Ok(Response::new(pb::ListFindingsResponse {
            findings: page.findings,
            next_page_token,
            total_size,
        }))
    }

    async fn get_summary(
        &self,
        request: Request<pb::GetSummaryRequest>,
    ) -> Result<Response<pb::GetSummaryResponse>, Status> {
        let inner = &self.inner;
        inner.authorize_reader(request.metadata())?;
        let agent_id = optional_id("agent_id", &request.get_ref().agent_id)?;
        let now = now_micros();
        let (online_since, offline_before) = inner.status_thresholds(now);
        let summary = inner
            .store
            .summary(agent_id.as_deref(), online_since, offline_before, TOP_PACKAGES)
            .await
            .map_err(ApiError::from)?;
        let counts: HashMap<i32, u64> = summary.by_severity.iter().copied().collect();
        let by_severity: Vec<pb::SeverityCount> = (common::Severity::Unknown as i32
            ..=common::Severity::Critical as i32)
            .rev()
            .map(|severity| pb::SeverityCount {
                severity,
                count: counts.get(&severity).copied().unwrap_or(0),
            })
            .collect();
        let [online, stale, offline] = summary.agents;
        Ok(Response::new(pb::GetSummaryResponse {
            open_findings: summary.by_severity.iter().map(|(_, n)| n).sum(),
            by_severity,
            top_packages: summary
                .top_packages
                .into_iter()
                .map(|(ecosystem, name, findings)| pb::PackageCount {
                    ecosystem,
                    name,
                    findings,
                })
                .collect(),
            agents: [
                (pb::AgentStatus::Online, online),
                (pb::AgentStatus::Stale, stale),
                (pb::AgentStatus::Offline, offline),
            ]
            .into_iter()
            .map(|(status, count)| pb::AgentStatusCount {
                status: status as i32,
                count,
            })
            .collect(),
            scans: summary.scans,
        }))
    }

    async fn list_agents(
        &self,
        request: Request<pb::ListAgentsRequest>,
    ) -> Result<Response<pb::ListAgentsResponse>, Status> {
        let inner = &self.inner;
        inner.authorize_reader(request.metadata())?;
        let req = request.get_ref();
        let limit = page_size(req.page_size)?;
        let scope = scope(PageKind::Agents, &pb::ListAgentsRequest::default());
        let after = if req.page_token.is_empty() {
            None
        } else {
            let body = inner.pages.open(&req.page_token, PageKind::Agents, &scope)?;
            let mut reader = BodyReader::new(&body);
            let after = reader.str()?;
            reader.end()?;
            Some(after)
        };
        let mut agents = inner
            .store
            .list_agents(after.as_deref(), limit + 1)
            .await
            .map_err(ApiError::from)?;
        let mut next_page_token = String::new();
        if agents.len() > limit as usize {
            agents.truncate(limit as usize);
            if let Some(last) = agents.last() {
                let body = BodyWriter::default().str(&last.agent_id).finish();
                next_page_token = inner.pages.seal(PageKind::Agents, &scope, &body);
            }
        }
        let now = now_micros();
        Ok(Response::new(pb::ListAgentsResponse {
            agents: agents
                .into_iter()
                .map(|a| pb::Agent {
                    status: inner.agent_status(a.last_seen, now) as i32,
                    agent_id: a.agent_id,
                    hostname: a.hostname,
                    version: a.version,
                    registered_at: Some(timestamp(a.registered_at)),
                    last_seen: Some(timestamp(a.last_seen)),
                })
                .collect(),
            next_page_token,
        }))
    }

    type WatchFindingsStream = FindingStream;

    async fn watch_findings(
        &self,
        request: Request<pb::WatchFindingsRequest>,
    ) -> Result<Response<Self::WatchFindingsStream>, Status> {
        let inner = &self.inner;
        inner.authorize_reader(request.metadata())?;
        let filter = selector(request.get_ref().filter.as_ref())?;
        let mut stopping = inner.stopping.clone();
        if *stopping.borrow_and_update() {
            return Err(ApiError::Unavailable("server is shutting down").into());
        }
        let state = Watch {
            feed: inner.feed.subscribe(),
            stopping,
            filter,
            pending: VecDeque::new(),
            done: false,
        };
        let stream = futures_util::stream::unfold(state, Watch::next).boxed();
        Ok(Response::new(stream))
    }
}

/// Feeds the findings that reports stored through other API replicas opened
/// to this replica's WatchFindings streams, until the server stops.
async fn relay_other_replicas(
    store: Arc<dyn Store>,
    mut events: ReplicaEvents,
    feed: broadcast::Sender<Arc<FeedEvent>>,
    mut stopping: watch::Receiver<bool>,
) {
    loop {
        let event = tokio::select! {
            event = events.next() => event,
            _ = stopping.wait_for(|stop| *stop) => None,
        };
        let event = match event {
            None => return,
            // Nobody watching: nothing to read.
            Some(_) if feed.receiver_count() == 0 => continue,
            Some(ReplicaEvent::Missed) => FeedEvent::Missed,
            Some(ReplicaEvent::Opened { scan_seq }) => match store.opened_by(scan_seq).await {
                Ok(findings) if findings.is_empty() => continue,
                Ok(findings) => FeedEvent::Opened(findings),
                Err(error) => {
                    tracing::warn!(%error, scan_seq, "cannot read the findings of another replica's report");
                    FeedEvent::Missed
                }
            },
        };
        // No receiver is not an error: nobody is watching.
        let _ = feed.send(Arc::new(event));
    }
}

/// One WatchFindings stream: the shared feed, filtered, ending with
/// RESOURCE_EXHAUSTED when it falls more than the buffer behind.
struct Watch {
    feed: broadcast::Receiver<Arc<FeedEvent>>,
    stopping: watch::Receiver<bool>,
    filter: FindingSelector,
    pending: VecDeque<common::Finding>,
    done: bool,
}

impl Watch {
    async fn next(mut self) -> Option<(Result<pb::WatchFindingsResponse, Status>, Self)> {
        loop {
            if let Some(finding) = self.pending.pop_front() {
                return Some((Ok(pb::WatchFindingsResponse { finding: Some(finding) }), self));
            }
            if self.done {
                return None;
            }
            let event = tokio::select! {
                received = self.feed.recv() => Some(received),
                _ = self.stopping.wait_for(|stop| *stop) => None,
            };
            match event {
                Some(Ok(event)) => match event.as_ref() {
                    FeedEvent::Opened(batch) => {
                        let filter = &self.filter;
                        self.pending.extend(batch.iter().filter(|f| filter.matches(f)).cloned());
                    }
                    FeedEvent::Missed => {
                        self.done = true;
                        let status = Status::unavailable(
                            "lost track of reports stored through other API replicas; resume with ListFindings \
                             (sort by time) and watch again",
                        );
                        return Some((Err(status), self));
                    }
                },
                Some(Err(broadcast::error::RecvError::Lagged(missed))) => {
                    tracing::info!(missed_reports = missed, "watch stream fell behind, ending it");
                    self.done = true;
                    let status = Status::resource_exhausted(
                        "stream fell behind; resume with ListFindings (sort by time) and watch again",
                    );
                    return Some((Err(status), self));
                }
                Some(Err(broadcast::error::RecvError::Closed)) => return None,
                None => {
                    self.done = true;
                    return Some((Err(Status::unavailable("server is shutting down")), self));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(severity: common::Severity, kev: bool) -> common::Finding {
        common::Finding {
            agent_id: "a".to_string(),
            package: Some(common::Package {
                ecosystem: "npm".to_string(),
                name: "left-pad".to_string(),
                ..Default::default()
            }),
            vulnerability: Some(common::Vulnerability {
                id: "GHSA-1".to_string(),
                aliases: vec!["CVE-2024-1".to_string()],
                severity: severity as i32,
                known_exploited: kev,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn the_live_filter_matches_like_the_sql_one() {
        let high = finding(common::Severity::High, false);
        let all = FindingSelector::default();
        assert!(all.matches(&high));
        let by_alias = FindingSelector {
            vulnerability_id: Some("CVE-2024-1".to_string()),
            ..Default::default()
        };
        assert!(by_alias.matches(&high));
        let critical = FindingSelector {
            min_severity: Some(common::Severity::Critical as i32),
            ..Default::default()
        };
        assert!(!critical.matches(&high));
        let kev = FindingSelector {
            known_exploited_only: true,
            ..Default::default()
        };
        assert!(!kev.matches(&high));
        assert!(kev.matches(&finding(common::Severity::Low, true)));
    }

    #[test]
    fn page_sizes_are_bounded() {
        assert_eq!(page_size(0).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(1000).unwrap(), 1000);
        assert!(page_size(-1).is_err());
        assert!(page_size(1001).is_err());
        assert!(page_size(i32::MAX).is_err());
    }

    #[test]
    fn bearer_tokens_are_read_case_insensitively() {
        let mut metadata = MetadataMap::new();
        assert_eq!(bearer(&metadata), None);
        metadata.insert("authorization", "bearer abc".parse().unwrap());
        assert_eq!(bearer(&metadata), Some("abc"));
        metadata.insert("authorization", "Basic abc".parse().unwrap());
        assert_eq!(bearer(&metadata), None);
    }
}
