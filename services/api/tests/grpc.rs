//! The API over real gRPC: a server on 127.0.0.1:0 (SQLite in a temporary
//! directory), auth, idempotency, the bad-input table, paging, WatchFindings,
//! limits and the metric series.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::oneshot;
use tonic::transport::Channel;
use tonic::{Code, Request};
use tonic_types::StatusExt as _;
use zerotrace_api::ApiConfig;
use zerotrace_proto::api::v1 as pb;
use zerotrace_proto::api::v1::api_service_client::ApiServiceClient;
use zerotrace_proto::common::v1::{ScanType, Severity};
use zerotrace_server::Listeners;

const READER: &str = "reader-secret-token";

struct Server {
    grpc: SocketAddr,
    metrics: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), zerotrace_api::StartError>>,
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    async fn start(tweak: impl FnOnce(&mut ApiConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut server = Self::start_in(dir.path(), tweak).await;
        server._dir = Some(dir);
        server
    }

    /// Starts a server on the data in `dir` (which outlives it).
    async fn start_in(dir: &std::path::Path, tweak: impl FnOnce(&mut ApiConfig)) -> Self {
        let mut config = ApiConfig::with_data_dir(dir);
        config.reader_token = READER.to_string();
        // Tests register many agents from one address; the per-peer limit has its own test.
        config.registrations_per_peer = 0;
        tweak(&mut config);
        let listeners = Listeners::bind("127.0.0.1:0".parse().unwrap(), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let grpc = listeners.grpc_addr().unwrap();
        let metrics = listeners.metrics_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(zerotrace_api::serve(config, listeners, async {
            let _ = stopped.await;
        }));
        Self {
            grpc,
            metrics,
            stop: Some(stop),
            task,
            _dir: None,
        }
    }

    async fn client(&self) -> ApiServiceClient<Channel> {
        ApiServiceClient::new(
            Channel::from_shared(format!("http://{}", self.grpc))
                .unwrap()
                .connect()
                .await
                .unwrap(),
        )
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(15), &mut self.task)
            .await
            .expect("server stops")
            .unwrap()
            .unwrap();
    }

    async fn scrape(&self) -> String {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut stream = tokio::net::TcpStream::connect(self.metrics).await.unwrap();
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut body = String::new();
        stream.read_to_string(&mut body).await.unwrap();
        body
    }
}

fn authed<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

async fn register(client: &mut ApiServiceClient<Channel>, host: &str) -> (String, String) {
    let response = client
        .register_agent(pb::RegisterAgentRequest {
            hostname: host.to_string(),
            version: "1.0.0".to_string(),
            agent_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!response.agent_id.is_empty());
    assert!(response.token.len() >= 43);
    (response.agent_id, response.token)
}

/// Submits `report` as `agent_id`; the call must succeed.
async fn submit_ok(
    client: &mut ApiServiceClient<Channel>,
    agent_id: &str,
    token: &str,
    report: pb::ScanReport,
) -> pb::SubmitScanReportResponse {
    client
        .submit_scan_report(authed(submit_request(agent_id, report), token))
        .await
        .unwrap()
        .into_inner()
}

fn submit_request(agent_id: &str, report: pb::ScanReport) -> pb::SubmitScanReportRequest {
    pb::SubmitScanReportRequest {
        agent_id: agent_id.to_string(),
        report: Some(report),
    }
}

#[tokio::test]
async fn calls_need_the_right_token() {
    let server = Server::start(|_| {}).await;
    let mut client = server.client().await;
    let (a, a_token) = register(&mut client, "a").await;
    let (b, b_token) = register(&mut client, "b").await;

    let code = |r: Result<tonic::Response<_>, tonic::Status>| r.map(|_: tonic::Response<()>| ()).unwrap_err().code();
    let list = |token: Option<&str>| {
        let request = match token {
            Some(t) => authed(pb::ListAgentsRequest::default(), t),
            None => Request::new(pb::ListAgentsRequest::default()),
        };
        let mut client = client.clone();
        async move { client.list_agents(request).await.map(|_| tonic::Response::new(())) }
    };
    assert_eq!(code(list(None).await), Code::Unauthenticated);
    assert_eq!(code(list(Some("wrong")).await), Code::Unauthenticated);
    assert_eq!(
        code(list(Some(&a_token)).await),
        Code::Unauthenticated,
        "an agent token does not read"
    );
    let agents = client
        .list_agents(authed(pb::ListAgentsRequest::default(), READER))
        .await
        .unwrap()
        .into_inner()
        .agents;
    assert_eq!(agents.len(), 2);
    assert!(agents.iter().all(|x| x.status == pb::AgentStatus::Online as i32));

    let beat = |agent: &str, token: Option<&str>| {
        let message = pb::HeartbeatRequest {
            agent_id: agent.to_string(),
        };
        let request = match token {
            Some(t) => authed(message, t),
            None => Request::new(message),
        };
        let mut client = client.clone();
        async move { client.heartbeat(request).await.map(|_| tonic::Response::new(())) }
    };
    assert!(beat(&a, Some(&a_token)).await.is_ok());
    assert_eq!(code(beat(&a, None).await), Code::Unauthenticated);
    assert_eq!(code(beat(&a, Some("forged")).await), Code::Unauthenticated);
    assert_eq!(
        code(beat(&a, Some(READER)).await),
        Code::Unauthenticated,
        "the reader token does not write"
    );
    assert_eq!(
        code(beat(&a, Some(&b_token)).await),
        Code::PermissionDenied,
        "b writing as a"
    );
    let err = client
        .clone()
        .submit_scan_report(authed(
            submit_request(&a, report("s", ScanType::Full, vec![])),
            &b_token,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    // Re-registering an id needs that agent's current token, which it keeps.
    let again = |token: Option<&str>| {
        let message = pb::RegisterAgentRequest {
            hostname: "a2".to_string(),
            version: "2".to_string(),
            agent_id: a.clone(),
        };
        let request = match token {
            Some(t) => authed(message, t),
            None => Request::new(message),
        };
        let mut client = client.clone();
        async move { client.register_agent(request).await }
    };
    assert_eq!(again(None).await.unwrap_err().code(), Code::PermissionDenied);
    assert_eq!(again(Some(&b_token)).await.unwrap_err().code(), Code::PermissionDenied);
    let renewed = again(Some(&a_token)).await.unwrap().into_inner();
    assert_eq!(
        (renewed.agent_id.as_str(), renewed.token.as_str()),
        (a.as_str(), a_token.as_str())
    );
    assert!(beat(&a, Some(&a_token)).await.is_ok());
    let _ = b;
    server.stop().await;
}

#[tokio::test]
async fn registration_token_guards_new_agents() {
    let server = Server::start(|c| c.registration_token = "let-me-in".to_string()).await;
    let mut client = server.client().await;
    let request = pb::RegisterAgentRequest {
        hostname: "h".to_string(),
        ..Default::default()
    };
    let err = client.register_agent(request.clone()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    let err = client
        .register_agent(authed(request.clone(), "nope"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    let ok = client
        .register_agent(authed(request, "let-me-in"))
        .await
        .unwrap()
        .into_inner();
    // Its id is then taken, even for the registration token.
    let err = client
        .register_agent(authed(
            pb::RegisterAgentRequest {
                agent_id: ok.agent_id.clone(),
                ..Default::default()
            },
            "let-me-in",
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    server.stop().await;
}

#[tokio::test]
async fn re_registration_keeps_the_token_and_an_admin_can_reset_it() {
    let server = Server::start(|c| {
        c.registration_token = "let-me-in".to_string();
        c.admin_token = "admin-secret".to_string();
    })
    .await;
    let mut client = server.client().await;
    let first = client
        .register_agent(authed(
            pb::RegisterAgentRequest {
                hostname: "old-host".to_string(),
                ..Default::default()
            },
            "let-me-in",
        ))
        .await
        .unwrap()
        .into_inner();
    let beats = client.clone();
    let heartbeat = |token: &str| {
        let mut client = beats.clone();
        let request = authed(
            pb::HeartbeatRequest {
                agent_id: first.agent_id.clone(),
            },
            token,
        );
        async move { client.heartbeat(request).await.map(|_| ()) }
    };
    // Re-registering with its own token, twice, changes nothing but the host.
    for _ in 0..2 {
        let again = client
            .register_agent(authed(
                pb::RegisterAgentRequest {
                    hostname: "new-host".to_string(),
                    version: "2.0.0".to_string(),
                    agent_id: first.agent_id.clone(),
                },
                &first.token,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (again.agent_id.as_str(), again.token.as_str()),
            (first.agent_id.as_str(), first.token.as_str())
        );
    }
    heartbeat(&first.token).await.expect("the token still works");
    let agents = client
        .list_agents(authed(pb::ListAgentsRequest::default(), READER))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(agents.agents[0].hostname, "new-host");

    // Admin calls need the admin token; a reset gives a new token at once.
    let resets = client.clone();
    let reset = |token: &str, agent_id: &str| {
        let mut client = resets.clone();
        let request = authed(
            pb::ResetAgentTokenRequest {
                agent_id: agent_id.to_string(),
            },
            token,
        );
        async move { client.reset_agent_token(request).await }
    };
    // The reader token is known but read-only; an agent's token or a made-up
    // one is no admin credential at all.
    let err = reset(READER, &first.agent_id).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    for token in [first.token.as_str(), "let-me-in"] {
        let err = reset(token, &first.agent_id).await.unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated, "{token}: {err:?}");
    }
    let err = reset("admin-secret", "no-such-agent").await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let new = reset("admin-secret", &first.agent_id).await.unwrap().into_inner();
    assert_eq!(new.agent_id, first.agent_id);
    assert_ne!(new.token, first.token);
    assert_eq!(heartbeat(&first.token).await.unwrap_err().code(), Code::Unauthenticated);
    heartbeat(&new.token).await.expect("the new token works");
    server.stop().await;

    // Without an admin token configured, admin calls are off.
    let server = Server::start(|_| {}).await;
    let mut client = server.client().await;
    let err = client
        .reset_agent_token(authed(
            pb::ResetAgentTokenRequest {
                agent_id: "a".to_string(),
            },
            READER,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(err.message().contains("--admin-token"), "{}", err.message());
    server.stop().await;
}

#[tokio::test]
async fn resubmitting_a_report_stores_nothing_twice() {
    let server = Server::start(|_| {}).await;
    let mut client = server.client().await;
    let (agent, token) = register(&mut client, "a").await;
    let request = submit_request(&agent, report("scan-1", ScanType::Full, findings("I", 30)));
    let first = client
        .submit_scan_report(authed(request.clone(), &token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (first.created, first.new_findings, first.scan_id.as_str()),
        (true, 30, "scan-1")
    );
    let retry = client
        .submit_scan_report(authed(request, &token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (retry.created, retry.new_findings, retry.resolved_findings),
        (false, 30, 0)
    );
    let listed = client
        .list_findings(authed(pb::ListFindingsRequest::default(), READER))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.total_size, 30);
    let scan = client
        .get_scan(authed(
            pb::GetScanRequest {
                agent_id: agent.clone(),
                scan_id: "scan-1".to_string(),
            },
            READER,
        ))
        .await
        .unwrap()
        .into_inner()
        .scan
        .unwrap();
    assert_eq!(scan.finding_count, 30);
    assert_eq!(scan.agent_id, agent);
    let scans = client
        .list_scans(authed(pb::ListScansRequest::default(), READER))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(scans.scans.len(), 1);
    let summary = client
        .get_summary(authed(pb::GetSummaryRequest::default(), READER))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((summary.open_findings, summary.scans), (30, 1));
    assert_eq!(summary.by_severity.len(), 6);
    assert_eq!(summary.agents.iter().map(|a| a.count).sum::<u64>(), 1);
    server.stop().await;
}

#[tokio::test]
async fn agents_are_told_the_report_limits_and_the_api_holds_to_them() {
    let server = Server::start(|c| {
        c.max_findings_per_report = 500;
        c.max_message_size = 1024 * 1024;
    })
    .await;
    let mut client = server.client().await;
    let registered = client
        .register_agent(pb::RegisterAgentRequest {
            hostname: "a".into(),
            version: "1.0.0".into(),
            agent_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let limits = pb::ReportLimits {
        max_message_bytes: 1024 * 1024,
        max_findings: 500,
    };
    assert_eq!(registered.report_limits, Some(limits));
    let (agent, token) = (registered.agent_id, registered.token);
    let beat = client
        .heartbeat(authed(
            pb::HeartbeatRequest {
                agent_id: agent.clone(),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(beat.report_limits, Some(limits));

    // The rule an agent checks with is the one the API holds to: a request
    // of exactly the limit as sent is stored, one byte more is refused.
    let sized = |scan_id: &str, bytes: u64| {
        let mut report = report(scan_id, ScanType::Full, findings("S", 3));
        report.errors.push(zerotrace_proto::common::v1::ScanError {
            path: "big".into(),
            message: String::new(),
        });
        let mut request = submit_request(&agent, report);
        let mut pad = 0usize;
        loop {
            request.report.as_mut().unwrap().errors[0].message = "x".repeat(pad);
            let size = prost::Message::encoded_len(&request) as u64 + 5;
            match size.cmp(&bytes) {
                std::cmp::Ordering::Equal => return request,
                std::cmp::Ordering::Less => pad += (bytes - size) as usize,
                // A longer length prefix overshot: one less.
                std::cmp::Ordering::Greater => pad -= 1,
            }
        }
    };
    let at_limit = sized("at-limit", limits.max_message_bytes);
    assert_eq!(zerotrace_proto::reports::check(&at_limit, &limits), Ok(()));
    client.submit_scan_report(authed(at_limit, &token)).await.unwrap();
    let over = sized("over-limit", limits.max_message_bytes + 1);
    let agent_says = zerotrace_proto::reports::check(&over, &limits).unwrap_err();
    assert_eq!(agent_says.reason, "MESSAGE_TOO_LARGE");
    let api_says = client.submit_scan_report(authed(over, &token)).await.unwrap_err();
    assert_eq!(api_says.code(), Code::ResourceExhausted, "{api_says:?}");
    // Counts alike: the API refuses what the shared check refuses, with its words.
    let crowded = submit_request(&agent, report("crowded", ScanType::Full, findings("C", 501)));
    let agent_says = zerotrace_proto::reports::check(&crowded, &limits).unwrap_err();
    let api_says = client.submit_scan_report(authed(crowded, &token)).await.unwrap_err();
    assert_eq!(api_says.code(), Code::ResourceExhausted, "{api_says:?}");
    assert_eq!(api_says.message(), agent_says.message);
    server.stop().await;
}

#[tokio::test]
async fn bad_input_gets_the_right_status_and_changes_nothing() {
    let server = Server::start(|c| {
        c.max_findings_per_report = 500;
        c.max_message_size = 1024 * 1024;
    })
    .await;
    let mut client = server.client().await;
    let (agent, token) = register(&mut client, "a").await;
    submit_ok(
        &mut client,
        &agent,
        &token,
        report("taken", ScanType::Full, findings("T", 20)),
    )
    .await;
    let page = client
        .list_findings(authed(
            pb::ListFindingsRequest {
                page_size: 5,
                ..Default::default()
            },
            READER,
        ))
        .await
        .unwrap()
        .into_inner();
    let real_token = page.next_page_token.clone();
    assert!(!real_token.is_empty());
    let scans_token = {
        submit_ok(
            &mut client,
            &agent,
            &token,
            report("other", ScanType::Incremental, vec![]),
        )
        .await;
        client
            .list_scans(authed(
                pb::ListScansRequest {
                    page_size: 1,
                    ..Default::default()
                },
                READER,
            ))
            .await
            .unwrap()
            .into_inner()
            .next_page_token
    };
    assert!(!scans_token.is_empty());
    let before = summary(&mut client).await;

    let good = || report("fresh", ScanType::Full, findings("G", 3));
    let with = |f: &dyn Fn(&mut pb::ScanReport)| {
        let mut r = good();
        f(&mut r);
        submit_request(&agent, r)
    };
    let submits: Vec<(&str, pb::SubmitScanReportRequest, Code)> = vec![
        ("empty agent_id", submit_request("", good()), Code::InvalidArgument),
        (
            "missing report",
            pb::SubmitScanReportRequest {
                agent_id: agent.clone(),
                report: None,
            },
            Code::InvalidArgument,
        ),
        ("empty scan_id", with(&|r| r.scan_id.clear()), Code::InvalidArgument),
        (
            "scan_id with a newline",
            with(&|r| r.scan_id = "a\nb".into()),
            Code::InvalidArgument,
        ),
        (
            "huge scan_id",
            with(&|r| r.scan_id = "x".repeat(300)),
            Code::InvalidArgument,
        ),
        (
            "unspecified scan_type",
            with(&|r| r.scan_type = 0),
            Code::InvalidArgument,
        ),
        ("unspecified status", with(&|r| r.status = 0), Code::InvalidArgument),
        (
            "finding without package",
            with(&|r| r.findings[2].package = None),
            Code::InvalidArgument,
        ),
        (
            "empty vulnerability id",
            with(&|r| r.findings[0].vulnerability.as_mut().unwrap().id.clear()),
            Code::InvalidArgument,
        ),
        (
            "NaN risk score",
            with(&|r| r.findings[0].vulnerability.as_mut().unwrap().risk_score = f64::NAN),
            Code::InvalidArgument,
        ),
        (
            "invalid started_at",
            with(&|r| r.started_at = Some(prost_types::Timestamp { seconds: 1, nanos: -5 })),
            Code::InvalidArgument,
        ),
        (
            "duplicate scan id, different content",
            submit_request(&agent, report("taken", ScanType::Full, findings("T", 19))),
            Code::AlreadyExists,
        ),
        (
            "too many findings",
            submit_request(&agent, report("many", ScanType::Full, findings("M", 501))),
            Code::ResourceExhausted,
        ),
        (
            "oversized message",
            with(&|r| r.findings[0].vulnerability.as_mut().unwrap().details = "x".repeat(2 * 1024 * 1024)),
            Code::ResourceExhausted,
        ),
    ];
    for (name, request, want) in submits {
        let err = client
            .submit_scan_report(authed(request, &token))
            .await
            .expect_err(name);
        assert_eq!(err.code(), want, "{name}: {}", err.message());
        if name == "too many findings" {
            assert!(err.message().contains("500"), "{name}: {}", err.message());
            // A limit no retry can pass: its reason and limit, and no RetryInfo.
            let info = err.get_details_error_info().expect("ErrorInfo");
            assert_eq!(info.reason, "TOO_MANY_FINDINGS");
            assert_eq!(info.metadata.get("limit").map(String::as_str), Some("500"));
            assert!(err.get_details_retry_info().is_none(), "{name}: no RetryInfo");
        }
        if name == "oversized message" {
            assert!(err.message().contains("1048576"), "{name}: {}", err.message());
        }
    }

    let mut tampered = real_token.clone().into_bytes();
    let at = tampered.len() / 2;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let list =
        |page_size: i32, page_token: &str, filter: Option<pb::FindingFilter>, sort: i32| pb::ListFindingsRequest {
            filter,
            sort,
            page_size,
            page_token: page_token.to_string(),
        };
    let kev = Some(pb::FindingFilter {
        known_exploited_only: true,
        ..Default::default()
    });
    let lists: Vec<(&str, pb::ListFindingsRequest)> = vec![
        ("negative page_size", list(-1, "", None, 0)),
        ("huge page_size", list(1_000_000, "", None, 0)),
        ("forged page_token", list(5, "Zm9yZ2VkLXRva2Vu", None, 0)),
        ("garbage page_token", list(5, "not base64 !!", None, 0)),
        ("tampered page_token", list(5, &tampered, None, 0)),
        ("page_token of another filter", list(5, &real_token, kev, 0)),
        (
            "page_token of another sort",
            list(5, &real_token, None, pb::FindingSort::Time as i32),
        ),
        ("page_token of another list", list(5, &scans_token, None, 0)),
        ("unknown sort", list(5, "", None, 9)),
        (
            "unknown min_severity",
            list(
                5,
                "",
                Some(pb::FindingFilter {
                    min_severity: 99,
                    ..Default::default()
                }),
                0,
            ),
        ),
    ];
    for (name, request) in lists {
        let err = client.list_findings(authed(request, READER)).await.expect_err(name);
        assert_eq!(err.code(), Code::InvalidArgument, "{name}: {}", err.message());
    }

    let others: Vec<(&str, Code, tonic::Status)> = vec![
        (
            "ListScans unknown status",
            Code::InvalidArgument,
            client
                .list_scans(authed(
                    pb::ListScansRequest {
                        status: 99,
                        ..Default::default()
                    },
                    READER,
                ))
                .await
                .unwrap_err(),
        ),
        (
            "ListScans start after end",
            Code::InvalidArgument,
            client
                .list_scans(authed(
                    pb::ListScansRequest {
                        start_time: Some(prost_types::Timestamp { seconds: 10, nanos: 0 }),
                        end_time: Some(prost_types::Timestamp { seconds: 5, nanos: 0 }),
                        ..Default::default()
                    },
                    READER,
                ))
                .await
                .unwrap_err(),
        ),
        (
            "ListScans findings page_token",
            Code::InvalidArgument,
            client
                .list_scans(authed(
                    pb::ListScansRequest {
                        page_token: real_token.clone(),
                        ..Default::default()
                    },
                    READER,
                ))
                .await
                .unwrap_err(),
        ),
        (
            "GetScan empty ids",
            Code::InvalidArgument,
            client
                .get_scan(authed(pb::GetScanRequest::default(), READER))
                .await
                .unwrap_err(),
        ),
        (
            "GetScan unknown",
            Code::NotFound,
            client
                .get_scan(authed(
                    pb::GetScanRequest {
                        agent_id: agent.clone(),
                        scan_id: "nope".into(),
                    },
                    READER,
                ))
                .await
                .unwrap_err(),
        ),
        (
            "Heartbeat empty agent_id",
            Code::InvalidArgument,
            client
                .heartbeat(authed(pb::HeartbeatRequest::default(), &token))
                .await
                .unwrap_err(),
        ),
        (
            "RegisterAgent control characters",
            Code::InvalidArgument,
            client
                .register_agent(pb::RegisterAgentRequest {
                    agent_id: "bad\u{7}id".into(),
                    ..Default::default()
                })
                .await
                .unwrap_err(),
        ),
        (
            "ListAgents negative page_size",
            Code::InvalidArgument,
            client
                .list_agents(authed(
                    pb::ListAgentsRequest {
                        page_size: -5,
                        page_token: String::new(),
                    },
                    READER,
                ))
                .await
                .unwrap_err(),
        ),
        (
            "ListAgents forged page_token",
            Code::InvalidArgument,
            client
                .list_agents(authed(
                    pb::ListAgentsRequest {
                        page_size: 1,
                        page_token: "AAAA".into(),
                    },
                    READER,
                ))
                .await
                .unwrap_err(),
        ),
    ];
    for (name, want, status) in others {
        assert_eq!(status.code(), want, "{name}: {}", status.message());
    }

    assert_eq!(summary(&mut client).await, before, "bad input changed nothing");
    server.stop().await;
}

async fn summary(client: &mut ApiServiceClient<Channel>) -> pb::GetSummaryResponse {
    client
        .get_summary(authed(pb::GetSummaryRequest::default(), READER))
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn findings_page_with_opaque_tokens() {
    let server = Server::start(|_| {}).await;
    let mut client = server.client().await;
    let (agent, token) = register(&mut client, "a").await;
    submit_ok(
        &mut client,
        &agent,
        &token,
        report("s", ScanType::Full, findings("P", 250)),
    )
    .await;
    for sort in [pb::FindingSort::Risk, pb::FindingSort::Severity, pb::FindingSort::Time] {
        let mut ids = HashSet::new();
        let mut page_token = String::new();
        let mut pages = 0;
        loop {
            let page = client
                .list_findings(authed(
                    pb::ListFindingsRequest {
                        filter: Some(pb::FindingFilter {
                            agent_id: agent.clone(),
                            ..Default::default()
                        }),
                        sort: sort as i32,
                        page_size: 100,
                        page_token: page_token.clone(),
                    },
                    READER,
                ))
                .await
                .unwrap()
                .into_inner();
            pages += 1;
            assert_eq!(page.total_size, 250);
            for f in page.findings {
                assert!(ids.insert(f.id.clone()), "{sort:?}: {} twice", f.id);
                assert!(f.first_seen.is_some() && f.vulnerability.is_some() && f.package.is_some());
            }
            if page.next_page_token.is_empty() {
                break;
            }
            page_token = page.next_page_token;
        }
        assert_eq!((pages, ids.len()), (3, 250), "{sort:?}");
    }
    let kev = client
        .list_findings(authed(
            pb::ListFindingsRequest {
                filter: Some(pb::FindingFilter {
                    known_exploited_only: true,
                    min_severity: Severity::Unknown as i32,
                    ..Default::default()
                }),
                ..Default::default()
            },
            READER,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(kev.total_size, 36);
    assert!(
        kev.findings
            .iter()
            .all(|f| f.vulnerability.as_ref().unwrap().known_exploited)
    );
    server.stop().await;
}

#[tokio::test]
async fn watch_streams_new_matching_findings_and_outlives_the_unary_timeout() {
    let server = Server::start(|c| c.request_timeout = Duration::from_millis(300)).await;
    let mut client = server.client().await;
    let (agent, token) = register(&mut client, "a").await;
    let err = client
        .watch_findings(pb::WatchFindingsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    let mut stream = client
        .watch_findings(authed(
            pb::WatchFindingsRequest {
                filter: Some(pb::FindingFilter {
                    min_severity: Severity::Critical as i32,
                    ..Default::default()
                }),
                ..Default::default()
            },
            READER,
        ))
        .await
        .unwrap()
        .into_inner();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let all = findings("W", 20);
    let critical = all
        .iter()
        .filter(|f| f.vulnerability.as_ref().unwrap().severity == Severity::Critical as i32)
        .count();
    submit_ok(&mut client, &agent, &token, report("s", ScanType::Full, all.clone())).await;
    for _ in 0..critical {
        let got = tokio::time::timeout(Duration::from_secs(5), stream.message())
            .await
            .expect("a finding arrives")
            .unwrap()
            .unwrap()
            .finding
            .unwrap();
        assert_eq!(got.vulnerability.unwrap().severity, Severity::Critical as i32);
        assert_eq!(got.agent_id, agent);
        assert!(got.first_seen.is_some());
    }
    // A retry publishes nothing new.
    submit_ok(&mut client, &agent, &token, report("s", ScanType::Full, all)).await;
    assert!(
        tokio::time::timeout(Duration::from_millis(200), stream.message())
            .await
            .is_err()
    );
    // Shutdown ends the stream.
    let stopping = tokio::spawn(server.stop());
    let end = tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("stream ends");
    assert!(
        matches!(end, Ok(None)) || end.as_ref().is_err_and(|s| s.code() == Code::Unavailable),
        "{end:?}"
    );
    stopping.await.unwrap();
}

#[tokio::test]
async fn a_slow_watcher_is_cut_off_with_resource_exhausted() {
    let server = Server::start(|c| c.watch_buffer = 2).await;
    let mut client = server.client().await;
    let (agent, token) = register(&mut client, "a").await;
    // A client that reads nothing: small HTTP/2 windows fill at once.
    let slow_channel = tonic::transport::Endpoint::from_shared(format!("http://{}", server.grpc))
        .unwrap()
        .initial_stream_window_size(Some(65_535))
        .initial_connection_window_size(Some(65_535))
        .connect()
        .await
        .unwrap();
    let mut slow = ApiServiceClient::new(slow_channel)
        .watch_findings(authed(pb::WatchFindingsRequest::default(), READER))
        .await
        .unwrap()
        .into_inner();
    for i in 0..12 {
        let mut fs = findings(&format!("O{i}"), 100);
        for f in &mut fs {
            f.vulnerability.as_mut().unwrap().details = "d".repeat(2000);
        }
        // Writers never wait for the watcher.
        tokio::time::timeout(
            Duration::from_secs(10),
            client.submit_scan_report(authed(
                submit_request(&agent, report(&format!("o{i}"), ScanType::Incremental, fs)),
                &token,
            )),
        )
        .await
        .expect("a slow watcher does not block writers")
        .unwrap();
    }
    let mut received = 0;
    let status = loop {
        match tokio::time::timeout(Duration::from_secs(10), slow.message())
            .await
            .expect("stream moves")
        {
            Ok(Some(_)) => received += 1,
            Ok(None) => panic!("stream ended without an error after {received} findings"),
            Err(status) => break status,
        }
    };
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("resume_token"), "{}", status.message());
    assert!(received < 1200, "{received}");
    server.stop().await;
}

#[tokio::test]
async fn values_of_a_newer_contract_are_stored_as_unknown() {
    let server = Server::start(|_| {}).await;
    let mut client = server.client().await;
    let (agent, token) = register(&mut client, "a").await;
    let mut newer = report("newer", ScanType::Full, findings("N", 2));
    newer.scan_type = 7;
    newer.status = 42;
    newer.findings[0].vulnerability.as_mut().unwrap().severity = 77;
    newer.findings[0].package.as_mut().unwrap().scope = 9;
    newer.findings[1].package.as_mut().unwrap().source = -3;
    let stored = client
        .submit_scan_report(authed(submit_request(&agent, newer), &token))
        .await
        .expect("a report from a newer agent is stored, not refused whole")
        .into_inner();
    assert_eq!((stored.created, stored.new_findings), (true, 2));
    let scan = client
        .get_scan(authed(
            pb::GetScanRequest {
                agent_id: agent.clone(),
                scan_id: "newer".to_string(),
            },
            READER,
        ))
        .await
        .unwrap()
        .into_inner()
        .scan
        .unwrap();
    let report = scan.report.unwrap();
    assert_eq!(
        (report.scan_type, report.status),
        (0, 0),
        "unknown scan type and status"
    );
    let listed = client
        .list_findings(authed(pb::ListFindingsRequest::default(), READER))
        .await
        .unwrap()
        .into_inner()
        .findings;
    let severities: Vec<i32> = listed
        .iter()
        .map(|f| f.vulnerability.as_ref().unwrap().severity)
        .collect();
    assert!(
        severities.contains(&(zerotrace_proto::common::v1::Severity::Unknown as i32)),
        "{severities:?}"
    );
    for f in &listed {
        let package = f.package.as_ref().unwrap();
        assert!(package.scope >= 0 && package.scope <= 3 && package.source >= 0 && package.source <= 4);
    }
    server.stop().await;
}

#[tokio::test]
async fn agents_are_rate_limited() {
    let server = Server::start(|c| c.rate_limit_per_agent = 5).await;
    let mut client = server.client().await;
    let (agent, token) = register(&mut client, "a").await;
    let (other, other_token) = register(&mut client, "b").await;
    let mut refused = 0;
    for _ in 0..30 {
        match client
            .heartbeat(authed(
                pb::HeartbeatRequest {
                    agent_id: agent.clone(),
                },
                &token,
            ))
            .await
        {
            Ok(_) => {}
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted);
                assert!(status.message().contains("rate limit"), "{}", status.message());
                // A limit that passes: a stable reason and when to retry.
                let info = status.get_details_error_info().expect("ErrorInfo");
                assert_eq!(info.reason, "RATE_LIMITED");
                assert!(
                    status.get_details_retry_info().is_some(),
                    "a rate limit says when to retry"
                );
                refused += 1;
            }
        }
    }
    assert!(refused >= 15, "burst is 10, refused {refused} of 30");
    // Another agent has its own budget.
    client
        .heartbeat(authed(pb::HeartbeatRequest { agent_id: other }, &other_token))
        .await
        .unwrap();
    server.stop().await;
}

#[tokio::test]
async fn slow_unary_calls_time_out() {
    let server = Server::start(|c| c.request_timeout = Duration::from_millis(1)).await;
    let mut client = server.client().await;
    let (agent, token) = match client
        .register_agent(pb::RegisterAgentRequest {
            hostname: "h".into(),
            ..Default::default()
        })
        .await
    {
        Ok(r) => {
            let r = r.into_inner();
            (r.agent_id, r.token)
        }
        Err(status) => {
            assert_eq!(status.code(), Code::DeadlineExceeded);
            server.stop().await;
            return;
        }
    };
    let err = client
        .submit_scan_report(authed(
            submit_request(&agent, report("big", ScanType::Full, findings("D", 3000))),
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    let metrics = server.scrape().await;
    assert!(metrics.contains(r#"status="DEADLINE_EXCEEDED""#), "{metrics}");
    server.stop().await;
}

#[tokio::test]
async fn metrics_follow_the_contract() {
    let server = Server::start(|_| {}).await;
    let mut client = server.client().await;
    let (agent, token) = register(&mut client, "a").await;
    submit_ok(
        &mut client,
        &agent,
        &token,
        report("m", ScanType::Full, findings("M", 5)),
    )
    .await;
    let _ = client.list_agents(pb::ListAgentsRequest::default()).await;
    let body = server.scrape().await;
    for want in [
        r#"zerotrace_api_requests_total{endpoint="zerotrace.api.v1.ApiService",method="SubmitScanReport",status="OK""#,
        r#"zerotrace_api_requests_total{endpoint="zerotrace.api.v1.ApiService",method="ListAgents",status="UNAUTHENTICATED""#,
        r#"zerotrace_api_requests_total{endpoint="zerotrace.api.v1.ApiService",method="RegisterAgent",status="OK""#,
        r#"zerotrace_api_request_duration_seconds_bucket{endpoint="zerotrace.api.v1.ApiService",method="SubmitScanReport""#,
        "zerotrace_api_active_connections",
    ] {
        assert!(body.contains(want), "missing {want} in\n{body}");
    }
    assert!(!body.contains(&token), "tokens never reach metrics");
    server.stop().await;
}

/// The next finding of a watch stream, within five seconds.
async fn next_watched(
    stream: &mut tonic::Streaming<pb::WatchFindingsResponse>,
) -> zerotrace_proto::common::v1::Finding {
    tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .expect("a finding arrives")
        .unwrap()
        .expect("the stream goes on")
        .finding
        .unwrap()
}

/// The next response of a stream: (kind, vulnerability id, resume token).
async fn next_event(stream: &mut tonic::Streaming<pb::WatchFindingsResponse>) -> (i32, String, String) {
    let response = tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .expect("an event arrives")
        .unwrap()
        .expect("the stream goes on");
    let vuln = response.finding.unwrap().vulnerability.unwrap().id;
    (response.kind, vuln, response.resume_token)
}

#[tokio::test]
async fn a_watch_resumes_from_its_token_after_a_restart_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let first = Server::start_in(dir.path(), |_| {}).await;
    let mut client = first.client().await;
    let (agent, token) = register(&mut client, "a").await;
    let request = |resume_token: String| {
        authed(
            pb::WatchFindingsRequest {
                filter: None,
                resume_token,
                include_resolutions: true,
            },
            READER,
        )
    };
    let mut stream = client
        .watch_findings(request(String::new()))
        .await
        .unwrap()
        .into_inner();
    let all = findings("R", 6);
    submit_ok(&mut client, &agent, &token, report("s1", ScanType::Full, all.clone())).await;
    let mut first_six = Vec::new();
    for _ in 0..6 {
        first_six.push(next_event(&mut stream).await);
    }
    let opened = pb::FindingEventKind::Opened as i32;
    let resolved = pb::FindingEventKind::Resolved as i32;
    assert!(first_six.iter().all(|(kind, _, _)| *kind == opened));
    let resume = first_six[2].2.clone();
    drop(stream);
    drop(client);
    first.stop().await;

    // A restart, then a full scan that keeps four, drops two and adds one.
    let second = Server::start_in(dir.path(), |_| {}).await;
    let mut client = second.client().await;
    let mut next = all[..4].to_vec();
    next.extend(findings("X", 1));
    submit_ok(&mut client, &agent, &token, report("s2", ScanType::Full, next)).await;

    let mut stream = client.watch_findings(request(resume)).await.unwrap().into_inner();
    let kept: Vec<String> = (0..4).map(|i| format!("R-{i}")).collect();
    let mut expected: Vec<(i32, String)> = first_six[3..]
        .iter()
        .filter(|(_, vuln, _)| kept.contains(vuln))
        .map(|(kind, vuln, _)| (*kind, vuln.clone()))
        .collect();
    expected.push((opened, "X-0".to_string()));
    let mut resolved_events: Vec<(i32, String)> = Vec::new();
    let mut got = Vec::new();
    for _ in 0..expected.len() + 2 {
        let (kind, vuln, _) = next_event(&mut stream).await;
        if kind == resolved {
            resolved_events.push((kind, vuln));
        } else {
            got.push((kind, vuln));
        }
    }
    assert_eq!(
        got, expected,
        "the rest of the first report, then the new one, once each"
    );
    let mut resolved_vulns: Vec<String> = resolved_events.iter().map(|(_, v)| v.clone()).collect();
    resolved_vulns.sort();
    assert_eq!(resolved_vulns, ["R-4", "R-5"], "resolutions come as events");
    assert!(
        tokio::time::timeout(Duration::from_millis(300), stream.message())
            .await
            .is_err(),
        "nothing twice"
    );
    // Then live.
    submit_ok(
        &mut client,
        &agent,
        &token,
        report("s3", ScanType::Incremental, findings("Y", 1)),
    )
    .await;
    assert_eq!(next_event(&mut stream).await.1, "Y-0");

    // A token that is not one is refused.
    let err = client.watch_findings(request("1.x".to_string())).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    second.stop().await;
}

async fn watch(
    client: &mut ApiServiceClient<Channel>,
    filter: pb::FindingFilter,
) -> tonic::Streaming<pb::WatchFindingsResponse> {
    client
        .watch_findings(authed(
            pb::WatchFindingsRequest {
                filter: Some(filter),
                ..Default::default()
            },
            READER,
        ))
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn replicas_on_one_postgres_schema_watch_each_others_reports() {
    let Some(schema) = PgSchema::create().await else {
        return;
    };
    let a = Server::start(|c| c.database_url = schema.url.clone()).await;
    let b = Server::start(|c| c.database_url = schema.url.clone()).await;
    let mut to_a = a.client().await;
    let mut to_b = b.client().await;
    let (agent, token) = register(&mut to_a, "a").await;
    // Watching through both replicas; the report goes through A only.
    let mut on_a = watch(&mut to_a, pb::FindingFilter::default()).await;
    let critical_only = pb::FindingFilter {
        min_severity: Severity::Critical as i32,
        ..Default::default()
    };
    let mut on_b = watch(&mut to_b, critical_only).await;
    let all = findings("R", 20);
    submit_ok(&mut to_a, &agent, &token, report("s1", ScanType::Full, all.clone())).await;

    let mut seen_on_a = Vec::new();
    for _ in 0..all.len() {
        seen_on_a.push(next_watched(&mut on_a).await);
    }
    let critical: Vec<_> = seen_on_a
        .iter()
        .filter(|f| f.vulnerability.as_ref().unwrap().severity == Severity::Critical as i32)
        .collect();
    assert!(!critical.is_empty());
    let mut seen_on_b = Vec::new();
    for _ in 0..critical.len() {
        let f = next_watched(&mut on_b).await;
        assert_eq!(f.vulnerability.as_ref().unwrap().severity, Severity::Critical as i32);
        assert_eq!(f.agent_id, agent);
        assert_eq!(f.scan_id, "s1");
        assert!(f.first_seen.is_some() && f.last_seen.is_some() && f.resolved_at.is_none());
        seen_on_b.push(f.id);
    }
    let mut expected: Vec<String> = critical.iter().map(|f| f.id.clone()).collect();
    expected.sort();
    seen_on_b.sort();
    assert_eq!(seen_on_b, expected, "B streams the same findings, by the same ids");

    // A retry opens nothing: no stream gets anything, and A's stream did not
    // get its own report a second time through the database.
    submit_ok(&mut to_a, &agent, &token, report("s1", ScanType::Full, all.clone())).await;
    for stream in [&mut on_a, &mut on_b] {
        assert!(
            tokio::time::timeout(Duration::from_millis(500), stream.message())
                .await
                .is_err()
        );
    }

    // B loses the connection it hears A on: its streams end so that clients resume.
    let admin = sqlx::PgPool::connect(&pg_base_url()).await.unwrap();
    let listen = format!("LISTEN \"{}\"", zerotrace_api::store::replica_channel(&schema.name));
    let cut = sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1")
        .bind(&listen)
        .fetch_all(&admin)
        .await
        .unwrap();
    assert_eq!(cut.len(), 2, "one listener per replica");
    for stream in [&mut on_a, &mut on_b] {
        let end = tokio::time::timeout(Duration::from_secs(10), stream.message())
            .await
            .expect("the stream ends");
        assert_eq!(end.unwrap_err().code(), Code::Unavailable);
    }
    // New streams hear the other replica again.
    let mut again_on_b = watch(&mut to_b, pb::FindingFilter::default()).await;
    submit_ok(
        &mut to_a,
        &agent,
        &token,
        report("s2", ScanType::Incremental, findings("S", 3)),
    )
    .await;
    for _ in 0..3 {
        assert_eq!(next_watched(&mut again_on_b).await.scan_id, "s2");
    }
    // Reopened findings travel too: a full scan with nothing resolves all 23,
    // a later report of the first 20 reopens them.
    for (scan, scan_type, reported) in [("s3", ScanType::Full, vec![]), ("s4", ScanType::Incremental, all)] {
        submit_ok(&mut to_a, &agent, &token, report(scan, scan_type, reported)).await;
    }
    let mut reopened = HashSet::new();
    for _ in 0..20 {
        let f = next_watched(&mut again_on_b).await;
        assert_eq!(f.scan_id, "s4");
        reopened.insert(f.id);
    }
    assert_eq!(reopened.len(), 20);
    admin.close().await;
    a.stop().await;
    b.stop().await;
    schema.drop_schema().await;
}

#[tokio::test]
async fn a_report_may_carry_each_advisory_once_and_findings_come_back_whole() {
    let server = Server::start(|_| {}).await;
    let mut client = server.client().await;
    let (agent, token) = register(&mut client, "a").await;
    let embedded = findings("R", 12);
    // The same findings, their vulnerabilities once each in `advisories`.
    let mut advisories = Vec::new();
    let by_reference: Vec<_> = embedded
        .iter()
        .map(|f| {
            advisories.push(f.vulnerability.clone().unwrap());
            zerotrace_proto::common::v1::Finding {
                package: f.package.clone(),
                advisory_ref: Some((advisories.len() - 1) as u32),
                ..Default::default()
            }
        })
        .collect();
    let mut sent = report("scan-ref", ScanType::Full, by_reference.clone());
    // A warning by reference too, sharing the first advisory.
    sent.warnings = vec![zerotrace_proto::common::v1::Finding {
        package: embedded[0].package.clone(),
        advisory_ref: Some(0),
        ..Default::default()
    }];
    sent.advisories = advisories.clone();
    let response = submit_ok(&mut client, &agent, &token, sent.clone()).await;
    assert_eq!(response.new_findings, 12);

    let listed = client
        .list_findings(authed(
            pb::ListFindingsRequest {
                page_size: 100,
                ..Default::default()
            },
            READER,
        ))
        .await
        .unwrap()
        .into_inner();
    let whole = |f: &zerotrace_proto::common::v1::Finding| {
        let v = f.vulnerability.clone().unwrap();
        (
            f.package.as_ref().unwrap().name.clone(),
            v.id.clone(),
            v.summary,
            v.fixed_versions,
            v.severity,
        )
    };
    let mut got: Vec<_> = listed.findings.iter().map(whole).collect();
    let mut want: Vec<_> = embedded.iter().map(whole).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "every finding comes back with its vulnerability embedded");
    assert!(listed.findings.iter().all(|f| f.advisory_ref.is_none()));
    let scan = client
        .get_scan(authed(
            pb::GetScanRequest {
                agent_id: agent.clone(),
                scan_id: "scan-ref".to_string(),
            },
            READER,
        ))
        .await
        .unwrap()
        .into_inner()
        .scan
        .unwrap();
    let stored = scan.report.unwrap();
    assert_eq!(stored.warnings[0].vulnerability.as_ref().unwrap().id, advisories[0].id);
    assert!(stored.advisories.is_empty(), "the stored report keeps no second copy");

    // A reference past the list, or a finding that names its vulnerability twice, is refused.
    let mut past = report("scan-bad", ScanType::Full, by_reference.clone());
    past.advisories = advisories[..3].to_vec();
    let mut twice = report("scan-twice", ScanType::Full, by_reference);
    twice.advisories = advisories.clone();
    twice.findings[0].vulnerability = Some(advisories[0].clone());
    for bad in [past, twice] {
        let status = client
            .submit_scan_report(authed(submit_request(&agent, bad), &token))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(status.message().contains("advisory_ref"), "{}", status.message());
    }
    server.stop().await;
}

const ADMIN: &str = "admin-secret";

/// A decision on h2's GHSA-h2, named by the alias its reports give it.
fn h2_not_affected() -> pb::Decision {
    pb::Decision {
        kind: pb::DecisionKind::NotAffected as i32,
        justification: pb::AnalysisJustification::CodeNotReachable as i32,
        responses: vec![pb::AnalysisResponse::WillNotFix as i32],
        reason: "the HPACK decoder is never fed untrusted input".to_string(),
        author: "alice".to_string(),
        scope: Some(pb::DecisionScope {
            advisory_id: "CVE-GHSA-h2".to_string(),
            ecosystem: "crates.io".to_string(),
            package_name: "h2".to_string(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn admins_decide_findings_and_reads_leave_decided_ones_out() {
    let server = Server::start(|c| c.admin_token = ADMIN.to_string()).await;
    let mut client = server.client().await;
    let (agent, token) = register(&mut client, "a").await;
    let calls = client.clone();
    let watch = |include_decided: bool| {
        let mut client = calls.clone();
        async move {
            let request = pb::WatchFindingsRequest {
                filter: Some(pb::FindingFilter {
                    include_decided,
                    ..Default::default()
                }),
                ..Default::default()
            };
            client
                .watch_findings(authed(request, READER))
                .await
                .unwrap()
                .into_inner()
        }
    };
    let create = |token: &str, decision: pb::Decision, decision_id: &str| {
        let mut client = calls.clone();
        let request = authed(
            pb::CreateDecisionRequest {
                decision: Some(decision),
                decision_id: decision_id.to_string(),
            },
            token,
        );
        async move { client.create_decision(request).await }
    };

    // Writes need the admin token: the reader's is read-only, others are no credential.
    let err = client
        .create_decision(pb::CreateDecisionRequest {
            decision: Some(h2_not_affected()),
            decision_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    let err = create(READER, h2_not_affected(), "").await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    let err = create(&token, h2_not_affected(), "").await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");

    // What a decision must be.
    let mut bad = Vec::new();
    let mut no_kind = h2_not_affected();
    no_kind.kind = 0;
    bad.push((no_kind, ""));
    let mut justified_risk = h2_not_affected();
    justified_risk.kind = pb::DecisionKind::AcceptedRisk as i32;
    bad.push((justified_risk, ""));
    let mut no_reason = h2_not_affected();
    no_reason.reason = "  ".to_string();
    bad.push((no_reason, ""));
    let mut no_scope = h2_not_affected();
    no_scope.scope = None;
    bad.push((no_scope, ""));
    let mut no_package = h2_not_affected();
    no_package.scope.as_mut().unwrap().package_name.clear();
    bad.push((no_package, ""));
    bad.push((h2_not_affected(), "Bad_Id"));
    for (decision, id) in bad {
        let err = create(ADMIN, decision.clone(), id).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{decision:?} {id}: {err:?}");
    }

    let created = create(ADMIN, h2_not_affected(), "h2-unreachable")
        .await
        .unwrap()
        .into_inner()
        .decision
        .unwrap();
    assert_eq!(created.name, "decisions/h2-unreachable");
    assert!(!created.etag.is_empty() && created.create_time.is_some());
    let err = create(ADMIN, h2_not_affected(), "h2-unreachable").await.unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);

    // A report opens two findings: the decided one is hidden unless asked for.
    let mut hidden = watch(false).await;
    let mut shown = watch(true).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let reported = vec![
        finding(
            package("crates.io", "h2", "0.3.1"),
            vulnerability("GHSA-h2", Severity::High, 7.0),
        ),
        finding(
            package("crates.io", "tokio", "1.0.0"),
            vulnerability("GHSA-tokio", Severity::Low, 2.0),
        ),
    ];
    submit_ok(&mut client, &agent, &token, report("s1", ScanType::Full, reported)).await;
    assert_eq!(next_watched(&mut hidden).await.vulnerability.unwrap().id, "GHSA-tokio");
    assert!(
        tokio::time::timeout(Duration::from_millis(300), hidden.message())
            .await
            .is_err(),
        "the decided finding is not sent"
    );
    let mut both = [next_watched(&mut shown).await, next_watched(&mut shown).await];
    both.sort_by(|a, b| a.package.as_ref().unwrap().name.cmp(&b.package.as_ref().unwrap().name));
    assert_eq!(both[0].decision, "decisions/h2-unreachable");
    assert_eq!(both[1].decision, "");

    let list = |include_decided: bool| {
        let mut client = calls.clone();
        let request = authed(
            pb::ListFindingsRequest {
                filter: Some(pb::FindingFilter {
                    include_decided,
                    ..Default::default()
                }),
                ..Default::default()
            },
            READER,
        );
        async move { client.list_findings(request).await.unwrap().into_inner() }
    };
    let page = list(false).await;
    assert_eq!((page.findings.len(), page.total_size), (1, 1));
    let page = list(true).await;
    assert_eq!((page.findings.len(), page.total_size), (2, 2));
    let h2 = page.findings.iter().find(|f| !f.decision.is_empty()).unwrap().clone();
    assert_eq!(h2.name, format!("agents/{agent}/findings/{}", h2.id));
    assert_eq!(h2.root, "/src/app");
    let summary_of = |include_decided: bool| {
        let mut client = calls.clone();
        let request = authed(
            pb::GetSummaryRequest {
                agent_id: String::new(),
                include_decided,
            },
            READER,
        );
        async move { client.get_summary(request).await.unwrap().into_inner().open_findings }
    };
    assert_eq!((summary_of(false).await, summary_of(true).await), (1, 2));

    // GetFinding by name, decided or not.
    let get = |name: String| {
        let mut client = calls.clone();
        async move { client.get_finding(authed(pb::GetFindingRequest { name }, READER)).await }
    };
    let got = get(h2.name.clone()).await.unwrap().into_inner().finding.unwrap();
    assert_eq!(
        (got.id, got.decision),
        (h2.id.clone(), "decisions/h2-unreachable".to_string())
    );
    assert_eq!(
        get("findings/x".to_string()).await.unwrap_err().code(),
        Code::InvalidArgument
    );
    let unknown = format!("agents/{agent}/findings/{}", "0".repeat(32));
    assert_eq!(get(unknown).await.unwrap_err().code(), Code::NotFound);

    // Updates carry the etag they read: a stale one is ABORTED.
    let update = |decision: pb::Decision| {
        let mut client = calls.clone();
        let request = authed(
            pb::UpdateDecisionRequest {
                decision: Some(decision),
            },
            ADMIN,
        );
        async move { client.update_decision(request).await }
    };
    let mut changed = created.clone();
    changed.reason = "confirmed by a second review".to_string();
    changed.etag = "stale".to_string();
    assert_eq!(update(changed.clone()).await.unwrap_err().code(), Code::Aborted);
    changed.etag.clear();
    assert_eq!(update(changed.clone()).await.unwrap_err().code(), Code::InvalidArgument);
    changed.etag = created.etag.clone();
    let updated = update(changed).await.unwrap().into_inner().decision.unwrap();
    assert_ne!(updated.etag, created.etag);
    assert_eq!(updated.create_time, created.create_time);
    assert_eq!(updated.reason, "confirmed by a second review");

    let listed = client
        .list_decisions(authed(pb::ListDecisionsRequest::default(), READER))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.decisions, std::slice::from_ref(&updated));

    // Deleted (with its current etag only): its finding counts again.
    let delete = |etag: &str| {
        let mut client = calls.clone();
        let request = authed(
            pb::DeleteDecisionRequest {
                name: updated.name.clone(),
                etag: etag.to_string(),
            },
            ADMIN,
        );
        async move { client.delete_decision(request).await }
    };
    assert_eq!(delete(&created.etag).await.unwrap_err().code(), Code::Aborted);
    delete(&updated.etag).await.unwrap();
    assert_eq!(delete("").await.unwrap_err().code(), Code::NotFound);
    let err = client
        .get_decision(authed(
            pb::GetDecisionRequest {
                name: updated.name.clone(),
            },
            READER,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(list(false).await.total_size, 2);
    server.stop().await;
}

#[tokio::test]
async fn the_retention_job_runs_at_start_keeps_each_agents_newest_scan_and_refuses_older_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_in(dir.path(), |_| {}).await;
    let mut client = server.client().await;
    let (agent, token) = register(&mut client, "a").await;
    let mut stream = client
        .watch_findings(authed(pb::WatchFindingsRequest::default(), READER))
        .await
        .unwrap()
        .into_inner();
    tokio::time::sleep(Duration::from_millis(200)).await;
    for scan in ["old", "newest"] {
        submit_ok(
            &mut client,
            &agent,
            &token,
            report(scan, ScanType::Full, findings("K", 2)),
        )
        .await;
    }
    let (_, _, old_token) = next_event(&mut stream).await;
    drop(stream);
    server.stop().await;
    tokio::time::sleep(Duration::from_millis(1200)).await;

    let server = Server::start_in(dir.path(), |c| c.retention = Duration::from_secs(1)).await;
    let mut client = server.client().await;
    let get = |scan: &str| {
        authed(
            pb::GetScanRequest {
                agent_id: agent.clone(),
                scan_id: scan.to_string(),
            },
            READER,
        )
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match client.get_scan(get("old")).await {
            Err(status) if status.code() == Code::NotFound => break,
            Ok(_) if tokio::time::Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(50)).await,
            other => panic!("the old scan is still there: {other:?}"),
        }
    }
    client.get_scan(get("newest")).await.expect("the newest scan stays");
    // A resume from before what the job deleted is refused, not replayed with gaps.
    let err = client
        .watch_findings(authed(
            pb::WatchFindingsRequest {
                resume_token: old_token,
                ..Default::default()
            },
            READER,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert_eq!(err.get_details_error_info().unwrap().reason, "RESUME_TOKEN_EXPIRED");
    server.stop().await;
}
