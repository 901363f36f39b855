package dev.skiff.admin;

import dev.skiff.control.Caller;
import dev.skiff.control.MasterKeyAuth;
import dev.skiff.control.keys.ManagedKey;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.LongSupplier;

/**
 * The dashboard's browser sessions. A browser presents the admin key once, to {@code POST /ui/login};
 * it gets back a cookie holding a random session token (never the key), {@code HttpOnly} (page
 * scripts cannot read it) and {@code SameSite=Strict} (no other site's page can make the browser send
 * it). The token then stands for the key on {@code /admin/*} only, and only on requests that also
 * carry the {@code x-skiff-ui} header, which a cross-site form cannot set and a cross-site script
 * could set only after a CORS preflight that Skiff never grants.
 *
 * <p>Sessions live in this process's memory: they end at restart, with logout, after {@link #IDLE}
 * without use or {@link #LIFETIME} in all, and as soon as a managed key behind one is revoked, expires
 * or loses its admin scope (checked at every use against the key snapshot). Each replica has its own
 * sessions, so behind a load balancer the dashboard needs sticky sessions or a login per replica.
 */
public final class DashboardSessions {
    public static final String COOKIE = "skiff_ui";
    /** The header the dashboard's own requests carry; required with the cookie (see above). */
    public static final String UI_HEADER = "x-skiff-ui";
    static final Duration IDLE = Duration.ofHours(2);
    static final Duration LIFETIME = Duration.ofHours(12);
    static final int MAX_SESSIONS = 1000;

    private record Session(Caller caller, long createdNanos, long lastUsedNanos) {}

    private final Map<String, Session> sessions = new ConcurrentHashMap<>();
    private final LongSupplier clock;
    private volatile Function<String, ManagedKey> keyById = id -> null;

    public DashboardSessions() {
        this(System::nanoTime);
    }

    DashboardSessions(LongSupplier clock) {
        this.clock = clock;
    }

    /** Where managed keys are looked up at each use of a session (the key registry's snapshot). */
    public void keys(Function<String, ManagedKey> byId) {
        this.keyById = byId;
    }

    /** Opens a session for an admin caller; returns its token. */
    public String open(Caller caller) {
        if (!caller.isAdmin()) throw new IllegalArgumentException("not an admin");
        if (sessions.size() >= MAX_SESSIONS) evictOldest();
        byte[] bytes = new byte[32];
        Random.SOURCE.nextBytes(bytes);
        String token = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
        long now = clock.getAsLong();
        sessions.put(token, new Session(caller, now, now));
        return token;
    }

    /** Ends the session of this token, if any. */
    public void close(String token) {
        if (token != null) sessions.remove(token);
    }

    /**
     * The verdict for an admin request that presented no key: admitted as the session's caller when
     * it carries a live session cookie and the dashboard's header; otherwise {@code missing}, as before.
     */
    public MasterKeyAuth.Verdict check(HttpHeaders headers, MasterKeyAuth.Verdict missing) {
        if (!headers.contains(UI_HEADER)) return missing;
        Caller c = caller(tokenOf(headers));
        return c == null ? missing : new MasterKeyAuth.Allowed(c);
    }

    /** The caller of a live session, or null (unknown, ended, or its key no longer an admin's). */
    public Caller caller(String token) {
        if (token == null) return null;
        Session s = sessions.get(token);
        if (s == null) return null;
        long now = clock.getAsLong();
        if (now - s.lastUsedNanos > IDLE.toNanos() || now - s.createdNanos > LIFETIME.toNanos() || !stillAdmin(s.caller)) {
            sessions.remove(token, s);
            return null;
        }
        sessions.replace(token, s, new Session(s.caller, s.createdNanos, now));
        return s.caller;
    }

    private boolean stillAdmin(Caller c) {
        if (c.key() == null) return true; // the master key (or an open server) cannot change while Skiff runs
        ManagedKey now = keyById.apply(c.keyId());
        return now != null && !now.revoked() && !now.expiredAt(System.currentTimeMillis()) && now.hasScope(ManagedKey.SCOPE_ADMIN);
    }

    /** The session token in a request's cookies, or null. */
    public static String tokenOf(HttpHeaders headers) {
        for (String cookieHeader : headers.getAll(HttpHeaderNames.COOKIE)) {
            for (String part : cookieHeader.split(";")) {
                String p = part.strip();
                if (p.startsWith(COOKIE + "=")) return p.substring(COOKIE.length() + 1);
            }
        }
        return null;
    }

    /** The {@code Set-Cookie} value for a new session; {@code Secure} when the browser reached Skiff over HTTPS. */
    public static String cookie(String token, boolean secure) {
        return COOKIE + "=" + token + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + LIFETIME.toSeconds() + (secure ? "; Secure" : "");
    }

    /** The {@code Set-Cookie} value that ends a session in the browser. */
    public static String clearedCookie(boolean secure) {
        return COOKIE + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0" + (secure ? "; Secure" : "");
    }

    /** Made at the first login, not at start-up (seeding a SecureRandom may take a while). */
    private static final class Random {
        static final SecureRandom SOURCE = new SecureRandom();
    }

    int size() {
        return sessions.size();
    }

    private void evictOldest() {
        String oldest = null;
        long at = 0;
        for (Iterator<Map.Entry<String, Session>> it = sessions.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, Session> e = it.next();
            if (oldest == null || e.getValue().lastUsedNanos - at < 0) {
                oldest = e.getKey();
                at = e.getValue().lastUsedNanos;
            }
        }
        if (oldest != null) sessions.remove(oldest);
    }
}
