//! The logic of [`Store`], written once for both backends as ordinary
//! generic code over a [`Backend`]: the backend brings its sqlx database
//! type, its pools, its version of the statements that differ
//! ([`Dialect`]) and the few steps only it takes (telling other replicas of a
//! report, checkpointing after a commit).
//!
//! `Store` is implemented for every `Backend` whose database encodes and
//! decodes the Rust types the statements bind and read (the `where` clause of
//! that impl, repeated on [`submit_once`]); sqlx implements them for both
//! SQLite and PostgreSQL. The SQL text is in [`super::queries`], the filters
//! built per request in [`super::filter`].

use super::filter::{self, Bind, DecisionsAt, Sql};
use super::queries::{self as q, Dialect, unknown_hole};
use super::{
    DecisionWrite, Expired, Exposure, FindingCursor, FindingEvent, FindingPage, FindingQuery, FindingSelector, Micros,
    NewAgent, NewFinding, NewReport, ReplicaEvents, ScanCursor, ScanQuery, Store, StoreError, StoredAgent, StoredScan,
    SubmitOutcome, Summary,
};
use prost::Message as _;
use sqlx::query::Query;
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, QueryBuilder, Row, Type};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use zerotrace_proto::api::v1 as pb;
use zerotrace_proto::common::v1::Finding;

/// Findings per statement: 10 binds each stays far below both backends'
/// limits on bound parameters (SQLite 32766, PostgreSQL 65535). Binds are
/// anonymous on SQLite (`?`): sqlx looks up the name of every numbered one,
/// which SQLite finds by a linear search, so a statement with thousands of
/// `$N` binds spends more time binding than inserting.
pub(super) const FINDING_CHUNK: usize = 1000;

/// Aliases per statement (2 binds each).
const ALIAS_CHUNK: usize = 1000;

/// What a backend brings to the shared logic.
pub(super) trait Backend: Send + Sync + std::fmt::Debug {
    /// Its sqlx database.
    type DB: Database;
    /// Its version of the statements that differ.
    const DIALECT: Dialect;
    /// The pool of writes (one connection on SQLite).
    fn writer(&self) -> &Pool<Self::DB>;
    /// The pool of reads.
    fn reader(&self) -> &Pool<Self::DB>;
    /// Rows a statement changed (sqlx has no trait for it).
    fn rows_affected(done: &<Self::DB as Database>::QueryResult) -> u64;
    /// After a report's commit.
    fn committed(&self);
    /// Tells other replicas, inside the report's transaction `tx`, of a report
    /// that opened or resolved findings, by its event position.
    fn announce(
        &self,
        tx: &mut <Self::DB as Database>::Connection,
        position: i64,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    /// Starts hearing of other replicas' reports ([`Store::replica_events`]).
    fn listen_to_replicas(&self) -> impl Future<Output = Result<Option<ReplicaEvents>, StoreError>> + Send;
}

#[tonic::async_trait]
impl<B> Store for B
where
    B: Backend,
    // Statements run on a pool and inside a transaction.
    for<'c> &'c mut <B::DB as Database>::Connection: Executor<'c, Database = B::DB>,
    <B::DB as Database>::Arguments: IntoArguments<B::DB>,
    // Columns are read by name.
    for<'n> &'n str: ColumnIndex<<B::DB as Database>::Row>,
    // What the statements bind and read.
    for<'q> i64: Encode<'q, B::DB> + Decode<'q, B::DB> + Type<B::DB>,
    for<'q> f64: Encode<'q, B::DB> + Decode<'q, B::DB> + Type<B::DB>,
    for<'q> bool: Encode<'q, B::DB> + Decode<'q, B::DB> + Type<B::DB>,
    for<'q> &'q str: Encode<'q, B::DB> + Type<B::DB>,
    for<'q> &'q [u8]: Encode<'q, B::DB> + Type<B::DB>,
    for<'r> String: Decode<'r, B::DB> + Type<B::DB>,
    for<'r> Vec<u8>: Decode<'r, B::DB> + Type<B::DB>,
    // A decision's scope and expiry, NULL where it is any.
    for<'q> Option<&'q str>: Encode<'q, B::DB> + Type<B::DB>,
    for<'q> Option<i64>: Encode<'q, B::DB> + Type<B::DB>,
{
    async fn create_agent(&self, agent: &NewAgent) -> Result<bool, StoreError> {
        let done = sqlx::query(q::CREATE_AGENT)
            .bind(agent.agent_id.as_str())
            .bind(agent.hostname.as_str())
            .bind(agent.version.as_str())
            .bind(agent.token_hash.as_str())
            .bind(agent.now)
            .execute(self.writer())
            .await?;
        Ok(B::rows_affected(&done) == 1)
    }

    async fn rotate_agent(&self, agent: &NewAgent, old_token_hash: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(q::ROTATE_AGENT)
            .bind(agent.hostname.as_str())
            .bind(agent.version.as_str())
            .bind(agent.token_hash.as_str())
            .bind(agent.now)
            .bind(agent.agent_id.as_str())
            .bind(old_token_hash)
            .execute(self.writer())
            .await?;
        Ok(B::rows_affected(&done) == 1)
    }

    async fn reset_agent_token(&self, agent_id: &str, token_hash: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(q::RESET_AGENT_TOKEN)
            .bind(token_hash)
            .bind(agent_id)
            .execute(self.writer())
            .await?;
        Ok(B::rows_affected(&done) == 1)
    }

    async fn agent_exists(&self, agent_id: &str) -> Result<bool, StoreError> {
        let row = sqlx::query(q::AGENT_EXISTS)
            .bind(agent_id)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.is_some())
    }

    async fn agent_for_token(&self, token_hash: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(q::AGENT_FOR_TOKEN)
            .bind(token_hash)
            .fetch_optional(self.reader())
            .await?;
        Ok(match row {
            Some(row) => Some(row.try_get("agent_id")?),
            None => None,
        })
    }

    async fn heartbeat(&self, agent_id: &str, now: Micros) -> Result<bool, StoreError> {
        let done = sqlx::query(q::HEARTBEAT)
            .bind(now)
            .bind(agent_id)
            .execute(self.writer())
            .await?;
        Ok(B::rows_affected(&done) == 1)
    }

    async fn submit_report(&self, report: &NewReport) -> Result<SubmitOutcome, StoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match submit_once(self, report).await {
                Ok(outcome) => return Ok(outcome),
                // Concurrent reports of one agent may deadlock on PostgreSQL
                // (40P01) or fail to serialize (40001): the transaction rolled
                // back whole, so running it again is safe.
                Err(sqlx::Error::Database(e))
                    if attempt < 5 && matches!(e.code().as_deref(), Some("40P01" | "40001")) =>
                {
                    tracing::debug!(attempt, "report transaction retried after a conflict");
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn list_scans(&self, query: &ScanQuery) -> Result<Vec<StoredScan>, StoreError> {
        let sql = filter::scan_page(query);
        let rows = query_of(&sql).fetch_all(self.reader()).await?;
        rows.iter().map(decode_scan).collect()
    }

    async fn get_scan(&self, agent_id: &str, scan_id: &str) -> Result<Option<pb::Scan>, StoreError> {
        let row = sqlx::query(q::GET_SCAN)
            .bind(agent_id)
            .bind(scan_id)
            .fetch_optional(self.reader())
            .await?;
        Ok(match row {
            Some(row) => Some(decode_scan(&row)?.scan),
            None => None,
        })
    }

    async fn list_findings(&self, query: &FindingQuery) -> Result<FindingPage, StoreError> {
        let decisions = decisions_at(self.reader()).await?;
        let all_open = query.filter
            == FindingSelector {
                include_decided: query.filter.include_decided,
                ..FindingSelector::default()
            }
            && (query.filter.include_decided || !decisions.any_in_force);
        let total = if query.count_total && all_open {
            // All open findings: kept by submit_once, no need to count them.
            let row = sqlx::query(q::OPEN_FINDING_COUNT).fetch_one(self.reader()).await?;
            let n: i64 = row.try_get("open_findings")?;
            Some(u64::try_from(n).unwrap_or(0))
        } else if query.count_total {
            let sql = filter::finding_count(&query.filter, decisions);
            let row = query_of(&sql).fetch_one(self.reader()).await?;
            let n: i64 = row.try_get("n")?;
            Some(u64::try_from(n).unwrap_or(0))
        } else {
            None
        };
        // One row more than asked tells whether a next page exists.
        let sql = filter::finding_page(
            &query.filter,
            query.order,
            query.after.as_ref(),
            query.limit.saturating_add(1),
            decisions,
        );
        let rows = query_of(&sql).fetch_all(self.reader()).await?;
        let mut more = rows.len() > query.limit as usize;
        let mut findings = Vec::with_capacity(rows.len());
        let mut last = None;
        let mut bytes = 0usize;
        for row in rows.iter().take(query.limit as usize) {
            let finding = decode_finding(row)?;
            bytes = bytes.saturating_add(prost::Message::encoded_len(&finding) + 6);
            if bytes > query.max_bytes && !findings.is_empty() {
                // The page is full by size: the next one starts at this finding.
                more = true;
                break;
            }
            findings.push(finding);
            last = Some(row);
        }
        let next = match last {
            Some(row) if more => Some(FindingCursor {
                risk_score: row.try_get("risk_score")?,
                severity: row.try_get("severity")?,
                last_seen: row.try_get("last_seen")?,
                key: row.try_get("id")?,
            }),
            _ => None,
        };
        Ok(FindingPage { findings, next, total })
    }

    async fn summary(
        &self,
        agent_id: Option<&str>,
        online_since: Micros,
        offline_before: Micros,
        top: u32,
        include_decided: bool,
    ) -> Result<Summary, StoreError> {
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        let mut summary = Summary::default();
        let undecided = if include_decided {
            None
        } else {
            Some(decisions_at(self.reader()).await?)
        };
        let sql = filter::summary(q::SUMMARY_SEVERITIES, agent_id, undecided, &[]);
        let rows = query_of(&sql).fetch_all(self.reader()).await?;
        for row in rows {
            let severity: i64 = row.try_get("severity")?;
            summary
                .by_severity
                .push((i32::try_from(severity).unwrap_or(0), count(row.try_get("n")?)));
        }

        let sql = filter::summary(
            q::SUMMARY_PACKAGES,
            agent_id,
            undecided,
            &[("top", Bind::I64(i64::from(top)))],
        );
        let rows = query_of(&sql).fetch_all(self.reader()).await?;
        for row in rows {
            summary.top_packages.push((
                row.try_get("ecosystem")?,
                row.try_get("package_name")?,
                count(row.try_get("n")?),
            ));
        }

        let row = query_of(&agents_by_status(agent_id, online_since, offline_before))
            .fetch_one(self.reader())
            .await?;
        summary.agents = agent_counts(&row)?;

        let sql = filter::summary(q::SUMMARY_SCANS, agent_id, None, &[]);
        let row = query_of(&sql).fetch_one(self.reader()).await?;
        summary.scans = count(row.try_get("n")?);
        Ok(summary)
    }

    async fn exposure(&self, online_since: Micros, offline_before: Micros) -> Result<Exposure, StoreError> {
        let rows = sqlx::query(q::OPEN_FINDING_CLASSES).fetch_all(self.reader()).await?;
        let mut open_by_class = Vec::with_capacity(rows.len());
        for row in rows {
            let severity: i64 = row.try_get("severity")?;
            let open: i64 = row.try_get("open_findings")?;
            open_by_class.push((
                i32::try_from(severity).unwrap_or(0),
                row.try_get("kev")?,
                u64::try_from(open).unwrap_or(0),
            ));
        }
        let row = query_of(&agents_by_status(None, online_since, offline_before))
            .fetch_one(self.reader())
            .await?;
        Ok(Exposure {
            open_by_class,
            agents: agent_counts(&row)?,
        })
    }

    async fn list_agents(&self, after: Option<&str>, limit: u32) -> Result<Vec<StoredAgent>, StoreError> {
        let rows = match after {
            Some(after) => {
                sqlx::query(q::LIST_AGENTS_AFTER)
                    .bind(after)
                    .bind(i64::from(limit))
                    .fetch_all(self.reader())
                    .await?
            }
            None => {
                sqlx::query(q::LIST_AGENTS)
                    .bind(i64::from(limit))
                    .fetch_all(self.reader())
                    .await?
            }
        };
        rows.iter()
            .map(|row| {
                Ok(StoredAgent {
                    agent_id: row.try_get("agent_id")?,
                    hostname: row.try_get("hostname")?,
                    version: row.try_get("version")?,
                    registered_at: row.try_get("registered_at")?,
                    last_seen: row.try_get("last_seen")?,
                    open_findings: u64::try_from(row.try_get::<i64, _>("open_findings")?).unwrap_or(0),
                })
            })
            .collect()
    }

    async fn page_secret(&self) -> Result<Vec<u8>, StoreError> {
        let fresh = crate::digest::random_bytes::<32>()
            .map_err(|e| StoreError::Config(format!("no randomness for the page secret: {e}")))?;
        sqlx::query(q::INSERT_PAGE_SECRET)
            .bind(fresh.as_slice())
            .execute(self.writer())
            .await?;
        let row = sqlx::query(q::PAGE_SECRET).fetch_one(self.writer()).await?;
        Ok(row.try_get("value")?)
    }

    async fn replica_events(&self) -> Result<Option<ReplicaEvents>, StoreError> {
        self.listen_to_replicas().await
    }

    async fn events_after(&self, position: i64, limit: u32) -> Result<Vec<FindingEvent>, StoreError> {
        let rows = sqlx::query(q::FINDING_EVENTS_AFTER)
            .bind(position)
            .bind(i64::from(limit))
            .fetch_all(self.reader())
            .await?;
        let mut events = Vec::with_capacity(rows.len());
        let now = crate::time::now_micros();
        for row in rows {
            let opened = filter::with_decision(q::OPENED_BY_SCAN, "f", vec![Bind::I64(row.try_get("scan_seq")?)], now);
            let opened = query_of(&opened).fetch_all(self.reader()).await?;
            let resolved = filter::with_decision(
                q::RESOLVED_BY_EVENT,
                "findings",
                vec![
                    Bind::Text(row.try_get("agent_id")?),
                    Bind::Text(row.try_get("root")?),
                    Bind::I64(row.try_get("received_at")?),
                ],
                now,
            );
            let resolved = query_of(&resolved).fetch_all(self.reader()).await?;
            events.push(FindingEvent {
                position: row.try_get("position")?,
                opened: opened.iter().map(decode_finding).collect::<Result<_, _>>()?,
                resolved: resolved.iter().map(decode_finding).collect::<Result<_, _>>()?,
            });
        }
        Ok(events)
    }

    async fn last_event_position(&self) -> Result<i64, StoreError> {
        let row = sqlx::query(q::LAST_FINDING_EVENT).fetch_one(self.reader()).await?;
        Ok(row.try_get("position")?)
    }

    async fn get_finding(&self, agent_id: &str, key: &[u8]) -> Result<Option<Finding>, StoreError> {
        let sql = filter::with_decision(
            q::GET_FINDING,
            "findings",
            vec![Bind::Bytes(key.to_vec()), Bind::Text(agent_id.to_string())],
            crate::time::now_micros(),
        );
        match query_of(&sql).fetch_optional(self.reader()).await? {
            Some(row) => Ok(Some(decode_finding(&row)?)),
            None => Ok(None),
        }
    }

    async fn create_decision(&self, id: &str, decision: &pb::Decision) -> Result<bool, StoreError> {
        let data = decision.encode_to_vec();
        let done = DecisionColumns::of(decision)
            .bind(sqlx::query(q::INSERT_DECISION), id, &data)
            .execute(self.writer())
            .await?;
        Ok(B::rows_affected(&done) == 1)
    }

    async fn get_decision(&self, id: &str) -> Result<Option<pb::Decision>, StoreError> {
        let row = sqlx::query(q::GET_DECISION)
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(decode_decision).transpose()
    }

    async fn list_decisions(&self, after: &str, limit: u32) -> Result<Vec<pb::Decision>, StoreError> {
        let rows = sqlx::query(q::LIST_DECISIONS)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(decode_decision).collect()
    }

    async fn update_decision(
        &self,
        id: &str,
        decision: &pb::Decision,
        etag: &str,
    ) -> Result<DecisionWrite, StoreError> {
        let data = decision.encode_to_vec();
        let done = DecisionColumns::of(decision)
            .bind(sqlx::query(q::UPDATE_DECISION), id, &data)
            .bind(etag)
            .execute(self.writer())
            .await?;
        decision_written(self, id, B::rows_affected(&done)).await
    }

    async fn expire(&self, cutoff: Micros, batch: u32) -> Result<Expired, StoreError> {
        let mut expired = Expired::default();
        // First the floor: from now on, no resume may start before what this
        // run deletes.
        let row = sqlx::query(q::LAST_EVENT_BEFORE)
            .bind(cutoff)
            .fetch_one(self.writer())
            .await?;
        let floor: i64 = row.try_get("position")?;
        if floor > 0 {
            sqlx::query(q::SET_EVENT_FLOOR)
                .bind(floor.to_be_bytes().as_slice())
                .execute(self.writer())
                .await?;
        }
        for (statement, count) in [
            (q::EXPIRE_SCANS, &mut expired.scans),
            (q::EXPIRE_FINDINGS, &mut expired.findings),
        ] {
            loop {
                let done = sqlx::query(statement)
                    .bind(cutoff)
                    .bind(i64::from(batch.max(1)))
                    .execute(self.writer())
                    .await?;
                let deleted = B::rows_affected(&done);
                *count += deleted;
                if deleted < u64::from(batch.max(1)) {
                    break;
                }
            }
        }
        let done = sqlx::query(q::EXPIRE_FINDING_EVENTS).execute(self.writer()).await?;
        expired.events = B::rows_affected(&done);
        expired.floor = self.event_floor().await?;
        if expired.scans + expired.findings + expired.events > 0 {
            self.committed();
        }
        Ok(expired)
    }

    async fn event_floor(&self) -> Result<i64, StoreError> {
        let row = sqlx::query(q::EVENT_FLOOR).fetch_optional(self.reader()).await?;
        let Some(row) = row else { return Ok(0) };
        let value: Vec<u8> = row.try_get("value")?;
        let bytes: [u8; 8] = value
            .as_slice()
            .try_into()
            .map_err(|_| StoreError::Database(sqlx::Error::Decode("the event floor is not 8 bytes".into())))?;
        Ok(i64::from_be_bytes(bytes))
    }

    async fn delete_decision(&self, id: &str, etag: &str) -> Result<DecisionWrite, StoreError> {
        let done = sqlx::query(q::DELETE_DECISION)
            .bind(id)
            .bind(etag)
            .execute(self.writer())
            .await?;
        decision_written(self, id, B::rows_affected(&done)).await
    }
}

/// Fills the version column of the findings stored before it existed (the
/// decisions migration) from their data, a chunk per transaction; run when
/// the store opens. A finding whose data no longer decodes gets an empty
/// version (no decision narrowed to a version covers it) and a warning.
pub(super) async fn fill_finding_versions<B>(store: &B) -> Result<(), StoreError>
where
    B: Backend,
    for<'c> &'c mut <B::DB as Database>::Connection: Executor<'c, Database = B::DB>,
    <B::DB as Database>::Arguments: IntoArguments<B::DB>,
    for<'n> &'n str: ColumnIndex<<B::DB as Database>::Row>,
    for<'q> i64: Encode<'q, B::DB> + Type<B::DB>,
    for<'q> &'q str: Encode<'q, B::DB> + Type<B::DB>,
    for<'q> &'q [u8]: Encode<'q, B::DB> + Type<B::DB>,
    for<'r> Vec<u8>: Decode<'r, B::DB> + Type<B::DB>,
{
    let mut after: Vec<u8> = Vec::new();
    let mut filled = 0usize;
    loop {
        let rows = sqlx::query(q::FINDINGS_WITHOUT_VERSION)
            .bind(after.as_slice())
            .bind(FINDING_CHUNK as i64)
            .fetch_all(store.writer())
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.try_get("id")?;
        let mut tx = store.writer().begin().await?;
        for row in &rows {
            let key: Vec<u8> = row.try_get("id")?;
            let data: Vec<u8> = row.try_get("data")?;
            let version = match Finding::decode(data.as_slice()) {
                Ok(finding) => finding.package.map(|p| p.version).unwrap_or_default(),
                Err(error) => {
                    tracing::warn!(key = %crate::digest::hex(&key), %error, "stored finding does not decode");
                    String::new()
                }
            };
            sqlx::query(q::SET_FINDING_VERSION)
                .bind(version.as_str())
                .bind(key.as_slice())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        filled += rows.len();
    }
    if filled > 0 {
        tracing::info!(
            findings = filled,
            "filled the version column of findings stored before decisions"
        );
    }
    Ok(())
}

/// Stores a report in one transaction (one attempt of [`Store::submit_report`]).
async fn submit_once<B>(store: &B, report: &NewReport) -> Result<SubmitOutcome, sqlx::Error>
where
    B: Backend,
    // The bounds of `impl Store for B`.
    for<'c> &'c mut <B::DB as Database>::Connection: Executor<'c, Database = B::DB>,
    <B::DB as Database>::Arguments: IntoArguments<B::DB>,
    for<'n> &'n str: ColumnIndex<<B::DB as Database>::Row>,
    for<'q> i64: Encode<'q, B::DB> + Decode<'q, B::DB> + Type<B::DB>,
    for<'q> f64: Encode<'q, B::DB> + Decode<'q, B::DB> + Type<B::DB>,
    for<'q> bool: Encode<'q, B::DB> + Decode<'q, B::DB> + Type<B::DB>,
    for<'q> &'q str: Encode<'q, B::DB> + Type<B::DB>,
    for<'q> &'q [u8]: Encode<'q, B::DB> + Type<B::DB>,
    for<'r> String: Decode<'r, B::DB> + Type<B::DB>,
    for<'r> Vec<u8>: Decode<'r, B::DB> + Type<B::DB>,
{
    let mut tx = store.writer().begin().await?;
    let inserted = sqlx::query(q::INSERT_SCAN)
        .bind(report.agent_id.as_str())
        .bind(report.scan_id.as_str())
        .bind(report.content_hash.as_slice())
        .bind(i64::from(report.status))
        .bind(report.started_at)
        .bind(report.received_at)
        .bind(report.findings.len() as i64)
        .bind(report.report.as_slice())
        .fetch_optional(&mut *tx)
        .await?;
    let Some(row) = inserted else {
        let existing = sqlx::query(q::STORED_SCAN)
            .bind(report.agent_id.as_str())
            .bind(report.scan_id.as_str())
            .fetch_one(&mut *tx)
            .await?;
        tx.rollback().await?;
        let hash: Vec<u8> = existing.try_get("content_hash")?;
        if hash != report.content_hash {
            return Ok(SubmitOutcome::Conflict);
        }
        let new_findings: i64 = existing.try_get("new_findings")?;
        let resolved_findings: i64 = existing.try_get("resolved_findings")?;
        return Ok(SubmitOutcome::Duplicate {
            new_findings: u32::try_from(new_findings).unwrap_or(u32::MAX),
            resolved_findings: u32::try_from(resolved_findings).unwrap_or(u32::MAX),
        });
    };
    let seq: i64 = row.try_get("id")?;

    let mut new_findings: u32 = 0;
    // How this report changes the open findings of each class.
    let mut open_delta = ClassDeltas::default();
    // Whether it made findings open (new or reopened), to tell other replicas.
    let mut opened = false;
    for chunk in report.findings.chunks(FINDING_CHUNK) {
        // New findings first; the rest are findings seen before.
        let mut insert = QueryBuilder::<B::DB>::default();
        B::DIALECT.insert_findings.fill(&mut insert, |insert, hole| match hole {
            "rows" => push_finding_rows(insert, report, chunk),
            other => unknown_hole(other),
        });
        let mut inserted = HashSet::new();
        for row in insert.build().fetch_all(&mut *tx).await? {
            inserted.insert(row.try_get::<Vec<u8>, _>("id")?);
        }
        let mut seen = Vec::with_capacity(chunk.len() - inserted.len());
        for f in chunk {
            if inserted.contains(f.key.as_slice()) {
                new_findings += 1;
                open_delta.add(FindingClass::of(&f.finding), 1);
                opened = true;
            } else {
                seen.push(f);
            }
        }
        if seen.is_empty() {
            continue;
        }

        // Most findings seen again only move their sighting: one cheap
        // statement for those, the full update for the rest.
        let mut select = QueryBuilder::<B::DB>::default();
        q::SEEN_FINDINGS.fill(&mut select, |select, hole| match hole {
            "keys" => push_keys(select, &seen),
            other => unknown_hole(other),
        });
        let mut stored = HashMap::with_capacity(seen.len());
        for row in select.build().fetch_all(&mut *tx).await? {
            let key: Vec<u8> = row.try_get("id")?;
            stored.insert(
                key,
                Stored {
                    last_seen: row.try_get("last_seen")?,
                    resolved_at: row.try_get("resolved_at")?,
                    data: row.try_get("data")?,
                },
            );
        }
        let (sighted, changed): (Vec<&NewFinding>, Vec<&NewFinding>) = seen.into_iter().partition(|f| {
            stored
                .get(f.key.as_slice())
                .is_some_and(|s| s.only_sighted_by(f, report.received_at))
        });
        seen = changed;
        if !sighted.is_empty() {
            let mut sight = QueryBuilder::<B::DB>::default();
            q::SIGHT_FINDINGS.fill(&mut sight, |sight, hole| match hole {
                "received_at" => {
                    sight.push_bind(report.received_at);
                }
                "scan_id" => {
                    sight.push_bind(report.scan_id.as_str());
                }
                "keys" => push_keys(sight, &sighted),
                other => unknown_hole(other),
            });
            let done = sight.build().execute(&mut *tx).await?;
            if B::rows_affected(&done) != sighted.len() as u64 {
                // A concurrent report (PostgreSQL) resolved one of them since
                // the read. The full update is right after a sighting too, so
                // all of them take it.
                seen.extend(sighted);
            }
        }
        if seen.is_empty() {
            continue;
        }

        // The class each is counted under now, read (and on PostgreSQL
        // locked) right before the update changes it.
        let mut lock = QueryBuilder::<B::DB>::default();
        B::DIALECT.lock_seen_findings.fill(&mut lock, |lock, hole| match hole {
            "keys" => push_keys(lock, &seen),
            other => unknown_hole(other),
        });
        for row in lock.build().fetch_all(&mut *tx).await? {
            let resolved_at: Option<i64> = row.try_get("resolved_at")?;
            if resolved_at.is_none() {
                open_delta.add(FindingClass::of_row(&row)?, -1);
            }
        }

        let mut update = QueryBuilder::<B::DB>::default();
        B::DIALECT
            .update_seen_findings
            .fill(&mut update, |update, hole| match hole {
                "rows" => push_finding_rows(update, report, seen.iter().copied()),
                other => unknown_hole(other),
            });
        for row in update.build().fetch_all(&mut *tx).await? {
            let reopened_by: Option<String> = row.try_get("reopened_by")?;
            let resolved_at: Option<i64> = row.try_get("resolved_at")?;
            if resolved_at.is_none() {
                open_delta.add(FindingClass::of_row(&row)?, 1);
            }
            if resolved_at.is_none() && reopened_by.as_deref() == Some(report.scan_id.as_str()) {
                opened = true;
            }
        }
    }

    // (alias, vulnerability id) pairs of this agent's report.
    let mut aliases: Vec<(&str, &str)> = report
        .findings
        .iter()
        .filter_map(|f| f.finding.vulnerability.as_ref())
        .flat_map(|v| v.aliases.iter().map(move |a| (a.as_str(), v.id.as_str())))
        .filter(|(alias, id)| !alias.is_empty() && alias != id)
        .collect();
    aliases.sort_unstable();
    aliases.dedup();
    for chunk in aliases.chunks(ALIAS_CHUNK) {
        let mut insert = QueryBuilder::<B::DB>::default();
        B::DIALECT.insert_aliases.fill(&mut insert, |insert, hole| match hole {
            "values" => {
                insert.push_values(chunk, |mut b, (alias, id)| {
                    b.push_bind(*alias).push_bind(report.agent_id.as_str()).push_bind(*id);
                });
            }
            other => unknown_hole(other),
        });
        insert.build().execute(&mut *tx).await?;
    }

    let mut resolved_findings: u32 = 0;
    if report.resolves {
        let resolved = sqlx::query(q::RESOLVE_FINDINGS)
            .bind(report.received_at)
            .bind(report.agent_id.as_str())
            .bind(report.root.as_str())
            .fetch_all(&mut *tx)
            .await?;
        resolved_findings = u32::try_from(resolved.len()).unwrap_or(u32::MAX);
        for row in &resolved {
            open_delta.add(FindingClass::of_row(row)?, -1);
        }
    }
    sqlx::query(q::UPDATE_SCAN_COUNTS)
        .bind(i64::from(new_findings))
        .bind(i64::from(resolved_findings))
        .bind(seq)
        .execute(&mut *tx)
        .await?;
    sqlx::query(q::AGENT_SEEN_BY_REPORT)
        .bind(report.received_at)
        .bind(report.agent_id.as_str())
        .execute(&mut *tx)
        .await?;
    // Last: see count_open_class.sql.
    let total_delta = open_delta.total();
    if total_delta != 0 {
        sqlx::query(q::COUNT_AGENT_OPEN_FINDINGS)
            .bind(total_delta)
            .bind(report.agent_id.as_str())
            .execute(&mut *tx)
            .await?;
    }
    for (class, delta) in open_delta.changed() {
        sqlx::query(q::COUNT_OPEN_CLASS)
            .bind(class.severity)
            .bind(class.kev)
            .bind(delta)
            .execute(&mut *tx)
            .await?;
    }
    // The very last: its position, in commit order (append_finding_event.sql).
    let mut event = None;
    if opened || resolved_findings > 0 {
        if let Some(order) = B::DIALECT.order_finding_events {
            sqlx::query(order).execute(&mut *tx).await?;
        }
        let row = sqlx::query(q::APPEND_FINDING_EVENT)
            .bind(seq)
            .bind(report.agent_id.as_str())
            .bind(report.root.as_str())
            .bind(report.received_at)
            .fetch_one(&mut *tx)
            .await?;
        let position: i64 = row.try_get("position")?;
        store.announce(&mut *tx, position).await?;
        if report.publish {
            // As events_after reads them later: stored, with their decisions.
            let now = crate::time::now_micros();
            let decode = |rows: Vec<<B::DB as Database>::Row>| {
                rows.iter()
                    .map(decode_finding)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| sqlx::Error::Decode(Box::new(e)))
            };
            let opened = if opened {
                let sql = filter::with_decision(q::OPENED_BY_SCAN, "f", vec![Bind::I64(seq)], now);
                decode(query_of(&sql).fetch_all(&mut *tx).await?)?
            } else {
                Vec::new()
            };
            let resolved = if resolved_findings > 0 {
                let sql = filter::with_decision(
                    q::RESOLVED_BY_EVENT,
                    "findings",
                    vec![
                        Bind::Text(report.agent_id.clone()),
                        Bind::Text(report.root.clone()),
                        Bind::I64(report.received_at),
                    ],
                    now,
                );
                decode(query_of(&sql).fetch_all(&mut *tx).await?)?
            } else {
                Vec::new()
            };
            event = Some(FindingEvent {
                position,
                opened,
                resolved,
            });
        }
    }
    tx.commit().await?;
    store.committed();
    Ok(SubmitOutcome::Stored {
        new_findings,
        resolved_findings,
        published: event,
    })
}

/// The columns a decision's scope, expiry and etag are kept in (NULL: any).
struct DecisionColumns<'a> {
    etag: &'a str,
    advisory_id: &'a str,
    ecosystem: &'a str,
    package_name: &'a str,
    version: Option<&'a str>,
    agent_id: Option<&'a str>,
    root: Option<&'a str>,
    expire_time: Option<Micros>,
}

impl<'a> DecisionColumns<'a> {
    /// The columns of a (validated) decision.
    fn of(decision: &'a pb::Decision) -> Self {
        let scope = decision.scope.as_ref();
        let text = |field: fn(&pb::DecisionScope) -> &str| scope.map(field).unwrap_or("");
        let narrowed = |field: fn(&pb::DecisionScope) -> &str| Some(text(field)).filter(|v| !v.is_empty());
        Self {
            etag: &decision.etag,
            advisory_id: text(|s| &s.advisory_id),
            ecosystem: text(|s| &s.ecosystem),
            package_name: text(|s| &s.package_name),
            version: narrowed(|s| &s.version),
            agent_id: narrowed(|s| &s.agent_id),
            root: narrowed(|s| &s.root),
            expire_time: decision.expire_time.as_ref().map(crate::time::micros_saturating),
        }
    }

    /// Binds `id`, the columns and the decision's `data`, in the order of
    /// insert_decision.sql (update_decision.sql starts alike).
    fn bind<'q, DB>(
        self,
        query: Query<'q, DB, <DB as Database>::Arguments>,
        id: &'q str,
        data: &'q [u8],
    ) -> Query<'q, DB, <DB as Database>::Arguments>
    where
        'a: 'q,
        DB: Database,
        &'q str: Encode<'q, DB> + Type<DB>,
        &'q [u8]: Encode<'q, DB> + Type<DB>,
        Option<&'q str>: Encode<'q, DB> + Type<DB>,
        Option<i64>: Encode<'q, DB> + Type<DB>,
    {
        query
            .bind(id)
            .bind(self.advisory_id)
            .bind(self.ecosystem)
            .bind(self.package_name)
            .bind(self.version)
            .bind(self.agent_id)
            .bind(self.root)
            .bind(self.expire_time)
            .bind(self.etag)
            .bind(data)
    }
}

/// What a write of decision `id` that changed `rows` rows found: done, or
/// why not (no such decision, or another etag).
async fn decision_written<S: Store + ?Sized>(store: &S, id: &str, rows: u64) -> Result<DecisionWrite, StoreError> {
    Ok(if rows == 1 {
        DecisionWrite::Done
    } else if store.get_decision(id).await?.is_some() {
        DecisionWrite::Stale
    } else {
        DecisionWrite::NotFound
    })
}

/// Whether any decision is in force now, read from `pool`.
async fn decisions_at<DB>(pool: &Pool<DB>) -> Result<DecisionsAt, sqlx::Error>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    let now = crate::time::now_micros();
    let any = sqlx::query(q::DECISIONS_IN_FORCE)
        .bind(now)
        .fetch_optional(pool)
        .await?;
    Ok(DecisionsAt {
        now,
        any_in_force: any.is_some(),
    })
}

/// A decision as stored.
fn decode_decision<R>(row: &R) -> Result<pb::Decision, StoreError>
where
    R: Row,
    for<'n> &'n str: ColumnIndex<R>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    let data: Vec<u8> = row.try_get("data")?;
    pb::Decision::decode(data.as_slice()).map_err(|error| StoreError::Corrupt {
        what: "decision",
        error,
    })
}

/// What the open-findings counts are kept by: a finding's severity (the
/// contract's number) and whether it is known exploited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct FindingClass {
    severity: i64,
    kev: bool,
}

impl FindingClass {
    /// The class of a finding as reported.
    fn of(finding: &Finding) -> Self {
        let vuln = finding.vulnerability.as_ref();
        Self {
            severity: i64::from(vuln.map_or(0, |v| v.severity)),
            kev: vuln.is_some_and(|v| v.known_exploited),
        }
    }

    /// The class of a stored finding (its `severity` and `kev` columns).
    fn of_row<R>(row: &R) -> Result<Self, sqlx::Error>
    where
        R: Row,
        for<'n> &'n str: ColumnIndex<R>,
        for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
        for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
    {
        Ok(Self {
            severity: row.try_get("severity")?,
            kev: row.try_get("kev")?,
        })
    }
}

/// A report's changes to the open findings of each class.
#[derive(Debug, Default)]
struct ClassDeltas(BTreeMap<FindingClass, i64>);

impl ClassDeltas {
    fn add(&mut self, class: FindingClass, n: i64) {
        *self.0.entry(class).or_default() += n;
    }

    /// The change to the open findings in all.
    fn total(&self) -> i64 {
        self.0.values().sum()
    }

    /// The classes that changed, in a fixed order (see count_open_class.sql).
    fn changed(&self) -> impl Iterator<Item = (FindingClass, i64)> + '_ {
        self.0.iter().filter(|(_, n)| **n != 0).map(|(c, n)| (*c, *n))
    }
}

/// A stored finding as [`q::SEEN_FINDINGS`] reads it.
#[derive(Debug)]
struct Stored {
    last_seen: i64,
    resolved_at: Option<i64>,
    data: Vec<u8>,
}

impl Stored {
    /// Whether a report received at `seen_at` only moves this finding's
    /// sighting: it is open, not seen later already, and stored exactly as
    /// reported now. Most findings of a periodic scan are.
    fn only_sighted_by(&self, f: &NewFinding, seen_at: i64) -> bool {
        self.resolved_at.is_none() && self.last_seen <= seen_at && self.data == f.data
    }
}

/// Fills `{rows}` of a report's findings statement: [`q::FINDING_ROWS`].
fn push_finding_rows<'a, DB>(
    query: &mut QueryBuilder<DB>,
    report: &NewReport,
    findings: impl IntoIterator<Item = &'a NewFinding> + Clone,
) where
    DB: Database,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> f64: Encode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
{
    q::FINDING_ROWS.fill(query, |query, hole| match hole {
        "agent_id" => {
            query.push_bind(report.agent_id.as_str());
        }
        "root" => {
            query.push_bind(report.root.as_str());
        }
        "received_at" => {
            query.push_bind(report.received_at);
        }
        "scan_id" => {
            query.push_bind(report.scan_id.as_str());
        }
        "values" => {
            query.push_values(findings.clone(), |mut b, f| {
                let package = f.finding.package.as_ref();
                let vuln = f.finding.vulnerability.as_ref();
                b.push_bind(f.key.as_slice())
                    .push_bind(package.map(|p| p.ecosystem.as_str()).unwrap_or(""))
                    .push_bind(package.map(|p| p.name.as_str()).unwrap_or(""))
                    .push_bind(vuln.map(|v| v.id.as_str()).unwrap_or(""))
                    .push_bind(i64::from(vuln.map(|v| v.severity).unwrap_or(0)))
                    .push_bind(vuln.map(|v| v.risk_score).unwrap_or(0.0))
                    .push_bind(vuln.is_some_and(|v| v.known_exploited))
                    .push_bind(vuln.is_some_and(|v| !v.fixed_versions.is_empty()))
                    .push_bind(f.data.as_slice())
                    .push_bind(package.map(|p| p.version.as_str()).unwrap_or(""));
            });
        }
        other => unknown_hole(other),
    });
}

/// Fills `{keys}`, an `IN` list: the keys of `findings`.
fn push_keys<DB>(query: &mut QueryBuilder<DB>, findings: &[&NewFinding])
where
    DB: Database,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
{
    let mut keys = query.separated(", ");
    for f in findings {
        keys.push_bind(f.key.as_slice());
    }
}

/// The statement that counts agents by status, of all or one.
fn agents_by_status(agent_id: Option<&str>, online_since: Micros, offline_before: Micros) -> Sql {
    filter::summary(
        q::SUMMARY_AGENTS,
        agent_id,
        None,
        &[
            ("online", Bind::I64(online_since)),
            ("offline", Bind::I64(offline_before)),
        ],
    )
}

/// Agents online, stale and offline, from a row of [`agents_by_status`].
fn agent_counts<R>(row: &R) -> Result<[u64; 3], StoreError>
where
    R: Row,
    for<'n> &'n str: ColumnIndex<R>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let count = |column: &str| -> Result<u64, StoreError> {
        let n: i64 = row.try_get(column)?;
        Ok(u64::try_from(n).unwrap_or(0))
    };
    Ok([count("online")?, count("stale")?, count("offline")?])
}

/// A statement built in [`super::filter`], with its values bound.
fn query_of<DB>(sql: &Sql) -> Query<'_, DB, <DB as Database>::Arguments>
where
    DB: Database,
    for<'a> i64: Encode<'a, DB> + Type<DB>,
    for<'a> f64: Encode<'a, DB> + Type<DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> &'a [u8]: Encode<'a, DB> + Type<DB>,
{
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.text.as_str()));
    for bind in &sql.binds {
        query = match bind {
            Bind::I64(v) => query.bind(*v),
            Bind::F64(v) => query.bind(*v),
            Bind::Text(v) => query.bind(v.as_str()),
            Bind::Bytes(v) => query.bind(v.as_slice()),
        };
    }
    query
}

/// A finding as stored: its data with the columns that change after it was
/// reported, its name and root, and the decision in force on it (the
/// statement's `decision` column: decision_in_force.sql).
fn decode_finding<R>(row: &R) -> Result<Finding, StoreError>
where
    R: Row,
    for<'n> &'n str: ColumnIndex<R>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    let data: Vec<u8> = row.try_get("data")?;
    let mut finding =
        Finding::decode(data.as_slice()).map_err(|error| StoreError::Corrupt { what: "finding", error })?;
    let key: Vec<u8> = row.try_get("id")?;
    finding.id = crate::digest::hex(&key);
    finding.agent_id = row.try_get("agent_id")?;
    finding.name = crate::names::finding_name(&finding.agent_id, &finding.id);
    finding.root = row.try_get("root")?;
    let decision: Option<String> = row.try_get("decision")?;
    finding.decision = decision.map(|id| crate::names::decision_name(&id)).unwrap_or_default();
    finding.scan_id = row.try_get("last_scan_id")?;
    finding.first_seen = Some(crate::time::timestamp(row.try_get("first_seen")?));
    finding.last_seen = Some(crate::time::timestamp(row.try_get("last_seen")?));
    let resolved: Option<i64> = row.try_get("resolved_at")?;
    finding.resolved_at = resolved.map(crate::time::timestamp);
    Ok(finding)
}

/// A scan as stored, with its keyset position.
fn decode_scan<R>(row: &R) -> Result<StoredScan, StoreError>
where
    R: Row,
    for<'n> &'n str: ColumnIndex<R>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    let data: Vec<u8> = row.try_get("report")?;
    let report = pb::ScanReport::decode(data.as_slice()).map_err(|error| StoreError::Corrupt {
        what: "scan report",
        error,
    })?;
    let finding_count: i64 = row.try_get("finding_count")?;
    let received_at: i64 = row.try_get("received_at")?;
    let new_findings: i64 = row.try_get("new_findings")?;
    let resolved_findings: i64 = row.try_get("resolved_findings")?;
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(StoredScan {
        scan: pb::Scan {
            agent_id: row.try_get("agent_id")?,
            finding_count: u32::try_from(finding_count).unwrap_or(u32::MAX),
            received_at: Some(crate::time::timestamp(received_at)),
            warning_count: count(report.warnings.len()),
            unmatched_count: count(report.unmatched.len()),
            new_findings: u32::try_from(new_findings).unwrap_or(u32::MAX),
            resolved_findings: u32::try_from(resolved_findings).unwrap_or(u32::MAX),
            report: Some(report),
        },
        cursor: ScanCursor {
            started_at: row.try_get("started_at")?,
            seq: row.try_get("id")?,
        },
    })
}
