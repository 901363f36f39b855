-- The audit log at metadata level keeps its record in the request's usage row (see
-- dev.skiff.observe.audit.AuditStore): audit holds the record's JSON (timings, attempts, provider
-- side, method, path, trace id), NULL when the request was not audited. A second row per request in
-- the audit file cost more than everything else the metadata level does (measured: 4-5 us of the
-- writer's CPU per row). The indexes are partial: a usage row without an audit record costs them nothing.
ALTER TABLE usage_requests ADD COLUMN audit TEXT;
-- One request's record (GET /admin/v1/audit/{request_id}).
CREATE INDEX usage_requests_audit_request ON usage_requests (request_id) WHERE audit IS NOT NULL;
-- The audit list, newest first: walks audited rows only, however many unaudited ones lie between.
CREATE INDEX usage_requests_audit_id ON usage_requests (id) WHERE audit IS NOT NULL;
