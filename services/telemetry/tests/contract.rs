//! The scrape names are the user's contract: exactly the 13 series of
//! `../shared/METRICS.md`, with histogram suffixes and no doubled suffixes,
//! plus the documented series beyond it.

use std::collections::BTreeSet;
use zerotrace_telemetry::instruments::{EnrichmentStatus, ScanKind, ScanOutcome, SeverityLabel};
use zerotrace_telemetry::{
    AdvisoryDataMetrics, AgentMetrics, ApiMetrics, Config, DataSourcePoint, EnrichmentMetrics, ExposureMetrics,
    ExposurePoint, SERIES_BEYOND_CONTRACT, Service, SyncOutcome, init,
};

const COUNTERS_AND_GAUGES: &[&str] = &[
    "zerotrace_files_scanned_total",
    "zerotrace_vulnerabilities_found_total",
    "zerotrace_agent_cpu_usage_percent",
    "zerotrace_agent_memory_usage_bytes",
    "zerotrace_enrichment_requests_total",
    "zerotrace_cve_cache_hits_total",
    "zerotrace_cve_cache_misses_total",
    "zerotrace_enrichment_active_connections",
    "zerotrace_api_requests_total",
    "zerotrace_api_active_connections",
];
const HISTOGRAMS: &[&str] = &[
    "zerotrace_scan_duration_seconds",
    "zerotrace_enrichment_duration_seconds",
    "zerotrace_api_request_duration_seconds",
];

const API: &str = "zerotrace.api.v1.ApiService";

/// Returns the metric name of every sample line of a text exposition.
fn sample_names(scrape: &str) -> BTreeSet<String> {
    scrape
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn scrape_holds_exactly_the_contract_names() {
    let guard = init(&Config::new(Service::Agent)).expect("telemetry init");
    let meter = guard.meter();
    let agent = AgentMetrics::new(&meter, &["cargo-lock"]);
    let enrichment = EnrichmentMetrics::new(&meter);
    let api = ApiMetrics::new(&meter, API, &["ListFindings".to_string()]);
    let sources = ["osv:crates.io".to_string(), "kev".to_string()];
    let data = AdvisoryDataMetrics::new(&meter, &sources, 432_000.0, || {
        vec![
            DataSourcePoint {
                source: "osv:crates.io".to_string(),
                age_seconds: Some(3600.0),
                entries: 1206,
            },
            DataSourcePoint {
                source: "kev".to_string(),
                age_seconds: None,
                entries: 0,
            },
        ]
    });
    data.record_sync("osv:crates.io", SyncOutcome::Success);
    let _exposure = ExposureMetrics::new(&meter, || {
        let mut point = ExposurePoint {
            agents: [2, 1, 0],
            findings_resolved: 4,
            ..Default::default()
        };
        point.add_open(SeverityLabel::Critical, true, 3);
        point
    });

    agent.record_scan(ScanKind::Full, ScanOutcome::Success, 1.5);
    agent.add_files("cargo-lock", 3);
    agent.add_vulnerabilities(SeverityLabel::High, 2);
    agent.set_resources("agent-1", 0.5, 1 << 20);
    enrichment.record_request(EnrichmentStatus::Ok, 0.002);
    enrichment.cache_hits(1);
    enrichment.cache_misses(1);
    enrichment.active_connections().add(1, &[]);
    api.record_request("ListFindings", "OK", 0.01);
    api.active_connections().add(1, &[]);

    let scrape = guard.metrics().render().expect("render");
    let names: BTreeSet<String> = sample_names(&scrape)
        .into_iter()
        .filter(|n| n.starts_with("zerotrace_"))
        .collect();
    let mut want: BTreeSet<String> = COUNTERS_AND_GAUGES
        .iter()
        .chain(SERIES_BEYOND_CONTRACT.iter())
        .map(|s| s.to_string())
        .collect();
    for h in HISTOGRAMS {
        for suffix in ["_bucket", "_sum", "_count"] {
            want.insert(format!("{h}{suffix}"));
        }
    }
    assert_eq!(names, want, "scrape:\n{scrape}");
    assert!(
        !scrape.contains("_total_total") && !scrape.contains("_seconds_seconds"),
        "doubled suffix:\n{scrape}"
    );

    // Buckets are seconds-scale and explicit, never the SDK's millisecond defaults.
    assert!(scrape.contains(r#"zerotrace_api_request_duration_seconds_bucket{endpoint="zerotrace.api.v1.ApiService",method="ListFindings",le="1"}"#), "{scrape}");
    assert!(!scrape.contains(r#"le="750""#), "default buckets leaked:\n{scrape}");
    // Labels are the contract's.
    assert!(scrape.contains(r#"scan_type="full""#) && scrape.contains(r#"status="success""#));
    assert!(scrape.contains(r#"severity="high""#) && scrape.contains(r#"type="dependency""#));
    assert!(scrape.contains(r#"agent_id="agent-1""#));
    // Data ages: a source that holds nothing has no age, only its 0 entries.
    assert!(
        scrape.contains(r#"zerotrace_advisory_data_age_seconds{source="osv:crates.io"} 3600"#),
        "{scrape}"
    );
    assert!(
        !scrape.contains(r#"zerotrace_advisory_data_age_seconds{source="kev"}"#),
        "{scrape}"
    );
    assert!(
        scrape.contains(r#"zerotrace_advisory_data_entries{source="kev"} 0"#),
        "{scrape}"
    );
    assert!(
        scrape.contains(r#"zerotrace_advisory_data_entries{source="osv:crates.io"} 1206"#),
        "{scrape}"
    );
    // Exposure: every severity and KEV flag, and every status, 0 included.
    assert!(
        scrape.contains(r#"zerotrace_findings_open{known_exploited="true",severity="critical"} 3"#),
        "{scrape}"
    );
    assert_eq!(scrape.matches("zerotrace_findings_open{").count(), 10, "{scrape}");
    assert!(scrape.contains(r#"zerotrace_findings_open{known_exploited="false",severity="unknown"} 0"#));
    assert!(scrape.contains(r#"zerotrace_agents{status="online"} 2"#), "{scrape}");
    assert!(scrape.contains(r#"zerotrace_agents{status="offline"} 0"#), "{scrape}");
    assert!(scrape.contains("zerotrace_findings_resolved_total 4"), "{scrape}");
    assert!(
        scrape.contains("zerotrace_advisory_data_max_age_seconds 432000"),
        "{scrape}"
    );
    assert!(
        scrape.contains(r#"zerotrace_advisory_syncs_total{outcome="failure",source="kev"} 0"#),
        "{scrape}"
    );
    assert!(
        scrape.contains(r#"zerotrace_advisory_syncs_total{outcome="success",source="osv:crates.io"} 1"#),
        "{scrape}"
    );
    guard
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .expect("shutdown");
}

/// Returns the sample lines of `name` (exact metric name) in a scrape.
fn samples<'a>(scrape: &'a str, name: &str) -> Vec<&'a str> {
    scrape
        .lines()
        .filter(|l| l.split(['{', ' ']).next() == Some(name))
        .collect()
}

#[tokio::test]
async fn series_with_known_labels_exist_at_zero_from_start_up() {
    let guard = init(&Config::new(Service::Agent)).expect("telemetry init");
    let meter = guard.meter();
    let _agent = AgentMetrics::new(&meter, &["cargo-lock", "npm-lock"]);
    let _enrichment = EnrichmentMetrics::new(&meter);
    let methods = ["ListFindings".to_string(), "SubmitScanReport".to_string()];
    let api = ApiMetrics::new(&meter, API, &methods);
    let scrape = guard.metrics().render().expect("render");

    let found = samples(&scrape, "zerotrace_vulnerabilities_found_total");
    for severity in SeverityLabel::ALL {
        let want = format!(r#"severity="{}",type="dependency"}} 0"#, severity.label());
        assert!(found.iter().any(|l| l.ends_with(&want)), "{want} missing:\n{scrape}");
    }
    let files = samples(&scrape, "zerotrace_files_scanned_total");
    assert_eq!(files.len(), 2, "{scrape}");
    assert!(files.iter().all(|l| l.ends_with(" 0")), "{scrape}");
    let requests = samples(&scrape, "zerotrace_enrichment_requests_total");
    for status in EnrichmentStatus::ALL {
        let want = format!(r#"{{status="{}"}} 0"#, status.label());
        assert!(requests.iter().any(|l| l.ends_with(&want)), "{want} missing:\n{scrape}");
    }
    // Scan durations: every full/incremental kind and outcome, empty.
    let counts = samples(&scrape, "zerotrace_scan_duration_seconds_count");
    assert_eq!(counts.len(), 2 * ScanOutcome::ALL.len(), "{scrape}");
    assert!(counts.iter().all(|l| l.ends_with(" 0")), "{scrape}");
    for outcome in ScanOutcome::ALL {
        let want = format!(r#"scan_type="incremental",status="{}"}} 0"#, outcome.label());
        assert!(counts.iter().any(|l| l.ends_with(&want)), "{want} missing:\n{scrape}");
    }
    // API: each method, every status code at 0, and an empty duration histogram.
    let api_requests = samples(&scrape, "zerotrace_api_requests_total");
    assert_eq!(api_requests.len(), methods.len() * 17, "{scrape}");
    assert!(
        api_requests
            .iter()
            .any(|l| l.contains(r#"method="SubmitScanReport""#) && l.contains(r#"status="INTERNAL""#))
    );
    let api_counts = samples(&scrape, "zerotrace_api_request_duration_seconds_count");
    assert_eq!(api_counts.len(), methods.len(), "{scrape}");

    // A path the service does not have is `unknown`, never the client's text.
    api.record_request("Exfiltrate/../../etc", "UNIMPLEMENTED", 0.001);
    let scrape = guard.metrics().render().expect("render");
    assert!(!scrape.contains("Exfiltrate"), "{scrape}");
    assert!(
        scrape.contains(r#"zerotrace_api_requests_total{endpoint="zerotrace.api.v1.ApiService",method="unknown",status="UNIMPLEMENTED"} 1"#),
        "{scrape}"
    );
}

#[tokio::test]
async fn gauges_and_cache_counters_exist_before_first_use() {
    let guard = init(&Config::new(Service::Enrichment)).expect("telemetry init");
    let _enrichment = EnrichmentMetrics::new(&guard.meter());
    let scrape = guard.metrics().render().expect("render");
    for name in [
        "zerotrace_enrichment_active_connections",
        "zerotrace_cve_cache_hits_total",
        "zerotrace_cve_cache_misses_total",
    ] {
        assert!(sample_names(&scrape).contains(name), "{name} missing:\n{scrape}");
    }
    assert!(
        scrape.contains(r#"service_name="zerotrace-enrichment""#),
        "target_info names the service:\n{scrape}"
    );
}
