-- The number of open findings, kept by every report: the total of an unfiltered
-- findings list without counting them.
SELECT open_findings FROM finding_counts WHERE id = 1
