-- Adds a report's change to the open findings of one class ($1 severity, $2
-- known exploited, $3 the change). A report runs these last, one class after
-- another in a fixed order, so that concurrent reports on PostgreSQL hold
-- these rows' locks only from here to their commit, and never wait on each
-- other in a cycle.
INSERT INTO finding_class_counts (severity, kev, open_findings) VALUES ($1, $2, $3)
ON CONFLICT (severity, kev) DO UPDATE SET open_findings = finding_class_counts.open_findings + excluded.open_findings
