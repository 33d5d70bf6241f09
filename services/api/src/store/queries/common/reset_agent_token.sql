-- Gives an agent a new token whatever its current one is (an admin's reset).
UPDATE agents SET token_hash = $1 WHERE agent_id = $2
