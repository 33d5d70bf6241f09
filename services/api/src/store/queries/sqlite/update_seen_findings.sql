-- Updates the stored findings a report sees again (those of a chunk that are not
-- only sighted) and returns them. {rows} is finding_rows.sql.
--
-- Every right-hand side reads the old row; a report older than the row's last
-- sighting (a late retry) changes nothing but may not reopen it either; a newer
-- one reopens a resolved finding.
--
-- OR ROLLBACK: as in insert_findings.sql. PostgreSQL's statement is the same
-- without it.
WITH seen (id, agent_id, root, ecosystem, package_name, vuln_id, severity, risk_score, kev, fix_available,
    first_seen, last_seen, first_scan_id, last_scan_id, data, package_version) AS ({rows})
UPDATE OR ROLLBACK findings SET
    last_seen = CASE WHEN seen.last_seen > findings.last_seen THEN seen.last_seen ELSE findings.last_seen END,
    last_scan_id = CASE WHEN seen.last_seen >= findings.last_seen THEN seen.last_scan_id ELSE findings.last_scan_id END,
    data = CASE WHEN seen.last_seen >= findings.last_seen THEN seen.data ELSE findings.data END,
    severity = CASE WHEN seen.last_seen >= findings.last_seen THEN seen.severity ELSE findings.severity END,
    risk_score = CASE WHEN seen.last_seen >= findings.last_seen THEN seen.risk_score ELSE findings.risk_score END,
    kev = CASE WHEN seen.last_seen >= findings.last_seen THEN seen.kev ELSE findings.kev END,
    fix_available = CASE WHEN seen.last_seen >= findings.last_seen THEN seen.fix_available ELSE findings.fix_available END,
    reopened_by = CASE WHEN findings.resolved_at IS NOT NULL AND seen.last_seen > findings.resolved_at
        THEN seen.last_scan_id ELSE findings.reopened_by END,
    resolved_at = CASE WHEN findings.resolved_at IS NOT NULL AND seen.last_seen > findings.resolved_at
        THEN NULL ELSE findings.resolved_at END
FROM seen WHERE findings.id = seen.id
RETURNING findings.id, findings.reopened_by, findings.first_seen, findings.last_seen, findings.resolved_at,
    findings.severity, findings.kev
