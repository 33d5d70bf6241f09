-- Findings stored before their version had a column, by key after $1, at
-- most $2 (findings_without_version is the index of them).
SELECT id, data FROM findings WHERE package_version IS NULL AND id > $1 ORDER BY id LIMIT $2
