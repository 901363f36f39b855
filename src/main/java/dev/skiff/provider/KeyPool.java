package dev.skiff.provider;

import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The keys of one provider, taken in turn (round robin). A key the provider answered 429 rests for
 * the answer's {@code Retry-After} (else the configured cooldown) and one answered 401 or 403 (revoked,
 * or not allowed) rests ten times the cooldown; a resting key is skipped while another is ready, and
 * when every key rests the one that recovers soonest is used, so a request is never refused here.
 *
 * <p>Requests carry the key in a header the {@link Provider} sets; the answer is matched back to the
 * key by that header's value ({@link #report}), so nothing between the two needs to remember which
 * key was used. Lock-free: one counter and one deadline per key, read and written from any event
 * loop. A pool of one key does no bookkeeping at all.
 *
 * <p>Keys are never printed: the log says a key's position ({@code key 2 of 3}).
 */
public final class KeyPool {
    /** How many cooldowns a key refused with 401/403 rests: it is likely revoked, but may come back. */
    static final int REFUSED_FACTOR = 10;
    /** No provider's {@code Retry-After} makes a key rest longer than this. */
    static final Duration MAX_REST = Duration.ofHours(1);

    /** One credential as it is sent: the whole header value (with {@code Bearer } where it is one). */
    public record Key(int index, AsciiString headerValue) {
        @Override
        public String toString() {
            return "key " + (index + 1); // never the secret
        }
    }

    private final String providerName;
    private final AsciiString header;
    private final Key[] keys;
    private final long cooldownNanos;
    private final LongSupplier clock;
    private final Consumer<String> log;
    private final AtomicInteger next = new AtomicInteger();
    /** Per key, the clock value until which it rests; a value not after now means ready. */
    private final AtomicLongArray restsUntil;

    /**
     * @param header      the request header the keys go in ({@code authorization}, {@code x-api-key}...)
     * @param headerValues each key's full header value, in the configured order
     */
    public KeyPool(String providerName, AsciiString header, List<AsciiString> headerValues, Duration cooldown, LongSupplier clock,
                   Consumer<String> log) {
        this.providerName = providerName;
        this.header = header;
        this.keys = new Key[headerValues.size()];
        for (int i = 0; i < keys.length; i++) keys[i] = new Key(i, headerValues.get(i));
        this.cooldownNanos = cooldown.toNanos();
        this.clock = clock;
        this.log = log;
        this.restsUntil = new AtomicLongArray(keys.length);
        long now = clock.getAsLong();
        for (int i = 0; i < keys.length; i++) restsUntil.set(i, now);
    }

    public KeyPool(String providerName, AsciiString header, List<AsciiString> headerValues, Duration cooldown) {
        this(providerName, header, headerValues, cooldown, System::nanoTime, line -> System.err.println("skiff: " + line));
    }

    /** The number of keys. */
    public int size() {
        return keys.length;
    }

    /** The header the keys are sent in. */
    public AsciiString header() {
        return header;
    }

    /** The key for the next request: the next ready one in turn, else the one that recovers soonest. */
    public Key pick() {
        if (keys.length == 1) return keys[0];
        long now = clock.getAsLong();
        int start = Math.floorMod(next.getAndIncrement(), keys.length);
        Key soonest = null;
        long soonestAt = 0;
        for (int i = 0; i < keys.length; i++) {
            Key k = keys[(start + i) % keys.length];
            long until = restsUntil.get(k.index);
            if (until - now <= 0) {
                // Skipped resting keys move the turn on too, so the ready keys keep equal shares.
                if (i > 0) next.addAndGet(i);
                return k;
            }
            if (soonest == null || until - soonestAt < 0) {
                soonest = k;
                soonestAt = until;
            }
        }
        return soonest;
    }

    /** Puts the next key's header on a request (see {@link #pick}). */
    public Key apply(HttpHeaders headers) {
        Key k = pick();
        headers.set(header, k.headerValue);
        return k;
    }

    /** The key a request was sent with, found by its header; null when it carries none of this pool's. */
    public Key keyOf(HttpHeaders sent) {
        String value = sent.get(header);
        if (value == null) return null;
        for (Key k : keys) {
            if (k.headerValue.contentEquals(value)) return k;
        }
        return null;
    }

    /**
     * What the provider answered a request sent with {@code sent}'s key: 429 rests the key for {@code
     * Retry-After} or the cooldown, 401/403 for ten cooldowns, a success ends its rest early. The hook
     * for retry logic: it returns whether another key is ready now, i.e. whether sending the request
     * again at once (with {@link #apply}) goes out with a different, rested key.
     */
    public boolean report(HttpHeaders sent, int status, HttpHeaders answer) {
        if (keys.length == 1) return false;
        Key k = keyOf(sent);
        if (k == null) return false;
        return report(k, status, answer == null ? null : answer.get("retry-after"));
    }

    /** As {@link #report(HttpHeaders, int, HttpHeaders)}, for a key already known. */
    public boolean report(Key k, int status, String retryAfter) {
        if (keys.length == 1) return false;
        long now = clock.getAsLong();
        if (status / 100 == 2) {
            long until = restsUntil.get(k.index);
            if (until - now > 0) restsUntil.compareAndSet(k.index, until, now); // it works again
            return false;
        }
        long rest;
        if (status == 429) {
            Duration after = parseRetryAfter(retryAfter);
            rest = after != null ? after.toNanos() : cooldownNanos;
        } else if (status == 401 || status == 403) {
            rest = cooldownNanos * REFUSED_FACTOR;
        } else {
            return false;
        }
        rest = Math.min(rest, MAX_REST.toNanos());
        if (rest <= 0) return readyOtherThan(k, now); // "retry now": nothing to rest
        long until = now + rest;
        long before = restsUntil.getAndUpdate(k.index, u -> until - u > 0 ? until : u);
        if (before - now <= 0) {
            log.accept(providerName + ": " + k + " of " + keys.length + " rests " + Duration.ofNanos(rest).toMillis() / 1000.0
                    + " s after HTTP " + status);
        }
        return readyOtherThan(k, now);
    }

    /**
     * Whether a request sent now would go out with a rested key, in a pool of several. Retry logic asks
     * this after an answer that rested a key (429, 401, 403): true means sending again at once uses
     * another key, with no need to wait for the provider's {@code Retry-After}.
     */
    public boolean hasReadyKey() {
        if (keys.length == 1) return false;
        long now = clock.getAsLong();
        for (int i = 0; i < keys.length; i++) if (restsUntil.get(i) - now <= 0) return true;
        return false;
    }

    private boolean readyOtherThan(Key k, long now) {
        for (Key other : keys) {
            if (other != k && restsUntil.get(other.index) - now <= 0) return true;
        }
        return false;
    }

    /** How long key {@code index} still rests, for the admin view and tests; zero when ready. */
    public Duration restLeft(int index) {
        long left = restsUntil.get(index) - clock.getAsLong();
        return left <= 0 ? Duration.ZERO : Duration.ofNanos(left);
    }

    /**
     * {@code Retry-After} as seconds or an HTTP date; null when absent or unreadable. A value of zero
     * or in the past means "now": the key does not rest.
     */
    static Duration parseRetryAfter(String value) {
        if (value == null || value.isBlank()) return null;
        String v = value.strip();
        try {
            if (v.chars().allMatch(Character::isDigit)) return Duration.ofSeconds(Long.parseLong(v.length() > 9 ? "999999999" : v));
            if (v.matches("\\d+\\.\\d+")) return Duration.ofMillis((long) (Double.parseDouble(v) * 1000));
            ZonedDateTime at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME.withLocale(Locale.ROOT));
            Duration d = Duration.between(ZonedDateTime.now(at.getZone()), at);
            return d.isNegative() ? Duration.ZERO : d;
        } catch (RuntimeException e) {
            return null;
        }
    }
}
