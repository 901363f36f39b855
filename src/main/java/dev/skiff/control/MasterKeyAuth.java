package dev.skiff.control;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * The simple form of authentication: one master key, presented as {@code Authorization: Bearer} (OpenAI
 * clients) or {@code x-api-key} (Anthropic clients). Comparison takes constant time.
 */
public final class MasterKeyAuth {
    private static final CharSequence X_API_KEY = "x-api-key";

    private final byte[] key;

    /** @param key the master key, or null to serve openly */
    public MasterKeyAuth(String key) {
        this.key = key == null ? null : key.getBytes(StandardCharsets.UTF_8);
    }

    public boolean enabled() {
        return key != null;
    }

    /** What a request presented: a key, or why none was accepted. */
    public sealed interface Verdict permits Allowed, Missing, Wrong {}

    /** @param caller who the request acts for: {@link Caller#MASTER} for the master key, {@link Caller#OPEN} when serving openly */
    public record Allowed(Caller caller) implements Verdict {}

    /** The owner of requests made with the master key. */
    public static final String MASTER = "master";

    public record Missing() implements Verdict {}

    public record Wrong() implements Verdict {}

    private static final Verdict OPEN = new Allowed(Caller.OPEN), ALLOWED = new Allowed(Caller.MASTER), MISSING = new Missing(), WRONG = new Wrong();

    public Verdict check(HttpHeaders headers) {
        if (key == null) return OPEN;
        String presented = null;
        String auth = headers.get(HttpHeaderNames.AUTHORIZATION);
        if (auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)) presented = auth.substring(7).strip();
        if (presented == null || presented.isEmpty()) presented = headers.get(X_API_KEY);
        if (presented == null || presented.isEmpty()) return MISSING;
        return MessageDigest.isEqual(key, presented.getBytes(StandardCharsets.UTF_8)) ? ALLOWED : WRONG;
    }
}
