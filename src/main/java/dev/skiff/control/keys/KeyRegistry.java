package dev.skiff.control.keys;

import dev.skiff.control.Caller;
import dev.skiff.control.MasterKeyAuth;
import io.netty.util.concurrent.FastThreadLocal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;

/**
 * The managed keys every request is checked against: an in-memory snapshot, replaced whole (copy on
 * write) whenever keys change, so that the request path reads it with one hash and one map lookup and
 * no lock or database call.
 */
public class KeyRegistry {
    /** A key as the hot path needs it: the key, and the verdict that admits it, made once. */
    private record Entry(ManagedKey key, byte[] hash, MasterKeyAuth.Allowed allowed) {}

    /**
     * A SHA-256 as a map key. Its hash and equality are written out: a record's generated ones go
     * through method handles, which showed as half the cost of a key check in profiles.
     */
    private record Digest(long a, long b, long c, long d) {
        static Digest of(byte[] h) {
            return new Digest(longAt(h, 0), longAt(h, 8), longAt(h, 16), longAt(h, 24));
        }

        @Override
        public int hashCode() {
            return (int) (a ^ a >>> 32); // the digest's bits are uniform already
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Digest x && a == x.a && b == x.b && c == x.c && d == x.d;
        }

        private static long longAt(byte[] h, int i) {
            long v = 0;
            for (int k = 0; k < 8; k++) v = (v << 8) | (h[i + k] & 0xff);
            return v;
        }
    }

    /**
     * How long after its last successful refresh the snapshot is still trusted when Skiff fails closed
     * ({@code SKIFF_LIMITS_FAILURE=closed}): past it, managed keys are refused (503) rather than
     * admitted on information that may miss a revocation. Failing open, the last snapshot stays in force.
     */
    public static final long STALE_AFTER_MILLIS = 3_000;

    private volatile boolean failClosed;
    private volatile long freshUntilNanos = Long.MAX_VALUE; // refreshed by every successful read of the store
    private volatile Map<Digest, Entry> byHash = Map.of();
    private volatile Map<String, ManagedKey> byId = Map.of();
    private volatile boolean loaded;

    /** Whether the snapshot holds the store's keys (false until the first load). */
    public boolean loaded() {
        return loaded;
    }

    /**
     * The verdict for a presented secret that is not the master key: admitted with its caller, refused
     * (unknown: {@link MasterKeyAuth#WRONG_UNKNOWN}; revoked; expired), or unavailable before the first load.
     */
    public MasterKeyAuth.Verdict verdict(String presented) {
        return verdict(presented, null);
    }

    /** As above, with the secret's UTF-8 bytes when the caller has them already (null: made here). */
    public MasterKeyAuth.Verdict verdict(String presented, byte[] presentedBytes) {
        if (!presented.startsWith(KeySecrets.PREFIX)) return MasterKeyAuth.WRONG_UNKNOWN;
        if (!loaded) return new MasterKeyAuth.Unavailable("Skiff has not loaded its managed keys yet; try again in a moment.");
        if (failClosed && System.nanoTime() - freshUntilNanos > 0) {
            return new MasterKeyAuth.Unavailable("Skiff cannot reach its key store to confirm this key, and is set to fail closed "
                    + "(SKIFF_LIMITS_FAILURE=closed); try again shortly.");
        }
        Map<Digest, Entry> snapshot = byHash;
        byte[] secret = presentedBytes != null ? presentedBytes : presented.getBytes(StandardCharsets.UTF_8);
        Recent recent = RECENT.get();
        Entry e = recent.find(snapshot, secret);
        if (e == null) {
            byte[] hash = KeySecrets.hash(secret);
            e = snapshot.get(Digest.of(hash));
            if (e == null || !MessageDigest.isEqual(e.hash(), hash)) return MasterKeyAuth.WRONG_UNKNOWN;
            recent.remember(snapshot, secret, e);
        }
        ManagedKey k = e.key();
        if (k.revoked()) return new MasterKeyAuth.Wrong("This API key (" + k.prefix() + ") was revoked at "
                + Instant.ofEpochMilli(k.revokedAt()) + ".");
        if (k.expiredAt(System.currentTimeMillis())) return new MasterKeyAuth.Wrong("This API key (" + k.prefix() + ") expired at "
                + Instant.ofEpochMilli(k.expiresAt()) + ".");
        return e.allowed();
    }

    /**
     * The secrets an event loop verified last, each with its entry in the snapshot it was found in:
     * most requests present a key their thread saw a moment ago, and comparing the secret with the
     * remembered one costs less than hashing it (a SHA-256 per request was a third of a key check).
     * The comparison takes constant time, like the digest's, and a slot only ever holds a secret that
     * hashed to a known key; a slot whose snapshot was replaced (a key changed or was revoked) is not
     * used, so revocations apply to the next request as before. Per thread: no lock, no sharing.
     */
    private static final class Recent {
        private static final int SLOTS = 8;
        private final byte[][] secrets = new byte[SLOTS][];
        private final Entry[] entries = new Entry[SLOTS];
        private final Object[] snapshots = new Object[SLOTS];
        private int next;

        Entry find(Map<Digest, Entry> snapshot, byte[] secret) {
            for (int i = 0; i < SLOTS; i++) {
                if (snapshots[i] == snapshot && MessageDigest.isEqual(secrets[i], secret)) return entries[i];
            }
            return null;
        }

        void remember(Map<Digest, Entry> snapshot, byte[] secret, Entry e) {
            int i = next;
            next = (i + 1) % SLOTS;
            secrets[i] = secret;
            entries[i] = e;
            snapshots[i] = snapshot;
        }
    }

    /**
     * A FastThreadLocal: on the event loops (FastThreadLocalThreads) an array index. As a ThreadLocal
     * it filled their ThreadLocalMap, whose lookups then collided more: NIO's buffer cache, read on
     * every socket write, cost 6 times as much (0.6 against 0.1 µs a request, async-profiler).
     */
    private static final FastThreadLocal<Recent> RECENT = new FastThreadLocal<>() {
        @Override
        protected Recent initialValue() {
            return new Recent();
        }
    };

    /** The key with this id as the snapshot has it, or null. */
    public ManagedKey byId(String id) {
        return byId.get(id);
    }

    /**
     * Takes in changed keys (new, updated, revoked): they apply to the next request. A key older than
     * the one held (a refresh that read it just before this replica changed it) is ignored.
     *
     * @return how many keys changed the snapshot
     */
    public synchronized int apply(Iterable<ManagedKey> changed) {
        Map<Digest, Entry> h = null;
        Map<String, ManagedKey> i = null;
        int count = 0;
        for (ManagedKey k : changed) {
            ManagedKey old = (i == null ? byId : i).get(k.id());
            if (old != null && (old.updatedAt() > k.updatedAt() || old.equals(k))) continue;
            if (h == null) {
                h = new HashMap<>(byHash);
                i = new HashMap<>(byId);
            }
            i.put(k.id(), k);
            if (old != null) h.remove(Digest.of(HexFormat.of().parseHex(old.hash())));
            byte[] hash = HexFormat.of().parseHex(k.hash());
            h.put(Digest.of(hash), new Entry(k, hash, new MasterKeyAuth.Allowed(Caller.of(k))));
            if (k.updatedAt() > seenUpTo) seenUpTo = k.updatedAt();
            count++;
        }
        if (h == null) return 0;
        byHash = h;
        byId = i;
        return count;
    }

    /**
     * How far back each refresh looks again before the newest change it saw: a change committed late
     * (a slow transaction) or stamped by a writer whose clock is behind is still picked up.
     */
    static final long OVERLAP_MILLIS = 10_000;
    private long seenUpTo; // newest updated_at taken in; guarded by this

    /**
     * Reads what changed in the store since the last refresh (everything, the first time) and takes it
     * in. Blocks on the database: called from the refresher thread.
     */
    public void refresh(KeyStore store) throws java.sql.SQLException {
        long since;
        synchronized (this) {
            since = loaded ? Math.max(0, seenUpTo - OVERLAP_MILLIS) : 0;
        }
        apply(store.changedSince(since));
        freshUntilNanos = System.nanoTime() + STALE_AFTER_MILLIS * 1_000_000;
        loaded = true;
    }

    /** Refuse managed keys once the snapshot is older than {@link #STALE_AFTER_MILLIS} (true), or keep it in force (false). */
    public void failClosed(boolean closed) {
        failClosed = closed;
    }

    /** For tests that fill the registry by hand. */
    void setLoadedForTest() {
        loaded = true;
    }

    /** For tests: the snapshot counts as stale from now on. */
    void expireFreshnessForTest() {
        freshUntilNanos = System.nanoTime() - 1;
    }

    /** Every key of the snapshot. */
    public java.util.Collection<ManagedKey> all() {
        return byId.values();
    }
}
