-- Open findings by severity, of every agent or of one: {and_agent} is empty or
-- the agent's condition.
SELECT severity, COUNT(*) AS n FROM findings
WHERE resolved_at IS NULL {and_agent}
GROUP BY severity ORDER BY severity DESC
