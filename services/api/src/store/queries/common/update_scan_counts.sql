-- The counts of a stored report, which a retry of it is answered with.
UPDATE scans SET new_findings = $1, resolved_findings = $2 WHERE id = $3
