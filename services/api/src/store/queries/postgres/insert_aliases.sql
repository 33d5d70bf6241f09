-- Stores the aliases of a report's vulnerabilities: {values} is one row
-- (alias, vulnerability id) per pair. The statement is SQLite's without its
-- OR ROLLBACK.
INSERT INTO vuln_aliases (alias, vuln_id)
{values}
ON CONFLICT (alias, vuln_id) DO NOTHING
