-- Open findings by severity, of every agent or of one: {and_agent} is empty or
-- the agent's condition, {and_undecided} empty or the condition that no
-- decision is in force on the finding.
SELECT severity, COUNT(*) AS n FROM findings
WHERE resolved_at IS NULL {and_agent} {and_undecided}
GROUP BY severity ORDER BY severity DESC
