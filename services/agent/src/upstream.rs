//! The agent's clients of the enrichment and API services: matching in
//! batches, registration (the token is kept in the data directory, mode
//! 0600), heartbeats and report delivery with retries.
//!
//! The agent never deletes its token. When the API refuses it, the agent
//! re-reads the token file (an operator may have written a reset token),
//! then re-registers presenting the token (the API keeps a valid one), and
//! registers afresh only when the API no longer knows the agent. If the id
//! is taken by a token the agent does not hold, it keeps its token, says how
//! to recover and waits longer each time before asking again.
//!
//! Every outgoing call goes through [`GrpcClientLayer`], so it is a client
//! span whose context reaches the callee as `traceparent`.

use crate::{AgentError, StartError};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request};
use zerotrace_proto::advisories;
use zerotrace_proto::api::v1 as api;
use zerotrace_proto::api::v1::api_service_client::ApiServiceClient;
use zerotrace_proto::common::v1 as common;
use zerotrace_proto::enrichment::v1 as enrichment;
use zerotrace_proto::enrichment::v1::enrichment_service_client::EnrichmentServiceClient;
use zerotrace_server::{Diagnosis, TlsClientArgs};
use zerotrace_telemetry::{GrpcClientLayer, GrpcClientService, SdkTracer};

/// Packages per MatchPackages call (the service's default limit is 10,000).
const MATCH_BATCH: usize = 1_000;
/// Advisories per BatchGetVulnerabilities call for their long text (the
/// service's limit is 10,000 ids).
const TEXT_BATCH: usize = 1_000;
/// Advisories a notice names when their long text could not be fetched; it
/// counts the others.
const NAMED_MISSING: usize = 10;
/// Largest response accepted from enrichment (a batch with many advisories).
const MAX_RESPONSE: usize = 64 * 1024 * 1024;
const TOKEN_FILE: &str = "agent_token";
/// First and longest wait before asking the API again after it refused the agent.
const LOCKOUT_FIRST: Duration = Duration::from_secs(30);
const LOCKOUT_MAX: Duration = Duration::from_secs(15 * 60);

type Traced = GrpcClientService<Channel>;

/// The enrichment and API clients of one agent.
#[derive(Debug)]
pub(crate) struct Upstream {
    agent_id: String,
    data_dir: PathBuf,
    enrichment: Option<EnrichmentServiceClient<Traced>>,
    api: Option<ApiServiceClient<Traced>>,
    token: Mutex<Option<String>>,
    /// Bearer token for registering a new agent, when the API requires one.
    registration_token: Option<String>,
    /// Bearer token of enrichment, when it requires one.
    enrichment_token: Option<String>,
    /// Held while registering, so the heartbeat task and a scan never
    /// register twice; holds when the API may be asked again after refusing
    /// the agent, and the wait after that.
    registering: tokio::sync::Mutex<Lockout>,
    /// What one report may carry, as the API last told (registration,
    /// heartbeats); unknown until it has.
    report_limits: Mutex<Option<api::ReportLimits>>,
}

/// What the agent presents to its upstream services.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UpstreamCredentials<'a> {
    /// Bearer token for registering with the API, when it requires one.
    pub(crate) registration_token: Option<&'a str>,
    /// Bearer token of enrichment, when it requires one.
    pub(crate) enrichment_token: Option<&'a str>,
    /// TLS of `https://` service URLs.
    pub(crate) tls: &'a TlsClientArgs,
}

/// The wait after the API refused the agent's credentials.
#[derive(Debug, Default)]
struct Lockout {
    until: Option<tokio::time::Instant>,
    wait: Duration,
}

fn channel(url: &str, tls: &TlsClientArgs, tracer: &SdkTracer) -> Result<Traced, StartError> {
    let mut endpoint = Endpoint::from_shared(url.to_string())
        .map_err(|e| StartError::Config(format!("invalid service URL {url:?}: {e}")))?
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(120));
    if let Some(config) = tls.client_config(url)? {
        endpoint = endpoint
            .tls_config(config)
            .map_err(|e| StartError::Config(format!("TLS for {url}: {e}")))?;
    }
    Ok(tower::ServiceBuilder::new()
        .layer(GrpcClientLayer::new(tracer.clone()))
        .service(endpoint.connect_lazy()))
}

impl Upstream {
    /// Returns clients for the configured URLs (empty = none). Nothing connects until first use.
    pub(crate) fn new(
        agent_id: &str,
        data_dir: &Path,
        enrichment_url: &str,
        api_url: &str,
        credentials: UpstreamCredentials<'_>,
        tracer: &SdkTracer,
    ) -> Result<Self, StartError> {
        let tls = credentials.tls;
        let enrichment = match enrichment_url.trim() {
            "" => None,
            url => Some(
                EnrichmentServiceClient::new(channel(url, tls, tracer)?)
                    .max_decoding_message_size(MAX_RESPONSE)
                    .max_encoding_message_size(MAX_RESPONSE),
            ),
        };
        let api = match api_url.trim() {
            "" => None,
            url => Some(ApiServiceClient::new(channel(url, tls, tracer)?).max_encoding_message_size(MAX_RESPONSE)),
        };
        Ok(Self {
            agent_id: agent_id.to_string(),
            data_dir: data_dir.to_path_buf(),
            enrichment,
            api,
            token: Mutex::new(read_token(data_dir)),
            registration_token: credentials.registration_token.map(str::to_string),
            enrichment_token: credentials.enrichment_token.map(str::to_string),
            registering: tokio::sync::Mutex::new(Lockout::default()),
            report_limits: Mutex::new(None),
        })
    }

    /// Keeps the report limits an API response told, if it told them.
    fn note_report_limits(&self, told: Option<api::ReportLimits>) {
        if let (Some(told), Ok(mut limits)) = (told, self.report_limits.lock()) {
            *limits = Some(told);
        }
    }

    fn held_token(&self) -> Option<String> {
        self.token.lock().ok().and_then(|t| t.clone())
    }

    /// Returns whether an API is configured.
    pub(crate) fn has_api(&self) -> bool {
        self.api.is_some()
    }

    /// Returns whether the agent holds an API token.
    pub(crate) fn is_registered(&self) -> bool {
        self.token.lock().map(|t| t.is_some()).unwrap_or(false)
    }

    /// Matches packages in batches; results come back in request order,
    /// with the advisory data they were matched against (the notices of
    /// every batch, once each).
    pub(crate) async fn match_packages(
        &self,
        packages: Vec<common::Package>,
    ) -> Result<(Vec<enrichment::PackageMatch>, common::AdvisoryData), AgentError> {
        let Some(client) = &self.enrichment else {
            return Err(AgentError::NotConfigured(
                "no enrichment service configured (--enrichment-url): packages cannot be matched",
            ));
        };
        let mut matches = Vec::with_capacity(packages.len());
        let mut data: Option<common::AdvisoryData> = None;
        // An empty tree still asks once: the answer says whether there is data at all.
        let batches: Vec<&[common::Package]> = if packages.is_empty() {
            vec![&[]]
        } else {
            packages.chunks(MATCH_BATCH).collect()
        };
        for batch in batches {
            // Each advisory once, without its long text, which is fetched
            // below once per advisory instead of once per batch.
            let request = self.enrichment_request(enrichment::MatchPackagesRequest {
                packages: batch.to_vec(),
                advisories_by_reference: true,
                advisory_view: enrichment::AdvisoryView::Basic as i32,
            })?;
            let response = client
                .clone()
                .match_packages(request)
                .await
                .map_err(AgentError::Upstream)?
                .into_inner();
            let batch_data = response.advisory_data.clone().unwrap_or_default();
            matches.extend(resolve_references(response)?);
            match &mut data {
                None => data = Some(batch_data),
                Some(data) => {
                    for notice in batch_data.notices {
                        if !data.notices.contains(&notice) {
                            data.notices.push(notice);
                        }
                    }
                }
            }
        }
        let mut data = data.unwrap_or_default();
        self.fetch_long_text(client, &mut matches, &mut data).await?;
        Ok((matches, data))
    }

    /// Gives the matched advisories (matched in the basic view) their long
    /// text, asking enrichment once per distinct advisory. An advisory whose
    /// text cannot be had (an import removed it meanwhile) keeps its basic
    /// form, and the advisory data of the scan says so.
    async fn fetch_long_text(
        &self,
        client: &EnrichmentServiceClient<Traced>,
        matches: &mut [enrichment::PackageMatch],
        data: &mut common::AdvisoryData,
    ) -> Result<(), AgentError> {
        let ids: BTreeSet<String> = matches
            .iter_mut()
            .flat_map(advisories_of)
            .map(|v| v.id.clone())
            .collect();
        let ids: Vec<String> = ids.into_iter().collect();
        let mut full = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(TEXT_BATCH) {
            let request =
                self.enrichment_request(enrichment::BatchGetVulnerabilitiesRequest { ids: chunk.to_vec() })?;
            let response = client
                .clone()
                .batch_get_vulnerabilities(request)
                .await
                .map_err(AgentError::Upstream)?
                .into_inner();
            full.extend(response.vulnerabilities.into_iter().map(|v| (v.id.clone(), v)));
        }
        let mut missing = BTreeSet::new();
        for vulnerability in matches.iter_mut().flat_map(advisories_of) {
            match full.get(&vulnerability.id) {
                Some(found) => advisories::restore_long_text(vulnerability, found),
                None => {
                    missing.insert(vulnerability.id.clone());
                }
            }
        }
        if !missing.is_empty() {
            data.notices.push(missing_text_notice(&missing));
        }
        Ok(())
    }

    /// A request to enrichment, with its token when it requires one.
    fn enrichment_request<T>(&self, message: T) -> Result<Request<T>, AgentError> {
        match &self.enrichment_token {
            Some(token) => bearer(message, token),
            None => Ok(Request::new(message)),
        }
    }

    /// Registers with the API unless a token is held already.
    pub(crate) async fn ensure_registered(&self) -> Result<(), AgentError> {
        if self.api.is_none() || self.is_registered() {
            return Ok(());
        }
        let mut lockout = self.registering.lock().await;
        if self.is_registered() {
            return Ok(());
        }
        self.register(&mut lockout, None).await
    }

    /// Recovers after the API refused the token `refused` (UNAUTHENTICATED):
    /// see the module documentation. Returns once the agent holds a token
    /// the API accepts, or with the reason it cannot yet.
    async fn renew(&self, refused: &str) -> Result<(), AgentError> {
        let mut lockout = self.registering.lock().await;
        // Someone renewed meanwhile, or an operator wrote a new token.
        if let Some(on_disk) = read_token(&self.data_dir)
            && on_disk != refused
        {
            if let Ok(mut held) = self.token.lock() {
                *held = Some(on_disk);
            }
            tracing::info!(agent_id = %self.agent_id, "using the agent token found in the data directory");
            return Ok(());
        }
        self.register(&mut lockout, Some(refused)).await
    }

    /// One registration: presenting `own` (the agent's current token) if
    /// any, which the API keeps when valid; else, or when the API no longer
    /// knows the agent, as a new agent with the registration token.
    async fn register(&self, lockout: &mut Lockout, own: Option<&str>) -> Result<(), AgentError> {
        let Some(client) = &self.api else { return Ok(()) };
        if let Some(until) = lockout.until
            && tokio::time::Instant::now() < until
        {
            return Err(AgentError::NotConfigured(
                "the api refused this agent's token; waiting before asking again",
            ));
        }
        let request = || api::RegisterAgentRequest {
            hostname: crate::identity::hostname(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            agent_id: self.agent_id.clone(),
        };
        let mut outcome = Err(tonic::Status::unauthenticated("no token presented"));
        if let Some(own) = own {
            outcome = client.clone().register_agent(bearer(request(), own)?).await;
        }
        if outcome.is_err() {
            let fresh = match &self.registration_token {
                Some(token) => bearer(request(), token)?,
                None => Request::new(request()),
            };
            outcome = client.clone().register_agent(fresh).await;
        }
        match outcome {
            Ok(response) => {
                let response = response.into_inner();
                if response.agent_id != self.agent_id {
                    tracing::warn!(ours = %self.agent_id, theirs = %response.agent_id, "api assigned another agent id");
                }
                *lockout = Lockout::default();
                self.store_token(&response.token)?;
                self.note_report_limits(response.report_limits);
                tracing::info!(agent_id = %self.agent_id, "registered with the api");
                Ok(())
            }
            Err(status) if matches!(status.code(), Code::PermissionDenied | Code::Unauthenticated) => {
                lockout.wait = (lockout.wait * 2).clamp(LOCKOUT_FIRST, LOCKOUT_MAX);
                lockout.until = Some(tokio::time::Instant::now() + lockout.wait);
                tracing::error!(
                    agent_id = %self.agent_id,
                    code = ?status.code(),
                    message = status.message(),
                    retry_in = ?lockout.wait,
                    "the api refuses this agent's credentials; its token is kept. If the agent's token was \
                     reset, write the new one to {}; if the api requires a registration token, pass \
                     --registration-token",
                    self.data_dir.join(TOKEN_FILE).display()
                );
                Err(AgentError::Upstream(status))
            }
            Err(status) => Err(AgentError::Upstream(status)),
        }
    }

    fn store_token(&self, token: &str) -> Result<(), AgentError> {
        let path = self.data_dir.join(TOKEN_FILE);
        zerotrace_files::write_private(&path, token.as_bytes()).map_err(|source| AgentError::DataDir {
            path: path.clone(),
            source,
        })?;
        if let Ok(mut held) = self.token.lock() {
            *held = Some(token.to_string());
        }
        Ok(())
    }

    /// Returns `message` carrying the agent's token, and that token.
    fn authorized<T>(&self, message: T) -> Result<(Request<T>, String), AgentError> {
        let token = self.held_token().ok_or(AgentError::NotConfigured("not registered"))?;
        Ok((bearer(message, &token)?, token))
    }

    /// Sends a heartbeat; a refused token is renewed (never dropped) for the next one.
    pub(crate) async fn heartbeat(&self) -> Result<(), AgentError> {
        let Some(client) = &self.api else { return Ok(()) };
        self.ensure_registered().await?;
        let (request, token) = self.authorized(api::HeartbeatRequest {
            agent_id: self.agent_id.clone(),
        })?;
        match client.clone().heartbeat(request).await {
            Ok(response) => {
                self.note_report_limits(response.into_inner().report_limits);
                Ok(())
            }
            Err(status) if status.code() == Code::Unauthenticated => {
                tracing::warn!("api refused the agent token, renewing it");
                self.renew(&token).await?;
                Err(AgentError::Upstream(status))
            }
            Err(status) => Err(AgentError::Upstream(status)),
        }
    }

    /// Delivers a report, retrying transient failures (the API is idempotent
    /// by scan id). A report over the limits the API told is not sent.
    pub(crate) async fn submit(&self, report: api::ScanReport) -> Result<api::SubmitScanReportResponse, AgentError> {
        let Some(client) = &self.api else {
            return Err(AgentError::NotConfigured(
                "no api configured (--api-url): the report was not delivered",
            ));
        };
        self.ensure_registered().await?;
        let submission = api::SubmitScanReportRequest {
            agent_id: self.agent_id.clone(),
            report: Some(report),
        };
        let limits = self.report_limits.lock().ok().and_then(|l| *l);
        if let Some(limits) = limits {
            zerotrace_proto::reports::check(&submission, &limits).map_err(AgentError::ReportOverLimit)?;
        }
        let mut delay = Duration::from_millis(250);
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.ensure_registered().await?;
            let (request, token) = self.authorized(submission.clone())?;
            match client.clone().submit_scan_report(request).await {
                Ok(response) => return Ok(response.into_inner()),
                Err(status) if status.code() == Code::Unauthenticated && attempt < 4 => self.renew(&token).await?,
                // Retried only when the API says a retry can succeed (RetryInfo),
                // or the call never reached it: a report over a limit never fits.
                Err(status) if attempt < 4 && Diagnosis::of(&status).retry_after.is_some() => {
                    let wait = Diagnosis::of(&status).retry_after.unwrap_or_default().max(delay);
                    tracing::warn!(attempt, code = ?status.code(), ?wait, "report delivery failed, retrying");
                    tokio::time::sleep(wait).await;
                    delay *= 2;
                }
                Err(status) => return Err(AgentError::Upstream(status)),
            }
        }
    }
}

/// Reads the agent's token from its data directory, if there is one.
fn read_token(data_dir: &Path) -> Option<String> {
    let token = std::fs::read_to_string(data_dir.join(TOKEN_FILE)).ok()?;
    Some(token.trim().to_string()).filter(|t| !t.is_empty())
}

/// Returns `message` with `authorization: Bearer <token>`.
/// The notice of a scan whose matched advisories `missing` kept their basic
/// form: it names the first few and counts the others.
fn missing_text_notice(missing: &BTreeSet<String>) -> String {
    let named: Vec<&str> = missing.iter().take(NAMED_MISSING).map(String::as_str).collect();
    let more = match missing.len() - named.len() {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    format!(
        "the details and references of {} matched advisories could not be fetched (the advisory database changed \
         during the scan): {}{more}",
        missing.len(),
        named.join(", ")
    )
}

/// The advisories a match embeds: its vulnerabilities and warnings.
fn advisories_of(m: &mut enrichment::PackageMatch) -> impl Iterator<Item = &mut common::Vulnerability> {
    m.vulnerabilities.iter_mut().chain(m.warnings.iter_mut())
}

fn bearer<T>(message: T, token: &str) -> Result<Request<T>, AgentError> {
    let mut request = Request::new(message);
    let value = format!("Bearer {token}")
        .parse()
        .map_err(|_| AgentError::Internal("an api token is not a valid header value".to_string()))?;
    request.metadata_mut().insert("authorization", value);
    Ok(request)
}

/// Puts each match's advisories back in place from a response that carries
/// them once each (`advisories_by_reference`). A reference to no advisory is
/// an error: dropping it would report a vulnerable package as clean.
fn resolve_references(
    response: enrichment::MatchPackagesResponse,
) -> Result<Vec<enrichment::PackageMatch>, AgentError> {
    let advisories = response.advisories;
    let resolve = |refs: &[u32]| -> Result<Vec<common::Vulnerability>, AgentError> {
        refs.iter()
            .map(|&i| {
                advisories.get(i as usize).cloned().ok_or_else(|| {
                    AgentError::Upstream(tonic::Status::internal(format!(
                        "enrichment referred to advisory {i} of {}",
                        advisories.len()
                    )))
                })
            })
            .collect()
    };
    response
        .matches
        .into_iter()
        .map(|mut m| {
            let vulnerabilities = resolve(&m.vulnerability_refs)?;
            let warnings = resolve(&m.warning_refs)?;
            m.vulnerabilities.extend(vulnerabilities);
            m.warnings.extend(warnings);
            m.vulnerability_refs.clear();
            m.warning_refs.clear();
            Ok(m)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_of_advisories_without_their_text_names_a_few_and_counts_the_rest() {
        let one: BTreeSet<String> = ["RUSTSEC-2099-0001".to_string()].into();
        assert!(
            missing_text_notice(&one).ends_with("during the scan): RUSTSEC-2099-0001"),
            "{}",
            missing_text_notice(&one)
        );
        let many: BTreeSet<String> = (0..5000).map(|i| format!("GHSA-{i:04}")).collect();
        let notice = missing_text_notice(&many);
        assert!(
            notice.starts_with("the details and references of 5000 matched advisories"),
            "{notice}"
        );
        assert!(notice.ends_with(" and 4990 more"), "{notice}");
        assert_eq!(notice.matches("GHSA-").count(), NAMED_MISSING);
    }
}
