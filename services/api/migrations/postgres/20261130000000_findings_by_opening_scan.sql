-- A replica reads the findings another replica's report opened (to feed its
-- WatchFindings streams) by the report's agent and scan id: new findings
-- carry it as first_scan_id, reopened ones as reopened_by. A report's new
-- findings share one key here, so each report adds its entries at one place.

CREATE INDEX findings_by_first_scan ON findings (agent_id, first_scan_id);
CREATE INDEX findings_by_reopening_scan ON findings (agent_id, reopened_by) WHERE reopened_by IS NOT NULL;
