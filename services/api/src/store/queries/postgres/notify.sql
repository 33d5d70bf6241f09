-- Tells the other replicas of a report that opened or resolved findings ($1:
-- the schema's channel, $2: `<replica> <event position>`). Run inside the report's transaction,
-- the notification goes out at commit and never for a report rolled back.
SELECT pg_notify($1, $2)
