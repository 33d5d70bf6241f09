-- Records a decision; nothing when its id is taken (binds: id, advisory,
-- ecosystem, package, version, agent, root, expiry, etag, data).
INSERT INTO decisions (id, advisory_id, ecosystem, package_name, version, agent_id, root, expire_time, etag, data)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (id) DO NOTHING
