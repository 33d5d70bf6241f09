-- The number of open (unresolved) findings, kept by SubmitScanReport inside its
-- transaction, so the unfiltered first page of ListFindings reads its total_size
-- from one row instead of counting every open finding.

CREATE TABLE finding_counts (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    open_findings INTEGER NOT NULL
);
INSERT INTO finding_counts (id, open_findings) SELECT 1, COUNT(*) FROM findings WHERE resolved_at IS NULL;
