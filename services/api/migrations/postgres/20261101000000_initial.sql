-- ZeroTrace API schema (PostgreSQL). Times are microseconds since the Unix epoch.
-- Keys use the "C" collation: byte order, the same as SQLite's.

CREATE TABLE meta (
    key TEXT COLLATE "C" PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE agents (
    agent_id TEXT COLLATE "C" PRIMARY KEY,
    hostname TEXT NOT NULL,
    version TEXT NOT NULL,
    token_hash TEXT COLLATE "C" NOT NULL UNIQUE,
    registered_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL
);

CREATE TABLE scans (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agent_id TEXT COLLATE "C" NOT NULL REFERENCES agents (agent_id),
    scan_id TEXT COLLATE "C" NOT NULL,
    content_hash BYTEA NOT NULL,
    status BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    finding_count BIGINT NOT NULL,
    new_findings BIGINT NOT NULL,
    resolved_findings BIGINT NOT NULL,
    report BYTEA NOT NULL,
    UNIQUE (agent_id, scan_id)
);
CREATE INDEX scans_by_start ON scans (started_at DESC, id DESC);
CREATE INDEX scans_by_agent_start ON scans (agent_id, started_at DESC, id DESC);

CREATE TABLE findings (
    id TEXT COLLATE "C" PRIMARY KEY,
    agent_id TEXT COLLATE "C" NOT NULL REFERENCES agents (agent_id),
    root TEXT COLLATE "C" NOT NULL,
    ecosystem TEXT COLLATE "C" NOT NULL,
    package_name TEXT COLLATE "C" NOT NULL,
    vuln_id TEXT COLLATE "C" NOT NULL,
    severity BIGINT NOT NULL,
    risk_score DOUBLE PRECISION NOT NULL,
    kev BOOLEAN NOT NULL,
    fix_available BOOLEAN NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    resolved_at BIGINT,
    first_scan_id TEXT COLLATE "C" NOT NULL,
    last_scan_id TEXT COLLATE "C" NOT NULL,
    reopened_by TEXT COLLATE "C",
    data BYTEA NOT NULL
);
CREATE INDEX findings_by_risk ON findings (risk_score DESC, id);
CREATE INDEX findings_by_severity ON findings (severity DESC, risk_score DESC, id);
CREATE INDEX findings_by_time ON findings (last_seen DESC, id);
CREATE INDEX findings_by_agent_root ON findings (agent_id, root);
CREATE INDEX findings_by_package ON findings (package_name);
CREATE INDEX findings_by_vuln ON findings (vuln_id);
CREATE INDEX findings_by_resolved ON findings (resolved_at);

CREATE TABLE vuln_aliases (
    alias TEXT COLLATE "C" NOT NULL,
    vuln_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (alias, vuln_id)
);
