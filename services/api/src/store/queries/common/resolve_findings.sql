-- A successful full scan resolves the open findings of its root that it no
-- longer saw: those it saw have a last_seen of at least its receive time ($1)
-- by now. Returns the class of each, for the open counts.
UPDATE findings SET resolved_at = $1
WHERE agent_id = $2 AND root = $3 AND resolved_at IS NULL AND last_seen < $1
RETURNING severity, kev
