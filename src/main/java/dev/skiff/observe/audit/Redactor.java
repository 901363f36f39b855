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

    /** Headers as an object, name to value (repeated names joined by ", "), secrets redacted. */
    Map<String, String> headers(String[] pairs) {
        Map<String, String> out = new LinkedHashMap<>();
        if (pairs == null) return out;
        for (int i = 0; i + 1 < pairs.length; i += 2) {
            String name = pairs[i].toLowerCase(Locale.ROOT);
            String value = secretHeader(name) ? REDACTED : text(pairs[i + 1]);
            out.merge(name, value, (a, b) -> a + ", " + b);
        }
        return out;
    }

    String url(String url) {
        if (url == null) return null;
        if (url.indexOf('?') < 0 && url.indexOf('&') < 0) return text(url); // no parameters: nothing for the query pattern to find
        return text(QUERY_SECRET.matcher(url).replaceAll("$1" + REDACTED));
    }

    /** A body's or value's text with the configured pattern's matches replaced. */
    String text(String s) {
        if (s == null || custom == null) return s;
        return custom.matcher(s).replaceAll(REDACTED);
    }
}
