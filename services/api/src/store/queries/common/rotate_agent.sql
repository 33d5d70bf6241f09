-- Gives an agent new credentials, host and version, if $6 is the hash of its
-- current token. last_seen never moves back.
UPDATE agents SET hostname = $1, version = $2, token_hash = $3,
    last_seen = CASE WHEN last_seen < $4 THEN $4 ELSE last_seen END
WHERE agent_id = $5 AND token_hash = $6
