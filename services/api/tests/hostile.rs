//! Hostile callers against the real `zerotrace-api` binary, on loopback: each
//! attack of the hardening issue, reproduced, and shown contained with the
//! target figures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use prost::Message as _;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tonic::Request;
use tonic::transport::Channel;
use zerotrace_proto::api::v1 as pb;
use zerotrace_proto::api::v1::api_service_client::ApiServiceClient;
use zerotrace_proto::common::v1 as common;

const READER: &str = "hostile-reader-token";

struct Api {
    child: Child,
    grpc: String,
    metrics: String,
    log: std::path::PathBuf,
    dir: tempfile::TempDir,
}

impl Drop for Api {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Api {
    /// Starts the binary on port 0 with its defaults (but the reader token).
    fn start(extra: &[&str]) -> Api {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("api.log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_zerotrace-api"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--metrics-listen",
                "127.0.0.1:0",
                "--print-addr",
            ])
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(["--reader-token", READER])
            .args(extra)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("zerotrace-api starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(name))
                .expect("address line")
                .to_string()
        };
        let (grpc, metrics) = (field("grpc="), field("metrics="));
        Api {
            child,
            grpc,
            metrics,
            log,
            dir,
        }
    }

    async fn client(&self) -> ApiServiceClient<Channel> {
        ApiServiceClient::connect(format!("http://{}", self.grpc))
            .await
            .unwrap()
            .max_encoding_message_size(64 << 20)
            .max_decoding_message_size(64 << 20)
    }

    /// The process's peak resident memory (VmHWM), bytes.
    fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .expect("VmHWM")
    }
}

fn reader<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {READER}").parse().unwrap());
    request
}

/// A gRPC frame of a SubmitScanReportRequest whose report holds `n` empty
/// findings: two bytes each on the wire, hundreds once decoded (the
/// amplification a token-less caller would buy if the body were read).
fn amplifying_report(n: usize) -> bytes::Bytes {
    let mut report = Vec::with_capacity(2 * n);
    for _ in 0..n {
        report.extend_from_slice(&[0x4a, 0x00]); // field 9 (findings), length 0
    }
    let mut message = vec![0x12]; // field 2 (report), length-delimited
    prost::encoding::encode_varint(report.len() as u64, &mut message);
    message.extend_from_slice(&report);
    let mut frame = vec![0];
    frame.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
    frame.extend_from_slice(&message);
    frame.into()
}

/// Sends `body` as one SubmitScanReport call without a token on a fresh
/// HTTP/2 connection; returns its grpc-status and how long the answer took.
async fn send_raw(addr: &str, body: bytes::Bytes) -> (Option<String>, Duration) {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (h2, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    let mut h2 = h2.ready().await.unwrap();
    let request = http::Request::builder()
        .method("POST")
        .uri(format!("http://{addr}/zerotrace.api.v1.ApiService/SubmitScanReport"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .unwrap();
    let started = Instant::now();
    let (response, mut stream) = h2.send_request(request, false).unwrap();
    // Offer the whole body; flow control sends what the server lets through.
    let _ = stream.send_data(body, true);
    let response = tokio::time::timeout(Duration::from_secs(10), response)
        .await
        .expect("answered")
        .unwrap();
    let elapsed = started.elapsed();
    let status = response
        .headers()
        .get("grpc-status")
        .map(|v| v.to_str().unwrap().to_string());
    (status, elapsed)
}

#[tokio::test]
async fn a_huge_report_without_a_token_is_refused_before_its_body_is_read() {
    let api = Api::start(&[]);
    let mut client = api.client().await;
    // Warm the process up, then take the baseline.
    let _ = client.list_agents(reader(pb::ListAgentsRequest::default())).await;
    let before = api.peak_rss();
    let body = amplifying_report(15 << 19);
    assert!(body.len() >= 15 << 20);
    let mut calls = Vec::new();
    for _ in 0..3 {
        let (addr, body) = (api.grpc.clone(), body.clone());
        calls.push(tokio::spawn(async move { send_raw(&addr, body).await }));
    }
    for call in calls {
        let (status, elapsed) = call.await.unwrap();
        assert_eq!(status.as_deref(), Some("16"), "UNAUTHENTICATED from the headers");
        assert!(elapsed < Duration::from_millis(100), "refused in {elapsed:?}");
    }
    let grown = api.peak_rss().saturating_sub(before);
    assert!(
        grown < 64 << 20,
        "three token-less 15 MiB reports grew the API by {} MiB",
        grown >> 20
    );
    // The server counts what it answered: three refusals.
    let scrape = zerotrace_loadgen::scrape(api.metrics.parse().unwrap()).await.unwrap();
    let refused: f64 = scrape
        .lines()
        .filter(|l| l.starts_with("zerotrace_api_requests_total{"))
        .filter(|l| l.contains(r#"method="SubmitScanReport""#) && l.contains(r#"status="UNAUTHENTICATED""#))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(refused, 3.0, "{scrape}");
}

#[tokio::test]
async fn a_burst_of_registrations_from_one_peer_is_limited() {
    let api = Api::start(&[]);
    let client = api.client().await;
    let mut calls = Vec::new();
    for i in 0..500 {
        let mut client = client.clone();
        calls.push(tokio::spawn(async move {
            client
                .register_agent(pb::RegisterAgentRequest {
                    hostname: format!("burst-{i}"),
                    ..Default::default()
                })
                .await
        }));
    }
    let (mut ok, mut limited) = (0, 0);
    for call in calls {
        match call.await.unwrap() {
            Ok(_) => ok += 1,
            Err(status) if status.code() == tonic::Code::ResourceExhausted => {
                let details = tonic_types::StatusExt::get_error_details(&status);
                assert_eq!(details.error_info().unwrap().reason, "REGISTRATIONS_LIMITED");
                assert!(details.retry_info().is_some(), "a later registration passes");
                limited += 1;
            }
            Err(status) => panic!("{status:?}"),
        }
    }
    assert!(ok <= 50, "{ok} of 500 registrations passed");
    assert!(ok >= 1 && ok + limited == 500, "{ok} passed, {limited} limited");
}

#[tokio::test]
async fn headers_only_streams_without_a_token_hold_nothing() {
    let api = Api::start(&[]);
    // One connection, 300 streams that send headers and never a body.
    let tcp = tokio::net::TcpStream::connect(&api.grpc).await.unwrap();
    let (h2, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    let mut streams = Vec::new();
    for _ in 0..300 {
        let mut h2 = h2.clone().ready().await.unwrap();
        let request = http::Request::builder()
            .method("POST")
            .uri(format!("http://{}/zerotrace.api.v1.ApiService/ListFindings", api.grpc))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(())
            .unwrap();
        let (response, body) = h2.send_request(request, false).unwrap();
        streams.push((response, body));
    }
    // Meanwhile an authenticated client on another connection is answered at once.
    let mut client = api.client().await;
    let started = Instant::now();
    client
        .list_agents(reader(pb::ListAgentsRequest::default()))
        .await
        .expect("answered");
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    // And every body-less stream was refused from its headers.
    let mut refused = 0;
    for (response, _body) in streams.into_iter().take(50) {
        let response = tokio::time::timeout(Duration::from_secs(5), response)
            .await
            .expect("answered without a body")
            .unwrap();
        let status = response
            .headers()
            .get("grpc-status")
            .map(|v| v.to_str().unwrap().to_string());
        assert_eq!(status.as_deref(), Some("16"), "UNAUTHENTICATED");
        refused += 1;
    }
    assert_eq!(refused, 50);
}

#[tokio::test]
async fn a_large_body_on_a_read_call_is_refused_at_its_limit() {
    let api = Api::start(&[]);
    let mut client = api.client().await;
    let status = client
        .list_findings(reader(pb::ListFindingsRequest {
            page_token: "x".repeat(1 << 20),
            ..Default::default()
        }))
        .await
        .expect_err("refused");
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    let details = tonic_types::StatusExt::get_error_details(&status);
    let info = details.error_info().unwrap();
    assert_eq!(info.reason, "MESSAGE_TOO_LARGE");
    assert_eq!(info.metadata.get("limit").map(String::as_str), Some("65536"));
    assert!(details.retry_info().is_none(), "it can never fit");
}

#[tokio::test]
async fn a_host_name_cannot_forge_a_log_line() {
    let api = Api::start(&[]);
    let mut client = api.client().await;
    let forged = "build-01\n2026-12-04T00:00:00.000000Z  INFO zerotrace_api: agent deleted\r\u{1b}[2J\u{0}";
    client
        .register_agent(pb::RegisterAgentRequest {
            hostname: forged.to_string(),
            ..Default::default()
        })
        .await
        .expect("registered: a host name is free text");
    let deadline = Instant::now() + Duration::from_secs(5);
    let log = loop {
        let log = std::fs::read_to_string(&api.log).unwrap();
        if log.contains("agent registered") {
            break log;
        }
        assert!(Instant::now() < deadline, "no registration logged:\n{log}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        !log.lines().any(|l| l.starts_with("2026-12-04T00:00:00.000000Z")),
        "a forged line:\n{log}"
    );
    assert!(
        !log.contains('\u{1b}') && !log.contains('\r') && !log.contains('\u{0}'),
        "{log:?}"
    );
    let line = log.lines().find(|l| l.contains("agent registered")).unwrap();
    assert!(line.contains(r"build-01\n2026-12-04T00:00:00.000000Z"), "{line}");
}

/// A finding of `package` by `id` with `details` and a risk score.
fn finding(package: &str, id: &str, details: String, risk_score: f64) -> common::Finding {
    common::Finding {
        package: Some(common::Package {
            ecosystem: "crates.io".to_string(),
            name: package.to_string(),
            version: "1.0.0".to_string(),
            ..Default::default()
        }),
        vulnerability: Some(common::Vulnerability {
            id: id.to_string(),
            details,
            risk_score,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn as_agent<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

#[tokio::test]
async fn what_a_report_carries_is_bounded_and_pages_fit_a_client() {
    let api = Api::start(&[]);
    let mut client = api.client().await;
    let agent = client
        .register_agent(pb::RegisterAgentRequest {
            hostname: "big".to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let submit = |findings: Vec<common::Finding>, unmatched: Vec<common::UnmatchedPackage>| {
        let mut client = client.clone();
        let request = as_agent(
            pb::SubmitScanReportRequest {
                agent_id: agent.agent_id.clone(),
                report: Some(pb::ScanReport {
                    scan_id: format!("scan-{}", findings.len()),
                    status: common::ScanStatus::Succeeded as i32,
                    scan_type: common::ScanType::Full as i32,
                    root: "/src".to_string(),
                    findings,
                    unmatched,
                    ..Default::default()
                }),
            },
            &agent.token,
        );
        async move { client.submit_scan_report(request).await }
    };

    // A score out of its range is refused, naming the field.
    let refused = submit(vec![finding("a", "RUSTSEC-2020-0001", String::new(), 1e300)], vec![])
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
    assert!(refused.message().contains("risk_score"), "{}", refused.message());

    // 4 MiB of details on one finding, 100 KiB on fifty more, and more
    // unmatched packages than a stored report keeps.
    let mut findings = vec![finding("huge", "RUSTSEC-2021-0001", "x".repeat(4 << 20), 90.0)];
    for i in 0..50 {
        findings.push(finding(
            &format!("p{i}"),
            "RUSTSEC-2022-0001",
            "y".repeat(100 << 10),
            50.0,
        ));
    }
    let unmatched: Vec<_> = (0..80_000)
        .map(|i| common::UnmatchedPackage {
            package: Some(common::Package {
                ecosystem: "npm".to_string(),
                name: format!("local-package-{i}"),
                ..Default::default()
            }),
            reason: "not from the registry".to_string(),
        })
        .collect();
    let stored = submit(findings, unmatched).await.expect("stored").into_inner();

    let mut listed = Vec::new();
    let mut pages = 0;
    let mut page_token = String::new();
    loop {
        let page = client
            .list_findings(reader(pb::ListFindingsRequest {
                page_size: 1000,
                page_token: page_token.clone(),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        assert!(
            page.encoded_len() <= zerotrace_api::MAX_PAGE_BYTES + 4096,
            "page of {} bytes",
            page.encoded_len()
        );
        listed.extend(page.findings);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(listed.len(), 51, "every finding is listed once, across pages");
    assert!(pages >= 2, "51 findings of 64 KiB do not fit one page");
    let details_len = |f: &common::Finding| f.vulnerability.as_ref().unwrap().details.len();
    assert!(listed.iter().all(|f| details_len(f) <= 64 << 10));
    assert!(
        listed
            .iter()
            .any(|f| f.vulnerability.as_ref().unwrap().details.ends_with('…'))
    );

    let scan = client
        .get_scan(reader(pb::GetScanRequest {
            agent_id: agent.agent_id.clone(),
            scan_id: stored.scan_id,
        }))
        .await
        .unwrap()
        .into_inner()
        .scan
        .unwrap();
    assert!(
        scan.encoded_len() < 4 << 20,
        "GetScan answers {} bytes",
        scan.encoded_len()
    );
    assert!(
        scan.unmatched_count > 0 && scan.unmatched_count < 80_000,
        "{}",
        scan.unmatched_count
    );
    let report = scan.report.unwrap();
    let said = report
        .errors
        .iter()
        .find(|e| e.message.contains("unmatched packages"))
        .expect("the shortened list is said");
    assert!(
        said.message
            .contains(&format!("kept {} of the report's 80000", scan.unmatched_count)),
        "{}",
        said.message
    );
}

#[cfg(unix)]
#[tokio::test]
async fn data_at_rest_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let api = Api::start(&[]);
    let mut client = api.client().await;
    client
        .register_agent(pb::RegisterAgentRequest {
            hostname: "h".to_string(),
            ..Default::default()
        })
        .await
        .unwrap();
    let data = api.dir.path().join("data");
    let mode = |name: &str| {
        let path = data.join(name);
        std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(""), 0o700, "the data directory");
    for file in ["api.sqlite3", "api.sqlite3-wal", "api.sqlite3-shm", "reader_token"] {
        if file == "reader_token" && !data.join(file).exists() {
            continue; // the test passes its own reader token
        }
        assert_eq!(mode(file), 0o600, "{file}");
    }
}
