-- The first statement of a report's transaction: its scan row, with its counts
-- at 0 until the findings are stored (update_scan_counts.sql). No row comes
-- back when the agent stored this scan id before (a retry, or a conflict).
INSERT INTO scans (agent_id, scan_id, content_hash, status, started_at, received_at,
    finding_count, new_findings, resolved_findings, report)
VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 0, $8)
ON CONFLICT (agent_id, scan_id) DO NOTHING
RETURNING id
