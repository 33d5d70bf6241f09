-- The reports that opened or resolved findings, in the order they committed:
-- a WatchFindings resume token is a position here, so a client that
-- reconnects (to this replica, another one, or after a restart) gets what
-- committed after the last event it saw, once. The findings of an event are
-- read back from findings: those its scan opened that are still open, and
-- those it resolved (resolved_at = received_at, in its agent and root).

CREATE TABLE finding_events (
    position BIGINT PRIMARY KEY,
    scan_seq BIGINT NOT NULL,
    agent_id TEXT NOT NULL,
    root TEXT NOT NULL,
    received_at BIGINT NOT NULL
);
