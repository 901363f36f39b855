-- One row per audited request (see dev.skiff.observe.audit.AuditStore). The columns are what the list
-- filters and shows; detail is the whole record as JSON (headers, bodies, provider side, timings),
-- read only when one request is opened. ts is when the request was received (epoch ms); id orders
-- rows as they were written and is the list's cursor.
CREATE TABLE audit_requests (
    id BIGSERIAL PRIMARY KEY,
    ts BIGINT NOT NULL,
    request_id TEXT NOT NULL,
    key_id TEXT,
    user_path TEXT,
    end_user TEXT,
    method TEXT,
    path TEXT,
    endpoint TEXT NOT NULL,
    provider TEXT,
    model TEXT,
    requested_model TEXT,
    stream BOOLEAN NOT NULL,
    status INTEGER NOT NULL,
    latency_us BIGINT,
    ttft_us BIGINT,
    input_tokens BIGINT,
    output_tokens BIGINT,
    error TEXT,
    level TEXT NOT NULL,
    trace_id TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX audit_requests_ts ON audit_requests (ts);
CREATE INDEX audit_requests_request_id ON audit_requests (request_id);
-- Few indexes: each one costs every insert. Lists walk id backwards; a key's list has its own index.
CREATE INDEX audit_requests_key ON audit_requests (key_id, id);
