-- Stores the findings of a report's chunk that are new and returns their keys;
-- the others are findings seen before. {rows} is finding_rows.sql. `WHERE true`
-- is for SQLite's parser (ON CONFLICT is no join's ON); the statement is
-- SQLite's without its OR ROLLBACK.
INSERT INTO findings (id, agent_id, root, ecosystem, package_name, vuln_id, severity, risk_score, kev, fix_available,
    first_seen, last_seen, first_scan_id, last_scan_id, data, package_version)
{rows}
WHERE true ON CONFLICT (id) DO NOTHING RETURNING id
