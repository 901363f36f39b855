-- The bodies of a record at bodies level, as the bytes they were (after redaction), apart from the
-- JSON detail: escaping them into the detail was the largest part of the writer's work after SQLite's
-- own, and made a short chat's record a third longer. The detail's body members keep size and
-- truncated, and name a body as the client's when it is (same_as_client); the API puts the text
-- back when a record is read. Records written before keep their bodies in the detail (these are null).
ALTER TABLE audit_requests ADD COLUMN request_body BLOB;
ALTER TABLE audit_requests ADD COLUMN response_body BLOB;
ALTER TABLE audit_requests ADD COLUMN provider_request_body BLOB;
ALTER TABLE audit_requests ADD COLUMN provider_response_body BLOB;
