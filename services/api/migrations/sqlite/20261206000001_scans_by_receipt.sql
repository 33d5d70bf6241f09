-- The retention job (--retention) deletes the scans received before a
-- cutoff, oldest first, a batch at a time: by the server's receive time,
-- which an agent cannot set.
CREATE INDEX scans_by_received ON scans (received_at);
