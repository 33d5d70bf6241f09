-- A page of findings. {where} is the filter and the keyset position, {order}
-- the ORDER BY that position is in (both built in Rust, side by side, as they
-- must agree), {limit} the page size; {decision} is decision_in_force.sql.
SELECT id, agent_id, root, last_scan_id, first_seen, last_seen, resolved_at, risk_score, severity, data,
    ({decision}) AS decision
FROM findings
{where}
{order}
LIMIT {limit}
