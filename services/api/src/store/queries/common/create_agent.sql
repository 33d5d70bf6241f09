-- Registers an agent; a taken id changes nothing (the caller sees no row written).
-- It is first seen when it registers.
INSERT INTO agents (agent_id, hostname, version, token_hash, registered_at, last_seen)
VALUES ($1, $2, $3, $4, $5, $5)
ON CONFLICT (agent_id) DO NOTHING
