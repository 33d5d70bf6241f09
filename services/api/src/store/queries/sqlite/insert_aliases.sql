-- Stores the aliases of a report's vulnerabilities: {values} is one row
-- (alias, vulnerability id) per pair. OR ROLLBACK: as in insert_findings.sql.
INSERT OR ROLLBACK INTO vuln_aliases (alias, vuln_id)
{values}
ON CONFLICT (alias, vuln_id) DO NOTHING
