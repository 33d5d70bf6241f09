-- Whether any decision is in force at $1: when none is, reads skip the
-- per-finding test of decision_in_force.sql.
SELECT 1 AS one FROM decisions WHERE expire_time IS NULL OR expire_time > $1 LIMIT 1
