-- The path index leaves out the root path too. Every request made without a managed key (a gateway without
-- a master key, the master key itself) is attributed to "/", and a lookup by path never names "/" (the
-- root's subtree is every row: UsageQuery and the audit list then filter nothing by path). So those rows
-- wrote an entry no lookup read: for such a gateway a third B-tree per row, and its last page in every
-- batch's WAL frames (see bench/results/2026-12-08-0520-uw.md). Lookups by path (a range from the path, which
-- is never "/") add the index's own term, user_path <> '/', which SQLite needs to see to use it.
DROP INDEX usage_requests_path_ts;
CREATE INDEX usage_requests_path_ts ON usage_requests (user_path, ts) WHERE user_path <> '/';
