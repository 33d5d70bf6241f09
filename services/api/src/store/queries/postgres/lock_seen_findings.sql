-- The class (severity, known exploited) and state of the findings a report
-- updates ({keys}), read just before the update. The statement is SQLite's with
-- FOR UPDATE: the rows stay as read until the report commits, so the counts
-- it moves start from their real class.
SELECT id, severity, kev, resolved_at FROM findings WHERE id IN ({keys}) FOR UPDATE
