-- Agents online (seen at or after {online}), offline (seen before {offline})
-- and stale (in between), all or one: {where_agent} is empty or the agent's
-- condition.
SELECT COUNT(CASE WHEN last_seen >= {online} THEN 1 END) AS online,
    COUNT(CASE WHEN last_seen < {online} AND last_seen >= {offline} THEN 1 END) AS stale,
    COUNT(CASE WHEN last_seen < {offline} THEN 1 END) AS offline
FROM agents {where_agent}
