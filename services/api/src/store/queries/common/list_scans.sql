-- A page of scans, newest first. {where} is the filter and the keyset position
-- (built in Rust), {limit} the page size.
SELECT id, agent_id, started_at, received_at, finding_count, new_findings, resolved_findings, report FROM scans
{where}
ORDER BY started_at DESC, id DESC LIMIT {limit}
