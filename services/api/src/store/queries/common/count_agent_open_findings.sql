-- Adds a report's change to its agent's open findings ($1, agent $2); run
-- next to count_open_findings.sql, at the end of the report.
UPDATE agents SET open_findings = open_findings + $1 WHERE agent_id = $2
