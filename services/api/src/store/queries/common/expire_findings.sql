-- Deletes up to $2 of the findings resolved before $1, oldest first (the
-- retention job). Open findings stay whatever their age; the kept counts
-- count open findings only, so they do not change.
DELETE FROM findings WHERE id IN (
    SELECT id FROM findings WHERE resolved_at < $1 ORDER BY resolved_at LIMIT $2
)
