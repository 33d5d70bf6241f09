//! A report that can never fit is never sent: the API told the agent its
//! report limits when it registered, the agent checks the report against
//! them with the API's own rule and fails the scan with the reason; what it
//! sends instead is the scan as FAILED, without findings, which the API
//! stores. (An API that predates the limits refuses such a report once, with
//! a permanent RESOURCE_EXHAUSTED, and the agent then does the same.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{scan_to_end, start_up_with, write};
use zerotrace_proto::common::v1 as common_pb;

const ADVISORY: &str = r#"{"id":"TEST-LIMIT-1","modified":"2024-01-01T00:00:00Z",
  "affected":[{"package":{"ecosystem":"crates.io","name":"big-crate"},
  "ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}"#;

#[tokio::test]
async fn a_report_over_the_findings_limit_is_never_sent() {
    let dir = tempfile::tempdir().unwrap();
    let advisories = dir.path().join("advisories");
    write(&advisories, "TEST-LIMIT-1.json", ADVISORY);
    let project = dir.path().join("project");
    let lock: String = (0..3)
        .map(|i| {
            format!(
                "\n[[package]]\nname = \"big-crate\"\nversion = \"1.0.{i}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n"
            )
        })
        .collect();
    write(&project, "Cargo.lock", &format!("version = 3\n{lock}"));
    let up = start_up_with(
        &dir.path().join("data"),
        &[
            ("ZEROTRACE_ENRICHMENT_IMPORT", advisories.as_os_str()),
            ("ZEROTRACE_AGENT_ALLOWED_ROOTS", project.as_os_str()),
            ("ZEROTRACE_API_MAX_FINDINGS_PER_REPORT", "2".as_ref()),
        ],
    );
    let state = scan_to_end(&up.grpc[0], &project).await;
    assert_eq!(state.status, common_pb::ScanStatus::Failed as i32);
    assert!(state.error_message.contains("not sent"), "{}", state.error_message);
    assert!(state.error_message.contains("limit is 2"), "{}", state.error_message);

    let api_metrics: std::net::SocketAddr = up.metrics[2].parse().unwrap();
    let scrape = zerotrace_loadgen::scrape(api_metrics).await.unwrap();
    let submits = |status: &str| {
        scrape
            .lines()
            .filter(|l| l.starts_with("zerotrace_api_requests_total{"))
            .filter(|l| l.contains(r#"method="SubmitScanReport""#) && l.contains(&format!(r#"status="{status}""#)))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };
    assert_eq!(submits("RESOURCE_EXHAUSTED"), 0.0, "never sent:\n{scrape}");
    assert_eq!(submits("OK"), 1.0, "then the failed scan, without findings:\n{scrape}");
}
