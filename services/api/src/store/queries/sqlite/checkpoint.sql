-- Copies what it can of the WAL into the database file without blocking the
-- writer or the readers (PASSIVE).
PRAGMA wal_checkpoint(PASSIVE)
