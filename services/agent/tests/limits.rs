//! Scans that cannot finish: an enrichment service that accepts connections
//! and never answers holds a scan in its match phase. The scan times out,
//! frees its root, counts against the concurrent-scan limit meanwhile, and
//! never holds the agent's shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tonic::Code;
use zerotrace_agent::AgentConfig;
use zerotrace_proto::agent::v1 as pb;
use zerotrace_proto::agent::v1::agent_service_client::AgentServiceClient;
use zerotrace_proto::common::v1 as common;
use zerotrace_server::Listeners;

const LOCK: &str = "version = 3\n\n[[package]]\nname = \"demo-crate\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n";

type Agent = AgentServiceClient<tonic::transport::Channel>;

async fn trigger(agent: &mut Agent, root: &Path) -> Result<String, tonic::Status> {
    agent
        .trigger_scan(pb::TriggerScanRequest {
            path: root.display().to_string(),
            scan_type: common::ScanType::Full as i32,
        })
        .await
        .map(|r| r.into_inner().scan_id)
}

async fn state(agent: &mut Agent, scan_id: &str) -> pb::ScanState {
    agent
        .get_scan_status(pb::GetScanStatusRequest {
            scan_id: scan_id.to_string(),
        })
        .await
        .unwrap()
        .into_inner()
        .scan
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_that_cannot_finish_times_out_frees_its_root_and_never_holds_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for root in [&a, &b] {
        std::fs::create_dir_all(root).unwrap();
        std::fs::write(root.join("Cargo.lock"), LOCK).unwrap();
    }
    // Accepts connections and never answers them.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap();

    let any = "127.0.0.1:0".parse().unwrap();
    let listeners = Listeners::bind(any, any).await.unwrap();
    let addr = listeners.grpc_addr().unwrap();
    let mut config = <AgentConfig as clap::Parser>::parse_from([
        "zerotrace-agent",
        "--scan-timeout",
        "2s",
        "--max-concurrent-scans",
        "1",
        "--shutdown-grace",
        "1s",
    ]);
    config.data_dir = dir.path().join("agent");
    config.allowed_roots = vec![dir.path().to_path_buf()];
    config.enrichment_url = format!("http://{silent_addr}");
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(zerotrace_agent::serve(config, listeners, async {
        let _ = stopped.await;
    }));
    let mut agent = AgentServiceClient::connect(format!("http://{addr}")).await.unwrap();

    let stuck = trigger(&mut agent, &a).await.expect("the first scan starts");
    let busy = trigger(&mut agent, &b).await.unwrap_err();
    assert_eq!(busy.code(), Code::ResourceExhausted, "{busy:?}");
    assert!(busy.message().contains("--max-concurrent-scans"), "{}", busy.message());

    let started = Instant::now();
    let ended = loop {
        let s = state(&mut agent, &stuck).await;
        if s.status != common::ScanStatus::Running as i32 {
            break s;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "the scan never timed out");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(ended.status, common::ScanStatus::Failed as i32);
    assert!(
        ended.error_message.contains("--scan-timeout"),
        "{}",
        ended.error_message
    );

    // Its root is free again, and so is its slot.
    let again = trigger(&mut agent, &a).await.expect("the root is free again");
    assert_ne!(again, stuck);

    // Shutting down while that scan hangs takes the grace period, no more.
    let stopping = Instant::now();
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), serving)
        .await
        .expect("shutdown does not wait for the stuck scan")
        .unwrap()
        .unwrap();
    assert!(stopping.elapsed() < Duration::from_secs(5), "{:?}", stopping.elapsed());
    drop(silent);
}
