-- Raises the event floor (event_floor.sql) to $1 (8 bytes, big-endian, so
-- that byte order is number order); it never goes down, whichever replica's
-- run comes last.
INSERT INTO meta (key, value) VALUES ('event_floor', $1)
ON CONFLICT (key) DO UPDATE SET value = CASE WHEN excluded.value > meta.value THEN excluded.value ELSE meta.value END
