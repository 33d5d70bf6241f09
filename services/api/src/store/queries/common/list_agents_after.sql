-- A later page of agents, by id: those after $1.
SELECT agent_id, hostname, version, registered_at, last_seen, open_findings FROM agents
WHERE agent_id > $1 ORDER BY agent_id ASC LIMIT $2
