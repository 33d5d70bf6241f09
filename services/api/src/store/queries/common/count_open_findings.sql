-- Adds a report's change to the number of open findings. A report runs it last,
-- so that concurrent reports on PostgreSQL hold this one row's lock only from
-- here to their commit.
UPDATE finding_counts SET open_findings = open_findings + $1 WHERE id = 1
