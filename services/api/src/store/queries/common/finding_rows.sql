-- Rows of a report's findings, in the columns that insert_findings.sql and
-- update_seen_findings.sql write: id, agent_id, root, ecosystem, package_name,
-- vuln_id, severity, risk_score, kev, fix_available, first_seen, last_seen,
-- first_scan_id, last_scan_id, data, package_version.
--
-- {values} is one `VALUES` row per finding of its own ten columns (id,
-- ecosystem, package_name, vuln_id, severity, risk_score, kev, fix_available,
-- data, package_version); the values the whole report shares are bound once, in the other holes:
-- the agent, the root, the receive time as first and last sighting, the scan id
-- as first and last scan. Binding them once instead of per finding saves 6,000
-- binds, each a copy or two, per 1,000 findings.
SELECT v.column1, {agent_id}, {root}, v.column2, v.column3, v.column4, v.column5, v.column6, v.column7,
    v.column8, {received_at}, {received_at}, {scan_id}, {scan_id}, v.column9,
    v.column10
FROM ({values}) AS v
