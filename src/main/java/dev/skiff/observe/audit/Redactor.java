package dev.skiff.observe.audit;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Takes secrets out of what the audit log keeps: the values of credential headers (authorization,
 * proxy-authorization, x-api-key, api-key, cookie, set-cookie, and any header whose name contains
 * key, token or secret), query parameters named likewise in URLs (Gemini's {@code ?key=}), and
 * whatever the configured pattern matches in bodies and other header values. Runs on the audit
 * writer's thread, never on an event loop.
 */
final class Redactor {
    static final String REDACTED = "[redacted]";
    private static final Pattern QUERY_SECRET = Pattern.compile("(?i)([?&][^=&#]*(?:key|token|secret|signature|credential)[^=&#]*=)[^&#]*");

    private final Pattern custom;

    Redactor(Pattern custom) {
        this.custom = custom;
    }

    /** Whether a header's value is a credential. Rate-limit counters name tokens without being secrets. */
    static boolean secretHeader(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        if (n.contains("ratelimit") || n.equals("x-skiff-token-count")) return false;
        return n.equals("authorization") || n.equals("proxy-authorization") || n.equals("cookie") || n.equals("set-cookie")
                || n.contains("key") || n.contains("token") || n.contains("secret");
    }

    /** Receives headers one by one (a JSON generator's {@code writeStringField}). */
    interface HeaderSink {
        void header(String name, String value) throws java.io.IOException;
    }

    /** Receives headers one by one with their names' {@link Name}: its encoded form and which of the row's values it may repeat. */
    interface NamedHeaderSink {
        void header(Name name, String value) throws java.io.IOException;
    }

    /**
     * Each header once, in order, its name lower case and its value redacted; a repeated name's values
     * joined by ", " in its first place. Straight to {@code sink}: no map is built per record (headers
     * are few, so looking for repeats costs less than hashing them).
     */
    void eachHeader(String[] pairs, HeaderSink sink) throws java.io.IOException {
        eachHeader(pairs, (NamedHeaderSink) (n, value) -> sink.header(n.lower(), value));
    }

    /** As {@link #eachHeader(String[], HeaderSink)}, each name given as its {@link Name}. */
    void eachHeader(String[] pairs, NamedHeaderSink sink) throws java.io.IOException {
        if (pairs == null) return;
        long joined = 0; // bit i/2: header i was joined into an earlier one's place (the first 64 headers; past them, looked for)
        for (int i = 0; i + 1 < pairs.length; i += 2) {
            if (i < 128 ? (joined & 1L << (i >> 1)) != 0 : repeats(pairs, i)) continue; // already joined into its first place
            Name n = name(pairs[i]);
            String name = n.lower();
            boolean secret = n.secret();
            String value = secret ? REDACTED : text(pairs[i + 1]);
            for (int j = i + 2; j + 1 < pairs.length; j += 2) {
                if (pairs[j].equalsIgnoreCase(name)) {
                    value = value + ", " + (secret ? REDACTED : text(pairs[j + 1]));
                    if (j < 128) joined |= 1L << (j >> 1);
                }
            }
            sink.header(n, value);
        }
    }

    /**
     * A header name as the audit log writes it: lower case, whether its value is a credential, its JSON
     * form encoded once (a record writes a dozen names, and encoding each anew was a tenth of what a
     * bodies-level record took to make), and the bit of {@link AuditDocument#REPEATS} it is (0: none).
     */
    record Name(String lower, boolean secret, com.fasterxml.jackson.core.io.SerializedString encoded, int repeat) {
        static Name of(String raw) {
            String lower = raw.toLowerCase(Locale.ROOT);
            int repeat = 0;
            for (int i = 0; i < AuditDocument.REPEATS.length; i++) if (AuditDocument.REPEATS[i].equals(lower)) repeat = 1 << i;
            return new Name(lower, secretHeader(lower), new com.fasterxml.jackson.core.io.SerializedString(lower), repeat);
        }
    }

    /**
     * Header names as sent, lower-cased and classed (credential or not): a gateway sees few names, over
     * and over, and lowering and testing each of a record's headers anew was most of the time its
     * headers took on the writer. Bounded, and long names are not kept: clients choose names.
     */
    private final java.util.concurrent.ConcurrentHashMap<String, Name> names = new java.util.concurrent.ConcurrentHashMap<>();

    private Name name(String raw) {
        Name n = names.get(raw);
        if (n != null) return n;
        n = Name.of(raw);
        if (names.size() < 512 && raw.length() <= 64) names.put(raw, n);
        return n;
    }

    /** Whether the name at {@code i} came before. */
    private static boolean repeats(String[] pairs, int i) {
        for (int j = 0; j < i; j += 2) if (pairs[j].equalsIgnoreCase(pairs[i])) return true;
        return false;
    }

    /** Headers as an object, name to value (repeated names joined by ", "), secrets redacted. */
    Map<String, String> headers(String[] pairs) {
        Map<String, String> out = new LinkedHashMap<>();
        try {
            eachHeader(pairs, out::put);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e); // a map does not fail
        }
        return out;
    }

    String url(String url) {
        if (url == null) return null;
        if (url.indexOf('?') < 0 && url.indexOf('&') < 0) return text(url); // no parameters: nothing for the query pattern to find
        return text(QUERY_SECRET.matcher(url).replaceAll("$1" + REDACTED));
    }

    /** Whether {@link #text} changes anything: a pattern is configured. */
    boolean redactsText() {
        return custom != null;
    }

    /** A body's or value's text with the configured pattern's matches replaced. */
    String text(String s) {
        if (s == null || custom == null) return s;
        return custom.matcher(s).replaceAll(REDACTED);
    }
}
