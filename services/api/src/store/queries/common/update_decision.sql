-- Replaces a decision if it still has the etag it was read with (binds:
-- advisory, ecosystem, package, version, agent, root, expiry, new etag, data,
-- id, old etag).
UPDATE decisions SET advisory_id = $1, ecosystem = $2, package_name = $3, version = $4, agent_id = $5, root = $6,
    expire_time = $7, etag = $8, data = $9
WHERE id = $10 AND etag = $11
