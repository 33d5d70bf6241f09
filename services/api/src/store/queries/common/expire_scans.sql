-- Deletes up to $2 of the scans received before $1, oldest first (the
-- retention job). The newest scan of each agent stays, so what an agent last
-- reported can always be read.
DELETE FROM scans WHERE id IN (
    SELECT s.id FROM scans s
    WHERE s.received_at < $1
        AND EXISTS (SELECT 1 FROM scans n WHERE n.agent_id = s.agent_id AND n.id > s.id)
    ORDER BY s.received_at LIMIT $2
)
