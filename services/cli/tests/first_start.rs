//! The first start of `zerotrace up`: with no advisory data, no scan may
//! report success (the agent's scan and the API's record are FAILED, with
//! the reason); once the background sync brings data from a mirror, scans
//! succeed and say which data they used and how old it was.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{scan_to_end, up_command, write};
use std::io::{BufRead, BufReader, Write as _};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use tonic::metadata::MetadataValue;
use zerotrace_proto::api::v1 as api;
use zerotrace_proto::api::v1::api_service_client::ApiServiceClient;
use zerotrace_proto::common::v1 as common_pb;
use zerotrace_proto::enrichment::v1 as enrichment;
use zerotrace_proto::enrichment::v1::enrichment_service_client::EnrichmentServiceClient;

const ADVISORY: &str = r#"{"id":"FIRST-1","modified":"2024-03-01T00:00:00Z",
  "affected":[{"package":{"ecosystem":"crates.io","name":"first-crate"},
  "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"2.0.0"}]}]}]}"#;
const KEV: &str = r#"{"title":"CISA Catalog","catalogVersion":"2024.03.02","dateReleased":"2024-03-02T10:00:00.000Z",
  "vulnerabilities":[{"cveID":"CVE-2024-0001","dateAdded":"2024-03-02"}]}"#;
const EPSS: &str =
    "#model_version:v2025.03.14,score_date:2024-03-03T00:00:00Z\ncve,epss,percentile\nCVE-2024-0001,0.5,0.9\n";
const CARGO_LOCK: &str = "version = 3\n\n[[package]]\nname = \"first-crate\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n";

/// A running `zerotrace up` with its banner read, killed when dropped.
struct Up {
    child: Child,
    banner: Vec<String>,
    grpc: Vec<String>,
    reader_token: String,
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data: &Path, project: &Path, envs: &[(&str, String)]) -> Up {
    let mut child = up_command(data)
        .env("ZEROTRACE_AGENT_ALLOWED_ROOTS", project)
        .env("ZEROTRACE_ENRICHMENT_ECOSYSTEMS", "crates.io")
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(data.with_extension("log")).unwrap())
        .spawn()
        .expect("zerotrace up starts");
    let mut banner = Vec::new();
    let mut grpc = Vec::new();
    let mut reader_token = String::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        if let [_, "gRPC", addr, ..] = words.as_slice() {
            grpc.push(addr.to_string());
        }
        if let Some(token) = line.strip_prefix("API reader token: ") {
            reader_token = token.trim().to_string();
        }
        let last = line.starts_with("Stop with");
        banner.push(line);
        if last {
            break;
        }
    }
    assert_eq!(grpc.len(), 3, "{banner:?}");
    Up {
        child,
        banner,
        grpc,
        reader_token,
    }
}

/// The scan as the API stored it.
async fn stored_scan(up: &Up, scan_id: &str) -> api::Scan {
    let mut client = ApiServiceClient::connect(format!("http://{}", up.grpc[2]))
        .await
        .unwrap();
    let agents = {
        let mut request = tonic::Request::new(api::ListAgentsRequest::default());
        let bearer: MetadataValue<_> = format!("Bearer {}", up.reader_token).parse().unwrap();
        request.metadata_mut().insert("authorization", bearer);
        client.list_agents(request).await.unwrap().into_inner().agents
    };
    let mut request = tonic::Request::new(api::GetScanRequest {
        agent_id: agents[0].agent_id.clone(),
        scan_id: scan_id.to_string(),
    });
    let bearer: MetadataValue<_> = format!("Bearer {}", up.reader_token).parse().unwrap();
    request.metadata_mut().insert("authorization", bearer);
    client.get_scan(request).await.unwrap().into_inner().scan.unwrap()
}

#[tokio::test]
async fn an_empty_database_never_gives_an_all_clear() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    write(&project, "Cargo.lock", CARGO_LOCK);
    // No network: every source points at a port nobody listens on.
    let nowhere = "http://127.0.0.1:9".to_string();
    let up = start(
        &dir.path().join("data"),
        &project,
        &[
            ("ZEROTRACE_ENRICHMENT_SYNC_INTERVAL", "1h".to_string()),
            ("ZEROTRACE_ENRICHMENT_OSV_BASE_URL", nowhere.clone()),
            ("ZEROTRACE_ENRICHMENT_KEV_URL", format!("{nowhere}/kev.json")),
            ("ZEROTRACE_ENRICHMENT_EPSS_URL", format!("{nowhere}/epss.csv")),
        ],
    );
    assert!(
        up.banner
            .iter()
            .any(|l| l.starts_with("Advisory data: none yet") && l.contains("offline: zerotrace db import")),
        "{:?}",
        up.banner
    );
    let state = scan_to_end(&up.grpc[0], &project).await;
    assert_eq!(state.status, common_pb::ScanStatus::Failed as i32, "{state:?}");
    assert!(
        state.error_message.contains("the advisory database is empty"),
        "{}",
        state.error_message
    );
    let scan = stored_scan(&up, &state.scan_id).await;
    let report = scan.report.unwrap();
    assert_eq!(report.status, common_pb::ScanStatus::Failed as i32);
    assert_eq!(report.error_message, state.error_message, "the API holds the reason");
    assert_eq!(scan.finding_count, 0);

    // The sync failed and said how to import offline, in one line.
    let log = dir.path().join("data.log");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text
            .lines()
            .any(|l| l.contains("no advisory data: scans fail until some exists; offline"))
        {
            break;
        }
        assert!(Instant::now() < deadline, "no offline hint in the log:\n{text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn zip_of(name: &str, body: &str) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    zip.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
    zip.write_all(body.as_bytes()).unwrap();
    zip.finish().unwrap();
    out.into_inner()
}

#[tokio::test]
async fn first_start_syncs_from_a_mirror_then_scans_say_how_old_their_data_was() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    write(&project, "Cargo.lock", CARGO_LOCK);
    let mirror = dir.path().join("mirror");
    std::fs::create_dir_all(mirror.join("crates.io")).unwrap();
    std::fs::write(mirror.join("crates.io/all.zip"), zip_of("FIRST-1.json", ADVISORY)).unwrap();
    std::fs::write(mirror.join("kev.json"), KEV).unwrap();
    std::fs::write(mirror.join("epss.csv"), EPSS).unwrap();
    let file = |rel: &str| format!("file://{}", mirror.join(rel).display());
    let up = start(
        &dir.path().join("data"),
        &project,
        &[
            ("ZEROTRACE_ENRICHMENT_SYNC_INTERVAL", "1h".to_string()),
            ("ZEROTRACE_ENRICHMENT_OSV_BASE_URL", file("")),
            ("ZEROTRACE_ENRICHMENT_KEV_URL", file("kev.json")),
            ("ZEROTRACE_ENRICHMENT_EPSS_URL", file("epss.csv")),
        ],
    );

    // The sync runs at start: wait for it through GetDatabaseInfo.
    let mut enrichment = EnrichmentServiceClient::connect(format!("http://{}", up.grpc[1]))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let info = loop {
        let info = enrichment
            .get_database_info(enrichment::GetDatabaseInfoRequest {})
            .await
            .unwrap()
            .into_inner();
        let sync = info.sync.clone().unwrap();
        if sync.last_success.is_some() {
            break info;
        }
        assert!(sync.enabled, "{sync:?}");
        assert!(Instant::now() < deadline, "no successful sync: {sync:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!((info.total_advisories, info.kev_entries, info.epss_entries), (1, 1, 1));
    let data = info.advisory_data.unwrap();
    let names: Vec<&str> = data.sources.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["epss", "kev", "osv:crates.io"]);
    assert!(data.sources.iter().all(|s| s.as_of.is_some() && s.generation > 0));

    // The mirror's data is from March 2024: the scan succeeds, and says so.
    let state = scan_to_end(&up.grpc[0], &project).await;
    assert_eq!(
        state.status,
        common_pb::ScanStatus::Succeeded as i32,
        "{}",
        state.error_message
    );
    assert_eq!(state.progress.unwrap().findings, 1);
    let used = state.advisory_data.unwrap();
    assert_eq!(used.generation, data.generation);
    assert!(
        used.notices
            .iter()
            .any(|n| n.starts_with("osv:crates.io: data is ") && n.contains("as of 2024-03-01")),
        "{:?}",
        used.notices
    );
    assert_eq!(used.max_age_seconds, 5 * 86_400);
    let scan = stored_scan(&up, &state.scan_id).await;
    let stored = scan.report.unwrap().advisory_data.unwrap();
    assert_eq!(stored.notices, used.notices, "the API stores the notices with the scan");
    assert_eq!(stored.generation, used.generation);
}
