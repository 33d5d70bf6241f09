-- Deletes the events whose scan the retention job deleted (their findings
-- are resolved and deleted too, or opened again by a later event), but
-- never the last one: positions continue after it.
DELETE FROM finding_events
WHERE position < (SELECT MAX(position) FROM finding_events)
    AND NOT EXISTS (SELECT 1 FROM scans WHERE scans.id = finding_events.scan_seq)
