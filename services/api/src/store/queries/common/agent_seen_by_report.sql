-- A report is a sign of life of its agent; last_seen never moves back.
UPDATE agents SET last_seen = $1 WHERE agent_id = $2 AND last_seen < $1
