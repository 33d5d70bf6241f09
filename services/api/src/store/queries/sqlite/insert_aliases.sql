-- Stores the aliases of a report's vulnerabilities: {values} is one row
-- (alias, agent id, vulnerability id) per pair the agent reported.
-- OR ROLLBACK: as in insert_findings.sql.
INSERT OR ROLLBACK INTO vuln_aliases (alias, agent_id, vuln_id)
{values}
ON CONFLICT (alias, agent_id, vuln_id) DO NOTHING
