-- Marks an agent seen; last_seen never moves back.
UPDATE agents SET last_seen = CASE WHEN last_seen < $1 THEN $1 ELSE last_seen END
WHERE agent_id = $2
