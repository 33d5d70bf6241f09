-- The vulnerability ids that an id is an alias of (a findings filter by
-- vulnerability matches them all).
SELECT vuln_id FROM vuln_aliases WHERE alias = $1
