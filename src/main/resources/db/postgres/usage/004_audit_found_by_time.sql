-- A usage row's audit record is found by its request id's time instead (see UsageLog.auditsInRow): the
-- index of audited rows' request ids cost every audited row 2.3 us of the usage writer's CPU (measured,
-- SQLite, 300-row transactions), more than the record itself. Records whose id does not say when it was
-- made go to the audit table, which indexes request ids.
DROP INDEX usage_requests_audit_request;
