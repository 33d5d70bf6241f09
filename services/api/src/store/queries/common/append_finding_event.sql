-- Appends a report's event ($1 scan row id, $2 agent, $3 root, $4 receive
-- time) at the next position, last in its transaction. SQLite has one writer
-- at a time; on PostgreSQL lock_finding_events.sql runs first. Either way no
-- report takes a position until the one before it has committed, so
-- positions follow commit order.
INSERT INTO finding_events (position, scan_seq, agent_id, root, received_at)
SELECT COALESCE(MAX(position), 0) + 1, $1, $2, $3, $4 FROM finding_events
RETURNING position
