-- What is stored of the findings a report sees again ({keys} is the list of
-- their keys). Their severity, risk and flags are not read: they are columns
-- of what `data` encodes.
SELECT id, last_seen, resolved_at, data FROM findings WHERE id IN ({keys})
