-- The schema the connection's search_path puts the tables in (it names the
-- replicas' notification channel).
SELECT current_schema()
