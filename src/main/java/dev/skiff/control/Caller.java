package dev.skiff.control;

/**
 * Who a request acts for, as authentication and identification found it: the owner that scopes what
 * it stores, the managed key it presented (null for the master key or an open server), the user path
 * its usage is attributed to, and the end user the calling system named (null when none).
 */
public record Caller(String owner, String keyId, String userPath, String endUser) {
    /** Requests made with the master key. */
    public static final Caller MASTER = new Caller(MasterKeyAuth.MASTER, null, "/", null);
    /** Requests to a server that runs without a key. */
    public static final Caller OPEN = new Caller(null, null, "/", null);
}
