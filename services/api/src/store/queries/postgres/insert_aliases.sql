-- Stores the aliases of a report's vulnerabilities: {values} is one row
-- (alias, agent id, vulnerability id) per pair the agent reported. The
-- statement is SQLite's without its OR ROLLBACK.
INSERT INTO vuln_aliases (alias, agent_id, vuln_id)
{values}
ON CONFLICT (alias, agent_id, vuln_id) DO NOTHING
