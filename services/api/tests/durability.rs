//! Proof of durability: the real `zerotrace-api` binary is killed with
//! SIGKILL while many clients submit reports; after a restart on the same
//! database every acknowledged report is present and complete, and no report
//! is half-present. Against SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tonic::Request;
use tonic::transport::Channel;
use zerotrace_proto::api::v1 as pb;
use zerotrace_proto::api::v1::api_service_client::ApiServiceClient;
use zerotrace_proto::common::v1::ScanType;

const READER: &str = "durability-reader-token";
const CLIENTS: usize = 16;

struct Api {
    child: Child,
    grpc: String,
}

impl Drop for Api {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary on port 0 and reads its bound address from stdout.
fn start(data_dir: &std::path::Path, database_url: &str) -> Api {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zerotrace-api"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
            "--print-addr",
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--database-url", database_url, "--reader-token", READER])
        .args(["--rate-limit-per-agent", "0", "--registrations-per-peer", "0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("zerotrace-api starts");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let grpc = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("grpc="))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    Api { child, grpc }
}

async fn client(addr: &str) -> ApiServiceClient<Channel> {
    ApiServiceClient::new(
        Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap(),
    )
}

fn authed<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

/// Findings of one scan: distinct per scan, 1 to 150 of them.
fn scan_findings(scan_id: &str, seq: usize) -> Vec<zerotrace_proto::common::v1::Finding> {
    findings(scan_id, 1 + (seq * 37) % 150)
}

async fn kill_mid_load_and_check(data_dir: &std::path::Path, database_url: &str) {
    let mut api = start(data_dir, database_url);
    let mut setup = client(&api.grpc).await;
    let mut agents = Vec::new();
    for i in 0..CLIENTS {
        let r = setup
            .register_agent(pb::RegisterAgentRequest {
                hostname: format!("host-{i}"),
                version: "1".into(),
                agent_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        agents.push((r.agent_id, r.token));
    }

    let acked: Arc<Mutex<Vec<(String, String, u32)>>> = Arc::default();
    let mut tasks = Vec::new();
    for (agent, token) in agents.clone() {
        let acked = acked.clone();
        let mut c = client(&api.grpc).await;
        tasks.push(tokio::spawn(async move {
            for seq in 0.. {
                let scan_id = format!("{agent}-{seq}");
                let fs = scan_findings(&scan_id, seq);
                let n = fs.len() as u32;
                let request = pb::SubmitScanReportRequest {
                    agent_id: agent.clone(),
                    report: Some(report(&scan_id, ScanType::Incremental, fs)),
                };
                match c.submit_scan_report(authed(request, &token)).await {
                    Ok(_) => acked.lock().unwrap().push((agent.clone(), scan_id, n)),
                    Err(_) => return,
                }
            }
        }));
    }
    // Kill once a good number of reports are acknowledged (bounded in time).
    let deadline = Instant::now() + Duration::from_secs(10);
    while acked.lock().unwrap().len() < 150 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    api.child.kill().unwrap(); // SIGKILL
    api.child.wait().unwrap();
    for task in tasks {
        tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("clients notice the kill")
            .unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 20,
        "only {} reports acknowledged before the kill",
        acked.len()
    );
    drop(api);

    let api = start(data_dir, database_url);
    let mut reader = client(&api.grpc).await;
    let mut stored_scans: HashMap<(String, String), u32> = HashMap::new();
    let mut stored_findings: HashMap<(String, String), u32> = HashMap::new();
    for (agent, _) in &agents {
        let mut page_token = String::new();
        loop {
            let page = reader
                .list_scans(authed(
                    pb::ListScansRequest {
                        agent_id: agent.clone(),
                        page_size: 1000,
                        page_token: page_token.clone(),
                        ..Default::default()
                    },
                    READER,
                ))
                .await
                .unwrap()
                .into_inner();
            for scan in page.scans {
                let id = scan.report.unwrap().scan_id;
                stored_scans.insert((agent.clone(), id), scan.finding_count);
            }
            if page.next_page_token.is_empty() {
                break;
            }
            page_token = page.next_page_token;
        }
        let mut page_token = String::new();
        loop {
            let page = reader
                .list_findings(authed(
                    pb::ListFindingsRequest {
                        filter: Some(pb::FindingFilter {
                            agent_id: agent.clone(),
                            ..Default::default()
                        }),
                        page_size: 1000,
                        page_token: page_token.clone(),
                        ..Default::default()
                    },
                    READER,
                ))
                .await
                .unwrap()
                .into_inner();
            for f in page.findings {
                *stored_findings.entry((agent.clone(), f.scan_id)).or_default() += 1;
            }
            if page.next_page_token.is_empty() {
                break;
            }
            page_token = page.next_page_token;
        }
    }
    for (agent, scan_id, n) in &acked {
        let key = (agent.clone(), scan_id.clone());
        assert_eq!(stored_scans.get(&key), Some(n), "acknowledged scan {scan_id} lost");
        assert_eq!(
            stored_findings.get(&key),
            Some(n),
            "acknowledged scan {scan_id} incomplete"
        );
    }
    for (key, n) in &stored_scans {
        assert_eq!(
            stored_findings.get(key).copied().unwrap_or(0),
            *n,
            "scan {key:?} half-present"
        );
    }
    for key in stored_findings.keys() {
        assert!(stored_scans.contains_key(key), "findings without their scan {key:?}");
    }
    eprintln!(
        "durability: {} acknowledged, {} stored (in-flight reports either whole or absent)",
        acked.len(),
        stored_scans.len()
    );

    // The agents' tokens survived too.
    let (agent, token) = &agents[0];
    let mut agent_client = client(&api.grpc).await;
    agent_client
        .heartbeat(authed(
            pb::HeartbeatRequest {
                agent_id: agent.clone(),
            },
            token,
        ))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_reports_survive_sigkill_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    kill_mid_load_and_check(dir.path(), "").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_reports_survive_sigkill_on_postgres() {
    let Some(schema) = PgSchema::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = schema.url.clone();
    let outcome = tokio::spawn(async move { kill_mid_load_and_check(dir.path(), &url).await }).await;
    schema.drop_schema().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
