-- Held from here to the report's commit: reports take event positions one
-- after another, in commit order (append_finding_event.sql). The key is a
-- constant of ZeroTrace's; transactions of other schemas in the database
-- share it, which only orders them too.
SELECT pg_advisory_xact_lock(7383472145938110464)
