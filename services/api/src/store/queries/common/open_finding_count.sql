-- The number of open findings, kept by every report (the sum of its classes):
-- the total of an unfiltered findings list without counting them.
SELECT CAST(COALESCE(SUM(open_findings), 0) AS BIGINT) AS open_findings FROM finding_class_counts
