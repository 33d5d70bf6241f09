-- ZeroTrace API schema (SQLite). Times are microseconds since the Unix epoch.

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

CREATE TABLE agents (
    agent_id TEXT PRIMARY KEY,
    hostname TEXT NOT NULL,
    version TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    registered_at INTEGER NOT NULL,
    last_seen INTEGER NOT NULL
);

CREATE TABLE scans (
    id INTEGER PRIMARY KEY,
    agent_id TEXT NOT NULL REFERENCES agents (agent_id),
    scan_id TEXT NOT NULL,
    content_hash BLOB NOT NULL,
    status INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    finding_count INTEGER NOT NULL,
    new_findings INTEGER NOT NULL,
    resolved_findings INTEGER NOT NULL,
    report BLOB NOT NULL,
    UNIQUE (agent_id, scan_id)
);
CREATE INDEX scans_by_start ON scans (started_at DESC, id DESC);
CREATE INDEX scans_by_agent_start ON scans (agent_id, started_at DESC, id DESC);

CREATE TABLE findings (
    id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL REFERENCES agents (agent_id),
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
CREATE INDEX findings_by_risk ON findings (risk_score DESC, id);
CREATE INDEX findings_by_severity ON findings (severity DESC, risk_score DESC, id);
CREATE INDEX findings_by_time ON findings (last_seen DESC, id);
CREATE INDEX findings_by_agent_root ON findings (agent_id, root);
CREATE INDEX findings_by_package ON findings (package_name);
CREATE INDEX findings_by_vuln ON findings (vuln_id);
CREATE INDEX findings_by_resolved ON findings (resolved_at);

CREATE TABLE vuln_aliases (
    alias TEXT NOT NULL,
    vuln_id TEXT NOT NULL,
    PRIMARY KEY (alias, vuln_id)
);
