-- The findings a full scan resolved that still are ($1 agent, $2 root, $3 its
-- receive time, which resolve_findings.sql wrote as their resolved_at).
-- {decision} is decision_in_force.sql.
SELECT id, agent_id, root, last_scan_id, first_seen, last_seen, resolved_at, data, ({decision}) AS decision
FROM findings
WHERE agent_id = $1 AND root = $2 AND resolved_at = $3
ORDER BY id
