-- Limit policies: one row per policy, its rule as JSON (the admin API's shape). A deletion is kept as
-- a tombstone (deleted_at) so that replicas that refresh by updated_at see it go.
CREATE TABLE skiff_limit_policies (
    id          VARCHAR(64)  NOT NULL PRIMARY KEY,
    scope_key   VARCHAR(600) NOT NULL,
    policy      TEXT         NOT NULL,
    created_at  BIGINT       NOT NULL,
    updated_at  BIGINT       NOT NULL,
    deleted_at  BIGINT       NOT NULL DEFAULT 0
);
CREATE INDEX skiff_limit_policies_updated ON skiff_limit_policies (updated_at);
CREATE INDEX skiff_limit_policies_scope ON skiff_limit_policies (scope_key);
-- Soft thresholds crossed, from every replica.
CREATE TABLE skiff_limit_warnings (
    id          INTEGER      PRIMARY KEY AUTOINCREMENT,
    at          BIGINT       NOT NULL,
    policy_id   VARCHAR(64)  NOT NULL,
    counter     VARCHAR(800) NOT NULL,
    metric      VARCHAR(16)  NOT NULL,
    window_id   VARCHAR(32)  NOT NULL,
    soft        BIGINT       NOT NULL,
    limit_value BIGINT       NOT NULL,
    used        BIGINT       NOT NULL,
    description TEXT         NOT NULL
);
CREATE INDEX skiff_limit_warnings_at ON skiff_limit_warnings (at);
