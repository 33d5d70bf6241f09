//! `zerotrace up` end to end: the real binary, ports chosen by the kernel
//! (port 0, read back from the banner), every service answering health,
//! reflection, its own methods and `/metrics`, and a clean exit on SIGTERM.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::start_up as start;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;

async fn channel(addr: &str) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect()
        .await
        .expect("connects")
}

async fn listed_services(addr: &str) -> Vec<String> {
    let mut client = ServerReflectionClient::new(channel(addr).await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection")
        .into_inner();
    let response = responses
        .message()
        .await
        .expect("reflection answer")
        .expect("one answer");
    match response.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => {
            let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
            names.sort();
            names
        }
        other => panic!("unexpected reflection answer {other:?}"),
    }
}

fn http_get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("metrics port");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut body = String::new();
    stream.read_to_string(&mut body).expect("response");
    body
}

#[tokio::test]
async fn up_serves_three_services_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut up = start(dir.path());
    let names = [
        "zerotrace.agent.v1.AgentService",
        "zerotrace.enrichment.v1.EnrichmentService",
        "zerotrace.api.v1.ApiService",
    ];

    for (addr, name) in up.grpc.iter().zip(names) {
        let mut health = HealthClient::new(channel(addr).await);
        for service in ["", name] {
            let status = health
                .check(HealthCheckRequest {
                    service: service.to_string(),
                })
                .await
                .expect("health")
                .into_inner();
            assert_eq!(
                status.status,
                ServingStatus::Serving as i32,
                "{name} health of {service:?}"
            );
        }
        let mut want = vec![
            "grpc.health.v1.Health".to_string(),
            "grpc.reflection.v1.ServerReflection".to_string(),
            "grpc.reflection.v1alpha.ServerReflection".to_string(),
            name.to_string(),
        ];
        want.sort();
        assert_eq!(listed_services(addr).await, want, "reflection of {name}");
    }

    // Read calls need the reader token the banner printed.
    let mut api = zerotrace_proto::api::v1::api_service_client::ApiServiceClient::new(channel(&up.grpc[2]).await);
    let err = api
        .list_agents(zerotrace_proto::api::v1::ListAgentsRequest::default())
        .await
        .expect_err("no token");
    assert_eq!(err.code(), tonic::Code::Unauthenticated);
    let mut request = tonic::Request::new(zerotrace_proto::api::v1::ListAgentsRequest::default());
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", up.reader_token).parse().expect("header"),
    );
    api.list_agents(request).await.expect("the banner's token reads");

    let prefixes = ["zerotrace_agent_", "zerotrace_enrichment_", "zerotrace_api_"];
    for (addr, prefix) in up.metrics.iter().zip(prefixes) {
        let response = http_get(addr, "/metrics");
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        if prefix != "zerotrace_agent_" {
            assert!(response.contains(prefix), "{addr} lacks {prefix}: {response}");
        }
        assert!(response.contains("target_info"), "{response}");
    }
    // The API call above was counted with its code.
    let api_metrics = http_get(&up.metrics[2], "/metrics");
    assert!(api_metrics.contains(r#"status="UNAUTHENTICATED""#), "{api_metrics}");
    assert!(api_metrics.contains(r#"status="OK""#), "{api_metrics}");
    assert!(api_metrics.contains(r#"method="ListAgents""#), "{api_metrics}");

    drop(api);
    let pid = up.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    // Shutdown is bounded by the 10 s grace, whatever clients still hold open.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = up.child.try_wait().unwrap() {
            assert!(status.success(), "clean exit after SIGTERM, got {status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "zerotrace up did not stop within 20 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn bad_configuration_exits_64_with_one_line() {
    // A bad service variable, a bad flag of `up` itself, a bad service flag,
    // an unknown flag: one line on stderr, exit 64 each.
    /// Extra arguments, an environment variable, a word the error line names.
    type Case<'a> = (&'a [&'a str], Option<(&'a str, &'a str)>, &'a str);
    let cases: [Case<'_>; 4] = [
        (&[], Some(("ZEROTRACE_AGENT_SCAN_INTERVAL", "soon")), "soon"),
        (&["--api-listen", "bad"], None, "bad"),
        (&["--scan-interval", "often"], None, "often"),
        (&["--no-such-flag"], None, "no-such-flag"),
    ];
    for (args, env, needle) in cases {
        let mut command = Command::new(env!("CARGO_BIN_EXE_zerotrace"));
        command.args(["up", "--data-dir", "/tmp/unused"]).args(args);
        if let Some((key, value)) = env {
            command.env(key, value);
        }
        let output = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(64), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

#[test]
fn a_service_that_cannot_start_stops_up_whole() {
    // The API refuses the database URL when it starts; agent and enrichment
    // must not go on serving without it.
    let dir = tempfile::tempdir().unwrap();
    let output = common::up_command(dir.path())
        .args(["--database-url", "mysql://nowhere/db"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("api failed") && stderr.contains("database-url"),
        "{stderr}"
    );
}

#[test]
fn up_help_lists_the_service_flags_and_their_variables() {
    let output = Command::new(env!("CARGO_BIN_EXE_zerotrace"))
        .args(["up", "--help"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8_lossy(&output.stdout);
    for needle in [
        "--allowed-root",
        "ZEROTRACE_AGENT_ALLOWED_ROOTS",
        "--scan-interval",
        "ZEROTRACE_AGENT_SCAN_INTERVAL",
        "--reader-token",
        "--registration-token",
        "--database-url",
        "ZEROTRACE_API_DATABASE_URL",
        "ZEROTRACE_ENRICHMENT_IMPORT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ] {
        assert!(help.contains(needle), "{needle} missing from up --help:\n{help}");
    }
}
