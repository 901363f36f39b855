-- The end-user lookup moves from an index of usage_requests to a table the usage writer fills in bulk
-- (see dev.skiff.observe.EndUserIndex). Rows of thousands of end users landed all over the
-- (end_user, ts) index: each batch dirtied about one index page per row, written to the WAL at every
-- commit and again at the checkpoint (measured, 1,000 end users: 9 KB written and 16 us of the writer's
-- CPU per row, against 1.5 KB and 4.5 us with that index dropped). Merged every few seconds, sorted,
-- the same pages take thousands of rows at once. Rows not merged yet (id above usage_end_users_merged)
-- are found by a range of the primary key, so a lookup by end user still never scans the table.
CREATE TABLE usage_end_users (
    end_user TEXT NOT NULL,
    ts BIGINT NOT NULL,
    id INTEGER NOT NULL,
    PRIMARY KEY (end_user, ts, id)
) WITHOUT ROWID;
-- No index by time: it took 40% of a merge's CPU (its entries arrive in end-user order). The retention
-- sweep visits the end users one by one instead; each one's expired entries start its range.
-- One row: usage_requests rows up to this id are in usage_end_users.
CREATE TABLE usage_end_users_merged (id INTEGER NOT NULL);
INSERT INTO usage_end_users (end_user, ts, id) SELECT end_user, ts, id FROM usage_requests WHERE end_user IS NOT NULL;
INSERT INTO usage_end_users_merged (id) SELECT COALESCE(MAX(id), 0) FROM usage_requests;
DROP INDEX usage_requests_end_user_ts;
