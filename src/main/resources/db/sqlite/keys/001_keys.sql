-- Managed keys. Only the SHA-256 of a secret is kept (hex); times are epoch milliseconds, 0 for none.
CREATE TABLE skiff_keys (
    id             TEXT    NOT NULL PRIMARY KEY,
    name           TEXT    NOT NULL,
    hash           TEXT    NOT NULL,
    prefix         TEXT    NOT NULL,
    user_path      TEXT    NOT NULL,
    expires_at     INTEGER NOT NULL DEFAULT 0,
    revoked_at     INTEGER NOT NULL DEFAULT 0,
    allowed_models TEXT    NOT NULL,
    labels         TEXT    NOT NULL,
    scopes         TEXT    NOT NULL,
    limits         TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE UNIQUE INDEX skiff_keys_hash ON skiff_keys (hash);
-- Replicas read what changed since their last look.
CREATE INDEX skiff_keys_updated ON skiff_keys (updated_at);
