-- The open findings by severity and known-exploited flag, kept by
-- SubmitScanReport in its transaction, in place of the single total of
-- finding_counts (the total is their sum). The API's
-- zerotrace_findings_open gauges read these rows, never the findings.

CREATE TABLE finding_class_counts (
    severity BIGINT NOT NULL,
    kev BOOLEAN NOT NULL,
    open_findings BIGINT NOT NULL,
    PRIMARY KEY (severity, kev)
);
INSERT INTO finding_class_counts (severity, kev, open_findings)
SELECT severity, kev, COUNT(*) FROM findings WHERE resolved_at IS NULL GROUP BY severity, kev;
DROP TABLE finding_counts;
