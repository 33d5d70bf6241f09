-- The position of the last event received before $1 (0 when none): the
-- retention job's floor for a cutoff.
SELECT COALESCE(MAX(position), 0) AS position FROM finding_events WHERE received_at < $1
