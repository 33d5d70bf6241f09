-- Replaces a decision if it still has the etag it was read with (binds: id,
-- advisory, ecosystem, package, version, agent, root, expiry, new etag, data
-- (as insert_decision.sql), then the old etag).
UPDATE decisions SET advisory_id = $2, ecosystem = $3, package_name = $4, version = $5, agent_id = $6, root = $7,
    expire_time = $8, etag = $9, data = $10
WHERE id = $1 AND etag = $11
