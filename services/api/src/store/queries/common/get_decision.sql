-- One decision (bind: id).
SELECT id, etag, data FROM decisions WHERE id = $1
