//! The parts of the read statements that depend on the request: the `WHERE`
//! clauses of the scans and findings filters, with their keyset positions,
//! the `ORDER BY` of a findings page, side by side with the keyset condition
//! that must agree with it, and the agent of a summary. They fill the holes
//! of the templates in [`super::queries`].
//!
//! These statements number their binds (`$N`, which SQLite accepts too), so a
//! bound value appears as often as the text needs it; a statement of a report,
//! with its thousands of binds, uses sqlx's `QueryBuilder` instead.

use super::queries::{self, Push, Template, unknown_hole};
use super::{FindingCursor, FindingOrder, FindingSelector, Micros, ScanQuery};

/// A bound value of a dynamically built statement.
#[derive(Debug, Clone)]
pub(super) enum Bind {
    I64(i64),
    F64(f64),
    Text(String),
    Bytes(Vec<u8>),
}

/// A statement under construction.
#[derive(Debug, Default)]
pub(super) struct Sql {
    pub(super) text: String,
    pub(super) binds: Vec<Bind>,
}

impl Sql {
    pub(super) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Adds a bind and returns its placeholder.
    pub(super) fn bind(&mut self, value: Bind) -> String {
        self.binds.push(value);
        format!("${}", self.binds.len())
    }
}

impl Push for Sql {
    fn push_sql(&mut self, text: &str) {
        self.push(text);
    }
}

/// How a read judges decisions: at which time, and whether any decision is
/// in force then (when none is, filters skip the per-finding test).
#[derive(Debug, Clone, Copy)]
pub(super) struct DecisionsAt {
    pub(super) now: Micros,
    pub(super) any_in_force: bool,
}

/// Appends [`queries::DECISION_IN_FORCE`] for the findings table named
/// `finding` in the statement, at the time bound as `now`.
fn push_decision_in_force(sql: &mut Sql, finding: &str, now: &str) {
    queries::DECISION_IN_FORCE.fill(sql, |sql, hole| match hole {
        "finding" => {
            sql.push(finding);
        }
        "now" => {
            sql.push(now);
        }
        other => unknown_hole(other),
    });
}

/// A statement that reads findings with the decision in force on each
/// (`{decision}`), where `binds` are the values of its own `$1`, `$2`, …
/// and `finding` the name it gives the findings table.
pub(super) fn with_decision(template: Template, finding: &str, binds: Vec<Bind>, now: Micros) -> Sql {
    let mut sql = Sql::default();
    for bind in binds {
        sql.bind(bind);
    }
    let now = sql.bind(Bind::I64(now));
    template.fill(&mut sql, |sql, hole| match hole {
        "decision" => push_decision_in_force(sql, finding, &now),
        other => unknown_hole(other),
    });
    sql
}

/// The statement of a page of scans: the filter and position of `query`.
pub(super) fn scan_page(query: &ScanQuery) -> Sql {
    let mut sql = Sql::default();
    queries::LIST_SCANS.fill(&mut sql, |sql, hole| match hole {
        "where" => scan_where(sql, query),
        "limit" => {
            let limit = sql.bind(Bind::I64(i64::from(query.limit)));
            sql.push(&limit);
        }
        other => unknown_hole(other),
    });
    sql
}

/// The statement of a page of findings: `limit` rows after `after`.
pub(super) fn finding_page(
    filter: &FindingSelector,
    order: FindingOrder,
    after: Option<&FindingCursor>,
    limit: u32,
    decisions: DecisionsAt,
) -> Sql {
    let mut sql = Sql::default();
    let now = sql.bind(Bind::I64(decisions.now));
    queries::LIST_FINDINGS.fill(&mut sql, |sql, hole| match hole {
        "decision" => push_decision_in_force(sql, "findings", &now),
        "where" => finding_where(sql, filter, Some((order, after)), decisions, &now),
        "order" => {
            sql.push(finding_order(order));
        }
        "limit" => {
            let limit = sql.bind(Bind::I64(i64::from(limit)));
            sql.push(&limit);
        }
        other => unknown_hole(other),
    });
    sql
}

/// The statement that counts the findings of a filter.
pub(super) fn finding_count(filter: &FindingSelector, decisions: DecisionsAt) -> Sql {
    let mut sql = Sql::default();
    let now = sql.bind(Bind::I64(decisions.now));
    queries::COUNT_FINDINGS.fill(&mut sql, |sql, hole| match hole {
        "where" => finding_where(sql, filter, None, decisions, &now),
        other => unknown_hole(other),
    });
    sql
}

/// A statement of the summary, of every agent or of one. The agent is bound
/// first ($1) when there is one, and fills `{and_agent}` and `{where_agent}`;
/// `undecided`, when given, leaves out the findings a decision covers
/// (`{and_undecided}`); `values` follow, each filling the holes of its name.
pub(super) fn summary(
    template: Template,
    agent_id: Option<&str>,
    undecided: Option<DecisionsAt>,
    values: &[(&str, Bind)],
) -> Sql {
    let mut sql = Sql::default();
    let agent = agent_id.map(|agent| sql.bind(Bind::Text(agent.to_string())));
    let undecided = undecided.filter(|d| d.any_in_force).map(|d| sql.bind(Bind::I64(d.now)));
    let values: Vec<(&str, String)> = values
        .iter()
        .map(|(name, value)| (*name, sql.bind(value.clone())))
        .collect();
    template.fill(&mut sql, |sql, hole| match (hole, &agent) {
        ("and_agent", Some(agent)) => {
            sql.push(&format!("AND agent_id = {agent}"));
        }
        ("where_agent", Some(agent)) => {
            sql.push(&format!("WHERE agent_id = {agent}"));
        }
        ("and_agent" | "where_agent", None) => {}
        ("and_undecided", _) => {
            if let Some(now) = &undecided {
                sql.push("AND NOT EXISTS (");
                push_decision_in_force(sql, "findings", now);
                sql.push(")");
            }
        }
        (hole, _) => match values.iter().find(|(name, _)| *name == hole) {
            Some((_, placeholder)) => {
                sql.push(placeholder);
            }
            None => unknown_hole(hole),
        },
    });
    sql
}

/// Findings sort columns, in ORDER BY form; [`finding_where`] continues after
/// a position in the same order.
fn finding_order(order: FindingOrder) -> &'static str {
    match order {
        FindingOrder::Risk => " ORDER BY risk_score DESC, id ASC",
        FindingOrder::Severity => " ORDER BY severity DESC, risk_score DESC, id ASC",
        FindingOrder::Time => " ORDER BY last_seen DESC, id ASC",
    }
}

/// Appends the WHERE clause of a findings filter. `page` is the order and
/// position of a page, `None` for a count of all matches; `now` is where
/// `decisions.now` is bound.
fn finding_where(
    sql: &mut Sql,
    filter: &FindingSelector,
    page: Option<(FindingOrder, Option<&FindingCursor>)>,
    decisions: DecisionsAt,
    now: &str,
) {
    let counting = page.is_none();
    let after = page.and_then(|(order, after)| after.map(|cursor| (order, cursor)));
    let mut conditions: Vec<String> = Vec::new();
    if !filter.include_resolved {
        // A page walks a sort index and stops after `limit` rows; the index on
        // resolved_at is for counting, and `+ 0` keeps planners from walking it
        // here. Known exploited findings are few and have an index of their
        // own (with resolved_at), which counts them better.
        conditions.push(
            if counting && !filter.known_exploited_only {
                "resolved_at IS NULL"
            } else {
                "(resolved_at + 0) IS NULL"
            }
            .to_string(),
        );
    }
    if let Some(min) = filter.min_severity {
        conditions.push(format!("severity >= {}", sql.bind(Bind::I64(i64::from(min)))));
    }
    if let Some(ecosystem) = &filter.ecosystem {
        conditions.push(format!("ecosystem = {}", sql.bind(Bind::Text(ecosystem.clone()))));
    }
    if let Some(name) = &filter.package_name {
        conditions.push(format!("package_name = {}", sql.bind(Bind::Text(name.clone()))));
    }
    if let Some(vuln_id) = &filter.vulnerability_id {
        // An alias widens the filter only over the findings of the agent
        // whose report named it: one agent's aliases never change what
        // another's findings answer to.
        let id = sql.bind(Bind::Text(vuln_id.clone()));
        conditions.push(format!(
            "(vuln_id = {id} OR (agent_id, vuln_id) IN \
             (SELECT agent_id, vuln_id FROM vuln_aliases WHERE alias = {id}))"
        ));
    }
    if let Some(agent) = &filter.agent_id {
        conditions.push(format!("agent_id = {}", sql.bind(Bind::Text(agent.clone()))));
    }
    if filter.known_exploited_only {
        conditions.push("kev".to_string());
    }
    if filter.fix_available_only {
        conditions.push("fix_available".to_string());
    }
    if !filter.include_decided && decisions.any_in_force {
        let mut undecided = Sql::default();
        undecided.push("NOT EXISTS (");
        push_decision_in_force(&mut undecided, "findings", now);
        undecided.push(")");
        conditions.push(undecided.text);
    }
    if let Some((order, cursor)) = after {
        let id = sql.bind(Bind::Bytes(cursor.key.clone()));
        let condition = match order {
            FindingOrder::Risk => {
                let risk = sql.bind(Bind::F64(cursor.risk_score));
                format!("(risk_score < {risk} OR (risk_score = {risk} AND id > {id}))")
            }
            FindingOrder::Severity => {
                let severity = sql.bind(Bind::I64(cursor.severity));
                let risk = sql.bind(Bind::F64(cursor.risk_score));
                format!(
                    "(severity < {severity} OR (severity = {severity} AND \
                     (risk_score < {risk} OR (risk_score = {risk} AND id > {id}))))"
                )
            }
            FindingOrder::Time => {
                let seen = sql.bind(Bind::I64(cursor.last_seen));
                format!("(last_seen < {seen} OR (last_seen = {seen} AND id > {id}))")
            }
        };
        conditions.push(condition);
    }
    if !conditions.is_empty() {
        sql.push(" WHERE ").push(&conditions.join(" AND "));
    }
}

/// Appends the WHERE clause of a scans query (with its keyset position).
fn scan_where(sql: &mut Sql, query: &ScanQuery) {
    let mut conditions: Vec<String> = Vec::new();
    if let Some(agent) = &query.agent_id {
        conditions.push(format!("agent_id = {}", sql.bind(Bind::Text(agent.clone()))));
    }
    if let Some(start) = query.start {
        conditions.push(format!("started_at >= {}", sql.bind(Bind::I64(start))));
    }
    if let Some(end) = query.end {
        conditions.push(format!("started_at < {}", sql.bind(Bind::I64(end))));
    }
    if let Some(status) = query.status {
        conditions.push(format!("status = {}", sql.bind(Bind::I64(i64::from(status)))));
    }
    if let Some(cursor) = query.after {
        let started = sql.bind(Bind::I64(cursor.started_at));
        let seq = sql.bind(Bind::I64(cursor.seq));
        conditions.push(format!(
            "(started_at < {started} OR (started_at = {started} AND id < {seq}))"
        ));
    }
    if !conditions.is_empty() {
        sql.push(" WHERE ").push(&conditions.join(" AND "));
    }
}
