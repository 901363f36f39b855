-- The time index served retention alone (see the SQLite migration of the same name).
DROP INDEX audit_requests_ts;
