//! The listing commands: `agents`, `scans`, `findings` and `summary`. Each
//! pages through the API for the user and prints a table that fits 80
//! columns, or JSON.

use super::{
    ApiArgs, PAGE_SIZE, Service, ago, block_on, colour, counted, cut, print_json, print_lines, rfc3339, severity_name,
};
use crate::common::{Format, columns};
use crate::error::{CliError, EXIT_OK};
use serde::Serialize;
use std::process::ExitCode;
use std::sync::LazyLock;
use zerotrace_proto::api::v1 as pb;
use zerotrace_proto::api::v1::api_service_client::ApiServiceClient;
use zerotrace_proto::common::v1 as common_pb;

/// The most results a listing command returns unless `--limit` says otherwise.
const DEFAULT_LIMIT: usize = 100;

/// Flags of `zerotrace agents`.
#[derive(Debug, clap::Args)]
pub(crate) struct AgentsArgs {
    #[command(flatten)]
    api: ApiArgs,
    /// At most this many agents; 0 for all.
    #[arg(long, default_value_t = DEFAULT_LIMIT)]
    limit: usize,
}

/// Flags of `zerotrace scans`.
#[derive(Debug, clap::Args)]
pub(crate) struct ScansArgs {
    #[command(flatten)]
    api: ApiArgs,
    /// Only this agent's scans.
    #[arg(long, value_name = "ID")]
    agent: Option<String>,
    /// Only scans with this status.
    #[arg(long, value_enum)]
    status: Option<StatusArg>,
    /// At most this many scans, newest first; 0 for all.
    #[arg(long, default_value_t = DEFAULT_LIMIT)]
    limit: usize,
}

/// The findings filters of `zerotrace findings` and `zerotrace watch`.
#[derive(Debug, clap::Args)]
pub(crate) struct FilterArgs {
    /// Only findings at or above this severity.
    #[arg(long, value_enum)]
    severity: Option<SeverityArg>,
    /// Only known exploited vulnerabilities (CISA KEV).
    #[arg(long)]
    kev: bool,
    /// Only this OSV ecosystem (`crates.io`, `npm`, `PyPI`, ...).
    #[arg(long)]
    ecosystem: Option<String>,
    /// Only this package name.
    #[arg(long)]
    package: Option<String>,
    /// Only this advisory id, or an id the reporting agent gave as its alias.
    #[arg(long, value_name = "ID")]
    advisory: Option<String>,
    /// Only this agent's findings.
    #[arg(long, value_name = "ID")]
    agent: Option<String>,
    /// Only findings with a fixed version.
    #[arg(long)]
    fix_available: bool,
    /// Also findings a decision in force covers (accepted risks, false
    /// positives, not affected); they are left out by default.
    #[arg(long)]
    include_decided: bool,
}

impl FilterArgs {
    /// The API's filter of these flags.
    pub(super) fn filter(&self, include_resolved: bool) -> pb::FindingFilter {
        pb::FindingFilter {
            min_severity: self
                .severity
                .map_or(common_pb::Severity::Unspecified, SeverityArg::proto) as i32,
            ecosystem: self.ecosystem.clone().unwrap_or_default(),
            package_name: self.package.clone().unwrap_or_default(),
            vulnerability_id: self.advisory.clone().unwrap_or_default(),
            agent_id: self.agent.clone().unwrap_or_default(),
            known_exploited_only: self.kev,
            fix_available_only: self.fix_available,
            include_resolved,
            include_decided: self.include_decided,
        }
    }
}

/// Flags of `zerotrace findings`.
#[derive(Debug, clap::Args)]
pub(crate) struct FindingsArgs {
    #[command(flatten)]
    api: ApiArgs,
    #[command(flatten)]
    filters: FilterArgs,
    /// Also findings a later full scan resolved.
    #[arg(long)]
    include_resolved: bool,
    /// Order: risk (highest first), severity, or time (last seen, newest first).
    #[arg(long, value_enum, default_value_t = SortArg::Risk)]
    sort: SortArg,
    /// At most this many findings; 0 for all.
    #[arg(long, default_value_t = DEFAULT_LIMIT)]
    limit: usize,
}

/// Flags of `zerotrace summary`.
#[derive(Debug, clap::Args)]
pub(crate) struct SummaryArgs {
    #[command(flatten)]
    api: ApiArgs,
    /// Only this agent.
    #[arg(long, value_name = "ID")]
    agent: Option<String>,
    /// Also count findings a decision in force covers.
    #[arg(long)]
    include_decided: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum SeverityArg {
    Low,
    Medium,
    High,
    Critical,
}

impl SeverityArg {
    fn proto(self) -> common_pb::Severity {
        match self {
            SeverityArg::Low => common_pb::Severity::Low,
            SeverityArg::Medium => common_pb::Severity::Medium,
            SeverityArg::High => common_pb::Severity::High,
            SeverityArg::Critical => common_pb::Severity::Critical,
        }
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum SortArg {
    Risk,
    Severity,
    Time,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum StatusArg {
    Succeeded,
    Failed,
}

pub(crate) fn agents(args: AgentsArgs) -> ExitCode {
    crate::error::exit(block_on(async move {
        let api = args.api.connect().await?;
        let mut client = ApiServiceClient::new(api.channel.clone());
        let mut listed = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = client
                .list_agents(api.request(pb::ListAgentsRequest {
                    page_size: page_size(args.limit, listed.len()),
                    page_token,
                }))
                .await
                .map_err(|s| api.refused(&s))?
                .into_inner();
            listed.extend(page.agents);
            page_token = page.next_page_token;
            if page_token.is_empty() || full(args.limit, listed.len()) {
                break;
            }
        }
        listed.truncate(limit_or_all(args.limit, listed.len()));
        match args.api.format {
            Format::Json => print_json(&AgentList {
                agents: listed.iter().map(AgentView::of).collect(),
            })?,
            Format::Table => {
                let lines = if listed.is_empty() {
                    vec!["No agent has registered.".to_string()]
                } else {
                    agent_table(&listed)
                };
                print_lines(&lines)?;
            }
        }
        Ok(EXIT_OK)
    }))
}

pub(crate) fn scans(args: ScansArgs) -> ExitCode {
    crate::error::exit(block_on(async move {
        let api = args.api.connect().await?;
        let mut client = ApiServiceClient::new(api.channel.clone());
        let status = match args.status {
            Some(StatusArg::Succeeded) => common_pb::ScanStatus::Succeeded,
            Some(StatusArg::Failed) => common_pb::ScanStatus::Failed,
            None => common_pb::ScanStatus::Unspecified,
        };
        let mut listed = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = client
                .list_scans(api.request(pb::ListScansRequest {
                    agent_id: args.agent.clone().unwrap_or_default(),
                    status: status as i32,
                    page_size: page_size(args.limit, listed.len()),
                    page_token,
                    ..Default::default()
                }))
                .await
                .map_err(|s| api.refused(&s))?
                .into_inner();
            listed.extend(page.scans);
            page_token = page.next_page_token;
            if page_token.is_empty() || full(args.limit, listed.len()) {
                break;
            }
        }
        listed.truncate(limit_or_all(args.limit, listed.len()));
        match args.api.format {
            Format::Json => print_json(&ScanList {
                scans: listed.iter().map(ScanView::of).collect(),
            })?,
            Format::Table => {
                let lines = if listed.is_empty() {
                    vec!["No scan matches.".to_string()]
                } else {
                    scan_table(&listed)
                };
                print_lines(&lines)?;
            }
        }
        Ok(EXIT_OK)
    }))
}

pub(crate) fn findings(args: FindingsArgs) -> ExitCode {
    crate::error::exit(block_on(async move {
        let api = args.api.connect().await?;
        let filter = args.filters.filter(args.include_resolved);
        let sort = match args.sort {
            SortArg::Risk => pb::FindingSort::Risk,
            SortArg::Severity => pb::FindingSort::Severity,
            SortArg::Time => pb::FindingSort::Time,
        };
        let (listed, total) = list_findings(&api, filter, sort, args.limit).await?;
        match args.api.format {
            Format::Json => print_json(&FindingList {
                total,
                findings: listed.iter().map(FindingView::of).collect(),
            })?,
            Format::Table => {
                let mut lines = finding_table(&listed);
                if listed.is_empty() {
                    lines = vec!["No finding matches.".to_string()];
                } else if total > listed.len() as u64 {
                    lines.push(format!(
                        "{} of {total} findings; --limit 0 lists them all.",
                        listed.len()
                    ));
                }
                print_lines(&lines)?;
            }
        }
        Ok(EXIT_OK)
    }))
}

/// Pages through ListFindings until `limit` findings (0: all); returns them
/// with the total the API counted.
pub(super) async fn list_findings(
    api: &Service,
    filter: pb::FindingFilter,
    sort: pb::FindingSort,
    limit: usize,
) -> Result<(Vec<common_pb::Finding>, u64), CliError> {
    let mut client = ApiServiceClient::new(api.channel.clone());
    let mut listed = Vec::new();
    let mut total = 0;
    let mut page_token = String::new();
    loop {
        let page = client
            .list_findings(api.request(pb::ListFindingsRequest {
                filter: Some(filter.clone()),
                sort: sort as i32,
                page_size: page_size(limit, listed.len()),
                page_token,
            }))
            .await
            .map_err(|s| api.refused(&s))?
            .into_inner();
        if listed.is_empty() {
            total = page.total_size;
        }
        listed.extend(page.findings);
        page_token = page.next_page_token;
        if page_token.is_empty() || full(limit, listed.len()) {
            break;
        }
    }
    listed.truncate(limit_or_all(limit, listed.len()));
    let total = total.max(listed.len() as u64);
    Ok((listed, total))
}

/// The agents as table lines: id (whole: filters take it), host, status,
/// last seen, open findings.
fn agent_table(agents: &[pb::Agent]) -> Vec<String> {
    let mut rows = vec![cells(&["AGENT", "HOST", "STATUS", "LAST SEEN", "OPEN"])];
    rows.extend(agents.iter().map(|a| {
        vec![
            a.agent_id.clone(),
            cut(&a.hostname, 8),
            status_name(a.status).to_string(),
            ago(a.last_seen.as_ref()),
            a.open_findings.to_string(),
        ]
    }));
    columns(&rows)
}

/// The scans as table lines: id, agent, root (its end), type, status, when
/// it ended, findings new and resolved.
fn scan_table(scans: &[pb::Scan]) -> Vec<String> {
    let mut rows = vec![cells(&[
        "SCAN", "AGENT", "ROOT", "TYPE", "STATUS", "ENDED", "NEW", "GONE",
    ])];
    rows.extend(scans.iter().map(|s| {
        let view = ScanView::of(s);
        vec![
            cut(view.scan_id, 8),
            cut(view.agent_id, 8),
            cut_left(view.root, 13),
            if view.scan_type == "incremental" {
                "incr"
            } else {
                view.scan_type
            }
            .to_string(),
            view.status.to_string(),
            ago(s.report.as_ref().and_then(|r| r.finished_at.as_ref())),
            view.new_findings.to_string(),
            view.resolved_findings.to_string(),
        ]
    }));
    columns(&rows)
}

/// The findings as table lines: severity, risk, KEV, advisory, package and
/// version, agent, fix.
pub(super) fn finding_table(findings: &[common_pb::Finding]) -> Vec<String> {
    let colour = colour();
    let mut rows = vec![cells(&[
        "SEVERITY", "RISK", "KEV", "ADVISORY", "PACKAGE", "AGENT", "FIX",
    ])];
    let mut severities = vec![None];
    for f in findings {
        let view = FindingView::of(f);
        severities.push(Some(view.severity));
        rows.push(vec![
            view.severity.to_string(),
            format!("{:.1}", view.risk_score),
            if view.known_exploited { "yes" } else { "" }.to_string(),
            cut(view.advisory, 19),
            cut(&format!("{} {}", view.package, view.version), 17),
            cut(view.agent_id, 8),
            cut(&view.fixed_versions.join(","), 8),
        ]);
    }
    columns(&rows)
        .into_iter()
        .zip(severities)
        .map(|(line, severity)| match severity {
            Some(name) if colour => super::painted(name) + &line[name.len()..],
            _ => line,
        })
        .collect()
}

pub(crate) fn summary(args: SummaryArgs) -> ExitCode {
    crate::error::exit(block_on(async move {
        let api = args.api.connect().await?;
        let mut client = ApiServiceClient::new(api.channel.clone());
        let summary = client
            .get_summary(api.request(pb::GetSummaryRequest {
                agent_id: args.agent.clone().unwrap_or_default(),
                include_decided: args.include_decided,
            }))
            .await
            .map_err(|s| api.refused(&s))?
            .into_inner();
        let view = SummaryView::of(&summary);
        match args.api.format {
            Format::Json => print_json(&view)?,
            Format::Table => {
                let mut lines = vec![format!(
                    "{}, {} stored.",
                    counted(view.open_findings, "open finding"),
                    counted(view.scans, "scan")
                )];
                lines.push(String::new());
                let mut rows = vec![cells(&["SEVERITY", "OPEN"])];
                rows.extend(
                    view.by_severity
                        .iter()
                        .map(|s| vec![s.severity.to_string(), s.open.to_string()]),
                );
                lines.extend(columns(&rows));
                lines.push(String::new());
                let mut rows = vec![cells(&["AGENTS", "COUNT"])];
                rows.extend(
                    view.agents
                        .iter()
                        .map(|a| vec![a.status.to_string(), a.count.to_string()]),
                );
                lines.extend(columns(&rows));
                if !view.top_packages.is_empty() {
                    lines.push(String::new());
                    let mut rows = vec![cells(&["PACKAGE", "ECOSYSTEM", "OPEN"])];
                    rows.extend(
                        view.top_packages
                            .iter()
                            .map(|p| vec![cut(&p.name, 40), cut(&p.ecosystem, 16), p.open.to_string()]),
                    );
                    lines.extend(columns(&rows));
                }
                print_lines(&lines)?;
            }
        }
        Ok(EXIT_OK)
    }))
}

fn cells(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_string()).collect()
}

/// `s` cut to its last `max` characters, with `…` first when cut (the end
/// of a path says the most).
fn cut_left(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_string();
    }
    let tail: String = s.chars().skip(n - max.saturating_sub(1)).collect();
    format!("…{tail}")
}

/// The page size to ask for when `have` of `limit` (0: all) are listed.
pub(super) fn page_size(limit: usize, have: usize) -> i32 {
    let want = if limit == 0 {
        PAGE_SIZE
    } else {
        limit.saturating_sub(have).clamp(1, PAGE_SIZE)
    };
    i32::try_from(want).unwrap_or(1)
}

fn full(limit: usize, have: usize) -> bool {
    limit != 0 && have >= limit
}

fn limit_or_all(limit: usize, have: usize) -> usize {
    if limit == 0 { have } else { limit.min(have) }
}

fn status_name(status: i32) -> &'static str {
    match pb::AgentStatus::try_from(status) {
        Ok(pb::AgentStatus::Online) => "online",
        Ok(pb::AgentStatus::Stale) => "stale",
        Ok(pb::AgentStatus::Offline) => "offline",
        _ => "unknown",
    }
}

pub(super) fn scan_status_name(status: i32) -> &'static str {
    match common_pb::ScanStatus::try_from(status) {
        Ok(common_pb::ScanStatus::Queued) => "queued",
        Ok(common_pb::ScanStatus::Running) => "running",
        Ok(common_pb::ScanStatus::Succeeded) => "succeeded",
        Ok(common_pb::ScanStatus::Failed) => "failed",
        _ => "unknown",
    }
}

pub(super) fn scan_type_name(scan_type: i32) -> &'static str {
    match common_pb::ScanType::try_from(scan_type) {
        Ok(common_pb::ScanType::Incremental) => "incremental",
        _ => "full",
    }
}

#[derive(Serialize)]
struct AgentList<'a> {
    agents: Vec<AgentView<'a>>,
}

#[derive(Serialize)]
struct AgentView<'a> {
    agent_id: &'a str,
    hostname: &'a str,
    version: &'a str,
    status: &'static str,
    registered_at: Option<String>,
    last_seen: Option<String>,
    open_findings: u64,
}

impl<'a> AgentView<'a> {
    fn of(a: &'a pb::Agent) -> Self {
        Self {
            agent_id: &a.agent_id,
            hostname: &a.hostname,
            version: &a.version,
            status: status_name(a.status),
            registered_at: rfc3339(a.registered_at.as_ref()),
            last_seen: rfc3339(a.last_seen.as_ref()),
            open_findings: a.open_findings,
        }
    }
}

#[derive(Serialize)]
struct ScanList<'a> {
    scans: Vec<ScanView<'a>>,
}

#[derive(Serialize)]
struct ScanView<'a> {
    scan_id: &'a str,
    agent_id: &'a str,
    root: &'a str,
    scan_type: &'static str,
    status: &'static str,
    started_at: Option<String>,
    finished_at: Option<String>,
    received_at: Option<String>,
    packages_scanned: u64,
    findings: u32,
    new_findings: u32,
    resolved_findings: u32,
    errors: usize,
    error_message: &'a str,
}

impl<'a> ScanView<'a> {
    fn of(s: &'a pb::Scan) -> Self {
        static EMPTY: LazyLock<pb::ScanReport> = LazyLock::new(Default::default);
        let report = s.report.as_ref().unwrap_or(&EMPTY);
        Self {
            scan_id: &report.scan_id,
            agent_id: &s.agent_id,
            root: &report.root,
            scan_type: scan_type_name(report.scan_type),
            status: scan_status_name(report.status),
            started_at: rfc3339(report.started_at.as_ref()),
            finished_at: rfc3339(report.finished_at.as_ref()),
            received_at: rfc3339(s.received_at.as_ref()),
            packages_scanned: report.packages_scanned,
            findings: s.finding_count,
            new_findings: s.new_findings,
            resolved_findings: s.resolved_findings,
            errors: report.errors.len(),
            error_message: &report.error_message,
        }
    }
}

#[derive(Serialize)]
struct FindingList<'a> {
    total: u64,
    findings: Vec<FindingView<'a>>,
}

/// A finding as the fleet commands print it (JSON, and the table's cells).
#[derive(Serialize)]
pub(super) struct FindingView<'a> {
    id: &'a str,
    /// Its API resource name (`agents/{agent}/findings/{id}`).
    name: &'a str,
    agent_id: &'a str,
    root: &'a str,
    scan_id: &'a str,
    ecosystem: &'a str,
    package: &'a str,
    version: &'a str,
    source_path: &'a str,
    advisory: &'a str,
    aliases: &'a [String],
    summary: &'a str,
    severity: &'static str,
    risk_score: f64,
    cvss_score: f64,
    epss_score: f64,
    known_exploited: bool,
    fixed_versions: &'a [String],
    first_seen: Option<String>,
    last_seen: Option<String>,
    resolved_at: Option<String>,
    /// The decision in force on it, when the listing includes decided findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    decision: Option<&'a str>,
}

impl<'a> FindingView<'a> {
    pub(super) fn of(f: &'a common_pb::Finding) -> Self {
        static NO_PACKAGE: LazyLock<common_pb::Package> = LazyLock::new(Default::default);
        let package = f.package.as_ref().unwrap_or(&NO_PACKAGE);
        let vuln = f.vulnerability.as_ref();
        Self {
            id: &f.id,
            name: &f.name,
            agent_id: &f.agent_id,
            root: &f.root,
            scan_id: &f.scan_id,
            ecosystem: &package.ecosystem,
            package: &package.name,
            version: &package.version,
            source_path: &package.source_path,
            advisory: vuln.map_or("", |v| v.id.as_str()),
            aliases: vuln.map_or(&[], |v| v.aliases.as_slice()),
            summary: vuln.map_or("", |v| v.summary.as_str()),
            severity: severity_name(vuln.map_or(0, |v| v.severity)),
            risk_score: vuln.map_or(0.0, |v| v.risk_score),
            cvss_score: vuln.map_or(0.0, |v| v.cvss_score),
            epss_score: vuln.map_or(0.0, |v| v.epss_score),
            known_exploited: vuln.is_some_and(|v| v.known_exploited),
            fixed_versions: vuln.map_or(&[], |v| v.fixed_versions.as_slice()),
            first_seen: rfc3339(f.first_seen.as_ref()),
            last_seen: rfc3339(f.last_seen.as_ref()),
            resolved_at: rfc3339(f.resolved_at.as_ref()),
            decision: Some(f.decision.as_str()).filter(|d| !d.is_empty()),
        }
    }
}

#[derive(Serialize)]
struct SummaryView {
    open_findings: u64,
    scans: u64,
    by_severity: Vec<SeverityOpen>,
    agents: Vec<AgentsInStatus>,
    top_packages: Vec<PackageOpen>,
}

#[derive(Serialize)]
struct SeverityOpen {
    severity: &'static str,
    open: u64,
}

#[derive(Serialize)]
struct AgentsInStatus {
    status: &'static str,
    count: u64,
}

#[derive(Serialize)]
struct PackageOpen {
    ecosystem: String,
    name: String,
    open: u64,
}

impl SummaryView {
    fn of(s: &pb::GetSummaryResponse) -> Self {
        Self {
            open_findings: s.open_findings,
            scans: s.scans,
            by_severity: s
                .by_severity
                .iter()
                .map(|c| SeverityOpen {
                    severity: severity_name(c.severity),
                    open: c.count,
                })
                .collect(),
            agents: s
                .agents
                .iter()
                .map(|c| AgentsInStatus {
                    status: status_name(c.status),
                    count: c.count,
                })
                .collect(),
            top_packages: s
                .top_packages
                .iter()
                .map(|p| PackageOpen {
                    ecosystem: p.ecosystem.clone(),
                    name: p.name.clone(),
                    open: p.findings,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_ask_for_what_is_left() {
        assert_eq!(page_size(0, 0), 500);
        assert_eq!(page_size(100, 0), 100);
        assert_eq!(page_size(100, 60), 40);
        assert_eq!(page_size(2000, 0), 500);
        assert!(full(10, 10) && !full(0, 10_000) && !full(10, 9));
        assert_eq!(limit_or_all(0, 7), 7);
        assert_eq!(limit_or_all(5, 7), 5);
    }

    #[test]
    fn paths_keep_their_end() {
        assert_eq!(cut_left("/srv/code/app", 8), "…ode/app");
        assert_eq!(cut_left("/srv", 8), "/srv");
    }

    #[test]
    fn tables_fit_80_columns() {
        let long = "x".repeat(200);
        let finding = common_pb::Finding {
            id: long.clone(),
            agent_id: long.clone(),
            package: Some(common_pb::Package {
                name: long.clone(),
                version: long.clone(),
                ..Default::default()
            }),
            vulnerability: Some(common_pb::Vulnerability {
                id: long.clone(),
                severity: common_pb::Severity::Critical as i32,
                risk_score: 100.0,
                known_exploited: true,
                fixed_versions: vec![long.clone()],
                ..Default::default()
            }),
            ..Default::default()
        };
        let long_ago = Some(prost_types::Timestamp { seconds: 1, nanos: 0 });
        let agent = pb::Agent {
            agent_id: "6ba18349-20d1-40d9-b051-558d7d742ff7".to_string(),
            hostname: long.clone(),
            last_seen: long_ago,
            open_findings: 123_456,
            ..Default::default()
        };
        let scan = pb::Scan {
            agent_id: long.clone(),
            new_findings: 50_000,
            resolved_findings: 50_000,
            report: Some(pb::ScanReport {
                scan_id: long.clone(),
                root: long.clone(),
                scan_type: common_pb::ScanType::Incremental as i32,
                status: common_pb::ScanStatus::Succeeded as i32,
                finished_at: long_ago,
                ..Default::default()
            }),
            ..Default::default()
        };
        let lines = [finding_table(&[finding]), agent_table(&[agent]), scan_table(&[scan])].concat();
        for line in lines {
            assert!(line.chars().count() <= 80, "{} columns: {line}", line.chars().count());
        }
    }
}
