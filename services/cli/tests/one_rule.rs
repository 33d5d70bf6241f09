//! One matching rule, one answer: the same tree gives the same findings,
//! warnings and unmatched packages through `zerotrace scan` (the CLI asks
//! the advisory database itself) and through the agent, the enrichment
//! service and the API of `zerotrace up` (the report as the API stores it).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{scan_to_end, start_up_with, write, zerotrace};
use std::collections::BTreeSet;
use tonic::metadata::MetadataValue;
use zerotrace_proto::agent::v1 as agent;
use zerotrace_proto::agent::v1::agent_service_client::AgentServiceClient;
use zerotrace_proto::api::v1 as api;
use zerotrace_proto::api::v1::api_service_client::ApiServiceClient;
use zerotrace_proto::common::v1 as common_pb;

/// A vulnerability, an informational advisory (a warning) and an advisory
/// on a package whose lockfile version does not parse.
const ADVISORIES: [(&str, &str); 3] = [
    (
        "TEST-VULN-1.json",
        r#"{"id":"TEST-VULN-1","modified":"2024-01-01T00:00:00Z",
            "affected":[{"package":{"ecosystem":"crates.io","name":"vuln-crate"},
            "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"2.0.0"}]}]}]}"#,
    ),
    (
        "TEST-WARN-1.json",
        r#"{"id":"TEST-WARN-1","modified":"2024-01-01T00:00:00Z","summary":"old-crate is unmaintained",
            "affected":[{"package":{"ecosystem":"crates.io","name":"old-crate"},
            "ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}],
            "database_specific":{"informational":"unmaintained"}}]}"#,
    ),
    (
        "TEST-ODD-1.json",
        r#"{"id":"TEST-ODD-1","modified":"2024-01-01T00:00:00Z",
            "affected":[{"package":{"ecosystem":"crates.io","name":"odd-crate"},
            "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.0.0"}]}]}]}"#,
    ),
];

/// Registry packages (vulnerable, unmaintained, an unparsable version, a
/// clean one), a git package named like the vulnerable one, and the
/// workspace's own crate.
const CARGO_LOCK: &str = r#"version = 3

[[package]]
name = "my-app"
version = "0.1.0"
dependencies = ["vuln-crate", "old-crate", "odd-crate", "clean-crate"]

[[package]]
name = "vuln-crate"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "vuln-crate"
version = "1.5.0"
source = "git+https://example.org/vuln-crate?rev=abc#abc"

[[package]]
name = "old-crate"
version = "0.3.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "odd-crate"
version = "not-a-version"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "clean-crate"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;

/// (package name, version, advisory id or unmatched reason) of a list.
type Rows = BTreeSet<(String, String, String)>;

fn cli_rows(report: &serde_json::Value, list: &str) -> Rows {
    report[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let what = f["vulnerability"]["id"].as_str().or(f["reason"].as_str()).unwrap();
            (
                f["package"]["name"].as_str().unwrap().to_string(),
                f["package"]["version"].as_str().unwrap().to_string(),
                what.to_string(),
            )
        })
        .collect()
}

fn finding_rows(findings: &[common_pb::Finding]) -> Rows {
    findings
        .iter()
        .map(|f| {
            let p = f.package.as_ref().unwrap();
            (
                p.name.clone(),
                p.version.clone(),
                f.vulnerability.as_ref().unwrap().id.clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_cli_and_the_agent_through_the_api_give_the_same_answer() {
    let dir = tempfile::tempdir().unwrap();
    let advisories = dir.path().join("advisories");
    for (name, json) in ADVISORIES {
        write(&advisories, name, json);
    }
    let project = dir.path().join("project");
    write(&project, "Cargo.lock", CARGO_LOCK);

    // The CLI, in one process.
    let run = zerotrace([
        "scan".as_ref(),
        project.as_os_str(),
        "--db".as_ref(),
        advisories.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
        "--fail-on".as_ref(),
        "none".as_ref(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let cli = run.json();
    let (cli_findings, cli_warnings, cli_unmatched) = (
        cli_rows(&cli, "findings"),
        cli_rows(&cli, "warnings"),
        cli_rows(&cli, "unmatched"),
    );
    assert_eq!(
        cli_findings.iter().map(|r| r.2.as_str()).collect::<Vec<_>>(),
        ["TEST-VULN-1"],
        "only the registry vuln-crate is vulnerable, not its git namesake"
    );
    assert_eq!(
        cli_warnings.iter().map(|r| r.2.as_str()).collect::<Vec<_>>(),
        ["TEST-WARN-1"]
    );
    let reasons: Vec<&str> = cli_unmatched.iter().map(|r| r.2.as_str()).collect();
    assert_eq!(
        cli_unmatched.len(),
        3,
        "git, workspace and the unparsable version: {reasons:?}"
    );

    // The service path: agent → enrichment → API, read back from the API.
    let up = start_up_with(
        &dir.path().join("data"),
        &[
            ("ZEROTRACE_ENRICHMENT_IMPORT", advisories.as_os_str()),
            ("ZEROTRACE_AGENT_ALLOWED_ROOTS", project.as_os_str()),
        ],
    );
    let state = scan_to_end(&up.grpc[0], &project).await;
    assert_eq!(
        state.status,
        common_pb::ScanStatus::Succeeded as i32,
        "{}",
        state.error_message
    );
    let progress = state.progress.unwrap();
    assert_eq!(
        (progress.findings, progress.warnings, progress.unmatched),
        (1, 1, 3),
        "the agent's own progress counts"
    );

    let mut agent_client = AgentServiceClient::connect(format!("http://{}", up.grpc[0]))
        .await
        .unwrap();
    let info = agent_client
        .get_agent_info(agent::GetAgentInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    let mut api_client = ApiServiceClient::connect(format!("http://{}", up.grpc[2]))
        .await
        .unwrap();
    let mut request = tonic::Request::new(api::GetScanRequest {
        agent_id: info.agent_id,
        scan_id: state.scan_id.clone(),
    });
    let bearer: MetadataValue<_> = format!("Bearer {}", up.reader_token).parse().unwrap();
    request.metadata_mut().insert("authorization", bearer);
    let scan = api_client.get_scan(request).await.unwrap().into_inner().scan.unwrap();
    let report = scan.report.unwrap();
    assert_eq!(
        (scan.finding_count, scan.warning_count, scan.unmatched_count),
        (1, 1, 3)
    );

    // Findings are stored apart from the report: read them where users do.
    let mut request = tonic::Request::new(api::ListFindingsRequest::default());
    let bearer: MetadataValue<_> = format!("Bearer {}", up.reader_token).parse().unwrap();
    request.metadata_mut().insert("authorization", bearer);
    let listed = api_client.list_findings(request).await.unwrap().into_inner().findings;

    assert_eq!(finding_rows(&listed), cli_findings, "findings");
    assert_eq!(finding_rows(&report.warnings), cli_warnings, "warnings");
    let api_unmatched: Rows = report
        .unmatched
        .iter()
        .map(|u| {
            let p = u.package.as_ref().unwrap();
            (p.name.clone(), p.version.clone(), u.reason.clone())
        })
        .collect();
    assert_eq!(api_unmatched, cli_unmatched, "unmatched packages and their reasons");
}
