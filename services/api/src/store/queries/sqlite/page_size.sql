-- The page size of the database file, which may predate the one new files get.
PRAGMA page_size
