-- Managed keys. Only the SHA-256 of a secret is kept (hex); times are epoch milliseconds, 0 for none.
CREATE TABLE skiff_keys (
    id             VARCHAR(64)  NOT NULL PRIMARY KEY,
    name           VARCHAR(200) NOT NULL,
    hash           CHAR(64)     NOT NULL,
    prefix         VARCHAR(32)  NOT NULL,
    user_path      VARCHAR(512) NOT NULL,
    expires_at     BIGINT       NOT NULL DEFAULT 0,
    revoked_at     BIGINT       NOT NULL DEFAULT 0,
    allowed_models TEXT         NOT NULL,
    labels         TEXT         NOT NULL,
    scopes         TEXT         NOT NULL,
    limits         TEXT,
    created_at     BIGINT       NOT NULL,
    updated_at     BIGINT       NOT NULL
);
CREATE UNIQUE INDEX skiff_keys_hash ON skiff_keys (hash);
-- Replicas read what changed since their last look.
CREATE INDEX skiff_keys_updated ON skiff_keys (updated_at);
