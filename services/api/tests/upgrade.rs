//! Upgrading an existing database: the migrations that change how findings
//! are stored (SQLite rebuilds the table, PostgreSQL converts the key) and
//! that key aliases by agent keep every row, and the constraints they move
//! still hold; the findings stored before decisions get the version column
//! that a decision narrowed to a version compares.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use prost::Message as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use std::path::Path;
use zerotrace_api::store::{self, FindingOrder, FindingQuery, FindingSelector};
use zerotrace_proto::common::v1::{Finding, Package, Vulnerability};

/// The first migration that changes how findings are stored (binary key,
/// deferred agent key).
const REBUILD: &str = "20261129000000";

/// The migration that added decisions and the findings' version column.
const DECISIONS: &str = "20261206000000";

/// Copies the migrations of `backend` older than `before` into `scratch`.
fn migrations_until(backend: &str, before: &str, scratch: &Path) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(backend);
    std::fs::create_dir_all(scratch).unwrap();
    for entry in std::fs::read_dir(&source).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if name.as_str() < before {
            std::fs::copy(entry.path(), scratch.join(&name)).unwrap();
        }
    }
}

/// Applies the SQLite migrations older than `before` to a new database at
/// `path`, the way an earlier release left it.
async fn migrate_until(path: &Path, before: &str, scratch: &Path) -> sqlx::SqlitePool {
    migrations_until("sqlite", before, scratch);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .foreign_keys(true),
        )
        .await
        .unwrap();
    sqlx::migrate::Migrator::new(scratch)
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    pool
}

/// Applies the PostgreSQL migrations older than `before` to the schema at
/// `url`, the way an earlier release left it.
async fn postgres_until(url: &str, before: &str, scratch: &Path) -> sqlx::PgPool {
    migrations_until("postgres", before, scratch);
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .unwrap();
    sqlx::migrate::Migrator::new(scratch)
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    pool
}

/// Runs `check`, then drops `schema` whether it passed or panicked.
async fn checked_then_dropped(schema: common::PgSchema, check: impl std::future::Future<Output = ()>) {
    let outcome = futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(check)).await;
    schema.drop_schema().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

fn finding(n: u32) -> Finding {
    Finding {
        package: Some(Package {
            ecosystem: "crates.io".to_string(),
            name: format!("crate-{n}"),
            version: "1.0.0".to_string(),
            source_path: "Cargo.lock".to_string(),
            ..Default::default()
        }),
        vulnerability: Some(Vulnerability {
            id: format!("RUSTSEC-2026-{n:04}"),
            severity: 3,
            risk_score: f64::from(n),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Writes, in the schema the migrations before [`REBUILD`] left (hex text
/// ids), one agent and the three findings [`seeded`] describes. A macro: the
/// same statements run on a SQLite and a PostgreSQL pool.
macro_rules! seed_old_findings {
    ($pool:expr) => {{
        sqlx::query(
            "INSERT INTO agents (agent_id, hostname, version, token_hash, registered_at, last_seen) \
             VALUES ('agent-1', 'host', '1.0', 'hash', 1, 1)",
        )
        .execute($pool)
        .await
        .unwrap();
        for n in 1..=3u32 {
            sqlx::query(
                "INSERT INTO findings (id, agent_id, root, ecosystem, package_name, vuln_id, severity, risk_score, \
                 kev, fix_available, first_seen, last_seen, resolved_at, first_scan_id, last_scan_id, data) \
                 VALUES ($1, 'agent-1', '/srv', 'crates.io', $2, $3, 3, $4, FALSE, FALSE, $5, $6, $7, 's1', 's2', $8)",
            )
            .bind(format!("{n:032x}"))
            .bind(format!("crate-{n}"))
            .bind(format!("RUSTSEC-2026-{n:04}"))
            .bind(f64::from(n))
            .bind(i64::from(n) * 1_000_000)
            .bind(i64::from(n) * 2_000_000)
            .bind(if n == 3 { Some(9_000_000i64) } else { None })
            .bind(finding(n).encode_to_vec())
            .execute($pool)
            .await
            .unwrap();
        }
        // An alias from before aliases were kept per agent.
        sqlx::query("INSERT INTO vuln_aliases (alias, vuln_id) VALUES ('CVE-2026-2', 'RUSTSEC-2026-0002')")
            .execute($pool)
            .await
            .unwrap();
    }};
}

/// Writes, in the schema the migrations before [`DECISIONS`] left (16-byte
/// keys, no version column), one agent and findings of crate-1 and crate-2,
/// both at version 1.0.0. A macro, as [`seed_old_findings`].
macro_rules! seed_findings_before_decisions {
    ($pool:expr) => {{
        sqlx::query(
            "INSERT INTO agents (agent_id, hostname, version, token_hash, registered_at, last_seen) \
             VALUES ('agent-1', 'host', '1.0', 'hash', 1, 1)",
        )
        .execute($pool)
        .await
        .unwrap();
        for n in 1..=2u32 {
            sqlx::query(
                "INSERT INTO findings (id, agent_id, root, ecosystem, package_name, vuln_id, severity, risk_score, \
                 kev, fix_available, first_seen, last_seen, first_scan_id, last_scan_id, data) \
                 VALUES ($1, 'agent-1', '/srv', 'crates.io', $2, $3, 3, $4, FALSE, FALSE, 1, 2, 's1', 's1', $5)",
            )
            .bind(vec![n as u8; 16])
            .bind(format!("crate-{n}"))
            .bind(format!("RUSTSEC-2026-{n:04}"))
            .bind(f64::from(n))
            .bind(finding(n).encode_to_vec())
            .execute($pool)
            .await
            .unwrap();
        }
    }};
}

/// After the upgrade, a decision narrowed to the version the old findings
/// have (1.0.0) covers crate-1's, and one narrowed to another version leaves
/// crate-2's listed: the version column was filled from the stored findings.
async fn decisions_narrow_by_the_filled_versions(store: &dyn zerotrace_api::store::Store) {
    for (n, version) in [(1u32, "1.0.0"), (2, "2.0.0")] {
        let id = format!("crate-{n}");
        let decision = zerotrace_proto::api::v1::Decision {
            name: format!("decisions/{id}"),
            kind: zerotrace_proto::api::v1::DecisionKind::FalsePositive as i32,
            reason: "checked by hand".to_string(),
            author: "alice".to_string(),
            etag: "1".to_string(),
            scope: Some(zerotrace_proto::api::v1::DecisionScope {
                advisory_id: format!("RUSTSEC-2026-{n:04}"),
                ecosystem: "crates.io".to_string(),
                package_name: id.clone(),
                version: version.to_string(),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(store.create_decision(&id, &decision).await.unwrap());
    }
    let page = store
        .list_findings(&FindingQuery {
            filter: FindingSelector::default(),
            order: FindingOrder::Risk,
            after: None,
            limit: 10,
            max_bytes: usize::MAX,
            count_total: true,
        })
        .await
        .unwrap();
    let names: Vec<_> = page
        .findings
        .iter()
        .map(|f| f.package.as_ref().unwrap().name.as_str())
        .collect();
    assert_eq!(names, ["crate-2"]);
    assert_eq!(page.total, Some(1));
}

/// The open findings ListAgents shows, agent by agent.
async fn open_of_agents(store: &dyn zerotrace_api::store::Store) -> Vec<u64> {
    let agents = store.list_agents(None, 10).await.unwrap();
    agents.iter().map(|a| a.open_findings).collect()
}

/// The packages of the findings a filter by `alias` lists.
async fn by_alias(store: &dyn zerotrace_api::store::Store, alias: &str) -> Vec<String> {
    let page = store
        .list_findings(&FindingQuery {
            filter: FindingSelector {
                vulnerability_id: Some(alias.to_string()),
                include_resolved: true,
                ..Default::default()
            },
            order: FindingOrder::Risk,
            after: None,
            limit: 10,
            max_bytes: usize::MAX,
            count_total: false,
        })
        .await
        .unwrap();
    page.findings
        .iter()
        .map(|f| f.package.as_ref().unwrap().name.clone())
        .collect()
}

/// Lists every finding of `store` by risk, as (id, package, first seen, last
/// seen, resolved) with times in seconds.
async fn listed(store: &dyn zerotrace_api::store::Store) -> Vec<(String, String, i64, i64, bool)> {
    let page = store
        .list_findings(&FindingQuery {
            filter: FindingSelector {
                include_resolved: true,
                ..Default::default()
            },
            order: FindingOrder::Risk,
            after: None,
            limit: 10,
            max_bytes: usize::MAX,
            count_total: true,
        })
        .await
        .unwrap();
    assert_eq!(page.total, Some(page.findings.len() as u64));
    page.findings
        .iter()
        .map(|f| {
            (
                f.id.clone(),
                f.package.as_ref().unwrap().name.clone(),
                f.first_seen.unwrap().seconds,
                f.last_seen.unwrap().seconds,
                f.resolved_at.is_some(),
            )
        })
        .collect()
}

/// What [`listed`] must read back of the three findings the tests seed.
fn seeded() -> Vec<(String, String, i64, i64, bool)> {
    vec![
        (format!("{:032x}", 3), "crate-3".to_string(), 3, 6, true),
        (format!("{:032x}", 2), "crate-2".to_string(), 2, 4, false),
        (format!("{:032x}", 1), "crate-1".to_string(), 1, 2, false),
    ]
}

#[tokio::test]
async fn postgres_findings_keep_their_ids_through_the_binary_key() {
    let Some(schema) = common::PgSchema::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let old = postgres_until(&schema.url, REBUILD, &dir.path().join("old-migrations")).await;
    seed_old_findings!(&old);
    old.close().await;

    let url = schema.url.clone();
    checked_then_dropped(schema, async {
        let store = store::open(&url, dir.path()).await.unwrap();
        assert_eq!(listed(store.as_ref()).await, seeded());
        assert_eq!(by_alias(store.as_ref(), "CVE-2026-2").await, ["crate-2"]);
        assert_eq!(open_of_agents(store.as_ref()).await, [2]);
        assert_eq!(store.exposure(0, 0).await.unwrap().open_by_class, [(3, false, 2)]);
    })
    .await;
}

#[tokio::test]
async fn findings_survive_the_rebuild_and_their_agent_is_still_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("api.sqlite3");
    let old = migrate_until(&path, REBUILD, &dir.path().join("old-migrations")).await;
    seed_old_findings!(&old);
    old.close().await;

    let store = store::open("", dir.path()).await.unwrap();
    assert_eq!(listed(store.as_ref()).await, seeded());
    // The alias went to the agent whose finding it names.
    assert_eq!(by_alias(store.as_ref(), "CVE-2026-2").await, ["crate-2"]);
    // Each agent's open findings were counted once, on upgrade.
    assert_eq!(open_of_agents(store.as_ref()).await, [2]);
    // And the open ones by class, which the gauges read.
    assert_eq!(store.exposure(0, 0).await.unwrap().open_by_class, [(3, false, 2)]);
    drop(store);

    // Hex ids became 16-byte keys and read back as the same hex; the foreign
    // key now waits for the commit, but it is still there.
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(SqliteConnectOptions::new().filename(&path).foreign_keys(true))
        .await
        .unwrap();
    let orphan = sqlx::query(
        "INSERT INTO findings (id, agent_id, root, ecosystem, package_name, vuln_id, severity, risk_score, \
         kev, fix_available, first_seen, last_seen, first_scan_id, last_scan_id, data) \
         VALUES ('orphan', 'no-such-agent', '/srv', 'npm', 'left-pad', 'GHSA-x', 1, 0, 0, 0, 1, 1, 's', 's', x'')",
    )
    .execute(&pool)
    .await
    .expect_err("a finding of an unknown agent must be refused");
    assert!(orphan.to_string().contains("FOREIGN KEY"), "{orphan}");
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM findings")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 3);
}

#[tokio::test]
async fn a_new_database_uses_16_kib_pages_and_an_old_one_keeps_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let old_path = dir.path().join("old").join("api.sqlite3");
    std::fs::create_dir_all(old_path.parent().unwrap()).unwrap();
    migrate_until(&old_path, REBUILD, &dir.path().join("old-migrations"))
        .await
        .close()
        .await;
    for (data_dir, expected) in [(dir.path().join("new"), 16384), (dir.path().join("old"), 4096)] {
        let store = store::open("", &data_dir).await.unwrap();
        drop(store);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(SqliteConnectOptions::new().filename(data_dir.join("api.sqlite3")))
            .await
            .unwrap();
        let (page_size,): (i64,) = sqlx::query_as("PRAGMA page_size").fetch_one(&pool).await.unwrap();
        assert_eq!(page_size, expected, "{}", data_dir.display());
        let (journal,): (String,) = sqlx::query_as("PRAGMA journal_mode").fetch_one(&pool).await.unwrap();
        assert_eq!(journal, "wal");
    }
}

#[tokio::test]
async fn sqlite_findings_before_decisions_get_their_versions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("api.sqlite3");
    let old = migrate_until(&path, DECISIONS, &dir.path().join("old-migrations")).await;
    seed_findings_before_decisions!(&old);
    old.close().await;

    let store = store::open("", dir.path()).await.unwrap();
    decisions_narrow_by_the_filled_versions(store.as_ref()).await;
}

#[tokio::test]
async fn postgres_findings_before_decisions_get_their_versions() {
    let Some(schema) = common::PgSchema::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let old = postgres_until(&schema.url, DECISIONS, &dir.path().join("old-migrations")).await;
    seed_findings_before_decisions!(&old);
    old.close().await;

    let url = schema.url.clone();
    checked_then_dropped(schema, async {
        let store = store::open(&url, dir.path()).await.unwrap();
        decisions_narrow_by_the_filled_versions(store.as_ref()).await;
    })
    .await;
}
