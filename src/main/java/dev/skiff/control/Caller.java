package dev.skiff.control;

import dev.skiff.control.keys.ManagedKey;

/**
 * Who a request acts for, as authentication and identification found it: the owner that scopes what
 * it stores, the managed key it presented (null for the master key or an open server), the user path
 * its usage is attributed to, and the end user the calling system named (null when none).
 *
 * @param key the managed key itself, with its policies (allowed models, limits), or null for the
 *            master key and an open server; {@code keyId} is its id
 */
public record Caller(String owner, String keyId, String userPath, String endUser, ManagedKey key) {
    /** Requests made with the master key. */
    public static final Caller MASTER = new Caller(MasterKeyAuth.MASTER, null, "/", null, null);
    /** Requests to a server that runs without a key. */
    public static final Caller OPEN = new Caller(null, null, "/", null, null);

    /** A request made with a managed key: it owns what it stores, and its usage goes to the key's path. */
    public static Caller of(ManagedKey key) {
        return new Caller(key.id(), key.id(), key.userPath(), null, key);
    }

    /** The same caller, attributed to {@code path} and {@code user} (identification, after authentication). */
    public Caller identified(String path, String user) {
        return new Caller(owner, keyId, path, user, key);
    }

    /** Whether this caller may use the admin API: the master key, an open server, or a key with the admin scope. */
    public boolean isAdmin() {
        return key == null ? true : key.hasScope(ManagedKey.SCOPE_ADMIN);
    }
}
