//! The end check of a run: every acknowledged report is stored, no finding
//! is stored twice, and the findings stored are exactly those the agents
//! reported (and those open, exactly those no later full scan dropped).

use super::model::{Catalog, Ledger, identity, identity_of};
use super::{Ack, authed};
use std::collections::{BTreeSet, HashSet};
use tonic::Code;
use tonic::transport::Channel;
use zerotrace_proto::api::v1 as pb;
use zerotrace_proto::api::v1::api_service_client::ApiServiceClient;

/// GetScan calls in flight during the check.
const CONCURRENCY: usize = 16;

/// What the end check found.
#[derive(Debug, Clone, Default)]
pub struct Verdict {
    /// Acknowledged reports found through GetScan.
    pub scans_found: u64,
    /// Findings ListFindings returned (resolved ones included).
    pub findings_listed: u64,
    /// Distinct findings the acknowledged reports carried.
    pub findings_expected: u64,
    /// Open findings ListFindings counts.
    pub open_listed: u64,
    /// Findings no later full scan resolved.
    pub open_expected: u64,
    /// Findings the watcher received, and those the reports opened.
    pub watched: Option<(u64, u64)>,
    /// The first violation, as one line; none when the check passed.
    pub violation: Option<String>,
}

/// Reads everything back from the replica behind `client` and compares it with the ledgers.
pub(crate) async fn check(
    client: ApiServiceClient<Channel>,
    reader_token: &str,
    catalog: &Catalog,
    ledgers: &[(&str, &Ledger)],
    acks: &[Ack],
    watched: Option<(u64, u64)>,
) -> Verdict {
    let mut verdict = Verdict {
        watched,
        ..Default::default()
    };
    let result = async {
        verdict.scans_found = scans(&client, reader_token, acks).await?;
        let expected: BTreeSet<String> = ledgers
            .iter()
            .filter(|(agent_id, _)| !agent_id.is_empty())
            .flat_map(|(agent_id, ledger)| ledger.ever.iter().map(|f| identity_of(catalog, agent_id, *f)))
            .collect();
        verdict.findings_expected = expected.len() as u64;
        let stored = findings(&client, reader_token).await?;
        verdict.findings_listed = stored.len() as u64;
        let missing: Vec<_> = expected.difference(&stored).collect();
        let extra: Vec<_> = stored.difference(&expected).collect();
        if let Some(first) = missing.first() {
            return Err(format!(
                "{} reported findings are not stored, e.g. {first}",
                missing.len()
            ));
        }
        if let Some(first) = extra.first() {
            return Err(format!(
                "{} stored findings were never reported, e.g. {first}",
                extra.len()
            ));
        }
        verdict.open_expected = ledgers.iter().map(|(_, l)| l.open.len() as u64).sum();
        verdict.open_listed = open(&client, reader_token).await?;
        if verdict.open_listed != verdict.open_expected {
            return Err(format!(
                "{} findings are open, the reports leave {} open",
                verdict.open_listed, verdict.open_expected
            ));
        }
        if let Some((received, opened)) = watched
            && received != opened
        {
            return Err(format!(
                "WatchFindings delivered {received} opened findings, the reports opened {opened}"
            ));
        }
        Ok(())
    }
    .await;
    verdict.violation = result.err();
    verdict
}

/// Returns how many acknowledged reports GetScan finds, each with the findings it was sent with.
async fn scans(client: &ApiServiceClient<Channel>, reader_token: &str, acks: &[Ack]) -> Result<u64, String> {
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in acks.chunks(acks.len().div_ceil(CONCURRENCY).max(1)) {
        let (mut client, token, chunk) = (client.clone(), reader_token.to_string(), chunk.to_vec());
        tasks.spawn(async move {
            for ack in &chunk {
                let request = pb::GetScanRequest {
                    agent_id: ack.agent_id.clone(),
                    scan_id: ack.scan_id.clone(),
                };
                let request = authed(request, &token).map_err(|s| s.message().to_string())?;
                let scan = match client.get_scan(request).await {
                    Ok(response) => response.into_inner().scan.unwrap_or_default(),
                    Err(status) if status.code() == Code::NotFound => {
                        return Err(format!(
                            "report {} of agent {} was acknowledged but is not stored",
                            ack.scan_id, ack.agent_id
                        ));
                    }
                    Err(status) => return Err(format!("GetScan failed: {}: {}", status.code(), status.message())),
                };
                if scan.finding_count as usize != ack.findings {
                    return Err(format!(
                        "report {} of agent {} is stored with {} findings, it was sent with {}",
                        ack.scan_id, ack.agent_id, scan.finding_count, ack.findings
                    ));
                }
            }
            Ok(chunk.len() as u64)
        });
    }
    let mut found = 0;
    while let Some(joined) = tasks.join_next().await {
        found += joined.map_err(|e| format!("GetScan task failed: {e}"))??;
    }
    Ok(found)
}

/// Returns the identity of every finding stored, resolved ones included; fails on an id listed twice.
async fn findings(client: &ApiServiceClient<Channel>, reader_token: &str) -> Result<BTreeSet<String>, String> {
    let mut client = client.clone();
    let (mut ids, mut identities) = (HashSet::new(), BTreeSet::new());
    let mut page_token = String::new();
    loop {
        let request = pb::ListFindingsRequest {
            filter: Some(pb::FindingFilter {
                include_resolved: true,
                ..Default::default()
            }),
            sort: pb::FindingSort::Time as i32,
            page_size: 1000,
            page_token,
        };
        let request = authed(request, reader_token).map_err(|s| s.message().to_string())?;
        let page = client
            .list_findings(request)
            .await
            .map_err(|s| format!("ListFindings failed: {}: {}", s.code(), s.message()))?
            .into_inner();
        for finding in &page.findings {
            if !ids.insert(finding.id.clone()) {
                return Err(format!("finding {} is listed twice", finding.id));
            }
            if !identities.insert(identity(&finding.agent_id, finding)) {
                return Err(format!(
                    "two finding ids for one finding: {}",
                    identity(&finding.agent_id, finding)
                ));
            }
        }
        if page.next_page_token.is_empty() {
            return Ok(identities);
        }
        page_token = page.next_page_token;
    }
}

/// Returns how many findings are open.
async fn open(client: &ApiServiceClient<Channel>, reader_token: &str) -> Result<u64, String> {
    let request = pb::ListFindingsRequest {
        page_size: 1,
        ..Default::default()
    };
    let request = authed(request, reader_token).map_err(|s| s.message().to_string())?;
    let page = client
        .clone()
        .list_findings(request)
        .await
        .map_err(|s| format!("ListFindings failed: {}: {}", s.code(), s.message()))?
        .into_inner();
    Ok(page.total_size)
}
