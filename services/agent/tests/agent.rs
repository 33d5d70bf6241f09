//! The agent over real gRPC, with a real enrichment service beside it:
//! allowed roots, scans on request and on an interval, full and incremental
//! scans that agree, progress streaming and the agent's metrics.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::oneshot;
use tonic::Code;
use zerotrace_agent::AgentConfig;
use zerotrace_enrichment::EnrichmentConfig;
use zerotrace_proto::agent::v1 as pb;
use zerotrace_proto::agent::v1::agent_service_client::AgentServiceClient;
use zerotrace_proto::common::v1 as common;
use zerotrace_server::Listeners;

const ADVISORY: &str = r#"{"id":"RUSTSEC-2099-0003","modified":"2099-01-02T00:00:00Z","aliases":["CVE-2099-3333"],
"summary":"demo","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
"affected":[{"package":{"ecosystem":"crates.io","name":"demo-crate"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"2.0.0"}]}]}]}"#;

fn lock(entries: &[(&str, &str)]) -> String {
    let mut out = String::from("version = 3\n");
    for (name, version) in entries {
        out.push_str(&format!(
            "\n[[package]]\nname = \"{name}\"\nversion = \"{version}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n"
        ));
    }
    out
}

async fn listeners() -> Listeners {
    let any = "127.0.0.1:0".parse().unwrap();
    Listeners::bind(any, any).await.unwrap()
}

struct Stack {
    agent: AgentServiceClient<tonic::transport::Channel>,
    agent_metrics: String,
    project: PathBuf,
    stops: Vec<oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

async fn start(scan_interval: Duration) -> Stack {
    start_with(scan_interval, Duration::from_secs(24 * 3600)).await
}

/// [`start`] with a full-scan interval of the periodic scans.
async fn start_with(scan_interval: Duration, full_scan_interval: Duration) -> Stack {
    let dir = tempfile::tempdir().unwrap();
    let osv = dir.path().join("osv");
    let project = dir.path().join("project");
    std::fs::create_dir_all(&osv).unwrap();
    std::fs::create_dir_all(project.join("nested")).unwrap();
    std::fs::write(osv.join("a.json"), ADVISORY).unwrap();
    std::fs::write(
        project.join("Cargo.lock"),
        lock(&[("demo-crate", "1.0.0"), ("other", "0.1.0")]),
    )
    .unwrap();
    std::fs::write(
        project.join("nested").join("Cargo.lock"),
        lock(&[("demo-crate", "2.0.0")]),
    )
    .unwrap();
    std::fs::write(project.join("README.md"), "not a lockfile").unwrap();

    let enrichment_listeners = listeners().await;
    let enrichment_addr = enrichment_listeners.grpc_addr().unwrap();
    let mut enrichment =
        <EnrichmentConfig as clap::Parser>::parse_from(["zerotrace-enrichment", "--sync-interval", "0s"]);
    enrichment.listen = enrichment_addr;
    enrichment.metrics_listen = "127.0.0.1:0".parse().unwrap();
    enrichment.data_dir = dir.path().join("enrichment");
    enrichment.import = vec![osv];
    enrichment.cache_max_entries = 1000;
    enrichment.cache_ttl = Duration::from_secs(60);
    enrichment.max_batch_size = 10_000;
    enrichment.shutdown_grace = Duration::from_secs(1);
    let (stop_e, stopped_e) = oneshot::channel::<()>();
    tokio::spawn(zerotrace_enrichment::serve(enrichment, enrichment_listeners, async {
        let _ = stopped_e.await;
    }));

    let agent_listeners = listeners().await;
    let agent_addr = agent_listeners.grpc_addr().unwrap();
    let agent_metrics = agent_listeners.metrics_addr().unwrap().to_string();
    let mut config = <AgentConfig as clap::Parser>::parse_from(["zerotrace-agent"]);
    config.data_dir = dir.path().join("agent");
    config.allowed_roots = vec![project.clone()];
    config.enrichment_url = format!("http://{enrichment_addr}");
    config.api_url = String::new();
    config.scan_interval = scan_interval;
    config.full_scan_interval = full_scan_interval;
    config.resource_interval = Duration::from_millis(100);
    let (stop_a, stopped_a) = oneshot::channel::<()>();
    tokio::spawn(zerotrace_agent::serve(config, agent_listeners, async {
        let _ = stopped_a.await;
    }));
    let agent = AgentServiceClient::connect(format!("http://{agent_addr}"))
        .await
        .unwrap();
    Stack {
        agent,
        agent_metrics,
        project,
        stops: vec![stop_a, stop_e],
        _dir: dir,
    }
}

fn scrape(addr: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).unwrap();
    body
}

async fn wait(agent: &mut AgentServiceClient<tonic::transport::Channel>, scan_id: &str) -> pb::ScanState {
    for _ in 0..400 {
        let state = agent
            .get_scan_status(pb::GetScanStatusRequest {
                scan_id: scan_id.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .scan
            .unwrap();
        if state.status != common::ScanStatus::Running as i32 {
            return state;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("scan {scan_id} did not finish");
}

async fn trigger(
    agent: &mut AgentServiceClient<tonic::transport::Channel>,
    path: &Path,
    kind: common::ScanType,
) -> String {
    agent
        .trigger_scan(pb::TriggerScanRequest {
            path: path.display().to_string(),
            scan_type: kind as i32,
        })
        .await
        .expect("scan starts")
        .into_inner()
        .scan_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_on_request_full_and_incremental_agree() {
    let mut stack = start(Duration::ZERO).await;
    let project = stack.project.clone();

    let full = trigger(&mut stack.agent, &project, common::ScanType::Full).await;
    let state = wait(&mut stack.agent, &full).await;
    assert_eq!(state.status, common::ScanStatus::Succeeded as i32, "{state:?}");
    let progress = state.progress.unwrap();
    assert_eq!(progress.lockfiles_parsed, 2);
    assert_eq!(progress.packages, 3);
    assert_eq!(progress.findings, 1, "only demo-crate 1.0.0 is affected");
    assert!(
        state.error_message.contains("no api configured"),
        "an undelivered report is said: {state:?}"
    );

    let caches = std::fs::read_dir(stack._dir.path().join("agent").join("fingerprints"))
        .unwrap()
        .count();
    assert_eq!(caches, 1, "the full scan saved the root's fingerprint cache");
    let incremental = trigger(&mut stack.agent, &project, common::ScanType::Incremental).await;
    let again = wait(&mut stack.agent, &incremental).await;
    assert_eq!(again.status, common::ScanStatus::Succeeded as i32);
    assert_eq!(again.progress, state.progress, "incremental equals full");

    // A changed lockfile is seen by the next incremental scan.
    std::fs::write(
        project.join("nested").join("Cargo.lock"),
        lock(&[("demo-crate", "1.5.0")]),
    )
    .unwrap();
    let changed = trigger(&mut stack.agent, &project, common::ScanType::Incremental).await;
    let changed = wait(&mut stack.agent, &changed).await;
    assert_eq!(changed.progress.unwrap().findings, 2);

    let info = stack
        .agent
        .get_agent_info(pb::GetAgentInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.last_scan.unwrap().scan_id, changed.scan_id);
    assert!(!info.agent_id.is_empty());

    let metrics = scrape(&stack.agent_metrics);
    for want in [
        r#"zerotrace_scan_duration_seconds_count{scan_type="full",status="success"} 1"#,
        r#"zerotrace_scan_duration_seconds_count{scan_type="incremental",status="success"} 2"#,
        r#"zerotrace_files_scanned_total{file_type="cargo-lock"} 6"#,
        r#"zerotrace_files_scanned_total{file_type="other"}"#,
        r#"zerotrace_vulnerabilities_found_total{severity="critical",type="dependency"} 4"#,
        "zerotrace_agent_cpu_usage_percent{agent_id=",
        "zerotrace_agent_memory_usage_bytes{agent_id=",
    ] {
        assert!(metrics.contains(want), "{want} missing:\n{metrics}");
    }
    for stop in stack.stops.drain(..) {
        let _ = stop.send(());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_clear_statuses() {
    let mut stack = start(Duration::ZERO).await;
    let project = stack.project.clone();
    let outside = stack
        .agent
        .trigger_scan(pb::TriggerScanRequest {
            path: "/etc".into(),
            scan_type: 1,
        })
        .await;
    assert_eq!(outside.unwrap_err().code(), Code::PermissionDenied);
    let escape = format!("{}/../..", project.display());
    let dotdot = stack
        .agent
        .trigger_scan(pb::TriggerScanRequest {
            path: escape,
            scan_type: 1,
        })
        .await;
    assert_eq!(dotdot.unwrap_err().code(), Code::PermissionDenied);
    let no_type = stack
        .agent
        .trigger_scan(pb::TriggerScanRequest {
            path: project.display().to_string(),
            scan_type: 0,
        })
        .await;
    assert_eq!(no_type.unwrap_err().code(), Code::InvalidArgument);
    let unknown_type = stack
        .agent
        .trigger_scan(pb::TriggerScanRequest {
            path: project.display().to_string(),
            scan_type: 99,
        })
        .await;
    assert_eq!(unknown_type.unwrap_err().code(), Code::InvalidArgument);
    let missing = stack
        .agent
        .get_scan_status(pb::GetScanStatusRequest { scan_id: "nope".into() })
        .await;
    assert_eq!(missing.unwrap_err().code(), Code::NotFound);
    for stop in stack.stops.drain(..) {
        let _ = stop.send(());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_streams_progress_to_the_end_and_periodic_scans_run() {
    let mut stack = start(Duration::from_millis(300)).await;
    // The periodic scanner starts a full scan at once, then incremental ones.
    let mut first = None;
    for _ in 0..200 {
        let info = stack
            .agent
            .get_agent_info(pb::GetAgentInfoRequest {})
            .await
            .unwrap()
            .into_inner();
        if let Some(last) = info.last_scan {
            first = Some(last);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let first = first.expect("a periodic scan started");
    assert_eq!(first.scan_type, common::ScanType::Full as i32);
    let mut stream = stack
        .agent
        .watch_scan(pb::WatchScanRequest {
            scan_id: first.scan_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut last = None;
    while let Some(update) = stream.message().await.unwrap() {
        last = update.scan;
    }
    let last = last.expect("at least one update");
    assert_eq!(
        last.status,
        common::ScanStatus::Succeeded as i32,
        "the stream ends with the terminal state"
    );
    for _ in 0..200 {
        let info = stack
            .agent
            .get_agent_info(pb::GetAgentInfoRequest {})
            .await
            .unwrap()
            .into_inner();
        if info
            .last_scan
            .as_ref()
            .is_some_and(|s| s.scan_type == common::ScanType::Incremental as i32)
        {
            for stop in stack.stops.drain(..) {
                let _ = stop.send(());
            }
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no incremental periodic scan followed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn periodic_scans_are_full_again_once_the_last_full_one_is_old() {
    // Only full scans resolve findings: without them a fix would never show.
    let mut stack = start_with(Duration::from_millis(200), Duration::from_millis(900)).await;
    let mut seen: Vec<(String, i32)> = Vec::new();
    for _ in 0..500 {
        let info = stack
            .agent
            .get_agent_info(pb::GetAgentInfoRequest {})
            .await
            .unwrap()
            .into_inner();
        if let Some(last) = info.last_scan
            && seen.last().is_none_or(|(id, _)| *id != last.scan_id)
        {
            seen.push((last.scan_id, last.scan_type));
        }
        let kinds: Vec<i32> = seen.iter().map(|(_, kind)| *kind).collect();
        let full = common::ScanType::Full as i32;
        let incremental = common::ScanType::Incremental as i32;
        if let Some(i) = kinds.iter().position(|k| *k == incremental)
            && kinds[i..].contains(&full)
        {
            assert_eq!(kinds[0], full, "the first periodic scan is full: {kinds:?}");
            for stop in stack.stops.drain(..) {
                let _ = stop.send(());
            }
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no full periodic scan after the incremental ones: {seen:?}");
}
