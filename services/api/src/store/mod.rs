//! Durable storage of agents, scans and findings: one [`Store`] trait, two
//! backends with the same behaviour and the same SQL (SQLite, embedded, and
//! PostgreSQL, for several API replicas).
//!
//! Times are microseconds since the Unix epoch, as the server's clock saw
//! them. Findings and reports are stored as protobuf bytes next to the
//! columns the queries filter and sort on, so a query returns them whole.
//!
//! Where things are: `queries/*.sql` holds the SQL text (shared statements in
//! `queries/common/`, a backend's own in `queries/sqlite/` and
//! `queries/postgres/`), embedded by `queries.rs`; `filter.rs` builds the
//! parts of a read that depend on the request; `sql.rs` holds the logic of
//! every call once, generic over a `Backend` that `sqlite.rs` and
//! `postgres.rs` implement (pools, dialect, the steps only one backend takes).

mod filter;
mod postgres;
mod queries;
mod sql;
mod sqlite;

pub use postgres::{PostgresStore, replica_channel};
pub use sqlite::SqliteStore;

use std::path::Path;
use std::sync::Arc;
use zerotrace_proto::api::v1 as pb;
use zerotrace_proto::common::v1::Finding;

/// Microseconds since the Unix epoch.
pub type Micros = i64;

/// What the store can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database is unreachable or overloaded; the call may be retried.
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// The schema could not be migrated.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Stored bytes no longer decode.
    #[error("stored {what} does not decode: {error}")]
    Corrupt {
        /// What was read.
        what: &'static str,
        /// Why it failed.
        error: prost::DecodeError,
    },
    /// The database URL or data directory is unusable.
    #[error("{0}")]
    Config(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => StoreError::Unavailable(error),
            other => StoreError::Database(other),
        }
    }
}

/// A new agent, or new credentials for one.
#[derive(Debug, Clone)]
pub struct NewAgent {
    /// Its id.
    pub agent_id: String,
    /// Host name.
    pub hostname: String,
    /// Agent version.
    pub version: String,
    /// Hex SHA-256 of its token; the token itself is never stored.
    pub token_hash: String,
    /// Registration time.
    pub now: Micros,
}

/// An agent as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAgent {
    /// Its id.
    pub agent_id: String,
    /// Host name.
    pub hostname: String,
    /// Agent version.
    pub version: String,
    /// When it first registered.
    pub registered_at: Micros,
    /// Last heartbeat, report or registration.
    pub last_seen: Micros,
    /// Its open findings.
    pub open_findings: u64,
}

/// One finding of a report, with its identity and the columns queries use.
#[derive(Debug, Clone)]
pub struct NewFinding {
    /// Stable key: a hash of agent, package, version, lockfile and
    /// vulnerability, stored as 16 bytes; the API shows it as hex ([`NewFinding::id`]).
    pub key: [u8; 16],
    /// The finding as reported (package and vulnerability), without times.
    pub finding: Finding,
    /// `finding` encoded.
    pub data: Vec<u8>,
}

impl NewFinding {
    /// The finding id of the API: the key in lowercase hex.
    pub fn id(&self) -> String {
        crate::digest::hex(&self.key)
    }
}

/// A validated scan report, ready to store in one transaction.
#[derive(Debug, Clone)]
pub struct NewReport {
    /// The reporting agent.
    pub agent_id: String,
    /// The agent's scan id.
    pub scan_id: String,
    /// SHA-256 of the whole report: a retry must carry the same.
    pub content_hash: Vec<u8>,
    /// `ScanStatus` of the scan.
    pub status: i32,
    /// Root that was scanned.
    pub root: String,
    /// Report start time, or `received_at` when the report has none.
    pub started_at: Micros,
    /// Server time of receipt; also the findings' `last_seen`.
    pub received_at: Micros,
    /// The report without its findings, encoded.
    pub report: Vec<u8>,
    /// Findings, deduplicated by id.
    pub findings: Vec<NewFinding>,
    /// Whether the report resolves the root's findings it no longer has (a successful full scan).
    pub resolves: bool,
    /// Whether to return the new and reopened findings in
    /// [`SubmitOutcome::Stored`] (somebody is watching for them).
    pub publish: bool,
}

/// The result of storing a report.
#[derive(Debug, Clone, PartialEq)]
pub enum SubmitOutcome {
    /// Stored now.
    Stored {
        /// Findings never seen before for this agent.
        new_findings: u32,
        /// Open findings this full scan no longer saw.
        resolved_findings: u32,
        /// The report's event (findings it opened or resolved), for
        /// WatchFindings, when [`NewReport::publish`] asked for it and the
        /// report changed anything.
        published: Option<FindingEvent>,
    },
    /// The same report was stored before; nothing changed.
    Duplicate {
        /// As counted when it was stored.
        new_findings: u32,
        /// As counted when it was stored.
        resolved_findings: u32,
    },
    /// The scan id is taken by a report with different content; nothing changed.
    Conflict,
}

/// What one stored report changed, at its place in commit order: the
/// findings it opened (new or reopened) and those it resolved, each sorted by
/// id. Read back later, an event holds those that are still so.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FindingEvent {
    /// Its position: reports that changed findings, numbered in commit order from 1.
    pub position: i64,
    /// Findings it opened that are open.
    pub opened: Vec<Finding>,
    /// Findings it resolved that are resolved (with `resolved_at`).
    pub resolved: Vec<Finding>,
}

/// Keyset position in ListScans order (newest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanCursor {
    /// Start time of the last scan returned.
    pub started_at: Micros,
    /// Its row id.
    pub seq: i64,
}

/// Which scans.
#[derive(Debug, Clone, Default)]
pub struct ScanQuery {
    /// Only this agent.
    pub agent_id: Option<String>,
    /// Started at or after.
    pub start: Option<Micros>,
    /// Started before.
    pub end: Option<Micros>,
    /// Only this `ScanStatus`.
    pub status: Option<i32>,
    /// Continue after this position.
    pub after: Option<ScanCursor>,
    /// Page size.
    pub limit: u32,
}

/// A stored scan and its keyset position.
#[derive(Debug, Clone)]
pub struct StoredScan {
    /// The scan.
    pub scan: pb::Scan,
    /// Its position.
    pub cursor: ScanCursor,
}

/// Order of findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingOrder {
    /// Risk score, highest first.
    Risk,
    /// Severity, then risk, highest first.
    Severity,
    /// Last seen, newest first.
    Time,
}

/// Keyset position in a findings order: the sort keys of the last row.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingCursor {
    /// Risk score.
    pub risk_score: f64,
    /// Severity (enum number).
    pub severity: i64,
    /// Last seen.
    pub last_seen: Micros,
    /// Finding key (the tie-breaker); page tokens carry it in hex.
    pub key: Vec<u8>,
}

/// Validated finding filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindingSelector {
    /// At or above this severity.
    pub min_severity: Option<i32>,
    /// Only this ecosystem.
    pub ecosystem: Option<String>,
    /// Only this package name.
    pub package_name: Option<String>,
    /// This vulnerability id or any of its aliases.
    pub vulnerability_id: Option<String>,
    /// Only this agent.
    pub agent_id: Option<String>,
    /// Only KEV-listed vulnerabilities.
    pub known_exploited_only: bool,
    /// Only findings with a fixed version.
    pub fix_available_only: bool,
    /// Include resolved findings.
    pub include_resolved: bool,
    /// Include findings a decision in force covers.
    pub include_decided: bool,
}

/// Which findings, in which order, from where.
#[derive(Debug, Clone)]
pub struct FindingQuery {
    /// Filter.
    pub filter: FindingSelector,
    /// Order.
    pub order: FindingOrder,
    /// Continue after this position.
    pub after: Option<FindingCursor>,
    /// Page size.
    pub limit: u32,
    /// Most encoded bytes of findings in the page; a page holds at least one finding.
    pub max_bytes: usize,
    /// Whether to count all matches (first page only: later pages carry it in their token).
    pub count_total: bool,
}

/// A page of findings.
#[derive(Debug, Clone)]
pub struct FindingPage {
    /// The findings.
    pub findings: Vec<Finding>,
    /// Position of the last finding when more follow.
    pub next: Option<FindingCursor>,
    /// All matches, when asked.
    pub total: Option<u64>,
}

/// The fleet's exposure, for the API's gauges: read from the counts every
/// report keeps, never by counting findings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exposure {
    /// Open findings by (severity number, known exploited), as kept.
    pub open_by_class: Vec<(i32, bool, u64)>,
    /// Agents online, stale, offline.
    pub agents: [u64; 3],
}

/// Totals for GetSummary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Open findings by severity number.
    pub by_severity: Vec<(i32, u64)>,
    /// (ecosystem, package, open findings), most first.
    pub top_packages: Vec<(String, String, u64)>,
    /// Agents online, stale, offline.
    pub agents: [u64; 3],
    /// Scans stored.
    pub scans: u64,
}

/// What a write of a decision found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionWrite {
    /// Written.
    Done,
    /// No decision has the id.
    NotFound,
    /// The decision has another etag: it changed since the caller read it.
    Stale,
}

/// What one run of the retention job deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expired {
    /// Scans received before the cutoff (not the newest of their agent).
    pub scans: u64,
    /// Findings resolved before the cutoff.
    pub findings: u64,
    /// Events of deleted scans.
    pub events: u64,
    /// The event floor after the run ([`Store::event_floor`]).
    pub floor: i64,
}

/// What a replica hears of the reports other API replicas commit to the same database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaEvent {
    /// A report that opened or resolved findings, by its event position;
    /// [`Store::events_after`] reads it.
    Committed {
        /// Its position.
        position: i64,
    },
    /// The connection that hears of them was lost (and is made again):
    /// reports committed meanwhile went unheard.
    Missed,
}

/// The reports of other replicas, in commit order; ends when the store closes.
pub type ReplicaEvents = std::pin::Pin<Box<dyn futures_util::Stream<Item = ReplicaEvent> + Send>>;

/// Durable storage of the API's data. Every write is one transaction and
/// returns only after commit (SQLite: fsynced WAL; PostgreSQL: synchronous commit).
#[tonic::async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Creates an agent; returns false when the id is taken.
    async fn create_agent(&self, agent: &NewAgent) -> Result<bool, StoreError>;
    /// Replaces an agent's token, host and version if `old_token_hash` is its
    /// current token; returns false otherwise.
    async fn rotate_agent(&self, agent: &NewAgent, old_token_hash: &str) -> Result<bool, StoreError>;
    /// Replaces an agent's token whatever it was (an admin's reset); returns
    /// false when the agent does not exist.
    async fn reset_agent_token(&self, agent_id: &str, token_hash: &str) -> Result<bool, StoreError>;
    /// Returns whether an agent id is registered.
    async fn agent_exists(&self, agent_id: &str) -> Result<bool, StoreError>;
    /// Returns the agent holding the token with this hash.
    async fn agent_for_token(&self, token_hash: &str) -> Result<Option<String>, StoreError>;
    /// Marks an agent seen at `now`; false when it does not exist.
    async fn heartbeat(&self, agent_id: &str, now: Micros) -> Result<bool, StoreError>;
    /// Stores a report, its findings and their resolution in one transaction.
    async fn submit_report(&self, report: &NewReport) -> Result<SubmitOutcome, StoreError>;
    /// Lists scans, newest first.
    async fn list_scans(&self, query: &ScanQuery) -> Result<Vec<StoredScan>, StoreError>;
    /// Returns one scan.
    async fn get_scan(&self, agent_id: &str, scan_id: &str) -> Result<Option<pb::Scan>, StoreError>;
    /// Lists findings.
    async fn list_findings(&self, query: &FindingQuery) -> Result<FindingPage, StoreError>;
    /// Reads the fleet's exposure: open findings by class (decided or not),
    /// agents by status (thresholds as in [`Store::summary`]).
    async fn exposure(&self, online_since: Micros, offline_before: Micros) -> Result<Exposure, StoreError>;
    /// Counts open findings and agents; agents seen at or after `online_since`
    /// are online, before `offline_before` offline, stale in between. Leaves
    /// out the findings a decision in force covers unless `include_decided`.
    async fn summary(
        &self,
        agent_id: Option<&str>,
        online_since: Micros,
        offline_before: Micros,
        top: u32,
        include_decided: bool,
    ) -> Result<Summary, StoreError>;
    /// Lists agents by id, after `after`.
    async fn list_agents(&self, after: Option<&str>, limit: u32) -> Result<Vec<StoredAgent>, StoreError>;
    /// Returns the secret that signs page tokens, created once per database so replicas agree.
    async fn page_secret(&self) -> Result<Vec<u8>, StoreError>;
    /// Starts hearing of the reports other API replicas commit; `None` where
    /// there are none (SQLite: one process owns the file).
    async fn replica_events(&self) -> Result<Option<ReplicaEvents>, StoreError>;
    /// Reads up to `limit` events after `position`, oldest first, with their
    /// findings as stored now.
    async fn events_after(&self, position: i64, limit: u32) -> Result<Vec<FindingEvent>, StoreError>;
    /// Returns the position of the last event (0 before the first).
    async fn last_event_position(&self) -> Result<i64, StoreError>;
    /// Returns one finding of an agent by its key, with the decision in force on it.
    async fn get_finding(&self, agent_id: &str, key: &[u8]) -> Result<Option<Finding>, StoreError>;
    /// Records a decision under `id` (its scope, expiry and etag are read from
    /// it); returns false when the id is taken.
    async fn create_decision(&self, id: &str, decision: &pb::Decision) -> Result<bool, StoreError>;
    /// Returns one decision.
    async fn get_decision(&self, id: &str) -> Result<Option<pb::Decision>, StoreError>;
    /// Lists decisions by id, after `after` (empty: from the first).
    async fn list_decisions(&self, after: &str, limit: u32) -> Result<Vec<pb::Decision>, StoreError>;
    /// Replaces decision `id` if its etag is still `etag`.
    async fn update_decision(&self, id: &str, decision: &pb::Decision, etag: &str)
    -> Result<DecisionWrite, StoreError>;
    /// Deletes decision `id` if its etag is `etag` (any when empty).
    async fn delete_decision(&self, id: &str, etag: &str) -> Result<DecisionWrite, StoreError>;
    /// Deletes what is older than `cutoff`: scans received before it (but
    /// the newest of each agent), findings resolved before it, and the
    /// events of deleted scans, after raising the event floor to the last
    /// event received before it; `batch` rows per statement, each its own
    /// transaction, so reports go on meanwhile.
    async fn expire(&self, cutoff: Micros, batch: u32) -> Result<Expired, StoreError>;
    /// The last event position whose findings the retention job may have
    /// deleted (0 before it ran): WatchFindings cannot resume before it.
    async fn event_floor(&self) -> Result<i64, StoreError>;
}

/// Opens (and migrates) the store: PostgreSQL when `database_url` starts with
/// `postgres://` or `postgresql://`, SQLite at `<data_dir>/api.sqlite3` when it is empty.
pub async fn open(database_url: &str, data_dir: &Path) -> Result<Arc<dyn Store>, StoreError> {
    let url = database_url.trim();
    if url.is_empty() {
        Ok(Arc::new(SqliteStore::open(&data_dir.join("api.sqlite3")).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::open(url).await?))
    } else if let Some(path) = url.strip_prefix("sqlite://") {
        Ok(Arc::new(SqliteStore::open(Path::new(path)).await?))
    } else {
        Err(StoreError::Config(
            "--database-url must be empty (SQLite in the data directory), postgres://… or sqlite://PATH".to_string(),
        ))
    }
}
