-- No index sorts findings by risk alone any more: ListFindings merges the
-- severity index's walks, one per severity, each already in risk order.
-- Every new finding lands at a random place of a risk index, and a report
-- of 1,000 findings touched nearly every page of it: about a sixth of what
-- a report wrote at 100,000 stored findings (docs/performance.md).

DROP INDEX findings_by_risk;
