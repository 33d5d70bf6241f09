-- One finding by key ($1) and agent ($2), with the decision in force on it
-- ({decision}: decision_in_force.sql).
SELECT id, agent_id, root, last_scan_id, first_seen, last_seen, resolved_at, data, ({decision}) AS decision
FROM findings WHERE id = $1 AND agent_id = $2
