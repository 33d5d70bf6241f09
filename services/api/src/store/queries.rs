//! The SQL text of the store: one statement per `.sql` file under `queries/`,
//! embedded with `include_str!` (Cargo rebuilds the crate when one changes).
//!
//! - `queries/common/` holds the statements both backends run as they are:
//!   almost all of them, as SQLite accepts PostgreSQL's `$N` placeholders.
//! - `queries/sqlite/` and `queries/postgres/` hold a backend's own version of
//!   a statement that differs ([`Dialect`]: the multi-row writes of a report,
//!   which carry `OR ROLLBACK` on SQLite only; a test checks that nothing else
//!   differs), and the statements only one backend runs (pragmas, `NOTIFY`).
//!
//! A file starts with `--` comment lines that say what the statement does and
//! why it is written so; the statement follows, without comments (checked at
//! compile time), and only the statement is sent to the database.
//!
//! A statement that the code completes is a [`Template`]: `{name}` marks a
//! hole, filled with a bound value or with generated text (a filter, an `IN`
//! list, `VALUES` rows of a chunk of findings); the fixed text stays here. The
//! filters themselves are built in Rust ([`super::filter`]).

use sqlx::{Database, QueryBuilder};

/// The statement of a `.sql` file: the text after its leading `--` comment
/// lines, trimmed. Fails to compile when a comment follows in the statement
/// (it would be sent to the database, and could swallow what the code
/// appends to its last line).
const fn statement_of(file: &'static str) -> &'static str {
    let mut rest = file.trim_ascii_start();
    while let [b'-', b'-', ..] = rest.as_bytes() {
        let bytes = rest.as_bytes();
        let mut end = 0;
        while end < bytes.len() && bytes[end] != b'\n' {
            end += 1;
        }
        rest = rest.split_at(end).1.trim_ascii_start();
    }
    let statement = rest.trim_ascii_end();
    let bytes = statement.as_bytes();
    let mut i = 0;
    while i + 1 < bytes.len() {
        assert!(
            !(bytes[i] == b'-' && bytes[i + 1] == b'-'),
            "comments of a .sql file belong before its statement"
        );
        i += 1;
    }
    assert!(!statement.is_empty(), "a .sql file holds a statement");
    statement
}

/// Whether `text` has a `{`.
const fn has_hole(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'{' {
            return true;
        }
        i += 1;
    }
    false
}

/// A complete statement from a `.sql` file: fails to compile when it has a hole.
const fn sql(file: &'static str) -> &'static str {
    let statement = statement_of(file);
    assert!(!has_hole(statement), "a statement with holes is a Template");
    statement
}

/// A statement from a `.sql` file with holes (`{name}`) that the code fills.
#[derive(Debug, Clone, Copy)]
pub(super) struct Template(&'static str);

impl Template {
    /// Reads a template; fails to compile when a hole is not closed.
    const fn new(file: &'static str) -> Self {
        let text = statement_of(file);
        let bytes = text.as_bytes();
        let mut open = false;
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'{' => {
                    assert!(!open, "a hole of a template is closed before the next one opens");
                    open = true;
                }
                b'}' => {
                    assert!(open, "a closing brace of a template closes a hole");
                    open = false;
                }
                _ => {}
            }
            i += 1;
        }
        assert!(!open, "a hole of a template is closed");
        Self(text)
    }

    /// Appends the statement to `out`, calling `hole` with the name of each
    /// hole, in order, to fill it.
    pub(super) fn fill<O: Push>(self, out: &mut O, mut hole: impl FnMut(&mut O, &str)) {
        let mut rest = self.0;
        while let Some((text, after)) = rest.split_once('{') {
            // Closed: checked by `new`.
            let (name, after) = after.split_once('}').unwrap_or((after, ""));
            out.push_sql(text);
            hole(out, name);
            rest = after;
        }
        out.push_sql(rest);
    }

    /// The names of its holes, in order.
    #[cfg(test)]
    pub(super) fn holes(self) -> Vec<&'static str> {
        self.0
            .split('{')
            .skip(1)
            .filter_map(|part| part.split_once('}').map(|(name, _)| name))
            .collect()
    }

    /// Its text, holes included.
    #[cfg(test)]
    pub(super) fn text(self) -> &'static str {
        self.0
    }
}

/// Stops at a hole that the code does not fill: the `.sql` file and the code
/// that fills it disagree.
pub(super) fn unknown_hole(name: &str) -> ! {
    panic!("no value for the hole {{{name}}} of a statement")
}

/// Where a [`Template`] is written: a statement under construction.
pub(super) trait Push {
    /// Appends SQL text.
    fn push_sql(&mut self, text: &str);
}

impl<DB: Database> Push for QueryBuilder<DB> {
    fn push_sql(&mut self, text: &str) {
        self.push(text);
    }
}

impl Push for String {
    fn push_sql(&mut self, text: &str) {
        self.push_str(text);
    }
}

/// A backend's own version of the statements that differ.
#[derive(Debug, Clone, Copy)]
pub(super) struct Dialect {
    /// Stores a chunk's new findings (`{rows}`: [`FINDING_ROWS`]), returns their keys.
    pub(super) insert_findings: Template,
    /// Updates a chunk's findings seen before (`{rows}`: [`FINDING_ROWS`]), returns them.
    pub(super) update_seen_findings: Template,
    /// Stores aliases (`{values}`: rows of alias, agent and vulnerability id).
    pub(super) insert_aliases: Template,
    /// Reads (and on PostgreSQL locks) the class and state of the findings
    /// a report is about to update (`{keys}`).
    pub(super) lock_seen_findings: Template,
    /// Run before [`APPEND_FINDING_EVENT`] so that positions follow commit
    /// order, where the database needs it.
    pub(super) order_finding_events: Option<&'static str>,
}

// Agents.

/// Registers an agent (binds: id, host, version, token hash, now).
pub(super) const CREATE_AGENT: &str = sql(include_str!("queries/common/create_agent.sql"));
/// Replaces an agent's credentials (binds: host, version, token hash, now, id, old token hash).
pub(super) const ROTATE_AGENT: &str = sql(include_str!("queries/common/rotate_agent.sql"));
/// Replaces an agent's token, whatever it was (binds: token hash, id).
pub(super) const RESET_AGENT_TOKEN: &str = sql(include_str!("queries/common/reset_agent_token.sql"));
/// Whether an agent exists (bind: id).
pub(super) const AGENT_EXISTS: &str = sql(include_str!("queries/common/agent_exists.sql"));
/// The agent of a token (bind: token hash).
pub(super) const AGENT_FOR_TOKEN: &str = sql(include_str!("queries/common/agent_for_token.sql"));
/// Marks an agent seen (binds: now, id).
pub(super) const HEARTBEAT: &str = sql(include_str!("queries/common/heartbeat.sql"));
/// The first page of agents (bind: limit).
pub(super) const LIST_AGENTS: &str = sql(include_str!("queries/common/list_agents.sql"));
/// A later page of agents (binds: after, limit).
pub(super) const LIST_AGENTS_AFTER: &str = sql(include_str!("queries/common/list_agents_after.sql"));

// A report, in the order its transaction runs them.

/// Stores a report's scan row, returns its `id` (binds: agent, scan id, content
/// hash, status, start, receive time, finding count, report).
pub(super) const INSERT_SCAN: &str = sql(include_str!("queries/common/insert_scan.sql"));
/// What is stored under a scan id (binds: agent, scan id).
pub(super) const STORED_SCAN: &str = sql(include_str!("queries/common/stored_scan.sql"));
/// Rows of a report's findings, for [`Dialect::insert_findings`] and
/// [`Dialect::update_seen_findings`].
pub(super) const FINDING_ROWS: Template = Template::new(include_str!("queries/common/finding_rows.sql"));
/// Reads the stored findings a report sees again (`{keys}`).
pub(super) const SEEN_FINDINGS: Template = Template::new(include_str!("queries/common/seen_findings.sql"));
/// Moves the sighting of open findings (`{keys}`).
pub(super) const SIGHT_FINDINGS: Template = Template::new(include_str!("queries/common/sight_findings.sql"));
/// Resolves what a full scan no longer saw (binds: receive time, agent, root).
pub(super) const RESOLVE_FINDINGS: &str = sql(include_str!("queries/common/resolve_findings.sql"));
/// Stores a report's counts (binds: new, resolved, scan row id).
pub(super) const UPDATE_SCAN_COUNTS: &str = sql(include_str!("queries/common/update_scan_counts.sql"));
/// Marks the reporting agent seen (binds: receive time, agent).
pub(super) const AGENT_SEEN_BY_REPORT: &str = sql(include_str!("queries/common/agent_seen_by_report.sql"));
/// Adds to the open findings of a class (binds: severity, known exploited, the change).
pub(super) const COUNT_OPEN_CLASS: &str = sql(include_str!("queries/common/count_open_class.sql"));
/// Appends a report's event at the next position (binds: scan row id, agent, root, receive time).
pub(super) const APPEND_FINDING_EVENT: &str = sql(include_str!("queries/common/append_finding_event.sql"));
/// Adds to an agent's open findings (binds: delta, agent).
pub(super) const COUNT_AGENT_OPEN_FINDINGS: &str = sql(include_str!("queries/common/count_agent_open_findings.sql"));

// Reads.

/// A page of scans.
pub(super) const LIST_SCANS: Template = Template::new(include_str!("queries/common/list_scans.sql"));
/// One scan (binds: agent, scan id).
pub(super) const GET_SCAN: &str = sql(include_str!("queries/common/get_scan.sql"));
/// The number of open findings, as kept.
pub(super) const OPEN_FINDING_COUNT: &str = sql(include_str!("queries/common/open_finding_count.sql"));
/// The open findings of each class (severity, known exploited), as kept.
pub(super) const OPEN_FINDING_CLASSES: &str = sql(include_str!("queries/common/open_finding_classes.sql"));
/// Counts the findings of a filter.
pub(super) const COUNT_FINDINGS: Template = Template::new(include_str!("queries/common/count_findings.sql"));
/// A page of findings.
pub(super) const LIST_FINDINGS: Template = Template::new(include_str!("queries/common/list_findings.sql"));
/// Open findings by severity.
pub(super) const SUMMARY_SEVERITIES: Template = Template::new(include_str!("queries/common/summary_severities.sql"));
/// The packages with the most open findings.
pub(super) const SUMMARY_PACKAGES: Template = Template::new(include_str!("queries/common/summary_packages.sql"));
/// Agents online, stale and offline.
pub(super) const SUMMARY_AGENTS: Template = Template::new(include_str!("queries/common/summary_agents.sql"));
/// Scans stored.
pub(super) const SUMMARY_SCANS: Template = Template::new(include_str!("queries/common/summary_scans.sql"));
/// The findings a report opened that still are (bind: scan row id; `{decision}`).
pub(super) const OPENED_BY_SCAN: Template = Template::new(include_str!("queries/common/opened_by_scan.sql"));
/// The events after a position (binds: position, limit).
pub(super) const FINDING_EVENTS_AFTER: &str = sql(include_str!("queries/common/finding_events_after.sql"));
/// The position of the last event.
pub(super) const LAST_FINDING_EVENT: &str = sql(include_str!("queries/common/last_finding_event.sql"));
/// The findings an event's full scan resolved (binds: agent, root, receive time; `{decision}`).
pub(super) const RESOLVED_BY_EVENT: Template = Template::new(include_str!("queries/common/resolved_by_event.sql"));
/// One finding (binds: key, agent; `{decision}`).
pub(super) const GET_FINDING: Template = Template::new(include_str!("queries/common/get_finding.sql"));
/// The decision in force on a finding (`{finding}`, the table's name; `{now}`).
pub(super) const DECISION_IN_FORCE: Template = Template::new(include_str!("queries/common/decision_in_force.sql"));
/// Whether any decision is in force (bind: now).
pub(super) const DECISIONS_IN_FORCE: &str = sql(include_str!("queries/common/decisions_in_force.sql"));
/// Findings stored before their version had a column (binds: after key, limit).
pub(super) const FINDINGS_WITHOUT_VERSION: &str = sql(include_str!("queries/common/findings_without_version.sql"));
/// Fills a finding's version column (binds: version, key).
pub(super) const SET_FINDING_VERSION: &str = sql(include_str!("queries/common/set_finding_version.sql"));

// Retention.

/// Deletes a batch of old scans (binds: cutoff, batch size).
pub(super) const EXPIRE_SCANS: &str = sql(include_str!("queries/common/expire_scans.sql"));
/// Deletes a batch of long-resolved findings (binds: cutoff, batch size).
pub(super) const EXPIRE_FINDINGS: &str = sql(include_str!("queries/common/expire_findings.sql"));
/// Deletes the events of deleted scans.
pub(super) const EXPIRE_FINDING_EVENTS: &str = sql(include_str!("queries/common/expire_finding_events.sql"));
/// The last event received before a cutoff (bind: cutoff).
pub(super) const LAST_EVENT_BEFORE: &str = sql(include_str!("queries/common/last_event_before.sql"));
/// Raises the event floor (bind: the position, 8 bytes big-endian).
pub(super) const SET_EVENT_FLOOR: &str = sql(include_str!("queries/common/set_event_floor.sql"));
/// The event floor.
pub(super) const EVENT_FLOOR: &str = sql(include_str!("queries/common/event_floor.sql"));

// Decisions.

/// Records a decision unless its id is taken (binds: id, advisory, ecosystem,
/// package, version, agent, root, expiry, etag, data).
pub(super) const INSERT_DECISION: &str = sql(include_str!("queries/common/insert_decision.sql"));
/// Replaces a decision of the etag given (binds: those of
/// [`INSERT_DECISION`], then the old etag).
pub(super) const UPDATE_DECISION: &str = sql(include_str!("queries/common/update_decision.sql"));
/// Deletes a decision (binds: id, etag or '').
pub(super) const DELETE_DECISION: &str = sql(include_str!("queries/common/delete_decision.sql"));
/// One decision (bind: id).
pub(super) const GET_DECISION: &str = sql(include_str!("queries/common/get_decision.sql"));
/// A page of decisions (binds: after id, limit).
pub(super) const LIST_DECISIONS: &str = sql(include_str!("queries/common/list_decisions.sql"));
/// Offers a page secret (bind: the secret).
pub(super) const INSERT_PAGE_SECRET: &str = sql(include_str!("queries/common/insert_page_secret.sql"));
/// The page secret.
pub(super) const PAGE_SECRET: &str = sql(include_str!("queries/common/page_secret.sql"));

/// SQLite's statements.
pub(super) mod sqlite {
    use super::{Dialect, Template, sql};

    /// Its versions of the statements that differ: `OR ROLLBACK`.
    pub(in crate::store) const DIALECT: Dialect = Dialect {
        insert_findings: Template::new(include_str!("queries/sqlite/insert_findings.sql")),
        update_seen_findings: Template::new(include_str!("queries/sqlite/update_seen_findings.sql")),
        insert_aliases: Template::new(include_str!("queries/sqlite/insert_aliases.sql")),
        lock_seen_findings: Template::new(include_str!("queries/sqlite/lock_seen_findings.sql")),
        // One writer at a time: positions follow commit order by themselves.
        order_finding_events: None,
    };
    /// Copies the WAL into the database file, as far as it can without waiting.
    pub(in crate::store) const CHECKPOINT: &str = sql(include_str!("queries/sqlite/checkpoint.sql"));
    /// The page size of the database file.
    pub(in crate::store) const PAGE_SIZE: &str = sql(include_str!("queries/sqlite/page_size.sql"));
    /// Sets the writer's own checkpoint threshold (`{pages}`).
    pub(in crate::store) const WAL_AUTOCHECKPOINT: Template =
        Template::new(include_str!("queries/sqlite/wal_autocheckpoint.sql"));
}

/// PostgreSQL's statements.
pub(super) mod postgres {
    use super::{Dialect, Template, sql};

    /// Its versions of the statements that differ: without `OR ROLLBACK`.
    pub(in crate::store) const DIALECT: Dialect = Dialect {
        insert_findings: Template::new(include_str!("queries/postgres/insert_findings.sql")),
        update_seen_findings: Template::new(include_str!("queries/postgres/update_seen_findings.sql")),
        insert_aliases: Template::new(include_str!("queries/postgres/insert_aliases.sql")),
        lock_seen_findings: Template::new(include_str!("queries/postgres/lock_seen_findings.sql")),
        order_finding_events: Some(sql(include_str!("queries/postgres/lock_finding_events.sql"))),
    };
    /// Notifies the other replicas (binds: channel, payload).
    pub(in crate::store) const NOTIFY: &str = sql(include_str!("queries/postgres/notify.sql"));
    /// The connection's schema.
    pub(in crate::store) const CURRENT_SCHEMA: &str = sql(include_str!("queries/postgres/current_schema.sql"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_read_without_their_comments() {
        assert_eq!(
            AGENT_EXISTS, "SELECT 1 AS one FROM agents WHERE agent_id = $1",
            "the header is dropped, the statement trimmed"
        );
        let mut filled = String::new();
        SEEN_FINDINGS.fill(&mut filled, |out, hole| out.push_str(&format!("<{hole}>")));
        assert_eq!(
            filled,
            "SELECT id, last_seen, resolved_at, data FROM findings WHERE id IN (<keys>)"
        );
    }

    #[test]
    fn the_backends_differ_only_by_sqlite_or_rollback() {
        let pairs = [
            (sqlite::DIALECT.insert_findings, postgres::DIALECT.insert_findings),
            (
                sqlite::DIALECT.update_seen_findings,
                postgres::DIALECT.update_seen_findings,
            ),
            (sqlite::DIALECT.insert_aliases, postgres::DIALECT.insert_aliases),
        ];
        for (sqlite, postgres) in pairs {
            assert!(sqlite.text().contains(" OR ROLLBACK "), "{}", sqlite.text());
            assert_eq!(sqlite.text().replacen(" OR ROLLBACK ", " ", 1), postgres.text());
        }
    }

    #[test]
    fn templates_have_the_holes_the_code_fills() {
        let cases: [(Template, &[&str]); 12] = [
            (
                FINDING_ROWS,
                &[
                    "agent_id",
                    "root",
                    "received_at",
                    "received_at",
                    "scan_id",
                    "scan_id",
                    "values",
                ],
            ),
            (SEEN_FINDINGS, &["keys"]),
            (
                SIGHT_FINDINGS,
                &["received_at", "received_at", "received_at", "scan_id", "keys"],
            ),
            (LIST_SCANS, &["where", "limit"]),
            (COUNT_FINDINGS, &["where"]),
            (LIST_FINDINGS, &["decision", "where", "order", "limit"]),
            (SUMMARY_PACKAGES, &["and_agent", "and_undecided", "top"]),
            (
                SUMMARY_AGENTS,
                &["online", "online", "offline", "offline", "where_agent"],
            ),
            (OPENED_BY_SCAN, &["decision"]),
            (RESOLVED_BY_EVENT, &["decision"]),
            (GET_FINDING, &["decision"]),
            (
                DECISION_IN_FORCE,
                &[
                    "finding", "finding", "finding", "finding", "finding", "finding", "finding", "finding", "now",
                ],
            ),
        ];
        for (template, holes) in cases {
            assert_eq!(template.holes(), holes, "{}", template.text());
        }
        for dialect in [sqlite::DIALECT, postgres::DIALECT] {
            assert_eq!(dialect.insert_findings.holes(), ["rows"]);
            assert_eq!(dialect.update_seen_findings.holes(), ["rows"]);
            assert_eq!(dialect.insert_aliases.holes(), ["values"]);
            assert_eq!(dialect.lock_seen_findings.holes(), ["keys"]);
        }
        // PostgreSQL's read of the findings a report updates is SQLite's, locking.
        assert_eq!(
            format!("{} FOR UPDATE", sqlite::DIALECT.lock_seen_findings.text()),
            postgres::DIALECT.lock_seen_findings.text()
        );
        assert_eq!(SUMMARY_SEVERITIES.holes(), ["and_agent", "and_undecided"]);
        assert_eq!(SUMMARY_SCANS.holes(), ["where_agent"]);
        assert_eq!(sqlite::WAL_AUTOCHECKPOINT.holes(), ["pages"]);
    }
}
