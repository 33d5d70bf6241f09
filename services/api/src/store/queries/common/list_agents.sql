-- The first page of agents, by id.
SELECT agent_id, hostname, version, registered_at, last_seen, open_findings FROM agents
ORDER BY agent_id ASC LIMIT $1
