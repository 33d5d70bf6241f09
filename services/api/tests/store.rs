//! One store suite, run against both backends: SQLite in a temporary
//! directory and PostgreSQL in a fresh schema (dropped afterwards).
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use futures_util::FutureExt as _;
use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use zerotrace_api::prepare_report;
use zerotrace_api::store::{
    self, DecisionWrite, FindingOrder, FindingQuery, FindingSelector, NewAgent, ScanQuery, Store, SubmitOutcome,
};
use zerotrace_proto::api::v1 as pb;
use zerotrace_proto::common::v1::{ScanStatus, ScanType, Severity};

const SECOND: i64 = 1_000_000;
const T0: i64 = 1_800_000_000 * SECOND;

/// Runs `behaviour` against a fresh SQLite store, then a fresh PostgreSQL schema.
async fn on_both<F, Fut>(behaviour: F)
where
    F: Fn(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let sqlite = store::open("", dir.path()).await.unwrap();
    behaviour(sqlite).await;

    if let Some(schema) = PgSchema::create().await {
        let outcome = AssertUnwindSafe(async {
            let pg = store::open(&schema.url, dir.path()).await.unwrap();
            behaviour(pg).await;
        })
        .catch_unwind()
        .await;
        schema.drop_schema().await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }
}

async fn agent(store: &dyn Store, id: &str) {
    let created = store
        .create_agent(&NewAgent {
            agent_id: id.to_string(),
            hostname: format!("{id}.example"),
            version: "1.0.0".to_string(),
            token_hash: format!("hash-of-{id}"),
            now: T0,
        })
        .await
        .unwrap();
    assert!(created);
}

async fn submit(
    store: &dyn Store,
    agent_id: &str,
    report: &zerotrace_proto::api::v1::ScanReport,
    now: i64,
) -> SubmitOutcome {
    let prepared = prepare_report(agent_id, report.clone(), 100_000, now).unwrap();
    store.submit_report(&prepared).await.unwrap()
}

/// The open findings ListAgents shows for `agent_id`.
async fn open_of_agent(store: &dyn Store, agent_id: &str) -> u64 {
    let agents = store.list_agents(None, 100).await.unwrap();
    agents.iter().find(|a| a.agent_id == agent_id).unwrap().open_findings
}

fn open_query(filter: FindingSelector, order: FindingOrder, limit: u32) -> FindingQuery {
    FindingQuery {
        filter,
        order,
        after: None,
        limit,
        max_bytes: usize::MAX,
        count_total: true,
    }
}

async fn all_findings(
    store: &dyn Store,
    filter: FindingSelector,
    order: FindingOrder,
) -> Vec<zerotrace_proto::common::v1::Finding> {
    let mut query = open_query(filter, order, 37);
    let mut out = Vec::new();
    loop {
        let page = store.list_findings(&query).await.unwrap();
        out.extend(page.findings);
        match page.next {
            Some(cursor) => {
                query.after = Some(cursor);
                query.count_total = false;
            }
            None => return out,
        }
    }
}

#[tokio::test]
async fn agents_register_rotate_and_authenticate() {
    on_both(|store| async move {
        let store = store.as_ref();
        agent(store, "a1").await;
        let again = NewAgent {
            agent_id: "a1".to_string(),
            hostname: "other".to_string(),
            version: "2".to_string(),
            token_hash: "new-hash".to_string(),
            now: T0 + SECOND,
        };
        assert!(!store.create_agent(&again).await.unwrap(), "an id is taken once");
        assert!(!store.rotate_agent(&again, "wrong").await.unwrap());
        assert!(store.agent_exists("a1").await.unwrap());
        assert!(!store.agent_exists("nope").await.unwrap());
        assert_eq!(
            store.agent_for_token("hash-of-a1").await.unwrap().as_deref(),
            Some("a1")
        );
        assert!(store.rotate_agent(&again, "hash-of-a1").await.unwrap());
        assert_eq!(
            store.agent_for_token("hash-of-a1").await.unwrap(),
            None,
            "old token revoked"
        );
        assert_eq!(store.agent_for_token("new-hash").await.unwrap().as_deref(), Some("a1"));

        assert!(store.heartbeat("a1", T0 + 10 * SECOND).await.unwrap());
        assert!(!store.heartbeat("ghost", T0).await.unwrap());
        for id in ["a0", "a2", "a3"] {
            agent(store, id).await;
        }
        let first = store.list_agents(None, 2).await.unwrap();
        assert_eq!(
            first.iter().map(|a| a.agent_id.as_str()).collect::<Vec<_>>(),
            ["a0", "a1"]
        );
        assert_eq!(first[1].last_seen, T0 + 10 * SECOND);
        assert_eq!(first[1].hostname, "other");
        let rest = store.list_agents(Some("a1"), 10).await.unwrap();
        assert_eq!(
            rest.iter().map(|a| a.agent_id.as_str()).collect::<Vec<_>>(),
            ["a2", "a3"]
        );
    })
    .await;
}

#[tokio::test]
async fn reports_are_idempotent_and_conflicts_change_nothing() {
    on_both(|store| async move {
        let store = store.as_ref();
        agent(store, "a").await;
        let report = report("s1", ScanType::Full, findings("V", 120));
        match submit(store, "a", &report, T0).await {
            SubmitOutcome::Stored {
                new_findings,
                resolved_findings,
                published,
            } => {
                assert_eq!((new_findings, resolved_findings), (120, 0));
                let event = published.expect("an event");
                assert_eq!((event.position, event.opened.len(), event.resolved.len()), (1, 120, 0));
            }
            other => panic!("{other:?}"),
        }
        // A retry after a lost ack.
        assert_eq!(
            submit(store, "a", &report, T0 + SECOND).await,
            SubmitOutcome::Duplicate {
                new_findings: 120,
                resolved_findings: 0
            }
        );
        // The same scan id with other content.
        let mut other = report.clone();
        other.findings.truncate(3);
        assert_eq!(
            submit(store, "a", &other, T0 + 2 * SECOND).await,
            SubmitOutcome::Conflict
        );

        let page = store
            .list_findings(&open_query(FindingSelector::default(), FindingOrder::Risk, 1000))
            .await
            .unwrap();
        assert_eq!(page.total, Some(120));
        assert!(page.findings.iter().all(|f| f.last_seen == page.findings[0].last_seen));
        let scan = store.get_scan("a", "s1").await.unwrap().unwrap();
        assert_eq!(scan.finding_count, 120);
        assert_eq!(
            scan.report.as_ref().unwrap().findings.len(),
            0,
            "findings are not duplicated in the scan"
        );
        assert_eq!(scan.report.as_ref().unwrap().errors.len(), 1);
        assert_eq!(store.summary(None, 0, 0, 10, false).await.unwrap().scans, 1);

        // A report of an unknown agent is refused whole.
        let prepared = prepare_report("ghost", report.clone(), 100_000, T0).unwrap();
        assert!(store.submit_report(&prepared).await.is_err());
        assert_eq!(store.summary(None, 0, 0, 10, false).await.unwrap().scans, 1);
    })
    .await;
}

#[tokio::test]
async fn findings_are_tracked_resolved_and_reopened_across_scans() {
    on_both(|store| async move {
        let store = store.as_ref();
        agent(store, "a").await;
        let all = findings("L", 4);
        submit(store, "a", &report("s1", ScanType::Full, all.clone()), T0).await;
        // A full scan without the last two resolves them.
        let outcome = submit(
            store,
            "a",
            &report("s2", ScanType::Full, all[..2].to_vec()),
            T0 + SECOND,
        )
        .await;
        assert!(
            matches!(
                outcome,
                SubmitOutcome::Stored {
                    new_findings: 0,
                    resolved_findings: 2,
                    ..
                }
            ),
            "{outcome:?}"
        );
        // An incremental scan resolves nothing.
        let outcome = submit(
            store,
            "a",
            &report("s3", ScanType::Incremental, vec![]),
            T0 + 2 * SECOND,
        )
        .await;
        assert!(
            matches!(
                outcome,
                SubmitOutcome::Stored {
                    resolved_findings: 0,
                    ..
                }
            ),
            "{outcome:?}"
        );
        // A failed full scan resolves nothing either.
        let mut failed = report("s3b", ScanType::Full, vec![]);
        failed.status = ScanStatus::Failed as i32;
        let outcome = submit(store, "a", &failed, T0 + 2 * SECOND).await;
        assert!(
            matches!(
                outcome,
                SubmitOutcome::Stored {
                    resolved_findings: 0,
                    ..
                }
            ),
            "{outcome:?}"
        );

        let open = all_findings(store, FindingSelector::default(), FindingOrder::Time).await;
        assert_eq!(open.len(), 2);
        assert_eq!(open_of_agent(store, "a").await, 2, "the agent's kept count follows");
        let everything = all_findings(
            store,
            FindingSelector {
                include_resolved: true,
                ..Default::default()
            },
            FindingOrder::Time,
        )
        .await;
        assert_eq!(everything.len(), 4);
        let resolved: Vec<_> = everything.iter().filter(|f| f.resolved_at.is_some()).collect();
        assert_eq!(resolved.len(), 2);
        for f in &resolved {
            assert_eq!(f.scan_id, "s1", "last seen by the first scan");
            assert_eq!(f.first_seen.unwrap().seconds, T0 / SECOND);
        }
        for f in &open {
            assert_eq!(f.scan_id, "s2");
            assert_eq!(f.first_seen.unwrap().seconds, T0 / SECOND);
            assert_eq!(f.last_seen.unwrap().seconds, T0 / SECOND + 1);
            assert_eq!(f.agent_id, "a");
            assert_eq!(f.package.as_ref().unwrap().version, "1.0.0");
            assert!(f.vulnerability.as_ref().unwrap().fixed_versions.len() <= 1);
        }

        // Seen again: reopened, not new, and published.
        match submit(store, "a", &report("s4", ScanType::Full, all.clone()), T0 + 3 * SECOND).await {
            SubmitOutcome::Stored {
                new_findings,
                resolved_findings,
                published,
            } => {
                assert_eq!((new_findings, resolved_findings), (0, 0));
                let opened = published.expect("an event").opened;
                assert_eq!(opened.len(), 2, "the two reopened findings");
                assert!(opened.iter().all(|f| f.first_seen.unwrap().seconds == T0 / SECOND));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            all_findings(store, FindingSelector::default(), FindingOrder::Risk)
                .await
                .len(),
            4
        );
        assert_eq!(open_of_agent(store, "a").await, 4, "reopened findings count again");

        // Another root of the same agent is a different lockfile: its full scan leaves these alone.
        let mut elsewhere = report("s5", ScanType::Full, vec![]);
        elsewhere.root = "/src/other".to_string();
        let outcome = submit(store, "a", &elsewhere, T0 + 4 * SECOND).await;
        assert!(
            matches!(
                outcome,
                SubmitOutcome::Stored {
                    resolved_findings: 0,
                    ..
                }
            ),
            "{outcome:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn findings_seen_again_take_the_newest_enrichment_and_late_reports_change_nothing() {
    on_both(|store| async move {
        let store = store.as_ref();
        agent(store, "a").await;
        let first = findings("E", 4);
        submit(store, "a", &report("e1", ScanType::Incremental, first.clone()), T0).await;

        // Seen again: two unchanged, one with a new risk and severity, one now
        // known exploited with no fix.
        let mut again = first.clone();
        let changed = again[1].vulnerability.as_mut().unwrap();
        changed.risk_score = 99.5;
        changed.severity = Severity::Critical as i32;
        let exploited = again[2].vulnerability.as_mut().unwrap();
        exploited.known_exploited = true;
        exploited.fixed_versions.clear();
        let outcome = submit(
            store,
            "a",
            &report("e2", ScanType::Incremental, again.clone()),
            T0 + 10 * SECOND,
        )
        .await;
        assert!(
            matches!(outcome, SubmitOutcome::Stored { new_findings: 0, .. }),
            "{outcome:?}"
        );

        // A late report (received before e2's time) changes nothing, whether it
        // carries the stored values (the first finding) or others.
        let mut late = again.clone();
        for f in late.iter_mut().skip(1) {
            f.vulnerability.as_mut().unwrap().risk_score = 1.0;
        }
        submit(store, "a", &report("e0", ScanType::Incremental, late), T0 + 5 * SECOND).await;

        let stored = all_findings(store, FindingSelector::default(), FindingOrder::Risk).await;
        assert_eq!(stored.len(), 4);
        let top = &stored[0];
        let top_vuln = top.vulnerability.as_ref().unwrap();
        assert_eq!(top_vuln.id, again[1].vulnerability.as_ref().unwrap().id);
        assert_eq!(
            (top_vuln.risk_score, top_vuln.severity),
            (99.5, Severity::Critical as i32)
        );
        assert_eq!(top.scan_id, "e2");
        for f in &stored {
            assert_eq!(f.last_seen.unwrap().seconds, T0 / SECOND + 10, "{f:?}");
            assert_eq!(f.first_seen.unwrap().seconds, T0 / SECOND, "{f:?}");
            assert_eq!(f.scan_id, "e2", "{f:?}");
            assert_ne!(f.vulnerability.as_ref().unwrap().risk_score, 1.0, "{f:?}");
        }

        // The indexed columns follow: filters and sorts see the new values.
        let kev = all_findings(
            store,
            FindingSelector {
                known_exploited_only: true,
                ..Default::default()
            },
            FindingOrder::Risk,
        )
        .await;
        let kev_ids: HashSet<String> = kev
            .iter()
            .map(|f| f.vulnerability.as_ref().unwrap().id.clone())
            .collect();
        assert!(
            kev_ids.contains(&again[2].vulnerability.as_ref().unwrap().id),
            "{kev_ids:?}"
        );
        let by_severity = all_findings(store, FindingSelector::default(), FindingOrder::Severity).await;
        assert_eq!(by_severity[0].vulnerability.as_ref().unwrap().risk_score, 99.5);
        let fixed = all_findings(
            store,
            FindingSelector {
                fix_available_only: true,
                ..Default::default()
            },
            FindingOrder::Risk,
        )
        .await;
        assert!(
            fixed
                .iter()
                .all(|f| f.vulnerability.as_ref().unwrap().id != again[2].vulnerability.as_ref().unwrap().id)
        );
    })
    .await;
}

#[tokio::test]
async fn findings_filter_sort_and_page_by_keyset() {
    on_both(|store| async move {
        let store = store.as_ref();
        agent(store, "a").await;
        agent(store, "b").await;
        let a = findings("A", 250);
        submit(store, "a", &report("s1", ScanType::Full, a.clone()), T0).await;
        submit(
            store,
            "b",
            &report("s1", ScanType::Full, findings("B", 50)),
            T0 + SECOND,
        )
        .await;

        for order in [FindingOrder::Risk, FindingOrder::Severity, FindingOrder::Time] {
            let listed = all_findings(store, FindingSelector::default(), order).await;
            assert_eq!(listed.len(), 300, "{order:?}");
            let ids: HashSet<_> = listed.iter().map(|f| f.id.clone()).collect();
            assert_eq!(ids.len(), 300, "{order:?}: no finding twice across pages");
            let keys: Vec<(f64, i32, i64, &str)> = listed
                .iter()
                .map(|f| {
                    let v = f.vulnerability.as_ref().unwrap();
                    (v.risk_score, v.severity, f.last_seen.unwrap().seconds, f.id.as_str())
                })
                .collect();
            // Every order ends in the finding id, ascending (hex keeps the key's byte order).
            let risk_then_id =
                |x: (f64, i32, i64, &str), y: (f64, i32, i64, &str)| x.0 > y.0 || (x.0 == y.0 && x.3 < y.3);
            for pair in keys.windows(2) {
                let (x, y) = (pair[0], pair[1]);
                let sorted = match order {
                    FindingOrder::Risk => risk_then_id(x, y),
                    FindingOrder::Severity => x.1 > y.1 || (x.1 == y.1 && risk_then_id(x, y)),
                    FindingOrder::Time => x.2 > y.2 || (x.2 == y.2 && x.3 < y.3),
                };
                assert!(sorted, "{order:?}: {x:?} before {y:?}");
            }
        }

        let expect = |keep: &dyn Fn(usize, &zerotrace_proto::common::v1::Finding) -> bool| {
            a.iter().enumerate().filter(|(i, f)| keep(*i, f)).count()
        };
        let cases: Vec<(FindingSelector, usize)> = vec![
            (
                FindingSelector {
                    agent_id: Some("a".into()),
                    min_severity: Some(Severity::High as i32),
                    ..Default::default()
                },
                expect(&|_, f| f.vulnerability.as_ref().unwrap().severity >= Severity::High as i32),
            ),
            (
                FindingSelector {
                    agent_id: Some("a".into()),
                    ecosystem: Some("npm".into()),
                    ..Default::default()
                },
                expect(&|i, _| i % 3 == 0),
            ),
            (
                FindingSelector {
                    agent_id: Some("a".into()),
                    package_name: Some("pkg-5".into()),
                    ..Default::default()
                },
                expect(&|i, _| i % 13 == 5),
            ),
            (
                FindingSelector {
                    agent_id: Some("a".into()),
                    known_exploited_only: true,
                    ..Default::default()
                },
                expect(&|i, _| i % 7 == 0),
            ),
            (
                FindingSelector {
                    agent_id: Some("a".into()),
                    fix_available_only: true,
                    ..Default::default()
                },
                expect(&|i, _| i % 4 != 0),
            ),
            (
                FindingSelector {
                    vulnerability_id: Some("A-17".into()),
                    ..Default::default()
                },
                1,
            ),
            (
                FindingSelector {
                    vulnerability_id: Some("CVE-A-17".into()),
                    ..Default::default()
                },
                1,
            ),
            (
                FindingSelector {
                    vulnerability_id: Some("CVE-nothing".into()),
                    ..Default::default()
                },
                0,
            ),
        ];
        for (filter, want) in cases {
            let page = store
                .list_findings(&open_query(filter.clone(), FindingOrder::Risk, 1000))
                .await
                .unwrap();
            assert_eq!(page.total, Some(want as u64), "{filter:?}");
            assert_eq!(page.findings.len(), want, "{filter:?}");
            for order in [FindingOrder::Risk, FindingOrder::Severity, FindingOrder::Time] {
                let paged = all_findings(store, filter.clone(), order).await;
                assert_eq!(paged.len(), want, "{filter:?} {order:?}, in pages");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn an_agents_aliases_widen_only_its_own_findings() {
    on_both(|store| async move {
        let store = store.as_ref();
        agent(store, "honest").await;
        agent(store, "hostile").await;
        let crate_ = || package("crates.io", "h2", "0.3.1");
        let mut real = vulnerability("GHSA-real", Severity::High, 7.0);
        real.aliases = vec!["CVE-2024-1".to_string()];
        let mut other = vulnerability("CVE-2024-9", Severity::Low, 1.0);
        other.aliases.clear();
        let honest = vec![finding(crate_(), real), finding(crate_(), other.clone())];
        submit(store, "honest", &report("s1", ScanType::Full, honest), T0).await;
        // The hostile agent calls GHSA-real an alias of CVE-2024-9, which the
        // honest agent has a finding of too.
        other.aliases = vec!["GHSA-real".to_string()];
        let hostile = vec![finding(crate_(), other)];
        submit(store, "hostile", &report("s1", ScanType::Full, hostile), T0 + SECOND).await;

        let by = |id: &str| FindingSelector {
            vulnerability_id: Some(id.to_string()),
            ..Default::default()
        };
        let listed = |selector| async move {
            let mut found: Vec<(String, String)> = all_findings(store, selector, FindingOrder::Risk)
                .await
                .into_iter()
                .map(|f| (f.agent_id, f.vulnerability.unwrap().id))
                .collect();
            found.sort();
            found
        };
        let pair = |agent: &str, vuln: &str| (agent.to_string(), vuln.to_string());
        assert_eq!(
            listed(by("GHSA-real")).await,
            [pair("honest", "GHSA-real"), pair("hostile", "CVE-2024-9")],
            "the honest agent's CVE-2024-9 finding must not answer to the hostile alias"
        );
        assert_eq!(listed(by("CVE-2024-1")).await, [pair("honest", "GHSA-real")]);
        let count = store
            .list_findings(&open_query(by("GHSA-real"), FindingOrder::Time, 10))
            .await
            .unwrap();
        assert_eq!(count.total, Some(2), "the count agrees with the page");
    })
    .await;
}

/// The open findings by class the store keeps agree with the findings it lists.
async fn kept_counts_agree(store: &dyn Store, when: &str) {
    let exposure = store.exposure(0, 0).await.unwrap();
    let kept: BTreeMap<(i32, bool), u64> = exposure
        .open_by_class
        .into_iter()
        .filter(|(_, _, n)| *n > 0)
        .map(|(severity, kev, n)| ((severity, kev), n))
        .collect();
    let mut counted = BTreeMap::new();
    for f in all_findings(store, FindingSelector::default(), FindingOrder::Risk).await {
        let v = f.vulnerability.unwrap();
        *counted.entry((v.severity, v.known_exploited)).or_insert(0u64) += 1;
    }
    assert_eq!(kept, counted, "{when}");
}

#[tokio::test]
async fn open_counts_by_class_follow_new_changed_resolved_and_reopened_findings() {
    on_both(|store| async move {
        let store = store.as_ref();
        agent(store, "a").await;
        agent(store, "b").await;
        let all = findings("C", 40);
        submit(store, "a", &report("s1", ScanType::Full, all.clone()), T0).await;
        submit(store, "b", &report("s1", ScanType::Full, findings("D", 7)), T0).await;
        kept_counts_agree(store, "new findings").await;

        // Seen again: some change class (severity, KEV), ten are gone.
        let mut changed = all[..30].to_vec();
        for f in &mut changed[..6] {
            let v = f.vulnerability.as_mut().unwrap();
            v.severity = Severity::Critical as i32;
            v.known_exploited = !v.known_exploited;
        }
        submit(store, "a", &report("s2", ScanType::Full, changed), T0 + SECOND).await;
        kept_counts_agree(store, "changed and resolved").await;

        // A late retry of an older scan changes nothing; the next full scan reopens.
        submit(
            store,
            "a",
            &report("s0", ScanType::Full, all[..5].to_vec()),
            T0 - SECOND,
        )
        .await;
        kept_counts_agree(store, "late report").await;
        submit(store, "a", &report("s3", ScanType::Full, all.clone()), T0 + 2 * SECOND).await;
        kept_counts_agree(store, "reopened").await;
        let exposure = store.exposure(T0, T0).await.unwrap();
        assert_eq!(exposure.open_by_class.iter().map(|c| c.2).sum::<u64>(), 47);
        assert_eq!(exposure.agents.iter().sum::<u64>(), 2);
    })
    .await;
}

#[tokio::test]
async fn events_follow_commit_order_with_what_each_report_opened_and_resolved() {
    on_both(|store| async move {
        let store = store.as_ref();
        agent(store, "a").await;
        assert_eq!(store.last_event_position().await.unwrap(), 0);
        let all = findings("E", 6);
        submit(store, "a", &report("s1", ScanType::Full, all.clone()), T0).await;
        // Nothing changes: no event.
        submit(store, "a", &report("s2", ScanType::Full, all.clone()), T0 + SECOND).await;
        // Two gone.
        submit(
            store,
            "a",
            &report("s3", ScanType::Full, all[..4].to_vec()),
            T0 + 2 * SECOND,
        )
        .await;
        // Both back.
        submit(
            store,
            "a",
            &report("s4", ScanType::Incremental, all.clone()),
            T0 + 3 * SECOND,
        )
        .await;
        assert_eq!(store.last_event_position().await.unwrap(), 3);

        let events = store.events_after(0, 10).await.unwrap();
        let shape: Vec<(i64, usize, usize)> = events
            .iter()
            .map(|e| (e.position, e.opened.len(), e.resolved.len()))
            .collect();
        // Read back now: the first report's two findings were resolved and
        // reopened since, so they belong to the later events.
        assert_eq!(shape, [(1, 4, 0), (2, 0, 0), (3, 2, 0)]);
        for event in &events {
            let ids: Vec<&str> = event.opened.iter().map(|f| f.id.as_str()).collect();
            assert!(ids.windows(2).all(|w| w[0] < w[1]), "sorted by id: {ids:?}");
        }
        assert_eq!(store.events_after(2, 10).await.unwrap().len(), 1);
        assert_eq!(store.events_after(1, 1).await.unwrap()[0].position, 2);

        // A resolution stays one while nothing reopens it.
        submit(
            store,
            "a",
            &report("s5", ScanType::Full, all[..5].to_vec()),
            T0 + 4 * SECOND,
        )
        .await;
        let last = store.events_after(3, 10).await.unwrap();
        assert_eq!(last.len(), 1);
        assert_eq!(
            (last[0].position, last[0].opened.len(), last[0].resolved.len()),
            (4, 0, 1)
        );
        assert!(last[0].resolved[0].resolved_at.is_some());
    })
    .await;
}

#[tokio::test]
async fn scans_list_newest_first_with_filters() {
    on_both(|store| async move {
        let store = store.as_ref();
        agent(store, "a").await;
        agent(store, "b").await;
        for i in 0..7i64 {
            let mut r = report(&format!("s{i}"), ScanType::Incremental, findings(&format!("S{i}"), 2));
            r.started_at = Some(prost_types::Timestamp {
                seconds: 1_800_000_000 + i,
                nanos: 0,
            });
            if i == 3 {
                r.status = ScanStatus::Failed as i32;
            }
            submit(store, if i % 2 == 0 { "a" } else { "b" }, &r, T0 + i).await;
        }
        let mut query = ScanQuery {
            limit: 3,
            ..Default::default()
        };
        let mut seen = Vec::new();
        loop {
            let page = store.list_scans(&query).await.unwrap();
            let full = page.len() == 3;
            seen.extend(page.iter().map(|s| s.scan.report.as_ref().unwrap().scan_id.clone()));
            match page.last() {
                Some(last) if full => query.after = Some(last.cursor),
                _ => break,
            }
        }
        assert_eq!(seen, ["s6", "s5", "s4", "s3", "s2", "s1", "s0"]);
        let only_a = store
            .list_scans(&ScanQuery {
                agent_id: Some("a".into()),
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(only_a.len(), 4);
        let failed = store
            .list_scans(&ScanQuery {
                status: Some(ScanStatus::Failed as i32),
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].scan.finding_count, 2);
        let window = store
            .list_scans(&ScanQuery {
                start: Some((1_800_000_000 + 2) * SECOND),
                end: Some((1_800_000_000 + 5) * SECOND),
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(window.len(), 3);
        assert!(store.get_scan("a", "s1").await.unwrap().is_none(), "s1 is b's");
        assert!(store.get_scan("b", "s1").await.unwrap().is_some());
    })
    .await;
}

#[tokio::test]
async fn summary_counts_open_findings_and_agents() {
    on_both(|store| async move {
        let store = store.as_ref();
        agent(store, "a").await;
        agent(store, "b").await;
        agent(store, "c").await;
        store.heartbeat("a", T0 + 1000 * SECOND).await.unwrap();
        store.heartbeat("b", T0 + 500 * SECOND).await.unwrap();
        submit(
            store,
            "a",
            &report("s1", ScanType::Full, findings("X", 10)),
            T0 + 1000 * SECOND,
        )
        .await;
        let summary = store
            .summary(None, T0 + 900 * SECOND, T0 + 100 * SECOND, 3, false)
            .await
            .unwrap();
        assert_eq!(summary.agents, [1, 1, 1]);
        assert_eq!(summary.scans, 1);
        assert_eq!(summary.by_severity.iter().map(|(_, n)| n).sum::<u64>(), 10);
        assert_eq!(summary.top_packages.len(), 3);
        assert!(summary.top_packages[0].2 >= summary.top_packages[1].2);
        let only_b = store
            .summary(Some("b"), T0 + 900 * SECOND, T0 + 100 * SECOND, 3, false)
            .await
            .unwrap();
        assert_eq!(only_b.agents, [0, 1, 0]);
        assert_eq!(only_b.scans, 0);
        assert!(only_b.by_severity.is_empty());
    })
    .await;
}

#[tokio::test]
async fn page_secret_is_made_once_and_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let first = store::open("", dir.path()).await.unwrap();
    let secret = first.page_secret().await.unwrap();
    assert_eq!(secret.len(), 32);
    assert_eq!(first.page_secret().await.unwrap(), secret);
    drop(first);
    let again = store::open("", dir.path()).await.unwrap();
    assert_eq!(again.page_secret().await.unwrap(), secret);

    if let Some(schema) = PgSchema::create().await {
        let a = store::open(&schema.url, dir.path()).await.unwrap();
        let b = store::open(&schema.url, dir.path()).await.unwrap();
        let (sa, sb) = (a.page_secret().await.unwrap(), b.page_secret().await.unwrap());
        drop((a, b));
        schema.drop_schema().await;
        assert_eq!(sa, sb, "replicas sign page tokens alike");
    }
}

#[tokio::test]
async fn concurrent_reports_of_one_agent_all_land() {
    on_both(|store| async move {
        agent(store.as_ref(), "a").await;
        let mut tasks = Vec::new();
        for i in 0..8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                // Overlapping findings on the same root, full scans: the PostgreSQL
                // backend must not fail them on deadlocks.
                let mut fs = findings("C", 40);
                fs.extend(findings(&format!("C{i}"), 10));
                let prepared =
                    prepare_report("a", report(&format!("c{i}"), ScanType::Full, fs), 100_000, T0 + i).unwrap();
                store.submit_report(&prepared).await.unwrap()
            }));
        }
        for task in tasks {
            assert!(matches!(task.await.unwrap(), SubmitOutcome::Stored { .. }));
        }
        assert_eq!(store.summary(None, 0, 0, 1, false).await.unwrap().scans, 8);
        // Concurrent reports that open, change and resolve the same findings
        // leave the kept counts exact.
        kept_counts_agree(store.as_ref(), "concurrent reports").await;
        let agents = store.list_agents(None, 10).await.unwrap();
        let listed = all_findings(store.as_ref(), FindingSelector::default(), FindingOrder::Risk).await;
        assert_eq!(agents[0].open_findings, listed.len() as u64);
    })
    .await;
}

/// A decision as the service would store it (name and etag set), of
/// `advisory` in `package`, narrowed as `narrow` says.
fn decision(id: &str, advisory: &str, package: &str, narrow: impl FnOnce(&mut pb::DecisionScope)) -> pb::Decision {
    let mut scope = pb::DecisionScope {
        advisory_id: advisory.to_string(),
        ecosystem: "crates.io".to_string(),
        package_name: package.to_string(),
        ..Default::default()
    };
    narrow(&mut scope);
    pb::Decision {
        name: format!("decisions/{id}"),
        kind: pb::DecisionKind::AcceptedRisk as i32,
        reason: "not reachable from our code".to_string(),
        author: "alice".to_string(),
        scope: Some(scope),
        etag: format!("{id}-1"),
        ..Default::default()
    }
}

/// (agent, package, version, decision) of the findings a filter lists, sorted.
async fn decided(store: &dyn Store, include_decided: bool) -> Vec<(String, String, String, String)> {
    let selector = FindingSelector {
        include_decided,
        ..Default::default()
    };
    let mut found: Vec<_> = all_findings(store, selector.clone(), FindingOrder::Risk)
        .await
        .into_iter()
        .map(|f| {
            let package = f.package.unwrap();
            (f.agent_id, package.name, package.version, f.decision)
        })
        .collect();
    found.sort();
    let total = store
        .list_findings(&open_query(selector, FindingOrder::Severity, 1))
        .await
        .unwrap()
        .total;
    assert_eq!(total, Some(found.len() as u64), "the count agrees with the pages");
    found
}

#[tokio::test]
async fn decisions_hide_the_findings_of_their_scope_while_in_force() {
    on_both(|store| async move {
        let store = store.as_ref();
        agent(store, "a").await;
        agent(store, "b").await;
        let mut h2 = vulnerability("GHSA-h2", Severity::High, 7.0);
        h2.aliases = vec!["CVE-2024-2".to_string()];
        let tokio = vulnerability("GHSA-tokio", Severity::Low, 2.0);
        let both = |version: &str| {
            vec![
                finding(package("crates.io", "h2", version), h2.clone()),
                finding(package("crates.io", "tokio", "1.0.0"), tokio.clone()),
            ]
        };
        let mut a = both("0.3.1");
        a.push(finding(package("crates.io", "h2", "0.3.2"), h2.clone()));
        submit(store, "a", &report("s1", ScanType::Full, a), T0).await;
        submit(store, "b", &report("s1", ScanType::Full, both("0.3.1")), T0).await;
        let row = |agent: &str, name: &str, version: &str, decision: &str| {
            (
                agent.to_string(),
                name.to_string(),
                version.to_string(),
                decision.to_string(),
            )
        };
        let everything = |d1: &str, d2: &str| {
            vec![
                row("a", "h2", "0.3.1", d1),
                row("a", "h2", "0.3.2", d2),
                row("a", "tokio", "1.0.0", ""),
                row("b", "h2", "0.3.1", ""),
                row("b", "tokio", "1.0.0", ""),
            ]
        };
        assert_eq!(decided(store, false).await, everything("", ""));

        // By alias, narrowed to agent a and one version: only that finding.
        let narrow = decision("h2-a", "CVE-2024-2", "h2", |s| {
            s.version = "0.3.1".to_string();
            s.agent_id = "a".to_string();
        });
        assert!(store.create_decision("h2-a", &narrow).await.unwrap());
        assert!(
            !store.create_decision("h2-a", &narrow).await.unwrap(),
            "the id is taken"
        );
        let with_decided = everything("decisions/h2-a", "");
        assert_eq!(decided(store, true).await, with_decided);
        let mut hidden = with_decided.clone();
        hidden.remove(0);
        assert_eq!(decided(store, false).await, hidden);
        let summary = store.summary(None, 0, 0, 10, false).await.unwrap();
        assert_eq!(summary.by_severity.iter().map(|(_, n)| n).sum::<u64>(), 4);
        let top = |name: &str, n: u64| ("crates.io".to_string(), name.to_string(), n);
        assert_eq!(summary.top_packages, [top("h2", 2), top("tokio", 2)]);
        let summary = store.summary(Some("a"), 0, 0, 10, true).await.unwrap();
        assert_eq!(summary.by_severity.iter().map(|(_, n)| n).sum::<u64>(), 3);

        // GetFinding reads it with its name, root and decision.
        let listed = all_findings(store, FindingSelector::default(), FindingOrder::Risk).await;
        let other = listed.iter().find(|f| f.agent_id == "b").unwrap();
        assert_eq!(other.name, format!("agents/b/findings/{}", other.id));
        assert_eq!(other.root, "/src/app");
        let decided_one = all_findings(
            store,
            FindingSelector {
                include_decided: true,
                agent_id: Some("a".to_string()),
                package_name: Some("h2".to_string()),
                ..Default::default()
            },
            FindingOrder::Risk,
        )
        .await
        .into_iter()
        .find(|f| !f.decision.is_empty())
        .unwrap();
        let key = hex_key(&decided_one.id);
        let got = store.get_finding("a", &key).await.unwrap().unwrap();
        assert_eq!(got.decision, "decisions/h2-a");
        assert_eq!(got.package.unwrap().version, "0.3.1");
        assert!(
            store.get_finding("b", &key).await.unwrap().is_none(),
            "another agent's key"
        );

        // Widened to every version and agent by id; a stale etag changes nothing.
        let wide = decision("h2-a", "GHSA-h2", "h2", |_| {});
        assert_eq!(
            store.update_decision("h2-a", &wide, "old").await.unwrap(),
            DecisionWrite::Stale
        );
        assert_eq!(
            store.update_decision("nope", &wide, "h2-a-1").await.unwrap(),
            DecisionWrite::NotFound
        );
        let mut wide2 = wide.clone();
        wide2.etag = "h2-a-2".to_string();
        assert_eq!(
            store.update_decision("h2-a", &wide2, "h2-a-1").await.unwrap(),
            DecisionWrite::Done
        );
        assert_eq!(
            decided(store, false).await,
            [row("a", "tokio", "1.0.0", ""), row("b", "tokio", "1.0.0", "")]
        );
        assert_eq!(store.get_decision("h2-a").await.unwrap().unwrap(), wide2);

        // Expired: it applies no more, and the kept count is right again.
        let mut expired = wide2.clone();
        expired.expire_time = Some(prost_types::Timestamp {
            seconds: 1_000_000_000,
            nanos: 0,
        });
        expired.etag = "h2-a-3".to_string();
        assert_eq!(
            store.update_decision("h2-a", &expired, "h2-a-2").await.unwrap(),
            DecisionWrite::Done
        );
        assert_eq!(decided(store, false).await.len(), 5);
        assert!(decided(store, true).await.iter().all(|r| r.3.is_empty()));
        let mut future = expired.clone();
        future.expire_time = Some(prost_types::Timestamp {
            seconds: 4_000_000_000,
            nanos: 0,
        });
        future.etag = "h2-a-4".to_string();
        store.update_decision("h2-a", &future, "h2-a-3").await.unwrap();
        assert_eq!(decided(store, false).await.len(), 2);

        // A finding reported after the decision is decided at once, in the
        // event WatchFindings reads too.
        let late = vec![finding(package("crates.io", "h2", "0.4.0"), h2.clone())];
        let outcome = submit(store, "b", &report("s2", ScanType::Incremental, late), T0 + SECOND).await;
        assert!(
            matches!(outcome, SubmitOutcome::Stored { new_findings: 1, .. }),
            "{outcome:?}"
        );
        assert_eq!(decided(store, false).await.len(), 2);
        let last = store.last_event_position().await.unwrap();
        let events = store.events_after(last - 1, 10).await.unwrap();
        assert_eq!(events[0].opened.len(), 1);
        assert_eq!(events[0].opened[0].decision, "decisions/h2-a");

        // Listed by id, page after page; deleted with the etag it has.
        let other = decision("a-other", "GHSA-tokio", "tokio", |s| s.root = "/elsewhere".to_string());
        assert!(store.create_decision("a-other", &other).await.unwrap());
        assert_eq!(decided(store, false).await.len(), 2, "another root covers nothing here");
        let names = |list: Vec<pb::Decision>| list.into_iter().map(|d| d.name).collect::<Vec<_>>();
        assert_eq!(names(store.list_decisions("", 1).await.unwrap()), ["decisions/a-other"]);
        assert_eq!(
            names(store.list_decisions("a-other", 10).await.unwrap()),
            ["decisions/h2-a"]
        );
        assert_eq!(
            store.delete_decision("h2-a", "old").await.unwrap(),
            DecisionWrite::Stale
        );
        assert_eq!(
            store.delete_decision("h2-a", "h2-a-4").await.unwrap(),
            DecisionWrite::Done
        );
        assert_eq!(
            store.delete_decision("h2-a", "").await.unwrap(),
            DecisionWrite::NotFound
        );
        assert_eq!(store.delete_decision("a-other", "").await.unwrap(), DecisionWrite::Done);
        assert_eq!(decided(store, false).await.len(), 6);
    })
    .await;
}

/// The 16-byte key of a finding id.
fn hex_key(id: &str) -> Vec<u8> {
    (0..id.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&id[i..i + 2], 16).unwrap())
        .collect()
}

#[tokio::test]
async fn retention_deletes_old_scans_and_long_resolved_findings_only() {
    on_both(|store| async move {
        let store = store.as_ref();
        agent(store, "a").await;
        agent(store, "b").await;
        let both = findings("R", 2);
        let first = vec![both[0].clone()];
        submit(store, "a", &report("s1", ScanType::Full, both.clone()), T0).await;
        submit(store, "b", &report("s1", ScanType::Full, both.clone()), T0).await;
        // s2 resolves a's second finding; s3 sees the first again.
        submit(
            store,
            "a",
            &report("s2", ScanType::Full, first.clone()),
            T0 + 10 * SECOND,
        )
        .await;
        submit(store, "a", &report("s3", ScanType::Full, first), T0 + 20 * SECOND).await;
        let last_event = store.last_event_position().await.unwrap();

        // One row a statement: the job goes batch after batch.
        let expired = store.expire(T0 + 15 * SECOND, 1).await.unwrap();
        assert_eq!(
            (expired.scans, expired.findings, expired.events),
            (2, 1, 1),
            "a's s1 and s2 (not b's only scan), the finding s2 resolved, s1's event"
        );
        assert_eq!(
            store.event_floor().await.unwrap(),
            last_event,
            "every event was received before the cutoff"
        );
        assert_eq!(expired.floor, last_event);
        let scans = |agent: &str| {
            let query = ScanQuery {
                agent_id: Some(agent.to_string()),
                limit: 10,
                ..Default::default()
            };
            async move {
                store
                    .list_scans(&query)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|s| s.scan.report.unwrap().scan_id)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(scans("a").await, ["s3"]);
        assert_eq!(scans("b").await, ["s1"], "an agent's newest scan stays, however old");
        let all = all_findings(
            store,
            FindingSelector {
                include_resolved: true,
                ..Default::default()
            },
            FindingOrder::Risk,
        )
        .await;
        assert_eq!(all.len(), 3, "a's open finding and b's two");
        assert!(all.iter().all(|f| f.resolved_at.is_none()));
        kept_counts_agree(store, "after the retention job").await;
        assert_eq!(open_of_agent(store, "a").await, 1);
        assert_eq!(
            store.last_event_position().await.unwrap(),
            last_event,
            "positions go on after the last event"
        );

        // Nothing more to delete; later reports go on as before.
        let again = store.expire(T0 + 15 * SECOND, 1000).await.unwrap();
        assert_eq!((again.scans, again.findings, again.events), (0, 0, 0));
        // An earlier cutoff never lowers the floor.
        assert_eq!(store.expire(T0, 1000).await.unwrap().floor, last_event);
        let outcome = submit(store, "a", &report("s4", ScanType::Full, both), T0 + 30 * SECOND).await;
        assert!(
            matches!(outcome, SubmitOutcome::Stored { new_findings: 1, .. }),
            "{outcome:?}"
        );
        assert!(store.last_event_position().await.unwrap() > last_event);
    })
    .await;
}
