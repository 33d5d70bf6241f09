-- The findings a report made open that still are ($1: its scan's row id): new
-- ones carry its scan id as first_scan_id, reopened ones as reopened_by (both
-- indexed by agent on PostgreSQL, where replicas read them).
SELECT f.id, f.agent_id, f.last_scan_id, f.first_seen, f.last_seen, f.resolved_at, f.data
FROM scans s JOIN findings f ON f.agent_id = s.agent_id
WHERE s.id = $1 AND f.resolved_at IS NULL AND (f.first_scan_id = s.scan_id OR f.reopened_by = s.scan_id)
ORDER BY f.id
