-- Tells the other replicas of a report that opened findings ($1: the schema's
-- channel, $2: `<replica> <scan row id>`). Run inside the report's transaction,
-- the notification goes out at commit and never for a report rolled back.
SELECT pg_notify($1, $2)
