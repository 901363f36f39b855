-- The key and path indexes take only the rows that have a key or a path: every lookup by them names
-- one (key_id = ?, a range of user_path), which SQLite knows implies IS NOT NULL, so they serve those
-- lookups as before. A request without a managed key (a gateway without a master key, or its own
-- clients) had written a NULL entry into the key index (its path is "/", still indexed): 0.3-0.6 us of
-- the usage writer's CPU per row of ~5.8 (measured: 200,000 such rows in 500-row transactions; 1 us
-- when the path is NULL too). Not measurable within the bench's noise (bench/results/2026-12-07-*-chat.md).
DROP INDEX usage_requests_key_ts;
DROP INDEX usage_requests_path_ts;
CREATE INDEX usage_requests_key_ts ON usage_requests (key_id, ts) WHERE key_id IS NOT NULL;
CREATE INDEX usage_requests_path_ts ON usage_requests (user_path, ts) WHERE user_path IS NOT NULL;
