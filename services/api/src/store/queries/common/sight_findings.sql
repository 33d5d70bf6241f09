-- Moves the sighting of open findings that a report sees again unchanged (most
-- findings of a periodic scan); {keys} is the list of their keys.
--
-- It sets no column the risk, severity or resolved indexes hold: a database
-- rewrites an index entry of every row whose indexed column a statement sets,
-- equal value or not. The guards keep it right against a concurrent report of
-- the same finding; `+ 0` keeps SQLite from walking every open finding in the
-- resolved index instead of looking the keys up.
UPDATE findings SET
    last_seen = CASE WHEN {received_at} > last_seen THEN {received_at} ELSE last_seen END,
    last_scan_id = CASE WHEN {received_at} >= last_seen THEN {scan_id} ELSE last_scan_id END
WHERE (resolved_at + 0) IS NULL AND id IN ({keys})
