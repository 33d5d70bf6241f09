-- The number of findings a filter matches; {where} is the filter (built in Rust).
SELECT COUNT(*) AS n FROM findings
{where}
