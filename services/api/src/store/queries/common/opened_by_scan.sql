-- The findings a report made open that still are ($1: its scan's row id), by
-- their latest opening: new ones carry its scan id as first_scan_id (and were
-- not reopened since), reopened ones as reopened_by (both indexed by agent).
-- Each open finding belongs to one event: a replay of the event log sends it
-- once, at its latest change. {decision} is decision_in_force.sql.
SELECT f.id, f.agent_id, f.root, f.last_scan_id, f.first_seen, f.last_seen, f.resolved_at, f.data,
    ({decision}) AS decision
FROM scans s JOIN findings f ON f.agent_id = s.agent_id
WHERE s.id = $1 AND f.resolved_at IS NULL
    AND ((f.first_scan_id = s.scan_id AND f.reopened_by IS NULL) OR f.reopened_by = s.scan_id)
ORDER BY f.id
