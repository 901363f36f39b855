package dev.skiff.routing;

import dev.skiff.config.RoutingConfig;
import io.netty.handler.codec.http.HttpHeaders;
import java.time.OffsetDateTime;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How long to wait before a retry. Skiff's own wait is exponential with full jitter (uniform below
 * a ceiling that grows by the factor each retry), so that clients that failed together do not come
 * back together. A provider that says when to come back is believed: {@code retry-after-ms},
 * {@code Retry-After} (seconds or an HTTP date), and on a 429 the reset of the exhausted rate limit
 * (OpenAI's {@code x-ratelimit-reset-requests}/{@code -tokens}, Anthropic's
 * {@code anthropic-ratelimit-*-reset}).
 */
public final class Backoff {
    private Backoff() {}

    /** Skiff's wait before retry number {@code retry} (1 for the first), in nanoseconds. */
    public static long jitteredNanos(RoutingConfig.Retry r, int retry) {
        double ceiling = r.initialBackoff().toNanos() * Math.pow(r.factor(), Math.max(0, retry - 1));
        long cap = (long) Math.min(ceiling, r.maxBackoff().toNanos());
        return cap <= 0 ? 0 : ThreadLocalRandom.current().nextLong(cap + 1);
    }

    /** The wait the provider asked for, in nanoseconds; -1 when it said nothing. */
    public static long askedNanos(HttpHeaders h, int status, long nowMs) {
        if (h == null) return -1;
        String ms = h.get("retry-after-ms");
        if (ms != null) {
            try {
                return Math.max(0, (long) (Double.parseDouble(ms.strip()) * 1_000_000));
            } catch (NumberFormatException ignored) {
                // fall through to Retry-After
            }
        }
        String after = h.get("retry-after");
        if (after != null) {
            long n = retryAfterNanos(after.strip(), nowMs);
            if (n >= 0) return n;
        }
        if (status != 429) return -1;
        long best = -1;
        for (String limit : new String[] {"requests", "tokens"}) {
            if ("0".equals(h.get("x-ratelimit-remaining-" + limit))) best = max(best, goDurationNanos(h.get("x-ratelimit-reset-" + limit)));
        }
        for (String limit : new String[] {"requests", "tokens", "input-tokens", "output-tokens"}) {
            if ("0".equals(h.get("anthropic-ratelimit-" + limit + "-remaining"))) {
                best = max(best, instantNanos(h.get("anthropic-ratelimit-" + limit + "-reset"), nowMs));
            }
        }
        return best;
    }

    private static long max(long a, long b) {
        return Math.max(a, b);
    }

    static long retryAfterNanos(String v, long nowMs) {
        try {
            return Math.max(0, (long) (Double.parseDouble(v) * 1e9));
        } catch (NumberFormatException notSeconds) {
            try {
                long at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant().toEpochMilli();
                return Math.max(0, (at - nowMs) * 1_000_000);
            } catch (RuntimeException notADate) {
                return -1;
            }
        }
    }

    private static final Pattern GO_DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|h|m|s)");

    /** OpenAI's reset times are Go durations: {@code 1s}, {@code 6m0s}, {@code 20ms}, {@code 1h2m3.5s}. */
    static long goDurationNanos(String v) {
        if (v == null || v.isBlank()) return -1;
        Matcher m = GO_DURATION.matcher(v.strip());
        double total = 0;
        int end = 0;
        while (m.find()) {
            if (m.start() != end) return -1;
            end = m.end();
            double n = Double.parseDouble(m.group(1));
            total += switch (m.group(2)) {
                case "h" -> n * 3600e9;
                case "m" -> n * 60e9;
                case "ms" -> n * 1e6;
                default -> n * 1e9;
            };
        }
        return end == v.strip().length() && end > 0 ? (long) total : -1;
    }

    static long instantNanos(String v, long nowMs) {
        if (v == null || v.isBlank()) return -1;
        try {
            return Math.max(0, (OffsetDateTime.parse(v.strip()).toInstant().toEpochMilli() - nowMs) * 1_000_000);
        } catch (RuntimeException e) {
            return -1;
        }
    }
}
