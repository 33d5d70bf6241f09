-- The decision in force on a finding, if any: the first by id of those whose
-- scope covers it (its advisory by id or by one of the aliases the finding's
-- agent reported for it, its package, and the version, agent and root when
-- the decision names them) and that have not expired at {now}. {finding} is
-- the name the statement gives the findings table; the statement uses it as
-- a scalar subquery (the decision's id) or in NOT EXISTS (undecided findings).
SELECT d.id FROM decisions d
WHERE d.package_name = {finding}.package_name AND d.ecosystem = {finding}.ecosystem
    AND (d.advisory_id = {finding}.vuln_id OR EXISTS (SELECT 1 FROM vuln_aliases a
        WHERE a.alias = d.advisory_id AND a.agent_id = {finding}.agent_id AND a.vuln_id = {finding}.vuln_id))
    AND (d.version IS NULL OR d.version = {finding}.package_version)
    AND (d.agent_id IS NULL OR d.agent_id = {finding}.agent_id)
    AND (d.root IS NULL OR d.root = {finding}.root)
    AND (d.expire_time IS NULL OR d.expire_time > {now})
ORDER BY d.id LIMIT 1
