-- The packages with the most open findings, of every agent or of one:
-- {and_agent} is empty or the agent's condition, {and_undecided} as in
-- summary_severities.sql, {top} how many.
SELECT ecosystem, package_name, COUNT(*) AS n FROM findings
WHERE resolved_at IS NULL {and_agent} {and_undecided}
GROUP BY ecosystem, package_name
ORDER BY n DESC, ecosystem ASC, package_name ASC LIMIT {top}
