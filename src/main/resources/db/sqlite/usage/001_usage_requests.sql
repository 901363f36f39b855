-- One row per request (see dev.skiff.observe.UsageStore). Token classes do not overlap; cost_nanos is
-- NULL when the cost is unknown (never 0 for unknown). Times: ts in epoch milliseconds, latencies in
-- microseconds (NULL when there was none).
CREATE TABLE usage_requests (
    id INTEGER PRIMARY KEY,
    ts BIGINT NOT NULL,
    request_id TEXT NOT NULL,
    key_id TEXT,
    user_path TEXT,
    end_user TEXT,
    provider TEXT,
    model TEXT,
    requested_model TEXT,
    endpoint TEXT NOT NULL,
    stream INTEGER NOT NULL,
    status INTEGER NOT NULL,
    latency_us BIGINT,
    ttft_us BIGINT,
    input_tokens BIGINT NOT NULL,
    cached_input_tokens BIGINT NOT NULL,
    cache_write_tokens BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    reasoning_tokens BIGINT NOT NULL,
    cost_nanos BIGINT,
    attempts INTEGER NOT NULL,
    error TEXT
);
-- Lookups by key, path (subtree: a range on user_path), end user and time never scan the table.
CREATE INDEX usage_requests_key_ts ON usage_requests (key_id, ts);
CREATE INDEX usage_requests_path_ts ON usage_requests (user_path, ts);
CREATE INDEX usage_requests_end_user_ts ON usage_requests (end_user, ts);
CREATE INDEX usage_requests_ts ON usage_requests (ts);
