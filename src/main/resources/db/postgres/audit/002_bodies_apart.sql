-- The bodies of a record at bodies level, as the bytes they were (after redaction), apart from the
-- JSON detail (see the SQLite migration of the same name). Records written before keep their bodies
-- in the detail (these are null).
ALTER TABLE audit_requests ADD COLUMN request_body BYTEA;
ALTER TABLE audit_requests ADD COLUMN response_body BYTEA;
ALTER TABLE audit_requests ADD COLUMN provider_request_body BYTEA;
ALTER TABLE audit_requests ADD COLUMN provider_response_body BYTEA;
