-- The sort indexes without the 32-character finding id: a report's findings
-- land at random places of these indexes, and every page they touch is written
-- to the WAL again, so the entry size is the write cost. ORDER BY still ends in
-- `id ASC`; ties of the indexed prefix are sorted after the index walk.

DROP INDEX findings_by_risk;
DROP INDEX findings_by_severity;
CREATE INDEX findings_by_risk ON findings (risk_score DESC);
CREATE INDEX findings_by_severity ON findings (severity DESC, risk_score DESC);
