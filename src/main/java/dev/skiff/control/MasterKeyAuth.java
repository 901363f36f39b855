package dev.skiff.control;

import dev.skiff.control.keys.KeyRegistry;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * Authentication on the request head: the master key, or a managed key (see {@link KeyRegistry}),
 * presented as {@code Authorization: Bearer} (OpenAI clients) or {@code x-api-key} (Anthropic
 * clients). Both comparisons take constant time; a managed key costs one SHA-256 and one map lookup
 * in the registry's in-memory snapshot, never a database call.
 */
public final class MasterKeyAuth {
    private static final CharSequence X_API_KEY = "x-api-key";

    private final byte[] key;
    private volatile KeyRegistry keys;

    /** @param key the master key, or null to serve openly */
    public MasterKeyAuth(String key) {
        this.key = key == null ? null : key.getBytes(StandardCharsets.UTF_8);
    }

    /** Accepts the managed keys of {@code registry} from now on. */
    public void keys(KeyRegistry registry) {
        this.keys = registry;
    }

    public boolean enabled() {
        return key != null;
    }

    /** What a request presented: a key, or why none was accepted. */
    public sealed interface Verdict permits Allowed, Missing, Wrong, Unavailable {}

    /** @param caller who the request acts for: {@link Caller#MASTER} for the master key, {@link Caller#OPEN} when serving openly */
    public record Allowed(Caller caller) implements Verdict {}

    /** The owner of requests made with the master key. */
    public static final String MASTER = "master";

    public record Missing() implements Verdict {}

    /** @param message what the client is told: an unknown key, or one revoked or expired */
    public record Wrong(String message) implements Verdict {}

    /** A managed key was presented before the key registry could be read (start-up, or the store is down). */
    public record Unavailable(String message) implements Verdict {}

    public static final String INCORRECT = "Incorrect API key provided.";
    private static final Verdict OPEN = new Allowed(Caller.OPEN), ALLOWED = new Allowed(Caller.MASTER), MISSING = new Missing(),
            WRONG = new Wrong(INCORRECT);

    public Verdict check(HttpHeaders headers) {
        String presented = null;
        String auth = headers.get(HttpHeaderNames.AUTHORIZATION);
        if (auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)) presented = auth.substring(7).strip();
        if (presented == null || presented.isEmpty()) presented = headers.get(X_API_KEY);
        if (presented == null || presented.isEmpty()) return key == null ? OPEN : MISSING;
        byte[] bytes = presented.getBytes(StandardCharsets.UTF_8); // once, for both comparisons
        if (key != null && MessageDigest.isEqual(key, bytes)) return ALLOWED;
        KeyRegistry registry = keys;
        if (registry != null) {
            Verdict v = registry.verdict(presented, bytes);
            // Serving openly, a key Skiff does not know is no reason to refuse (clients send placeholders);
            // one it knows is still attributed, and a revoked or expired one still refused.
            if (v != null && (key != null || v != WRONG_UNKNOWN)) return v;
        }
        return key == null ? OPEN : WRONG;
    }

    /** What a registry answers for a secret it does not know, compared by identity. */
    public static final Verdict WRONG_UNKNOWN = WRONG;
}
