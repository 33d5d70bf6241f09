//! The SQL both backends run. The statements are written once, with `$N`
//! placeholders (which SQLite accepts too), and [`sql_store!`] stamps out the
//! `Store` implementation for each concrete sqlx database type, so the two
//! backends cannot drift apart.

/// Findings per statement: 9 binds each stays far below both backends'
/// limits on bound parameters (SQLite 32766, PostgreSQL 65535). Binds are
/// anonymous on SQLite (`?`): sqlx looks up the name of every numbered one,
/// which SQLite finds by a linear search, so a statement with thousands of
/// `$N` binds spends more time binding than inserting.
pub(super) const FINDING_CHUNK: usize = 1000;

/// The columns a report writes for each of its findings, in the order of
/// [`FINDING_ROWS`].
pub(super) const FINDING_COLUMNS: &str = "id, agent_id, root, ecosystem, package_name, vuln_id, severity, risk_score, \
     kev, fix_available, first_seen, last_seen, first_scan_id, last_scan_id, data";

/// Rows of [`FINDING_COLUMNS`] for a report's findings. Each part comes
/// before a bind of a value the whole report shares (agent, root, receive
/// time twice, scan id twice); the last one before `VALUES` rows of each
/// finding's own nine columns, and `) AS v` after them. Binding the shared
/// values once instead of per finding saves 6,000 binds, each a copy or two,
/// per 1,000 findings.
pub(super) const FINDING_ROWS: [&str; 7] = [
    "SELECT v.column1, ",
    ", ",
    ", v.column2, v.column3, v.column4, v.column5, v.column6, v.column7, v.column8, ",
    ", ",
    ", ",
    ", ",
    ", v.column9 FROM (",
];

/// Reads what is stored of the findings a report sees again; an `IN` list of
/// keys follows. [`Stored`] holds a row.
pub(super) const SELECT_SEEN_FINDINGS: &str = "SELECT id, last_seen, resolved_at, data FROM findings WHERE id IN (";

/// A stored finding as [`SELECT_SEEN_FINDINGS`] reads it. Its severity, risk
/// and flags are not read: they are columns of what `data` encodes.
#[derive(Debug)]
pub(super) struct Stored {
    pub(super) last_seen: i64,
    pub(super) resolved_at: Option<i64>,
    pub(super) data: Vec<u8>,
}

impl Stored {
    /// Whether a report received at `seen_at` only moves this finding's
    /// sighting: it is open, not seen later already, and stored exactly as
    /// reported now. Most findings of a periodic scan are.
    pub(super) fn only_sighted_by(&self, f: &super::NewFinding, seen_at: i64) -> bool {
        self.resolved_at.is_none() && self.last_seen <= seen_at && self.data == f.data
    }
}

/// Moves the sighting of open findings (binds: receive time three times, scan
/// id; then an `IN` list of keys follows). It sets no column the risk,
/// severity or resolved indexes hold: a database rewrites an index entry of
/// every row whose indexed column a statement sets, equal value or not. The
/// guards keep it right against a concurrent report of the same finding;
/// `+ 0` keeps SQLite from walking every open finding in the resolved index
/// instead of looking the keys up.
pub(super) const SIGHT_FINDINGS: [&str; 5] = [
    "UPDATE findings SET last_seen = CASE WHEN ",
    " > last_seen THEN ",
    " ELSE last_seen END, last_scan_id = CASE WHEN ",
    " >= last_seen THEN ",
    " ELSE last_scan_id END WHERE (resolved_at + 0) IS NULL AND id IN (",
];

/// Follows [`FINDING_ROWS`] in a `WITH seen (FINDING_COLUMNS) AS (`
/// table: updates the stored findings a report sees again and returns them.
/// Every right-hand side reads the old row; a report older than the row's last
/// sighting (a late retry) changes nothing but may not reopen it either; a
/// newer one reopens a resolved finding.
pub(super) fn update_seen_findings(or_rollback: &str) -> String {
    let newer = "seen.last_seen >= findings.last_seen";
    let reopens = "findings.resolved_at IS NOT NULL AND seen.last_seen > findings.resolved_at";
    format!(
        ") UPDATE{or_rollback} findings SET \
         last_seen = CASE WHEN seen.last_seen > findings.last_seen THEN seen.last_seen ELSE findings.last_seen END, \
         last_scan_id = CASE WHEN {newer} THEN seen.last_scan_id ELSE findings.last_scan_id END, \
         data = CASE WHEN {newer} THEN seen.data ELSE findings.data END, \
         severity = CASE WHEN {newer} THEN seen.severity ELSE findings.severity END, \
         risk_score = CASE WHEN {newer} THEN seen.risk_score ELSE findings.risk_score END, \
         kev = CASE WHEN {newer} THEN seen.kev ELSE findings.kev END, \
         fix_available = CASE WHEN {newer} THEN seen.fix_available ELSE findings.fix_available END, \
         reopened_by = CASE WHEN {reopens} THEN seen.last_scan_id ELSE findings.reopened_by END, \
         resolved_at = CASE WHEN {reopens} THEN NULL ELSE findings.resolved_at END \
         FROM seen WHERE findings.id = seen.id \
         RETURNING findings.id, findings.reopened_by, findings.first_seen, findings.last_seen, findings.resolved_at"
    )
}

/// The findings a report made open that still are (bind: the scan's row id):
/// new ones carry its scan id as `first_scan_id`, reopened ones as
/// `reopened_by`.
pub(super) const OPENED_BY_SCAN: &str = "SELECT f.id, f.agent_id, f.last_scan_id, f.first_seen, f.last_seen, \
     f.resolved_at, f.data FROM scans s JOIN findings f ON f.agent_id = s.agent_id \
     WHERE s.id = $1 AND f.resolved_at IS NULL AND (f.first_scan_id = s.scan_id OR f.reopened_by = s.scan_id) \
     ORDER BY f.id";

/// Stamps out `Store` for a backend struct with `writer` and `reader` pools of
/// `$db`. `$or_rollback` is the conflict clause of a report's multi-row writes:
/// `" OR ROLLBACK"` on SQLite, where it spares the statement journal (see the
/// SQLite migration that defers the findings' foreign key), `""` elsewhere.
/// The backend also brings `announce` (tells other replicas of a report that
/// opened findings, inside its transaction) and `listen_to_replicas`.
macro_rules! sql_store {
    ($store:ty, $db:ty, $or_rollback:expr) => {
        impl $store {
            fn apply<'q>(
                mut query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
                binds: &'q [$crate::store::filter::Bind],
            ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments> {
                for bind in binds {
                    query = match bind {
                        $crate::store::filter::Bind::I64(v) => query.bind(*v),
                        $crate::store::filter::Bind::F64(v) => query.bind(*v),
                        $crate::store::filter::Bind::Text(v) => query.bind(v.as_str()),
                        $crate::store::filter::Bind::Bytes(v) => query.bind(v.as_slice()),
                    };
                }
                query
            }

            async fn submit_once(
                &self,
                report: &$crate::store::NewReport,
            ) -> Result<$crate::store::SubmitOutcome, sqlx::Error> {
                use sqlx::Row as _;
                use $crate::store::SubmitOutcome;
                let mut tx = self.writer.begin().await?;
                let inserted = sqlx::query(
                    "INSERT INTO scans (agent_id, scan_id, content_hash, status, started_at, received_at, \
                     finding_count, new_findings, resolved_findings, report) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 0, $8) \
                     ON CONFLICT (agent_id, scan_id) DO NOTHING RETURNING id",
                )
                .bind(&report.agent_id)
                .bind(&report.scan_id)
                .bind(&report.content_hash)
                .bind(i64::from(report.status))
                .bind(report.started_at)
                .bind(report.received_at)
                .bind(report.findings.len() as i64)
                .bind(&report.report)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(row) = inserted else {
                    let existing = sqlx::query(
                        "SELECT content_hash, new_findings, resolved_findings FROM scans \
                         WHERE agent_id = $1 AND scan_id = $2",
                    )
                    .bind(&report.agent_id)
                    .bind(&report.scan_id)
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

                let mut published = Vec::new();
                let mut new_findings: u32 = 0;
                // Findings this report made open (new or reopened), for finding_counts.
                let mut opened: i64 = 0;
                let publish = |f: &$crate::store::NewFinding, first_seen: i64, last_seen: i64| {
                    let mut finding = f.finding.clone();
                    finding.id = f.id();
                    finding.agent_id = report.agent_id.clone();
                    finding.scan_id = report.scan_id.clone();
                    finding.first_seen = Some($crate::time::timestamp(first_seen));
                    finding.last_seen = Some($crate::time::timestamp(last_seen));
                    finding
                };
                // `key, key, …)`: the rest of an `IN (` list of findings' keys.
                fn push_keys(query: &mut sqlx::QueryBuilder<$db>, findings: &[&$crate::store::NewFinding]) {
                    let mut keys = query.separated(", ");
                    for f in findings {
                        keys.push_bind(f.key.as_slice());
                    }
                    query.push(")");
                }
                // `SELECT … FROM (VALUES …) AS v`: rows of FINDING_COLUMNS.
                fn push_finding_rows<'a>(
                    query: &mut sqlx::QueryBuilder<$db>,
                    report: &$crate::store::NewReport,
                    findings: impl IntoIterator<Item = &'a $crate::store::NewFinding>,
                ) {
                    let [agent, root, first_seen, last_seen, first_scan, last_scan, values] =
                        $crate::store::sql::FINDING_ROWS;
                    query
                        .push(agent)
                        .push_bind(report.agent_id.as_str())
                        .push(root)
                        .push_bind(report.root.as_str())
                        .push(first_seen)
                        .push_bind(report.received_at)
                        .push(last_seen)
                        .push_bind(report.received_at)
                        .push(first_scan)
                        .push_bind(report.scan_id.as_str())
                        .push(last_scan)
                        .push_bind(report.scan_id.as_str())
                        .push(values);
                    query.push_values(findings, |mut b, f| {
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
                            .push_bind(f.data.as_slice());
                    });
                    query.push(") AS v");
                }
                for chunk in report.findings.chunks($crate::store::sql::FINDING_CHUNK) {
                    // New findings first; the rest are findings seen before.
                    let mut insert = sqlx::QueryBuilder::<$db>::new(format!(
                        "INSERT{} INTO findings ({}) ",
                        $or_rollback,
                        $crate::store::sql::FINDING_COLUMNS
                    ));
                    push_finding_rows(&mut insert, report, chunk);
                    // `WHERE true` tells SQLite's parser that ON CONFLICT is no join's ON.
                    insert.push(" WHERE true ON CONFLICT (id) DO NOTHING RETURNING id");
                    let mut inserted = std::collections::HashSet::new();
                    for row in insert.build().fetch_all(&mut *tx).await? {
                        inserted.insert(row.try_get::<Vec<u8>, _>("id")?);
                    }
                    let mut seen = Vec::with_capacity(chunk.len() - inserted.len());
                    for f in chunk {
                        if inserted.contains(f.key.as_slice()) {
                            new_findings += 1;
                            opened += 1;
                            if report.publish {
                                published.push(publish(f, report.received_at, report.received_at));
                            }
                        } else {
                            seen.push(f);
                        }
                    }
                    if seen.is_empty() {
                        continue;
                    }

                    // Most findings seen again only move their sighting: one
                    // cheap statement for those, the full update for the rest.
                    let mut select = sqlx::QueryBuilder::<$db>::new($crate::store::sql::SELECT_SEEN_FINDINGS);
                    push_keys(&mut select, &seen);
                    let mut stored = std::collections::HashMap::with_capacity(seen.len());
                    for row in select.build().fetch_all(&mut *tx).await? {
                        let key: Vec<u8> = row.try_get("id")?;
                        stored.insert(
                            key,
                            $crate::store::sql::Stored {
                                last_seen: row.try_get("last_seen")?,
                                resolved_at: row.try_get("resolved_at")?,
                                data: row.try_get("data")?,
                            },
                        );
                    }
                    let (sighted, changed): (Vec<&$crate::store::NewFinding>, Vec<&$crate::store::NewFinding>) =
                        seen.into_iter().partition(|f| {
                            stored
                                .get(f.key.as_slice())
                                .is_some_and(|s| s.only_sighted_by(f, report.received_at))
                        });
                    seen = changed;
                    if !sighted.is_empty() {
                        let [set_seen, then_seen, set_scan, then_scan, keys_start] = $crate::store::sql::SIGHT_FINDINGS;
                        let mut sight = sqlx::QueryBuilder::<$db>::new(set_seen);
                        sight
                            .push_bind(report.received_at)
                            .push(then_seen)
                            .push_bind(report.received_at)
                            .push(set_scan)
                            .push_bind(report.received_at)
                            .push(then_scan)
                            .push_bind(report.scan_id.as_str())
                            .push(keys_start);
                        push_keys(&mut sight, &sighted);
                        let done = sight.build().execute(&mut *tx).await?;
                        if done.rows_affected() != sighted.len() as u64 {
                            // A concurrent report (PostgreSQL) resolved one of them
                            // since the read. The full update is right after a
                            // sighting too, so all of them take it.
                            seen.extend(sighted);
                        }
                    }
                    if seen.is_empty() {
                        continue;
                    }

                    let mut update = sqlx::QueryBuilder::<$db>::new(format!(
                        "WITH seen ({}) AS (",
                        $crate::store::sql::FINDING_COLUMNS
                    ));
                    push_finding_rows(&mut update, report, seen.iter().copied());
                    update.push($crate::store::sql::update_seen_findings($or_rollback));
                    let by_key: std::collections::HashMap<&[u8], &$crate::store::NewFinding> =
                        seen.iter().map(|f| (f.key.as_slice(), *f)).collect();
                    for row in update.build().fetch_all(&mut *tx).await? {
                        let key: Vec<u8> = row.try_get("id")?;
                        let reopened_by: Option<String> = row.try_get("reopened_by")?;
                        let resolved_at: Option<i64> = row.try_get("resolved_at")?;
                        if resolved_at.is_none() && reopened_by.as_deref() == Some(report.scan_id.as_str()) {
                            opened += 1;
                            if let Some(f) = by_key.get(key.as_slice()).filter(|_| report.publish) {
                                published.push(publish(f, row.try_get("first_seen")?, row.try_get("last_seen")?));
                            }
                        }
                    }
                }

                let mut aliases: Vec<(&str, &str)> = report
                    .findings
                    .iter()
                    .filter_map(|f| f.finding.vulnerability.as_ref())
                    .flat_map(|v| v.aliases.iter().map(move |a| (a.as_str(), v.id.as_str())))
                    .filter(|(alias, id)| !alias.is_empty() && alias != id)
                    .collect();
                aliases.sort_unstable();
                aliases.dedup();
                for chunk in aliases.chunks(1000) {
                    let mut builder = sqlx::QueryBuilder::<$db>::new(format!(
                        "INSERT{} INTO vuln_aliases (alias, vuln_id) ",
                        $or_rollback
                    ));
                    builder.push_values(chunk, |mut b, (alias, id)| {
                        b.push_bind(*alias).push_bind(*id);
                    });
                    builder.push(" ON CONFLICT (alias, vuln_id) DO NOTHING");
                    builder.build().execute(&mut *tx).await?;
                }

                let mut resolved_findings: u32 = 0;
                let mut resolved_rows: i64 = 0;
                if report.resolves {
                    let done = sqlx::query(
                        "UPDATE findings SET resolved_at = $1 \
                         WHERE agent_id = $2 AND root = $3 AND resolved_at IS NULL AND last_seen < $1",
                    )
                    .bind(report.received_at)
                    .bind(&report.agent_id)
                    .bind(&report.root)
                    .execute(&mut *tx)
                    .await?;
                    resolved_findings = u32::try_from(done.rows_affected()).unwrap_or(u32::MAX);
                    resolved_rows = i64::try_from(done.rows_affected()).unwrap_or(i64::MAX);
                }
                sqlx::query("UPDATE scans SET new_findings = $1, resolved_findings = $2 WHERE id = $3")
                    .bind(i64::from(new_findings))
                    .bind(i64::from(resolved_findings))
                    .bind(seq)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE agents SET last_seen = $1 WHERE agent_id = $2 AND last_seen < $1")
                    .bind(report.received_at)
                    .bind(&report.agent_id)
                    .execute(&mut *tx)
                    .await?;
                if opened > 0 {
                    self.announce(&mut *tx, seq).await?;
                }
                // Last, so that concurrent reports on PostgreSQL hold this one
                // row's lock only from here to their commit.
                let open_delta = opened - resolved_rows;
                if open_delta != 0 {
                    sqlx::query("UPDATE finding_counts SET open_findings = open_findings + $1 WHERE id = 1")
                        .bind(open_delta)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                self.committed();
                Ok(SubmitOutcome::Stored {
                    new_findings,
                    resolved_findings,
                    published,
                })
            }

            fn decode_finding(
                row: &<$db as sqlx::Database>::Row,
            ) -> Result<zerotrace_proto::common::v1::Finding, $crate::store::StoreError> {
                use prost::Message as _;
                use sqlx::Row as _;
                let data: Vec<u8> = row.try_get("data")?;
                let mut finding = zerotrace_proto::common::v1::Finding::decode(data.as_slice()).map_err(|error| {
                    $crate::store::StoreError::Corrupt {
                        what: "finding",
                        error,
                    }
                })?;
                let key: Vec<u8> = row.try_get("id")?;
                finding.id = $crate::digest::hex(&key);
                finding.agent_id = row.try_get("agent_id")?;
                finding.scan_id = row.try_get("last_scan_id")?;
                finding.first_seen = Some($crate::time::timestamp(row.try_get("first_seen")?));
                finding.last_seen = Some($crate::time::timestamp(row.try_get("last_seen")?));
                let resolved: Option<i64> = row.try_get("resolved_at")?;
                finding.resolved_at = resolved.map($crate::time::timestamp);
                Ok(finding)
            }

            fn decode_scan(
                row: &<$db as sqlx::Database>::Row,
            ) -> Result<$crate::store::StoredScan, $crate::store::StoreError> {
                use prost::Message as _;
                use sqlx::Row as _;
                let data: Vec<u8> = row.try_get("report")?;
                let report = zerotrace_proto::api::v1::ScanReport::decode(data.as_slice()).map_err(|error| {
                    $crate::store::StoreError::Corrupt {
                        what: "scan report",
                        error,
                    }
                })?;
                let finding_count: i64 = row.try_get("finding_count")?;
                let received_at: i64 = row.try_get("received_at")?;
                let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
                Ok($crate::store::StoredScan {
                    scan: zerotrace_proto::api::v1::Scan {
                        agent_id: row.try_get("agent_id")?,
                        finding_count: u32::try_from(finding_count).unwrap_or(u32::MAX),
                        received_at: Some($crate::time::timestamp(received_at)),
                        warning_count: count(report.warnings.len()),
                        unmatched_count: count(report.unmatched.len()),
                        report: Some(report),
                    },
                    cursor: $crate::store::ScanCursor {
                        started_at: row.try_get("started_at")?,
                        seq: row.try_get("id")?,
                    },
                })
            }
        }

        #[tonic::async_trait]
        impl $crate::store::Store for $store {
            async fn create_agent(&self, agent: &$crate::store::NewAgent) -> Result<bool, $crate::store::StoreError> {
                let done = sqlx::query(
                    "INSERT INTO agents (agent_id, hostname, version, token_hash, registered_at, last_seen) \
                     VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (agent_id) DO NOTHING",
                )
                .bind(&agent.agent_id)
                .bind(&agent.hostname)
                .bind(&agent.version)
                .bind(&agent.token_hash)
                .bind(agent.now)
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn rotate_agent(
                &self,
                agent: &$crate::store::NewAgent,
                old_token_hash: &str,
            ) -> Result<bool, $crate::store::StoreError> {
                let done = sqlx::query(
                    "UPDATE agents SET hostname = $1, version = $2, token_hash = $3, \
                     last_seen = CASE WHEN last_seen < $4 THEN $4 ELSE last_seen END \
                     WHERE agent_id = $5 AND token_hash = $6",
                )
                .bind(&agent.hostname)
                .bind(&agent.version)
                .bind(&agent.token_hash)
                .bind(agent.now)
                .bind(&agent.agent_id)
                .bind(old_token_hash)
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn agent_exists(&self, agent_id: &str) -> Result<bool, $crate::store::StoreError> {
                let row = sqlx::query("SELECT 1 AS one FROM agents WHERE agent_id = $1")
                    .bind(agent_id)
                    .fetch_optional(&self.reader)
                    .await?;
                Ok(row.is_some())
            }

            async fn agent_for_token(&self, token_hash: &str) -> Result<Option<String>, $crate::store::StoreError> {
                use sqlx::Row as _;
                let row = sqlx::query("SELECT agent_id FROM agents WHERE token_hash = $1")
                    .bind(token_hash)
                    .fetch_optional(&self.reader)
                    .await?;
                Ok(match row {
                    Some(row) => Some(row.try_get("agent_id")?),
                    None => None,
                })
            }

            async fn heartbeat(
                &self,
                agent_id: &str,
                now: $crate::store::Micros,
            ) -> Result<bool, $crate::store::StoreError> {
                let done = sqlx::query(
                    "UPDATE agents SET last_seen = CASE WHEN last_seen < $1 THEN $1 ELSE last_seen END \
                     WHERE agent_id = $2",
                )
                .bind(now)
                .bind(agent_id)
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn submit_report(
                &self,
                report: &$crate::store::NewReport,
            ) -> Result<$crate::store::SubmitOutcome, $crate::store::StoreError> {
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    match self.submit_once(report).await {
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

            async fn list_scans(
                &self,
                query: &$crate::store::ScanQuery,
            ) -> Result<Vec<$crate::store::StoredScan>, $crate::store::StoreError> {
                let mut sql = $crate::store::filter::Sql::new(
                    "SELECT id, agent_id, started_at, received_at, finding_count, report FROM scans",
                );
                $crate::store::filter::scan_where(&mut sql, query);
                let limit = sql.bind($crate::store::filter::Bind::I64(i64::from(query.limit)));
                sql.push(&format!(" ORDER BY started_at DESC, id DESC LIMIT {limit}"));
                let rows = Self::apply(sqlx::query(sqlx::AssertSqlSafe(sql.text.as_str())), &sql.binds)
                    .fetch_all(&self.reader)
                    .await?;
                rows.iter().map(Self::decode_scan).collect()
            }

            async fn get_scan(
                &self,
                agent_id: &str,
                scan_id: &str,
            ) -> Result<Option<zerotrace_proto::api::v1::Scan>, $crate::store::StoreError> {
                let row = sqlx::query(
                    "SELECT id, agent_id, started_at, received_at, finding_count, report FROM scans \
                     WHERE agent_id = $1 AND scan_id = $2",
                )
                .bind(agent_id)
                .bind(scan_id)
                .fetch_optional(&self.reader)
                .await?;
                Ok(match row {
                    Some(row) => Some(Self::decode_scan(&row)?.scan),
                    None => None,
                })
            }

            async fn list_findings(
                &self,
                query: &$crate::store::FindingQuery,
            ) -> Result<$crate::store::FindingPage, $crate::store::StoreError> {
                use sqlx::Row as _;
                let mut vuln_ids = Vec::new();
                if let Some(id) = &query.filter.vulnerability_id {
                    let rows = sqlx::query("SELECT vuln_id FROM vuln_aliases WHERE alias = $1")
                        .bind(id)
                        .fetch_all(&self.reader)
                        .await?;
                    vuln_ids.push(id.clone());
                    for row in rows {
                        vuln_ids.push(row.try_get("vuln_id")?);
                    }
                }
                let total = if query.count_total && query.filter == $crate::store::FindingSelector::default() {
                    // All open findings: kept by submit_once, no need to count them.
                    let row = sqlx::query("SELECT open_findings FROM finding_counts WHERE id = 1")
                        .fetch_one(&self.reader)
                        .await?;
                    let n: i64 = row.try_get("open_findings")?;
                    Some(u64::try_from(n).unwrap_or(0))
                } else if query.count_total {
                    let mut sql = $crate::store::filter::Sql::new("SELECT COUNT(*) AS n FROM findings");
                    $crate::store::filter::finding_where(&mut sql, &query.filter, &vuln_ids, None);
                    let row = Self::apply(sqlx::query(sqlx::AssertSqlSafe(sql.text.as_str())), &sql.binds)
                        .fetch_one(&self.reader)
                        .await?;
                    let n: i64 = row.try_get("n")?;
                    Some(u64::try_from(n).unwrap_or(0))
                } else {
                    None
                };
                // One row more than asked tells whether a next page exists.
                let sql = $crate::store::filter::finding_page(
                    &query.filter,
                    &vuln_ids,
                    query.order,
                    query.after.as_ref(),
                    query.limit.saturating_add(1),
                );
                let rows = Self::apply(sqlx::query(sqlx::AssertSqlSafe(sql.text.as_str())), &sql.binds)
                    .fetch_all(&self.reader)
                    .await?;
                let more = rows.len() > query.limit as usize;
                let mut findings = Vec::with_capacity(rows.len());
                let mut next = None;
                for row in rows.iter().take(query.limit as usize) {
                    findings.push(Self::decode_finding(row)?);
                    if more {
                        next = Some($crate::store::FindingCursor {
                            risk_score: row.try_get("risk_score")?,
                            severity: row.try_get("severity")?,
                            last_seen: row.try_get("last_seen")?,
                            key: row.try_get("id")?,
                        });
                    }
                }
                Ok($crate::store::FindingPage {
                    findings,
                    next,
                    total,
                })
            }

            async fn summary(
                &self,
                agent_id: Option<&str>,
                online_since: $crate::store::Micros,
                offline_before: $crate::store::Micros,
                top: u32,
            ) -> Result<$crate::store::Summary, $crate::store::StoreError> {
                use sqlx::Row as _;
                let agent_filter = if agent_id.is_some() {
                    " AND agent_id = $1"
                } else {
                    ""
                };
                let count = |n: i64| u64::try_from(n).unwrap_or(0);
                let mut summary = $crate::store::Summary::default();

                let text = format!(
                    "SELECT severity, COUNT(*) AS n FROM findings WHERE resolved_at IS NULL{agent_filter} \
                     GROUP BY severity ORDER BY severity DESC"
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(text.as_str()));
                if let Some(agent) = agent_id {
                    q = q.bind(agent);
                }
                for row in q.fetch_all(&self.reader).await? {
                    let severity: i64 = row.try_get("severity")?;
                    summary
                        .by_severity
                        .push((i32::try_from(severity).unwrap_or(0), count(row.try_get("n")?)));
                }

                let limit = if agent_id.is_some() { "$2" } else { "$1" };
                let text = format!(
                    "SELECT ecosystem, package_name, COUNT(*) AS n FROM findings \
                     WHERE resolved_at IS NULL{agent_filter} GROUP BY ecosystem, package_name \
                     ORDER BY n DESC, ecosystem ASC, package_name ASC LIMIT {limit}"
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(text.as_str()));
                if let Some(agent) = agent_id {
                    q = q.bind(agent);
                }
                for row in q.bind(i64::from(top)).fetch_all(&self.reader).await? {
                    summary.top_packages.push((
                        row.try_get("ecosystem")?,
                        row.try_get("package_name")?,
                        count(row.try_get("n")?),
                    ));
                }

                let (online, offline) = if agent_id.is_some() {
                    ("$2", "$3")
                } else {
                    ("$1", "$2")
                };
                let where_agent = if agent_id.is_some() {
                    " WHERE agent_id = $1"
                } else {
                    ""
                };
                let text = format!(
                    "SELECT COUNT(CASE WHEN last_seen >= {online} THEN 1 END) AS online, \
                     COUNT(CASE WHEN last_seen < {online} AND last_seen >= {offline} THEN 1 END) AS stale, \
                     COUNT(CASE WHEN last_seen < {offline} THEN 1 END) AS offline FROM agents{where_agent}"
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(text.as_str()));
                if let Some(agent) = agent_id {
                    q = q.bind(agent);
                }
                let row = q
                    .bind(online_since)
                    .bind(offline_before)
                    .fetch_one(&self.reader)
                    .await?;
                summary.agents = [
                    count(row.try_get("online")?),
                    count(row.try_get("stale")?),
                    count(row.try_get("offline")?),
                ];

                let text = format!("SELECT COUNT(*) AS n FROM scans{where_agent}");
                let mut q = sqlx::query(sqlx::AssertSqlSafe(text.as_str()));
                if let Some(agent) = agent_id {
                    q = q.bind(agent);
                }
                let row = q.fetch_one(&self.reader).await?;
                summary.scans = count(row.try_get("n")?);
                Ok(summary)
            }

            async fn list_agents(
                &self,
                after: Option<&str>,
                limit: u32,
            ) -> Result<Vec<$crate::store::StoredAgent>, $crate::store::StoreError> {
                use sqlx::Row as _;
                let rows = match after {
                    Some(after) => {
                        sqlx::query(
                            "SELECT agent_id, hostname, version, registered_at, last_seen FROM agents \
                             WHERE agent_id > $1 ORDER BY agent_id ASC LIMIT $2",
                        )
                        .bind(after)
                        .bind(i64::from(limit))
                        .fetch_all(&self.reader)
                        .await?
                    }
                    None => {
                        sqlx::query(
                            "SELECT agent_id, hostname, version, registered_at, last_seen FROM agents \
                             ORDER BY agent_id ASC LIMIT $1",
                        )
                        .bind(i64::from(limit))
                        .fetch_all(&self.reader)
                        .await?
                    }
                };
                rows.iter()
                    .map(|row| {
                        Ok($crate::store::StoredAgent {
                            agent_id: row.try_get("agent_id")?,
                            hostname: row.try_get("hostname")?,
                            version: row.try_get("version")?,
                            registered_at: row.try_get("registered_at")?,
                            last_seen: row.try_get("last_seen")?,
                        })
                    })
                    .collect()
            }

            async fn page_secret(&self) -> Result<Vec<u8>, $crate::store::StoreError> {
                use sqlx::Row as _;
                let fresh = $crate::digest::random_bytes::<32>().map_err(|e| {
                    $crate::store::StoreError::Config(format!("no randomness for the page secret: {e}"))
                })?;
                sqlx::query("INSERT INTO meta (key, value) VALUES ('page_secret', $1) ON CONFLICT (key) DO NOTHING")
                    .bind(fresh.as_slice())
                    .execute(&self.writer)
                    .await?;
                let row = sqlx::query("SELECT value FROM meta WHERE key = 'page_secret'")
                    .fetch_one(&self.writer)
                    .await?;
                Ok(row.try_get("value")?)
            }

            async fn replica_events(&self) -> Result<Option<$crate::store::ReplicaEvents>, $crate::store::StoreError> {
                self.listen_to_replicas().await
            }

            async fn opened_by(
                &self,
                scan_seq: i64,
            ) -> Result<Vec<zerotrace_proto::common::v1::Finding>, $crate::store::StoreError> {
                let rows = sqlx::query($crate::store::sql::OPENED_BY_SCAN)
                    .bind(scan_seq)
                    .fetch_all(&self.reader)
                    .await?;
                rows.iter().map(Self::decode_finding).collect()
            }
        }
    };
}

pub(super) use sql_store;
