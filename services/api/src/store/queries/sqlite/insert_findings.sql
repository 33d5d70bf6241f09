-- Stores the findings of a report's chunk that are new and returns their keys;
-- the others are findings seen before. {rows} is finding_rows.sql. `WHERE true`
-- tells SQLite's parser that ON CONFLICT is no join's ON.
--
-- OR ROLLBACK: SQLite keeps a statement journal (a copy of every page a
-- statement touches, for undoing that statement alone) for any multi-row
-- statement that may abort halfway. A report's transaction is all or nothing
-- anyway, so a failure here rolls it back whole, and the findings' foreign key
-- is checked at commit (see the migration that rebuilt the findings table):
-- no journal. PostgreSQL's statement is the same without it.
INSERT OR ROLLBACK INTO findings (id, agent_id, root, ecosystem, package_name, vuln_id, severity, risk_score, kev, fix_available,
    first_seen, last_seen, first_scan_id, last_scan_id, data, package_version)
{rows}
WHERE true ON CONFLICT (id) DO NOTHING RETURNING id
