-- The position of the last event (0 before the first).
SELECT CAST(COALESCE(MAX(position), 0) AS BIGINT) AS position FROM finding_events
