-- The agent holding the token with this hash.
SELECT agent_id FROM agents WHERE token_hash = $1
