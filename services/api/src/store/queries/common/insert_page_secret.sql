-- Offers a fresh page secret; the first one offered stays, so that replicas
-- starting together agree on it.
INSERT INTO meta (key, value) VALUES ('page_secret', $1) ON CONFLICT (key) DO NOTHING
