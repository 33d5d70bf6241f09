//! The enrichment service over real gRPC: matching, look-ups by alias,
//! limits, the cache and its metrics.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;
use tokio::sync::oneshot;
use tonic::Code;
use tonic_types::StatusExt as _;
use zerotrace_enrichment::EnrichmentConfig;
use zerotrace_loadgen::{counter_value, scrape};
use zerotrace_proto::common::v1 as common;
use zerotrace_proto::enrichment::v1 as pb;
use zerotrace_proto::enrichment::v1::enrichment_service_client::EnrichmentServiceClient;
use zerotrace_server::Listeners;

const ADVISORY: &str = r#"{
  "id": "RUSTSEC-2099-0001",
  "modified": "2099-01-02T00:00:00Z",
  "published": "2099-01-01T00:00:00Z",
  "aliases": ["CVE-2099-1234", "GHSA-aaaa-bbbb-cccc"],
  "summary": "memory corruption in demo-crate",
  "details": "Demo crate before 1.2.3 writes past its buffer.",
  "references": [{"type": "ADVISORY", "url": "https://example.com/RUSTSEC-2099-0001"}],
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
  "affected": [{
    "package": {"ecosystem": "crates.io", "name": "demo-crate"},
    "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2.3"}]}]
  }]
}"#;

struct Running {
    client: EnrichmentServiceClient<tonic::transport::Channel>,
    metrics_addr: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

async fn start(max_batch_size: u32) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let osv = dir.path().join("osv");
    std::fs::create_dir_all(&osv).unwrap();
    std::fs::write(osv.join("RUSTSEC-2099-0001.json"), ADVISORY).unwrap();
    std::fs::write(osv.join("broken.json"), "{ not json").unwrap();
    let mut config = <EnrichmentConfig as clap::Parser>::parse_from(["zerotrace-enrichment", "--sync-interval", "0s"]);
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.metrics_listen = "127.0.0.1:0".parse().unwrap();
    config.data_dir = dir.path().join("data");
    config.import = vec![osv];
    config.cache_max_entries = 1000;
    config.cache_ttl = Duration::from_secs(60);
    config.max_batch_size = max_batch_size;
    config.shutdown_grace = Duration::from_secs(2);
    let listeners = Listeners::bind(config.listen, config.metrics_listen).await.unwrap();
    let grpc_addr = listeners.grpc_addr().unwrap();
    let metrics_addr = listeners.metrics_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        zerotrace_enrichment::serve(config, listeners, async {
            let _ = stopped.await;
        })
        .await
        .expect("enrichment serves");
    });
    // The listener is bound before serving starts, so connecting cannot race it;
    // retry only while the start-up import runs.
    let mut client = None;
    for _ in 0..200 {
        if let Ok(c) = EnrichmentServiceClient::connect(format!("http://{grpc_addr}")).await
            && let Ok(mut probe) = Ok::<_, ()>(c.clone())
            && probe.get_database_info(pb::GetDatabaseInfoRequest {}).await.is_ok()
        {
            client = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Running {
        client: client.expect("service answers"),
        metrics_addr,
        stop: Some(stop),
        task,
        _dir: dir,
    }
}

fn package(name: &str, version: &str) -> common::Package {
    common::Package {
        ecosystem: "crates.io".into(),
        name: name.into(),
        version: version.into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_reference_each_advisory_comes_once_and_resolves_to_the_embedded_answer() {
    let mut running = start(100).await;
    let client = &mut running.client;
    let packages = vec![
        package("demo-crate", "1.0.0"),
        package("other-crate", "1.0.0"),
        package("demo-crate", "1.2.2"),
        package("demo-crate", "1.2.3"),
        package("demo-crate", "1.1.0"),
    ];
    let ask = |advisories_by_reference, view: pb::AdvisoryView| pb::MatchPackagesRequest {
        packages: packages.clone(),
        advisories_by_reference,
        advisory_view: view as i32,
    };
    let embedded = client
        .match_packages(ask(false, pb::AdvisoryView::Unspecified))
        .await
        .unwrap()
        .into_inner();
    let by_reference = client
        .match_packages(ask(true, pb::AdvisoryView::Full))
        .await
        .unwrap()
        .into_inner();
    // The basic view: the same matches and advisories without their long
    // text, which BatchGetVulnerabilities gives back.
    let basic = client
        .match_packages(ask(true, pb::AdvisoryView::Basic))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(basic.matches, by_reference.matches);
    assert_eq!(basic.advisories.len(), by_reference.advisories.len());
    for (basic, full) in basic.advisories.iter().zip(&by_reference.advisories) {
        assert!(!full.details.is_empty() && !full.references.is_empty(), "{full:?}");
        assert!(basic.details.is_empty() && basic.references.is_empty(), "{basic:?}");
        assert_eq!(basic, &zerotrace_proto::advisories::without_long_text(full));
        let mut restored = basic.clone();
        zerotrace_proto::advisories::restore_long_text(&mut restored, full);
        assert_eq!(&restored, full);
    }
    assert!(embedded.advisories.is_empty(), "the old shape is unchanged");
    // Three vulnerable versions of one package name: one advisory carried.
    assert_eq!(by_reference.advisories.len(), 1);
    assert_eq!(by_reference.advisories[0].id, "RUSTSEC-2099-0001");
    let refs: Vec<&[u32]> = by_reference
        .matches
        .iter()
        .map(|m| m.vulnerability_refs.as_slice())
        .collect();
    assert_eq!(refs, [&[0][..], &[], &[0], &[], &[0]]);
    for (old, new) in embedded.matches.iter().zip(&by_reference.matches) {
        assert!(new.vulnerabilities.is_empty() && new.warnings.is_empty());
        let resolved: Vec<&common::Vulnerability> = new
            .vulnerability_refs
            .iter()
            .map(|&i| &by_reference.advisories[i as usize])
            .collect();
        assert_eq!(resolved, old.vulnerabilities.iter().collect::<Vec<_>>());
        assert_eq!(
            (&new.package, &new.unmatched_reason),
            (&old.package, &old.unmatched_reason)
        );
    }
    running.stop.take().unwrap().send(()).unwrap();
    running.task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matches_scores_and_caches() {
    let mut running = start(100).await;
    let client = &mut running.client;

    let request = pb::MatchPackagesRequest {
        packages: vec![
            package("demo-crate", "1.2.2"),
            package("demo-crate", "1.2.3"),
            package("demo-crate", "not-a-version"),
            common::Package {
                source: common::PackageSource::Git as i32,
                ..package("demo-crate", "1.0.0")
            },
        ],
        advisories_by_reference: false,
        ..Default::default()
    };
    let matches = client
        .match_packages(request.clone())
        .await
        .unwrap()
        .into_inner()
        .matches;
    assert_eq!(matches.len(), 4, "one result per package, in order");
    let vulnerable = &matches[0].vulnerabilities;
    assert_eq!(vulnerable.len(), 1);
    let v = &vulnerable[0];
    assert_eq!(v.id, "RUSTSEC-2099-0001");
    assert_eq!(v.cvss_score, 9.8);
    assert_eq!(v.severity, common::Severity::Critical as i32);
    assert_eq!(v.fixed_versions, vec!["1.2.3".to_string()]);
    assert!(matches[1].vulnerabilities.is_empty(), "the fixed version is clean");
    assert!(matches[2].vulnerabilities.is_empty());
    assert!(
        !matches[2].unmatched_reason.is_empty(),
        "an unparsable version says why"
    );
    assert!(matches[3].vulnerabilities.is_empty() && matches[3].unmatched_reason.starts_with("git packages"));

    // Any alias resolves to the advisory.
    for id in ["RUSTSEC-2099-0001", "CVE-2099-1234", "GHSA-aaaa-bbbb-cccc"] {
        let found = client
            .get_vulnerability(pb::GetVulnerabilityRequest { id: id.into() })
            .await
            .unwrap();
        assert_eq!(found.into_inner().vulnerability.unwrap().id, "RUSTSEC-2099-0001");
    }
    let missing = client
        .get_vulnerability(pb::GetVulnerabilityRequest {
            id: "CVE-1900-0001".into(),
        })
        .await;
    assert_eq!(missing.unwrap_err().code(), Code::NotFound);
    let empty = client
        .get_vulnerability(pb::GetVulnerabilityRequest { id: " ".into() })
        .await;
    assert_eq!(empty.unwrap_err().code(), Code::InvalidArgument);

    let batch = client
        .batch_get_vulnerabilities(pb::BatchGetVulnerabilitiesRequest {
            ids: vec!["CVE-2099-1234".into(), "RUSTSEC-2099-0001".into(), "nope".into()],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(batch.vulnerabilities.len(), 1, "the same advisory once");
    assert_eq!(batch.not_found, vec!["nope".to_string()]);
    // Both look-ups send the advisory whole, from the same cached encoding.
    let single = client
        .get_vulnerability(pb::GetVulnerabilityRequest {
            id: "CVE-2099-1234".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .vulnerability
        .unwrap();
    assert_eq!(single.aliases, ["CVE-2099-1234", "GHSA-aaaa-bbbb-cccc"]);
    assert!(!single.summary.is_empty());
    assert_eq!(batch.vulnerabilities[0], single);

    let info = client
        .get_database_info(pb::GetDatabaseInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.total_advisories, 1);
    assert_eq!(info.max_batch_size, 100);

    // The second identical batch is served from the cache.
    let before = scrape(running.metrics_addr).await.unwrap();
    client.match_packages(request).await.unwrap();
    let after = scrape(running.metrics_addr).await.unwrap();
    let hits = counter_value(&after, "zerotrace_cve_cache_hits_total")
        - counter_value(&before, "zerotrace_cve_cache_hits_total");
    assert_eq!(hits, 4.0, "every package of the repeated batch hits:\n{after}");
    assert!(
        after.contains(r#"zerotrace_enrichment_requests_total{status="ok"}"#),
        "{after}"
    );
    assert!(
        after.contains(r#"zerotrace_enrichment_requests_total{status="not_found"}"#),
        "{after}"
    );
    assert!(
        after.contains(r#"zerotrace_enrichment_requests_total{status="invalid"}"#),
        "{after}"
    );
    assert!(
        after.contains("zerotrace_enrichment_duration_seconds_bucket"),
        "{after}"
    );

    running.stop.take().unwrap().send(()).unwrap();
    running.task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_by_another_process_is_served_without_a_restart() {
    let mut running = start(100).await;
    let client = &mut running.client;
    let other = pb::MatchPackagesRequest {
        packages: vec![package("other-crate", "0.1.0")],
        advisories_by_reference: true,
        ..Default::default()
    };
    // Both answers are cached: a clean package and an unknown id.
    let clean = client.match_packages(other.clone()).await.unwrap().into_inner();
    assert!(clean.matches[0].vulnerability_refs.is_empty());
    let get = pb::GetVulnerabilityRequest {
        id: "CVE-2099-5678".into(),
    };
    assert_eq!(
        client.get_vulnerability(get.clone()).await.unwrap_err().code(),
        Code::NotFound
    );
    let generation = clean.advisory_data.unwrap().generation;

    // What `zerotrace db import` does beside the running service.
    let osv = running._dir.path().join("later");
    std::fs::create_dir_all(&osv).unwrap();
    std::fs::write(
        osv.join("RUSTSEC-2099-0002.json"),
        ADVISORY
            .replace("RUSTSEC-2099-0001", "RUSTSEC-2099-0002")
            .replace("CVE-2099-1234", "CVE-2099-5678")
            .replace("GHSA-aaaa-bbbb-cccc", "GHSA-dddd-eeee-ffff")
            .replace("demo-crate", "other-crate"),
    )
    .unwrap();
    let db = zerotrace_advisory::Database::open(running._dir.path().join("data")).unwrap();
    db.import_path(&osv).unwrap();

    // The service notices within its check interval, without a restart.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let matched = loop {
        let response = client.match_packages(other.clone()).await.unwrap().into_inner();
        if !response.matches[0].vulnerability_refs.is_empty() {
            break response;
        }
        assert!(std::time::Instant::now() < deadline, "the import is never served");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(matched.advisories[0].id, "RUSTSEC-2099-0002");
    assert!(matched.advisory_data.unwrap().generation > generation);
    let found = client.get_vulnerability(get).await.unwrap().into_inner();
    assert_eq!(found.vulnerability.unwrap().id, "RUSTSEC-2099-0002");

    running.stop.take().unwrap().send(()).unwrap();
    running.task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_batch_is_a_permanent_limit_naming_itself() {
    let mut running = start(2).await;
    let packages = (0..3).map(|i| package("demo-crate", &format!("1.0.{i}"))).collect();
    let err = running
        .client
        .match_packages(pb::MatchPackagesRequest {
            packages,
            advisories_by_reference: true,
            ..Default::default()
        })
        .await
        .unwrap_err();
    // The same status as the API's permanent limits: RESOURCE_EXHAUSTED with
    // a stable reason, the limit in the metadata, and no RetryInfo.
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert!(err.message().contains("limit is 2"), "{}", err.message());
    let info = err.get_details_error_info().expect("ErrorInfo");
    assert_eq!(info.reason, "BATCH_TOO_LARGE");
    assert_eq!(info.metadata.get("limit").map(String::as_str), Some("2"));
    assert!(err.get_details_retry_info().is_none(), "a retry can never fit");
    running.stop.take().unwrap().send(()).unwrap();
    running.task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_ids_and_keys_are_refused_short_and_never_cached() {
    let mut running = start(100).await;
    let client = &mut running.client;

    // Huge distinct ids: refused without echoing them.
    for i in 0..50 {
        let id = format!("{i}{}", "A".repeat(1 << 20));
        let err = client
            .get_vulnerability(pb::GetVulnerabilityRequest { id })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(err.message().len() < 200, "{} bytes of message", err.message().len());
    }
    let err = client
        .batch_get_vulnerabilities(pb::BatchGetVulnerabilitiesRequest {
            ids: vec!["CVE-2099-1234".into(), "B".repeat(300)],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().starts_with("ids[1] "), "{}", err.message());

    // An absurd package is answered every time, never remembered; a real one is.
    let hits = |m: &str| counter_value(m, "zerotrace_cve_cache_hits_total");
    let absurd = pb::MatchPackagesRequest {
        packages: vec![package(&"x".repeat(100_000), "1.0.0")],
        advisories_by_reference: false,
        ..Default::default()
    };
    let before = scrape(running.metrics_addr).await.unwrap();
    for _ in 0..3 {
        let answer = client.match_packages(absurd.clone()).await.unwrap().into_inner();
        assert!(answer.matches[0].vulnerabilities.is_empty());
    }
    let after = scrape(running.metrics_addr).await.unwrap();
    assert_eq!(hits(&after) - hits(&before), 0.0, "an absurd key is not cached");
    let real = pb::MatchPackagesRequest {
        packages: vec![package("demo-crate", "1.0.0")],
        advisories_by_reference: false,
        ..Default::default()
    };
    client.match_packages(real.clone()).await.unwrap();
    client.match_packages(real).await.unwrap();
    let last = scrape(running.metrics_addr).await.unwrap();
    assert_eq!(hits(&last) - hits(&after), 1.0, "a real key is");

    running.stop.take().unwrap().send(()).unwrap();
    running.task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_guards_every_call_but_health_and_is_needed_beyond_loopback() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let dir = tempfile::tempdir().unwrap();
    let osv = dir.path().join("osv");
    std::fs::create_dir_all(&osv).unwrap();
    std::fs::write(osv.join("RUSTSEC-2099-0001.json"), ADVISORY).unwrap();
    let configured = |listen: &str| {
        let mut config = <EnrichmentConfig as clap::Parser>::parse_from([
            "zerotrace-enrichment",
            "--sync-interval",
            "0s",
            "--token",
            "enrich-secret",
        ]);
        config.listen = listen.parse().unwrap();
        config.metrics_listen = "127.0.0.1:0".parse().unwrap();
        config.data_dir = dir.path().join("data");
        config.import = vec![osv.clone()];
        config
    };
    let config = configured("127.0.0.1:0");
    let listeners = Listeners::bind(config.listen, config.metrics_listen).await.unwrap();
    let addr = listeners.grpc_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(zerotrace_enrichment::serve(config, listeners, async {
        let _ = stopped.await;
    }));
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_lazy();
    // Health needs no token.
    let mut health = HealthClient::new(channel.clone());
    let mut serving = false;
    for _ in 0..200 {
        let answer = health
            .check(HealthCheckRequest {
                service: "zerotrace.enrichment.v1.EnrichmentService".into(),
            })
            .await;
        if answer.is_ok_and(|a| a.into_inner().status == ServingStatus::Serving as i32) {
            serving = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(serving, "health answers without a token");
    let mut client = EnrichmentServiceClient::new(channel);
    let call = |token: Option<&str>| {
        let mut request = tonic::Request::new(pb::GetDatabaseInfoRequest {});
        if let Some(token) = token {
            request
                .metadata_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
        }
        request
    };
    // Refused from the headers, with the reason a client can act on.
    for (token, reason) in [(None, "TOKEN_MISSING"), (Some("wrong"), "TOKEN_INVALID")] {
        let err = client.get_database_info(call(token)).await.unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated, "{token:?}");
        let info = tonic_types::StatusExt::get_details_error_info(&err).expect("ErrorInfo");
        assert_eq!(info.reason, reason, "{token:?}");
    }
    client
        .get_database_info(call(Some("enrich-secret")))
        .await
        .expect("the token opens every call");
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();

    // Beyond loopback in plaintext without a token it does not start (the
    // token rule alone is unit-tested in zerotrace-server).
    let mut open = configured("0.0.0.0:0");
    open.token = zerotrace_server::Secret::default();
    let listeners = Listeners::bind(open.listen, open.metrics_listen).await.unwrap();
    let refused = zerotrace_enrichment::serve(open, listeners, async {})
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("beyond loopback"), "{refused}");
}
