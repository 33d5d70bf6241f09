-- The event position up to which the retention job may have deleted findings
-- or scans (set_event_floor.sql): a WatchFindings resume before it would miss
-- what was deleted. 8 bytes, big-endian; no row before the first run.
SELECT value FROM meta WHERE key = 'event_floor'
