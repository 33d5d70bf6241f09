-- Whether an agent id is registered.
SELECT 1 AS one FROM agents WHERE agent_id = $1
