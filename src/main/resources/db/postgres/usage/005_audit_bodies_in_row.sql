-- The audit log at bodies level keeps its records in usage rows too, its bodies' bytes in these
-- columns (see the SQLite migration of the same name). NULL in rows of requests not audited at that level.
ALTER TABLE usage_requests ADD COLUMN request_body BYTEA;
ALTER TABLE usage_requests ADD COLUMN response_body BYTEA;
ALTER TABLE usage_requests ADD COLUMN provider_request_body BYTEA;
ALTER TABLE usage_requests ADD COLUMN provider_response_body BYTEA;
