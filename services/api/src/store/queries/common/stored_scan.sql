-- What a scan id already stored holds: the same content (a retry, answered with
-- the counts of the first time) or another (a conflict).
SELECT content_hash, new_findings, resolved_findings FROM scans
WHERE agent_id = $1 AND scan_id = $2
