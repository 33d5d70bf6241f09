-- The findings table rebuilt (SQLite cannot alter a column or a constraint),
-- row ids kept, for two savings on every report:
--
-- 1. The finding key is its 16 bytes (BLOB) instead of 32 hex characters.
--    A report's findings land at scattered places of the key's index, and
--    every index page they touch is written to the WAL again: the entry size
--    is the write cost. The API still shows the key as hex.
-- 2. findings.agent_id is checked at commit instead of per row. SQLite keeps
--    a statement journal (a copy of every page a statement touches, for
--    undoing that statement alone) for any multi-row statement that may abort
--    halfway; an immediate foreign key makes every multi-row insert of
--    findings one. A report's transaction is all or nothing anyway, so the
--    check moves to its commit, and the report's statements use OR ROLLBACK.

CREATE TABLE findings_rebuilt (
    id BLOB PRIMARY KEY,
    agent_id TEXT NOT NULL REFERENCES agents (agent_id) DEFERRABLE INITIALLY DEFERRED,
    root TEXT NOT NULL,
    ecosystem TEXT NOT NULL,
    package_name TEXT NOT NULL,
    vuln_id TEXT NOT NULL,
    severity INTEGER NOT NULL,
    risk_score REAL NOT NULL,
    kev BOOLEAN NOT NULL,
    fix_available BOOLEAN NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    resolved_at INTEGER,
    first_scan_id TEXT NOT NULL,
    last_scan_id TEXT NOT NULL,
    reopened_by TEXT,
    data BLOB NOT NULL
);
INSERT INTO findings_rebuilt (
    rowid, id, agent_id, root, ecosystem, package_name, vuln_id, severity, risk_score, kev, fix_available,
    first_seen, last_seen, resolved_at, first_scan_id, last_scan_id, reopened_by, data
)
SELECT
    rowid, unhex(id), agent_id, root, ecosystem, package_name, vuln_id, severity, risk_score, kev, fix_available,
    first_seen, last_seen, resolved_at, first_scan_id, last_scan_id, reopened_by, data
FROM findings;
DROP TABLE findings;
ALTER TABLE findings_rebuilt RENAME TO findings;

CREATE INDEX findings_by_risk ON findings (risk_score DESC);
CREATE INDEX findings_by_severity ON findings (severity DESC, risk_score DESC);
CREATE INDEX findings_by_time ON findings (last_seen DESC, id);
CREATE INDEX findings_by_agent_root ON findings (agent_id, root);
CREATE INDEX findings_by_package ON findings (package_name);
CREATE INDEX findings_by_vuln ON findings (vuln_id);
CREATE INDEX findings_by_resolved ON findings (resolved_at);
