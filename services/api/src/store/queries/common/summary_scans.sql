-- Scans stored, of every agent or of one: {where_agent} is empty or the agent's
-- condition.
SELECT COUNT(*) AS n FROM scans {where_agent}
