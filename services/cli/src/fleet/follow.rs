//! The commands that stream: `trigger` asks an agent to scan a tree and
//! follows the scan (WatchScan) to its end, then lists the agent's open
//! findings from the API; `watch` prints new findings as the API stores them
//! (WatchFindings), reconnecting when the API goes away and going on after
//! the last event it printed.

use super::read::{FilterArgs, FindingView, finding_table, list_findings, scan_status_name, scan_type_name};
use super::{ApiArgs, DEFAULT_AGENT_URL, Service, block_on, counted, print_json, print_lines, rfc3339};
use crate::common::Format;
use crate::error::{CliError, EXIT_FAILURE, EXIT_OK};
use serde::Serialize;
use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use zerotrace_proto::agent::v1 as agent_pb;
use zerotrace_proto::agent::v1::agent_service_client::AgentServiceClient;
use zerotrace_proto::api::v1 as pb;
use zerotrace_proto::api::v1::api_service_client::ApiServiceClient;
use zerotrace_proto::common::v1 as common_pb;

/// The longest wait between two attempts to reach the API again.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(10);

/// Flags of `zerotrace trigger`.
#[derive(Debug, clap::Args)]
pub(crate) struct TriggerArgs {
    /// The tree to scan, as the agent sees it (a relative path is made absolute here).
    path: PathBuf,
    /// URL of the agent.
    #[arg(long = "agent", env = "ZEROTRACE_AGENT_URL", default_value = DEFAULT_AGENT_URL)]
    agent_url: String,
    /// Bearer token of the agent, when it requires one (its --token).
    #[arg(long, env = "ZEROTRACE_AGENT_TOKEN", hide_env_values = true)]
    agent_token: Option<String>,
    /// Scan only the lockfiles changed since the agent's last scan of this tree.
    #[arg(long)]
    incremental: bool,
    #[command(flatten)]
    api: ApiArgs,
}

/// Flags of `zerotrace watch`.
#[derive(Debug, clap::Args)]
pub(crate) struct WatchArgs {
    #[command(flatten)]
    api: ApiArgs,
    #[command(flatten)]
    filters: FilterArgs,
    /// Also print findings as full scans resolve them (`resolved` first on the line, or `"event":"resolved"`).
    #[arg(long)]
    resolutions: bool,
    /// Start after this resume token (printed by `--format json` as `resume_token`), replaying what was stored
    /// since; default: from now on.
    #[arg(long, value_name = "TOKEN")]
    resume_token: Option<String>,
}

pub(crate) fn trigger(args: TriggerArgs) -> ExitCode {
    crate::error::exit(block_on(async move {
        let path =
            std::path::absolute(&args.path).map_err(|e| CliError::Usage(format!("{}: {e}", args.path.display())))?;
        let hint = "set --agent-token or ZEROTRACE_AGENT_TOKEN to the agent's --token";
        let agent = Service::connect("agent", &args.agent_url, args.agent_token.clone(), hint, &args.api.tls).await?;
        let mut client = AgentServiceClient::new(agent.channel.clone());
        let scan_type = if args.incremental {
            common_pb::ScanType::Incremental
        } else {
            common_pb::ScanType::Full
        };
        let scan_id = client
            .trigger_scan(agent.request(agent_pb::TriggerScanRequest {
                path: path.display().to_string(),
                scan_type: scan_type as i32,
            }))
            .await
            .map_err(|s| agent.refused(&s))?
            .into_inner()
            .scan_id;
        let state = follow_scan(&agent, &mut client, &scan_id).await?;
        let agent_id = client
            .get_agent_info(agent.request(agent_pb::GetAgentInfoRequest {}))
            .await
            .map_err(|s| agent.refused(&s))?
            .into_inner()
            .agent_id;
        let succeeded = state.status == common_pb::ScanStatus::Succeeded as i32;

        // The findings come from the API, where the agent reported them.
        let findings = if succeeded {
            let api = args.api.connect().await?;
            let filter = pb::FindingFilter {
                agent_id: agent_id.clone(),
                ..Default::default()
            };
            Some(list_findings(&api, filter, pb::FindingSort::Risk, 0).await?.0)
        } else {
            None
        };
        let view = ScanStateView::of(&state, &agent_id);
        match args.api.format {
            Format::Json => print_json(&TriggerView {
                scan: view,
                findings: findings.iter().flatten().map(FindingView::of).collect(),
            })?,
            Format::Table => {
                let mut lines = vec![format!(
                    "Scan {} of {} {}: {} in {}, {}, {}.",
                    view.scan_id,
                    view.path,
                    view.status,
                    counted(view.packages, "package"),
                    counted(view.lockfiles, "lockfile"),
                    counted(view.findings, "finding"),
                    counted(view.errors.len() as u64, "error")
                )];
                if !view.error_message.is_empty() {
                    lines.push(format!("Why: {}", view.error_message));
                }
                lines.extend(
                    view.errors
                        .iter()
                        .map(|e| format!("  error: {}: {}", e.path, e.message)),
                );
                lines.extend(view.notices.iter().map(|n| format!("  advisory data: {n}")));
                if let Some(findings) = &findings {
                    lines.push(String::new());
                    if findings.is_empty() {
                        lines.push(format!("Agent {agent_id} has no open findings."));
                    } else {
                        lines.push(format!("Open findings of agent {agent_id}:"));
                        lines.extend(finding_table(findings));
                    }
                }
                print_lines(&lines)?;
            }
        }
        Ok(if succeeded { EXIT_OK } else { EXIT_FAILURE })
    }))
}

/// Follows a scan until it ends; shows its progress on a terminal.
async fn follow_scan(
    agent: &Service,
    client: &mut AgentServiceClient<tonic::transport::Channel>,
    scan_id: &str,
) -> Result<agent_pb::ScanState, CliError> {
    let mut updates = client
        .watch_scan(agent.request(agent_pb::WatchScanRequest {
            scan_id: scan_id.to_string(),
        }))
        .await
        .map_err(|s| agent.refused(&s))?
        .into_inner();
    let progress = std::io::stderr().is_terminal();
    let mut last = None;
    while let Some(update) = updates.message().await.map_err(|s| agent.refused(&s))? {
        let Some(state) = update.scan else { continue };
        if progress && let Some(p) = &state.progress {
            let mut err = std::io::stderr().lock();
            let _ = write!(
                err,
                "\r{} files, {} lockfiles, {} packages, {} findings",
                p.files_walked, p.lockfiles_parsed, p.packages, p.findings
            );
            let _ = err.flush();
        }
        let ended = !matches!(
            common_pb::ScanStatus::try_from(state.status),
            Ok(common_pb::ScanStatus::Running | common_pb::ScanStatus::Queued)
        );
        last = Some(state);
        if ended {
            break;
        }
    }
    if progress {
        eprintln!();
    }
    match last {
        Some(state) if state.status != common_pb::ScanStatus::Running as i32 => Ok(state),
        _ => {
            // The stream ended early (the agent stopped): its status says the rest.
            let state = client
                .get_scan_status(agent.request(agent_pb::GetScanStatusRequest {
                    scan_id: scan_id.to_string(),
                }))
                .await
                .map_err(|s| agent.refused(&s))?
                .into_inner()
                .scan
                .ok_or_else(|| CliError::Failed(format!("the agent lost scan {scan_id}")))?;
            Ok(state)
        }
    }
}

pub(crate) fn watch(args: WatchArgs) -> ExitCode {
    crate::error::exit(block_on(async move {
        let filter = args.filters.filter(false);
        // The first connection must work: a wrong URL or token is the user's to fix.
        let mut api = args.api.connect().await?;
        let mut delay = Duration::from_millis(250);
        // Where to go on from after a reconnection: the last event printed.
        let mut resume_token = args.resume_token.clone().unwrap_or_default();
        loop {
            let mut client = ApiServiceClient::new(api.channel.clone());
            match client
                .watch_findings(api.request(pb::WatchFindingsRequest {
                    filter: Some(filter.clone()),
                    resume_token: resume_token.clone(),
                    include_resolutions: args.resolutions,
                }))
                .await
            {
                Ok(stream) => {
                    let mut stream = stream.into_inner();
                    delay = Duration::from_millis(250);
                    loop {
                        match stream.message().await {
                            Ok(Some(event)) => {
                                if let Some(finding) = &event.finding {
                                    print_event(finding, event.kind, &event.resume_token, args.api.format)?;
                                }
                                resume_token = event.resume_token;
                            }
                            Ok(None) => break,
                            Err(status) if retryable(&status) => break,
                            Err(status) => return Err(api.refused(&status)),
                        }
                    }
                }
                Err(status) if retryable(&status) => {}
                Err(status) => return Err(api.refused(&status)),
            }
            eprintln!("zerotrace: the stream of findings ended; reconnecting, to go on after the last one printed");
            loop {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_RECONNECT_DELAY);
                match args.api.connect().await {
                    Ok(again) => {
                        api = again;
                        break;
                    }
                    Err(CliError::Failed(_)) => continue,
                    Err(e) => return Err(e),
                }
            }
        }
    }))
}

/// Whether a broken stream is worth opening again (the API restarted, the
/// network dropped, the stream fell behind), rather than a refusal to report.
fn retryable(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        tonic::Code::Unavailable
            | tonic::Code::Unknown
            | tonic::Code::Internal
            | tonic::Code::Cancelled
            | tonic::Code::ResourceExhausted
    )
}

/// Prints one event: a table line (`resolved` first for a resolution), or
/// one JSON object per line with the event and its resume token.
fn print_event(finding: &common_pb::Finding, kind: i32, token: &str, format: Format) -> Result<(), CliError> {
    let resolved = kind == pb::FindingEventKind::Resolved as i32;
    let line = match format {
        Format::Json => serde_json::to_string(&EventView {
            event: if resolved { "resolved" } else { "opened" },
            resume_token: token,
            finding: FindingView::of(finding),
        })
        .map_err(|e| CliError::Internal(e.to_string()))?,
        Format::Table => {
            let line = finding_table(std::slice::from_ref(finding)).pop().unwrap_or_default();
            if resolved { format!("resolved  {line}") } else { line }
        }
    };
    print_lines(&[line])
}

/// One line of `zerotrace watch --format json`.
#[derive(Serialize)]
struct EventView<'a> {
    event: &'static str,
    resume_token: &'a str,
    #[serde(flatten)]
    finding: FindingView<'a>,
}

#[derive(Serialize)]
struct TriggerView<'a> {
    scan: ScanStateView<'a>,
    findings: Vec<FindingView<'a>>,
}

#[derive(Serialize)]
struct ScanStateView<'a> {
    scan_id: &'a str,
    agent_id: &'a str,
    path: &'a str,
    scan_type: &'static str,
    status: &'static str,
    started_at: Option<String>,
    finished_at: Option<String>,
    files: u64,
    lockfiles: u64,
    packages: u64,
    findings: u64,
    warnings: u64,
    unmatched: u64,
    error_message: &'a str,
    errors: Vec<ErrorView<'a>>,
    advisory_generation: u64,
    notices: &'a [String],
}

#[derive(Serialize)]
struct ErrorView<'a> {
    path: &'a str,
    message: &'a str,
}

impl<'a> ScanStateView<'a> {
    fn of(s: &'a agent_pb::ScanState, agent_id: &'a str) -> Self {
        let p = s.progress.unwrap_or_default();
        Self {
            scan_id: &s.scan_id,
            agent_id,
            path: &s.path,
            scan_type: scan_type_name(s.scan_type),
            status: scan_status_name(s.status),
            started_at: rfc3339(s.started_at.as_ref()),
            finished_at: rfc3339(s.finished_at.as_ref()),
            files: p.files_walked,
            lockfiles: p.lockfiles_parsed,
            packages: p.packages,
            findings: p.findings,
            warnings: p.warnings,
            unmatched: p.unmatched,
            error_message: &s.error_message,
            errors: s
                .errors
                .iter()
                .map(|e| ErrorView {
                    path: &e.path,
                    message: &e.message,
                })
                .collect(),
            advisory_generation: s.advisory_data.as_ref().map_or(0, |d| d.generation),
            notices: s.advisory_data.as_ref().map_or(&[], |d| d.notices.as_slice()),
        }
    }
}
