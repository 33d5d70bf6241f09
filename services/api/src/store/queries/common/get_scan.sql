-- One scan, by agent and the agent's scan id.
SELECT id, agent_id, started_at, received_at, finding_count, new_findings, resolved_findings, report FROM scans
WHERE agent_id = $1 AND scan_id = $2
