-- The events after a position ($1), oldest first, at most $2.
SELECT position, scan_seq, agent_id, root, received_at FROM finding_events
WHERE position > $1 ORDER BY position LIMIT $2
