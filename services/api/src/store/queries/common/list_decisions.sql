-- A page of decisions by id, after $1 ('' for the first page), at most $2.
SELECT id, etag, data FROM decisions WHERE id > $1 ORDER BY id LIMIT $2
