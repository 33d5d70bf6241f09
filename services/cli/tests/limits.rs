//! A report that can never fit is sent once: the API refuses it with a
//! permanent RESOURCE_EXHAUSTED (its reason, its limit, no RetryInfo), and
//! the agent fails the scan with that reason instead of sending it again;
//! what it sends instead is the scan as FAILED, without findings, which the
//! API stores.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{scan_to_end, start_up_with, write};
use zerotrace_proto::common::v1 as common_pb;

const ADVISORY: &str = r#"{"id":"TEST-LIMIT-1","modified":"2024-01-01T00:00:00Z",
  "affected":[{"package":{"ecosystem":"crates.io","name":"big-crate"},
  "ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}"#;

#[tokio::test]
async fn a_report_over_the_findings_limit_is_sent_once() {
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
    assert_eq!(submits("RESOURCE_EXHAUSTED"), 1.0, "sent exactly once:\n{scrape}");
    assert_eq!(submits("OK"), 1.0, "then the failed scan, without findings:\n{scrape}");
}
