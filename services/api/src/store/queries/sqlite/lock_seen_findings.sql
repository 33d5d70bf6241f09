-- The class (severity, known exploited) and state of the findings a report
-- updates ({keys}), read just before the update. SQLite has one writer at a
-- time, so what this reads is what the update changes.
SELECT id, severity, kev, resolved_at FROM findings WHERE id IN ({keys})
