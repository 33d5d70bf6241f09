-- Fleet triage. A decision (accepted risk, false positive, not affected)
-- covers the findings of one advisory in one package, optionally narrowed to
-- a version, an agent and a scan root; while in force (no expiry, or before
-- it) reads leave those findings out unless asked for them. Reads decide at
-- query time (decision_in_force.sql), so an expiry, a new finding or a
-- deleted decision needs no write to the findings.
--
-- The scope is in columns (NULL: any); `data` is the whole Decision as the
-- API returns it. `etag` changes with every write.
--
-- A decision narrowed to a version compares it with the finding's version:
-- findings get a column for it, which the store fills for the rows stored
-- before this migration (from `data`) when it opens the database.

CREATE TABLE decisions (
    id TEXT PRIMARY KEY,
    advisory_id TEXT NOT NULL,
    ecosystem TEXT NOT NULL,
    package_name TEXT NOT NULL,
    version TEXT,
    agent_id TEXT,
    root TEXT,
    expire_time BIGINT,
    etag TEXT NOT NULL,
    data BYTEA NOT NULL
);
CREATE INDEX decisions_by_package ON decisions (package_name, ecosystem);

ALTER TABLE findings ADD COLUMN package_version TEXT;
-- The rows still to fill, found without reading the table (it stays empty after).
CREATE INDEX findings_without_version ON findings (id) WHERE package_version IS NULL;
