-- The WAL size, in pages ({pages}, a number: a pragma takes no bound value),
-- after which the writer checkpoints by itself inside a commit.
PRAGMA wal_autocheckpoint = {pages}
