-- The audit log at bodies level keeps its records in usage rows too (see dev.skiff.observe.audit.AuditStore):
-- the record's JSON in audit (its detail as the audit table keeps it, under "d"), its bodies' bytes here,
-- as the audit table's columns of the same names keep them. A second row per request, in the audit
-- file, cost about 7 us of CPU of its own (its values bound, three B-trees, a second WAL), a third of
-- what the bodies level cost (measured, bench/results/2026-12-07-0303-obs.md). NULL in rows of
-- requests not audited at that level; cleared with audit by the audit log's retention.
ALTER TABLE usage_requests ADD COLUMN request_body BLOB;
ALTER TABLE usage_requests ADD COLUMN response_body BLOB;
ALTER TABLE usage_requests ADD COLUMN provider_request_body BLOB;
ALTER TABLE usage_requests ADD COLUMN provider_response_body BLOB;
