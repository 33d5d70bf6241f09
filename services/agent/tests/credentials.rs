//! The agent's API credentials against a real API that requires a
//! registration token: it registers with it, keeps its token when the API
//! refuses it, and takes up a token an operator reset and wrote for it. A
//! report the API refuses for good is told to it as a failed scan.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;
use tokio::sync::oneshot;
use tonic::Request;
use zerotrace_agent::AgentConfig;
use zerotrace_api::ApiConfig;
use zerotrace_enrichment::EnrichmentConfig;
use zerotrace_proto::agent::v1 as pb;
use zerotrace_proto::agent::v1::agent_service_client::AgentServiceClient;
use zerotrace_proto::api::v1 as api;
use zerotrace_proto::api::v1::api_service_client::ApiServiceClient;
use zerotrace_proto::common::v1 as common;
use zerotrace_server::Listeners;

const ADVISORY: &str = r#"{"id":"RUSTSEC-2099-0003","modified":"2099-01-02T00:00:00Z",
"details":"Demo crate before 2.0.0 trusts its input.",
"references":[{"type":"ADVISORY","url":"https://example.com/RUSTSEC-2099-0003"}],
"affected":[{"package":{"ecosystem":"crates.io","name":"demo-crate"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"2.0.0"}]}]}]}"#;
const LOCK: &str = "version = 3\n\n[[package]]\nname = \"demo-crate\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n";
const READER: &str = "reader-secret";
const ADMIN: &str = "admin-secret";
const REGISTRATION: &str = "registration-secret";

async fn listeners() -> Listeners {
    let any = "127.0.0.1:0".parse().unwrap();
    Listeners::bind(any, any).await.unwrap()
}

fn bearer<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

/// Returns `message`, carrying `token` as a bearer token when there is one.
fn maybe_bearer<T>(message: T, token: Option<&str>) -> Request<T> {
    match token {
        Some(token) => bearer(message, token),
        None => Request::new(message),
    }
}

/// Triggers a full scan of `root` (presenting the agent's `token`, if any)
/// and returns its state once it ends.
async fn scan_with(
    agent: &mut AgentServiceClient<tonic::transport::Channel>,
    root: &Path,
    token: Option<&str>,
) -> pb::ScanState {
    let scan_id = agent
        .trigger_scan(maybe_bearer(
            pb::TriggerScanRequest {
                path: root.display().to_string(),
                scan_type: common::ScanType::Full as i32,
            },
            token,
        ))
        .await
        .expect("scan starts")
        .into_inner()
        .scan_id;
    for _ in 0..400 {
        let state = agent
            .get_scan_status(maybe_bearer(
                pb::GetScanStatusRequest {
                    scan_id: scan_id.clone(),
                },
                token,
            ))
            .await
            .unwrap()
            .into_inner()
            .scan
            .unwrap();
        if ![common::ScanStatus::Running as i32, common::ScanStatus::Queued as i32].contains(&state.status) {
            return state;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("scan {scan_id} did not finish");
}

async fn scan(agent: &mut AgentServiceClient<tonic::transport::Channel>, root: &Path) -> pb::ScanState {
    scan_with(agent, root, None).await
}

/// An enrichment service with [`ADVISORY`], an API (with `api_flags` after
/// the test's tokens) and an agent that registers with the registration
/// token, scanning a project with [`LOCK`].
struct Stack {
    agent: AgentServiceClient<tonic::transport::Channel>,
    api: ApiServiceClient<tonic::transport::Channel>,
    project: std::path::PathBuf,
    agent_dir: std::path::PathBuf,
    stops: Vec<oneshot::Sender<()>>,
}

impl Stack {
    async fn start(dir: &Path, api_flags: &[&str]) -> Self {
        let osv = dir.join("osv");
        let project = dir.join("project");
        std::fs::create_dir_all(&osv).unwrap();
        std::fs::create_dir_all(&project).unwrap();
        std::fs::write(osv.join("a.json"), ADVISORY).unwrap();
        std::fs::write(project.join("Cargo.lock"), LOCK).unwrap();
        let mut stops = Vec::new();

        let enrichment_listeners = listeners().await;
        let enrichment_addr = enrichment_listeners.grpc_addr().unwrap();
        let mut enrichment =
            <EnrichmentConfig as clap::Parser>::parse_from(["zerotrace-enrichment", "--sync-interval", "0s"]);
        enrichment.data_dir = dir.join("enrichment");
        enrichment.import = vec![osv];
        let (stop, stopped) = oneshot::channel::<()>();
        stops.push(stop);
        tokio::spawn(zerotrace_enrichment::serve(enrichment, enrichment_listeners, async {
            let _ = stopped.await;
        }));

        let api_listeners = listeners().await;
        let api_addr = api_listeners.grpc_addr().unwrap();
        let mut api_args = vec![
            "zerotrace-api",
            "--reader-token",
            READER,
            "--admin-token",
            ADMIN,
            "--registration-token",
            REGISTRATION,
            "--registrations-per-peer",
            "0",
        ];
        api_args.extend_from_slice(api_flags);
        let api_config = <ApiConfig as clap::Parser>::parse_from(api_args);
        let api_config = ApiConfig {
            data_dir: dir.join("api"),
            ..api_config
        };
        let (stop, stopped) = oneshot::channel::<()>();
        stops.push(stop);
        tokio::spawn(zerotrace_api::serve(api_config, api_listeners, async {
            let _ = stopped.await;
        }));

        let agent_listeners = listeners().await;
        let agent_addr = agent_listeners.grpc_addr().unwrap();
        let agent_dir = dir.join("agent");
        let mut config =
            <AgentConfig as clap::Parser>::parse_from(["zerotrace-agent", "--registration-token", REGISTRATION]);
        config.data_dir = agent_dir.clone();
        config.allowed_roots = vec![project.clone()];
        config.enrichment_url = format!("http://{enrichment_addr}");
        config.api_url = format!("http://{api_addr}");
        let (stop, stopped) = oneshot::channel::<()>();
        stops.push(stop);
        tokio::spawn(zerotrace_agent::serve(config, agent_listeners, async {
            let _ = stopped.await;
        }));
        let agent = AgentServiceClient::connect(format!("http://{agent_addr}"))
            .await
            .unwrap();
        let api = ApiServiceClient::connect(format!("http://{api_addr}")).await.unwrap();
        Self {
            agent,
            api,
            project,
            agent_dir,
            stops,
        }
    }

    fn stop(self) {
        for stop in self.stops {
            let _ = stop.send(());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_keeps_its_token_and_takes_up_a_reset_one() {
    let dir = tempfile::tempdir().unwrap();
    let Stack {
        mut agent,
        mut api,
        project,
        agent_dir,
        stops,
    } = Stack::start(dir.path(), &[]).await;

    // Registered with the registration token; the report is stored.
    let first = scan(&mut agent, &project).await;
    assert_eq!(first.status, common::ScanStatus::Succeeded as i32, "{first:?}");
    let token_file = agent_dir.join("agent_token");
    let token = std::fs::read_to_string(&token_file).unwrap();
    let agents = api
        .list_agents(bearer(api::ListAgentsRequest::default(), READER))
        .await
        .unwrap()
        .into_inner()
        .agents;
    assert_eq!(agents.len(), 1);
    let agent_id = agents[0].agent_id.clone();

    // An admin resets the token: the agent's report is refused, and the
    // agent keeps its token file instead of deleting it.
    let reset = api
        .reset_agent_token(bearer(
            api::ResetAgentTokenRequest {
                agent_id: agent_id.clone(),
            },
            ADMIN,
        ))
        .await
        .unwrap()
        .into_inner();
    let refused = scan(&mut agent, &project).await;
    assert_eq!(refused.status, common::ScanStatus::Failed as i32, "{refused:?}");
    assert_eq!(
        std::fs::read_to_string(&token_file).unwrap(),
        token,
        "the token is kept"
    );

    // The operator writes the new token: the next report is delivered with it.
    std::fs::write(&token_file, &reset.token).unwrap();
    let after = scan(&mut agent, &project).await;
    assert_eq!(after.status, common::ScanStatus::Succeeded as i32, "{after:?}");
    let scans = api
        .list_scans(bearer(
            api::ListScansRequest {
                agent_id,
                ..Default::default()
            },
            READER,
        ))
        .await
        .unwrap()
        .into_inner()
        .scans;
    assert_eq!(scans.len(), 2, "the first and the last scan were stored");
    for stop in stops {
        let _ = stop.send(());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_tokens_guard_the_agent_and_reach_enrichment() {
    let dir = tempfile::tempdir().unwrap();
    let osv = dir.path().join("osv");
    let project = dir.path().join("project");
    std::fs::create_dir_all(&osv).unwrap();
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(osv.join("a.json"), ADVISORY).unwrap();
    std::fs::write(project.join("Cargo.lock"), LOCK).unwrap();

    let enrichment_listeners = listeners().await;
    let enrichment_addr = enrichment_listeners.grpc_addr().unwrap();
    let mut enrichment = <EnrichmentConfig as clap::Parser>::parse_from([
        "zerotrace-enrichment",
        "--sync-interval",
        "0s",
        "--token",
        "enrichment-secret",
    ]);
    enrichment.data_dir = dir.path().join("enrichment");
    enrichment.import = vec![osv];
    let (stop_e, stopped_e) = oneshot::channel::<()>();
    tokio::spawn(zerotrace_enrichment::serve(enrichment, enrichment_listeners, async {
        let _ = stopped_e.await;
    }));

    let agent_listeners = listeners().await;
    let agent_addr = agent_listeners.grpc_addr().unwrap();
    let mut config = <AgentConfig as clap::Parser>::parse_from([
        "zerotrace-agent",
        "--token",
        "agent-secret",
        "--enrichment-token",
        "enrichment-secret",
    ]);
    config.data_dir = dir.path().join("agent");
    config.allowed_roots = vec![project.clone()];
    config.enrichment_url = format!("http://{enrichment_addr}");
    let (stop_a, stopped_a) = oneshot::channel::<()>();
    tokio::spawn(zerotrace_agent::serve(config, agent_listeners, async {
        let _ = stopped_a.await;
    }));
    let mut agent = AgentServiceClient::connect(format!("http://{agent_addr}"))
        .await
        .unwrap();

    let refused = agent
        .trigger_scan(pb::TriggerScanRequest {
            path: project.display().to_string(),
            scan_type: common::ScanType::Full as i32,
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);

    // With its token the agent scans, and matches through enrichment's token.
    let state = scan_with(&mut agent, &project, Some("agent-secret")).await;
    assert_eq!(state.status, common::ScanStatus::Succeeded as i32, "{state:?}");
    assert_eq!(
        state.progress.unwrap().findings,
        1,
        "matched through enrichment's token"
    );
    let _ = stop_a.send(());
    let _ = stop_e.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reports_findings_carry_their_advisory_in_full() {
    // The agent matches in the basic view and fetches the long text once.
    let dir = tempfile::tempdir().unwrap();
    let mut stack = Stack::start(dir.path(), &[]).await;
    let project = stack.project.clone();
    let done = scan(&mut stack.agent, &project).await;
    assert_eq!(done.status, common::ScanStatus::Succeeded as i32, "{done:?}");

    let findings = stack
        .api
        .list_findings(bearer(api::ListFindingsRequest::default(), READER))
        .await
        .unwrap()
        .into_inner()
        .findings;
    assert_eq!(findings.len(), 1, "{findings:?}");
    let advisory = findings[0].vulnerability.as_ref().unwrap();
    assert_eq!(advisory.id, "RUSTSEC-2099-0003");
    assert_eq!(advisory.details, "Demo crate before 2.0.0 trusts its input.");
    let urls: Vec<&str> = advisory.references.iter().map(|r| r.url.as_str()).collect();
    assert_eq!(urls, ["https://example.com/RUSTSEC-2099-0003"]);
    assert_eq!(advisory.fixed_versions, ["2.0.0"], "scored for the package");
    stack.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_over_the_apis_limit_is_told_as_a_failed_scan_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut stack = Stack::start(dir.path(), &["--max-findings-per-report", "0"]).await;
    let project = stack.project.clone();
    let refused = scan(&mut stack.agent, &project).await;
    assert_eq!(refused.status, common::ScanStatus::Failed as i32, "{refused:?}");
    // The API told its limits at registration: the agent did not send the
    // report (the API's own refusal would not say so).
    let reason = "not sent, being over the api's limits: report has 1 findings; the limit is 0 per report";
    assert!(refused.error_message.contains(reason), "{refused:?}");

    assert_failed_in_api(&mut stack, &refused.scan_id, reason).await;
    stack.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_over_the_apis_message_size_is_told_as_a_failed_scan_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    // Room for registration, heartbeats and a failed scan's report, not for a
    // report with 40 findings.
    let mut stack = Stack::start(dir.path(), &["--max-message-size", "2000"]).await;
    let project = stack.project.clone();
    let lock: String = (0..40)
        .map(|patch| {
            format!(
                "[[package]]\nname = \"demo-crate\"\nversion = \"1.0.{patch}\"\n\
                 source = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n"
            )
        })
        .collect();
    std::fs::write(project.join("Cargo.lock"), format!("version = 3\n\n{lock}")).unwrap();
    let refused = scan(&mut stack.agent, &project).await;
    assert_eq!(refused.status, common::ScanStatus::Failed as i32, "{refused:?}");
    let reason = "not sent, being over the api's limits: report is ";
    assert!(refused.error_message.contains(reason), "{refused:?}");
    assert!(
        refused
            .error_message
            .contains("bytes as sent; the limit is 2000 per request"),
        "{refused:?}"
    );
    assert_failed_in_api(&mut stack, &refused.scan_id, reason).await;
    stack.stop();
}

/// The API holds the scan `scan_id` as the only one, failed, with a reason
/// saying `reason` and no findings.
async fn assert_failed_in_api(stack: &mut Stack, scan_id: &str, reason: &str) {
    let scans = stack
        .api
        .list_scans(bearer(api::ListScansRequest::default(), READER))
        .await
        .unwrap()
        .into_inner()
        .scans;
    assert_eq!(scans.len(), 1, "{scans:?}");
    let report = scans[0].report.as_ref().unwrap();
    assert_eq!(report.scan_id, scan_id);
    assert_eq!(report.status, common::ScanStatus::Failed as i32);
    assert!(report.error_message.contains(reason), "{}", report.error_message);
    assert_eq!(scans[0].finding_count, 0);
}
