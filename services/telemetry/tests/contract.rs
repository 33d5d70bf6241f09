//! The scrape names are the user's contract: exactly the 13 series of
//! `../shared/METRICS.md`, with histogram suffixes and no doubled suffixes.

use std::collections::BTreeSet;
use zerotrace_telemetry::instruments::{EnrichmentStatus, ScanKind, ScanOutcome, SeverityLabel};
use zerotrace_telemetry::{AgentMetrics, ApiMetrics, Config, EnrichmentMetrics, Service, init};

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
    let agent = AgentMetrics::new(&meter);
    let enrichment = EnrichmentMetrics::new(&meter);
    let api = ApiMetrics::new(&meter);

    agent.record_scan(ScanKind::Full, ScanOutcome::Success, 1.5);
    agent.add_files("cargo-lock", 3);
    agent.add_vulnerabilities(SeverityLabel::High, 2);
    agent.set_resources("agent-1", 0.5, 1 << 20);
    enrichment.record_request(EnrichmentStatus::Ok, 0.002);
    enrichment.cache_hits(1);
    enrichment.cache_misses(1);
    enrichment.active_connections().add(1, &[]);
    api.record_request("ListFindings", "zerotrace.api.v1.ApiService", "OK", 0.01);
    api.active_connections().add(1, &[]);

    let scrape = guard.metrics().render().expect("render");
    let names: BTreeSet<String> = sample_names(&scrape)
        .into_iter()
        .filter(|n| n.starts_with("zerotrace_"))
        .collect();
    let mut want: BTreeSet<String> = COUNTERS_AND_GAUGES.iter().map(|s| s.to_string()).collect();
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
    guard
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .expect("shutdown");
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
