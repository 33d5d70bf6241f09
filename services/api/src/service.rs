//! The `ApiService` gRPC handlers. Each call authenticates first
//! (UNAUTHENTICATED, [`crate::auth`]), then validates its request
//! (INVALID_ARGUMENT, [`crate::validate`]), then checks that an agent acts
//! only as itself (PERMISSION_DENIED), and hands the work to the store;
//! paging ([`crate::paging`]), report preparation ([`crate::report`]) and the
//! live feed ([`crate::feed`]) each have a room of their own.

use crate::auth::{Credentials, bearer, generate_token, hash_token};
use crate::exposure::Exposure;
use crate::feed::{
    FeedEvent, FindingStream, ResumePoint, StreamStopper, WatchStart, relay_other_replicas, watch_stream,
};
use crate::names::{check_decision_id, decision_name, parse_decision_name, parse_finding_name};
use crate::paging::{AgentsPosition, DecisionsPosition, FindingsPosition, PageTokens};
use crate::report::prepare_report;
use crate::store::{DecisionWrite, FindingOrder, FindingQuery, NewAgent, ScanQuery, Store, SubmitOutcome};
use crate::time::{micros, now_micros, timestamp};
use crate::validate::{MAX_PAGE_BYTES, check_id, check_text, decision, enum_value, optional_id, page_size, selector};
use crate::{ApiError, StartError};
use prost::Message as _;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch};
use tonic::{Request, Response, Status};
use zerotrace_proto::api::v1 as pb;
use zerotrace_proto::common::v1 as common;

/// Packages GetSummary lists.
const TOP_PACKAGES: u32 = 10;

/// What the service needs beyond its store.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// Bearer token of read calls.
    pub reader_token: String,
    /// Bearer token RegisterAgent requires for a new agent, if any.
    pub registration_token: Option<String>,
    /// Bearer token of admin calls, if any.
    pub admin_token: Option<String>,
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
    /// Request bytes all calls in flight may hold together.
    pub max_inflight_bytes: usize,
    /// RegisterAgent calls per second per peer address (0 = off).
    pub registrations_per_peer: u32,
    /// Age past which old scans and resolved findings are deleted (zero: kept forever).
    pub retention: Duration,
}

impl ApiSettings {
    /// What one report may carry, as RegisterAgent and Heartbeat tell agents.
    fn report_limits(&self) -> pb::ReportLimits {
        pb::ReportLimits {
            max_message_bytes: self.max_message_size as u64,
            max_findings: self.max_findings_per_report as u64,
        }
    }

    /// Returns the settings of `config` with the resolved reader token.
    pub fn from_config(config: &crate::ApiConfig, reader_token: String) -> Self {
        Self {
            reader_token,
            registration_token: Some(config.registration_token.clone()).filter(|t| !t.is_empty()),
            admin_token: Some(config.admin_token.clone()).filter(|t| !t.is_empty()),
            rate_limit_per_agent: config.rate_limit_per_agent,
            max_findings_per_report: config.max_findings_per_report,
            max_message_size: config.max_message_size,
            max_concurrent_requests: config.max_concurrent_requests,
            request_timeout: config.request_timeout,
            online_window: config.online_window,
            offline_after: config.offline_after,
            watch_buffer: config.watch_buffer,
            max_inflight_bytes: config.max_inflight_bytes,
            registrations_per_peer: config.registrations_per_peer,
            retention: config.retention,
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
    credentials: Arc<Credentials>,
    settings: ApiSettings,
    pages: PageTokens,
    feed: broadcast::Sender<Arc<FeedEvent>>,
    stopping: watch::Receiver<bool>,
    exposure: Exposure,
}

impl Api {
    /// Builds the service on `store`; the [`StreamStopper`] ends WatchFindings streams at shutdown.
    pub async fn new(store: Arc<dyn Store>, settings: ApiSettings) -> Result<(Self, StreamStopper), StartError> {
        if settings.reader_token.is_empty() {
            return Err(StartError::Secret("the reader token is empty".to_string()));
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
        if !settings.retention.is_zero() {
            tokio::spawn(crate::retention::run(
                Arc::clone(&store),
                settings.retention,
                stopping.clone(),
            ));
        }
        let inner = Inner {
            credentials: Arc::new(Credentials::new(
                &settings.reader_token,
                settings.registration_token.as_deref(),
                settings.admin_token.as_deref(),
                settings.rate_limit_per_agent,
            )),
            exposure: Exposure::start(
                Arc::clone(&store),
                settings.online_window,
                settings.offline_after,
                stopping.clone(),
            ),
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

    /// Returns the fleet's exposure, which the API's gauges show.
    pub fn exposure(&self) -> &Exposure {
        &self.inner.exposure
    }

    /// Returns the layer that admits calls from their headers, sharing the
    /// service's credentials and store.
    pub(crate) fn admission(&self) -> crate::admission::AdmissionLayer {
        let settings = &self.inner.settings;
        crate::admission::AdmissionLayer::new(
            Arc::clone(&self.inner.credentials),
            Arc::clone(&self.inner.store),
            crate::admission::Limits {
                max_concurrent: settings.max_concurrent_requests,
                timeout: settings.request_timeout,
                max_message_size: settings.max_message_size,
                byte_budget: settings.max_inflight_bytes,
                registrations_per_peer: settings.registrations_per_peer,
            },
        )
    }
}

impl Inner {
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
        let token = generate_token()?;
        let mut agent = NewAgent {
            agent_id: req.agent_id.clone(),
            hostname: req.hostname.clone(),
            version: req.version.clone(),
            token_hash: hash_token(&token),
            now: now_micros(),
        };
        // An agent re-registering shows its current token and keeps it: a
        // retried or repeated registration never locks the agent out.
        if !agent.agent_id.is_empty()
            && let (Some(presented), Some(old)) = (bearer(request.metadata()), &bearer_hash)
        {
            let same = NewAgent {
                token_hash: old.clone(),
                ..agent.clone()
            };
            if inner.store.rotate_agent(&same, old).await.map_err(ApiError::from)? {
                tracing::info!(agent_id = %agent.agent_id, "agent re-registered");
                return Ok(Response::new(pb::RegisterAgentResponse {
                    agent_id: agent.agent_id,
                    token: presented.to_string(),
                    report_limits: Some(inner.settings.report_limits()),
                }));
            }
        }
        if inner.credentials.registration_refused(bearer_hash.as_deref()) {
            if !agent.agent_id.is_empty()
                && inner
                    .store
                    .agent_exists(&agent.agent_id)
                    .await
                    .map_err(ApiError::from)?
            {
                return Err(ApiError::denied(
                    "AGENT_ID_TAKEN",
                    "agent_id is registered; re-register with that agent's current token",
                )
                .into());
            }
            return Err(ApiError::TokenInvalid("registration token").into());
        }
        if agent.agent_id.is_empty() {
            agent.agent_id = uuid::Uuid::new_v4().to_string();
        }
        if !inner.store.create_agent(&agent).await.map_err(ApiError::from)? {
            return Err(ApiError::denied(
                "AGENT_ID_TAKEN",
                "agent_id is registered; re-register with that agent's current token",
            )
            .into());
        }
        tracing::info!(agent_id = %agent.agent_id, hostname = %agent.hostname, "agent registered");
        inner.exposure.changed();
        Ok(Response::new(pb::RegisterAgentResponse {
            agent_id: agent.agent_id,
            token,
            report_limits: Some(inner.settings.report_limits()),
        }))
    }

    async fn reset_agent_token(
        &self,
        request: Request<pb::ResetAgentTokenRequest>,
    ) -> Result<Response<pb::ResetAgentTokenResponse>, Status> {
        let inner = &self.inner;
        inner.credentials.admin(request.metadata())?;
        let agent_id = request.get_ref().agent_id.clone();
        check_id("agent_id", &agent_id)?;
        let token = generate_token()?;
        if !inner
            .store
            .reset_agent_token(&agent_id, &hash_token(&token))
            .await
            .map_err(ApiError::from)?
        {
            return Err(ApiError::NotFound("agent is not registered".to_string()).into());
        }
        tracing::warn!(agent_id = %agent_id, "agent token reset by an admin");
        Ok(Response::new(pb::ResetAgentTokenResponse { agent_id, token }))
    }

    async fn heartbeat(
        &self,
        request: Request<pb::HeartbeatRequest>,
    ) -> Result<Response<pb::HeartbeatResponse>, Status> {
        let inner = &self.inner;
        let caller = inner
            .credentials
            .agent_as(inner.store.as_ref(), &request, &request.get_ref().agent_id)
            .await?;
        let now = now_micros();
        if !inner.store.heartbeat(&caller, now).await.map_err(ApiError::from)? {
            return Err(ApiError::NotFound("agent is not registered".to_string()).into());
        }
        Ok(Response::new(pb::HeartbeatResponse {
            received_at: Some(timestamp(now)),
            report_limits: Some(inner.settings.report_limits()),
        }))
    }

    async fn submit_scan_report(
        &self,
        request: Request<pb::SubmitScanReportRequest>,
    ) -> Result<Response<pb::SubmitScanReportResponse>, Status> {
        let inner = &self.inner;
        let caller = inner
            .credentials
            .agent_as(inner.store.as_ref(), &request, &request.get_ref().agent_id)
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
                inner.exposure.stored(resolved_findings);
                tracing::debug!(
                    agent_id = %caller,
                    scan_id = %prepared.scan_id,
                    findings = prepared.findings.len(),
                    new_findings,
                    resolved_findings,
                    "scan report stored"
                );
                if let Some(event) = published {
                    // No receiver is not an error: nobody is watching.
                    let _ = inner.feed.send(Arc::new(FeedEvent::Changed(event)));
                }
                (true, new_findings, resolved_findings)
            }
            SubmitOutcome::Duplicate {
                new_findings,
                resolved_findings,
            } => (false, new_findings, resolved_findings),
            SubmitOutcome::Conflict => {
                return Err(ApiError::AlreadyExists {
                    reason: "SCAN_ID_CONFLICT",
                    message: format!(
                        "scan_id {:?} of this agent is stored with different content; a new report needs a new scan_id",
                        prepared.scan_id
                    ),
                }
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
        inner.credentials.reader(request.metadata())?;
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
        let listing = pb::ListScansRequest {
            page_size: 0,
            page_token: String::new(),
            ..req.clone()
        };
        let after = inner.pages.after(&req.page_token, &listing)?;
        let query = ScanQuery {
            agent_id: optional_id("agent_id", &req.agent_id)?,
            start,
            end,
            status: (status != common::ScanStatus::Unspecified).then_some(status as i32),
            after,
            limit: limit + 1,
        };
        let stored = inner.store.list_scans(&query).await.map_err(ApiError::from)?;
        let mut more = stored.len() > limit as usize;
        let mut scans = Vec::with_capacity(stored.len());
        let mut last_cursor = None;
        let mut bytes = 0usize;
        for listed in stored.into_iter().take(limit as usize) {
            // The lists stay with GetScan; a page of scans carries their counts.
            let mut scan = listed.scan;
            if let Some(report) = scan.report.as_mut() {
                report.warnings.clear();
                report.unmatched.clear();
            }
            bytes = bytes.saturating_add(scan.encoded_len() + 6);
            if bytes > MAX_PAGE_BYTES && !scans.is_empty() {
                // The page is full by size: the next one starts at this scan.
                more = true;
                break;
            }
            scans.push(scan);
            last_cursor = Some(listed.cursor);
        }
        let next_page_token = match last_cursor {
            Some(cursor) if more => inner.pages.next(&listing, &cursor),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListScansResponse { scans, next_page_token }))
    }

    async fn get_scan(&self, request: Request<pb::GetScanRequest>) -> Result<Response<pb::GetScanResponse>, Status> {
        let inner = &self.inner;
        inner.credentials.reader(request.metadata())?;
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
        inner.credentials.reader(request.metadata())?;
        let req = request.get_ref();
        let limit = page_size(req.page_size)?;
        let filter = selector(req.filter.as_ref())?;
        let sort: pb::FindingSort = enum_value("sort", req.sort)?;
        let order = match sort {
            pb::FindingSort::Unspecified | pb::FindingSort::Risk => FindingOrder::Risk,
            pb::FindingSort::Severity => FindingOrder::Severity,
            pb::FindingSort::Time => FindingOrder::Time,
        };
        let listing = pb::ListFindingsRequest {
            filter: req.filter.clone(),
            sort: order as i32,
            page_size: 0,
            page_token: String::new(),
        };
        // Later pages carry the first page's total: counting every page would
        // cost a scan of all matches per page.
        let position: Option<FindingsPosition> = inner.pages.after(&req.page_token, &listing)?;
        let total = position.as_ref().map(|p| p.total);
        let after = position.map(|p| p.cursor);
        let query = FindingQuery {
            filter,
            order,
            after,
            limit,
            max_bytes: MAX_PAGE_BYTES,
            count_total: total.is_none(),
        };
        let page = inner.store.list_findings(&query).await.map_err(ApiError::from)?;
        let total_size = total.or(page.total).unwrap_or(0);
        let next_page_token = page
            .next
            .map(|cursor| {
                let position = FindingsPosition {
                    cursor,
                    total: total_size,
                };
                inner.pages.next(&listing, &position)
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
        inner.credentials.reader(request.metadata())?;
        let req = request.get_ref();
        let agent_id = optional_id("agent_id", &req.agent_id)?;
        let now = now_micros();
        let (online_since, offline_before) = inner.status_thresholds(now);
        let summary = inner
            .store
            .summary(
                agent_id.as_deref(),
                online_since,
                offline_before,
                TOP_PACKAGES,
                req.include_decided,
            )
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
        inner.credentials.reader(request.metadata())?;
        let req = request.get_ref();
        let limit = page_size(req.page_size)?;
        let listing = pb::ListAgentsRequest::default();
        let after: Option<AgentsPosition> = inner.pages.after(&req.page_token, &listing)?;
        let mut agents = inner
            .store
            .list_agents(after.as_ref().map(|a| a.0.as_str()), limit + 1)
            .await
            .map_err(ApiError::from)?;
        let mut next_page_token = String::new();
        if agents.len() > limit as usize {
            agents.truncate(limit as usize);
            if let Some(last) = agents.last() {
                next_page_token = inner.pages.next(&listing, &AgentsPosition(last.agent_id.clone()));
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
                    open_findings: a.open_findings,
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
        inner.credentials.reader(request.metadata())?;
        let req = request.get_ref();
        let filter = selector(req.filter.as_ref())?;
        let resume = if req.resume_token.is_empty() {
            None
        } else {
            Some(ResumePoint::parse(&req.resume_token)?)
        };
        let mut stopping = inner.stopping.clone();
        if *stopping.borrow_and_update() {
            return Err(ApiError::Unavailable {
                reason: "SHUTTING_DOWN",
                message: "server is shutting down",
            }
            .into());
        }
        let start = WatchStart {
            filter,
            include_resolutions: req.include_resolutions,
            resume,
        };
        let stream = watch_stream(Arc::clone(&inner.store), &inner.feed, stopping, start).await?;
        Ok(Response::new(stream))
    }

    async fn get_finding(
        &self,
        request: Request<pb::GetFindingRequest>,
    ) -> Result<Response<pb::GetFindingResponse>, Status> {
        let inner = &self.inner;
        inner.credentials.reader(request.metadata())?;
        let name = &request.get_ref().name;
        let (agent_id, key) = parse_finding_name(name)?;
        let finding = inner
            .store
            .get_finding(&agent_id, &key)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::NotFound(format!("no finding {name}")))?;
        Ok(Response::new(pb::GetFindingResponse { finding: Some(finding) }))
    }

    async fn create_decision(
        &self,
        request: Request<pb::CreateDecisionRequest>,
    ) -> Result<Response<pb::CreateDecisionResponse>, Status> {
        let inner = &self.inner;
        inner.credentials.admin(request.metadata())?;
        let req = request.get_ref();
        let mut decision = decision(req.decision.as_ref())?;
        let id = if req.decision_id.is_empty() {
            new_decision_id()?
        } else {
            check_decision_id("decision_id", &req.decision_id)?;
            req.decision_id.clone()
        };
        let now = Some(timestamp(now_micros()));
        decision.name = decision_name(&id);
        decision.create_time = now;
        decision.update_time = now;
        decision.etag = new_etag()?;
        if !inner
            .store
            .create_decision(&id, &decision)
            .await
            .map_err(ApiError::from)?
        {
            return Err(ApiError::AlreadyExists {
                reason: "DECISION_EXISTS",
                message: format!("{} exists; UpdateDecision changes it", decision.name),
            }
            .into());
        }
        tracing::info!(decision = %decision.name, author = %decision.author, "decision recorded");
        Ok(Response::new(pb::CreateDecisionResponse {
            decision: Some(decision),
        }))
    }

    async fn get_decision(
        &self,
        request: Request<pb::GetDecisionRequest>,
    ) -> Result<Response<pb::GetDecisionResponse>, Status> {
        let inner = &self.inner;
        inner.credentials.reader(request.metadata())?;
        let name = &request.get_ref().name;
        let decision = inner.stored_decision(name).await?;
        Ok(Response::new(pb::GetDecisionResponse {
            decision: Some(decision),
        }))
    }

    async fn list_decisions(
        &self,
        request: Request<pb::ListDecisionsRequest>,
    ) -> Result<Response<pb::ListDecisionsResponse>, Status> {
        let inner = &self.inner;
        inner.credentials.reader(request.metadata())?;
        let req = request.get_ref();
        let limit = page_size(req.page_size)?;
        let listing = pb::ListDecisionsRequest::default();
        let after: Option<DecisionsPosition> = inner.pages.after(&req.page_token, &listing)?;
        let mut decisions = inner
            .store
            .list_decisions(after.as_ref().map_or("", |a| a.0.as_str()), limit + 1)
            .await
            .map_err(ApiError::from)?;
        let mut next_page_token = String::new();
        if decisions.len() > limit as usize {
            decisions.truncate(limit as usize);
            if let Some(id) = decisions.last().and_then(|d| d.name.strip_prefix("decisions/")) {
                next_page_token = inner.pages.next(&listing, &DecisionsPosition(id.to_string()));
            }
        }
        Ok(Response::new(pb::ListDecisionsResponse {
            decisions,
            next_page_token,
        }))
    }

    async fn update_decision(
        &self,
        request: Request<pb::UpdateDecisionRequest>,
    ) -> Result<Response<pb::UpdateDecisionResponse>, Status> {
        let inner = &self.inner;
        inner.credentials.admin(request.metadata())?;
        let sent = request
            .get_ref()
            .decision
            .as_ref()
            .ok_or_else(|| ApiError::invalid("decision is required"))?;
        let id = parse_decision_name(&sent.name)?;
        if sent.etag.is_empty() {
            return Err(ApiError::invalid("decision.etag is required: the etag the decision was read with").into());
        }
        let mut decision = decision(Some(sent))?;
        let stored = inner.stored_decision(&sent.name).await?;
        decision.name = stored.name;
        decision.create_time = stored.create_time;
        decision.update_time = Some(timestamp(now_micros()));
        decision.etag = new_etag()?;
        let written = inner
            .store
            .update_decision(&id, &decision, &sent.etag)
            .await
            .map_err(ApiError::from)?;
        decision_written(written, &decision.name)?;
        tracing::info!(decision = %decision.name, author = %decision.author, "decision updated");
        Ok(Response::new(pb::UpdateDecisionResponse {
            decision: Some(decision),
        }))
    }

    async fn delete_decision(
        &self,
        request: Request<pb::DeleteDecisionRequest>,
    ) -> Result<Response<pb::DeleteDecisionResponse>, Status> {
        let inner = &self.inner;
        inner.credentials.admin(request.metadata())?;
        let req = request.get_ref();
        let id = parse_decision_name(&req.name)?;
        check_text("etag", &req.etag)?;
        let written = inner
            .store
            .delete_decision(&id, &req.etag)
            .await
            .map_err(ApiError::from)?;
        decision_written(written, &req.name)?;
        tracing::info!(decision = %req.name, "decision deleted");
        Ok(Response::new(pb::DeleteDecisionResponse {}))
    }
}

impl Inner {
    /// Returns the decision of `name`, or NOT_FOUND.
    async fn stored_decision(&self, name: &str) -> Result<pb::Decision, ApiError> {
        let id = parse_decision_name(name)?;
        self.store
            .get_decision(&id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("no decision {name}")))
    }
}

/// A new decision id: `d` and 16 random hex digits.
fn new_decision_id() -> Result<String, ApiError> {
    let bytes = crate::digest::random_bytes::<8>().map_err(|e| ApiError::Internal(format!("no randomness: {e}")))?;
    Ok(format!("d{}", crate::digest::hex(&bytes)))
}

/// A new etag: 8 random bytes in hex, so no two writes share one.
fn new_etag() -> Result<String, ApiError> {
    let bytes = crate::digest::random_bytes::<8>().map_err(|e| ApiError::Internal(format!("no randomness: {e}")))?;
    Ok(crate::digest::hex(&bytes))
}

/// The error of a decision write that did not happen.
fn decision_written(written: DecisionWrite, name: &str) -> Result<(), ApiError> {
    match written {
        DecisionWrite::Done => Ok(()),
        DecisionWrite::NotFound => Err(ApiError::NotFound(format!("no decision {name}"))),
        DecisionWrite::Stale => Err(ApiError::Aborted(format!(
            "{name} changed since it was read (another etag): read it again and retry"
        ))),
    }
}
