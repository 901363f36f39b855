-- The time index served retention alone (lists walk ids, a key's list its own index), and cost every
-- record an insert into it. Retention now finds where the kept records begin by walking ids from the
-- oldest: ids follow receipt times but for requests still running when later ones were written.
DROP INDEX audit_requests_ts;
