-- The page secret that stayed (insert_page_secret.sql).
SELECT value FROM meta WHERE key = 'page_secret'
