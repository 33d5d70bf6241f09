-- Deletes a decision, if it still has the etag given (binds: id, etag or ''
-- for any).
DELETE FROM decisions WHERE id = $1 AND ($2 = '' OR etag = $2)
