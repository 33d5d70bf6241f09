-- Fills a finding's version column from its data (binds: version, key).
UPDATE findings SET package_version = $1 WHERE id = $2
