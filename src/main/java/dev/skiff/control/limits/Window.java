package dev.skiff.control.limits;

import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Locale;

/**
 * Over what time a limit counts. Calendar windows are anchored to UTC (a day runs from 00:00 UTC, a
 * month from the 1st): everything counted in one is forgotten at once when it ends. A rolling window
 * counts the last N seconds, in {@value #ROLLING_BUCKETS} buckets of N/{@value #ROLLING_BUCKETS}
 * seconds each (see {@link Rolling}). Concurrency has no window ({@link None}).
 */
public sealed interface Window permits Window.Calendar, Window.Rolling, Window.None {
    /** How many buckets a rolling window is counted in. */
    int ROLLING_BUCKETS = 60;

    /** Names the window in counter keys and the admin API: {@code minute}, {@code day}, {@code rolling:3600}, {@code none}. */
    String id();

    /** UTC periods. */
    enum Unit {
        MINUTE, HOUR, DAY, MONTH;

        /** The name in counters and JSON, made once: counters are named per request. */
        final String id = name().toLowerCase(Locale.ROOT);
    }

    /**
     * A calendar period of UTC.
     */
    record Calendar(Unit unit) implements Window {
        @Override
        public String id() {
            return unit.id;
        }

        /** The start of the period {@code nowMs} falls in, in epoch milliseconds. */
        public long start(long nowMs) {
            return switch (unit) {
                case MINUTE -> Math.floorDiv(nowMs, 60_000L) * 60_000L;
                case HOUR -> Math.floorDiv(nowMs, 3_600_000L) * 3_600_000L;
                case DAY -> Math.floorDiv(nowMs, 86_400_000L) * 86_400_000L;
                case MONTH -> {
                    LocalDate d = Instant.ofEpochMilli(nowMs).atZone(ZoneOffset.UTC).toLocalDate().withDayOfMonth(1);
                    yield d.atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli();
                }
            };
        }

        /** The end of the period {@code nowMs} falls in (exclusive), in epoch milliseconds. */
        public long end(long nowMs) {
            return switch (unit) {
                case MINUTE -> start(nowMs) + 60_000L;
                case HOUR -> start(nowMs) + 3_600_000L;
                case DAY -> start(nowMs) + 86_400_000L;
                case MONTH -> Instant.ofEpochMilli(start(nowMs)).atZone(ZoneOffset.UTC).plusMonths(1).toInstant().toEpochMilli();
            };
        }
    }

    /**
     * The last {@code seconds} seconds, counted in {@value #ROLLING_BUCKETS} buckets: a request is
     * counted in the bucket of its admission, and a bucket leaves the count once all of it is older
     * than the window. So the count covers between N and N + N/{@value #ROLLING_BUCKETS} seconds: it
     * never admits more than the limit within any N seconds, and what was counted drops out at most
     * one bucket late (one second late for a minute, one minute for an hour). Sums are exact; only
     * the window's edge is rounded, and always towards refusing.
     */
    record Rolling(long seconds) implements Window {
        public Rolling {
            if (seconds < 1) throw new IllegalArgumentException("a rolling window lasts at least 1 second");
        }

        @Override
        public String id() {
            return "rolling:" + seconds;
        }

        /** Width of one bucket in milliseconds (at least 1). */
        public long bucketMillis() {
            return Math.max(1, seconds * 1000 / ROLLING_BUCKETS);
        }

        /** How many buckets the window spans: the current one and the ones before it within the window. */
        public int buckets() {
            return (int) Math.max(1, (seconds * 1000 + bucketMillis() - 1) / bucketMillis());
        }

        public long bucket(long nowMs) {
            return Math.floorDiv(nowMs, bucketMillis());
        }
    }

    /** No time: the count is what is in flight now (concurrency). */
    record None() implements Window {
        @Override
        public String id() {
            return "none";
        }
    }

    None NONE = new None();

    /** {@code minute}, {@code hour}, {@code day}, {@code month}, {@code rolling:N} (seconds), or {@code none}. */
    static Window parse(String s) {
        String w = s.strip().toLowerCase(Locale.ROOT);
        return switch (w) {
            case "minute" -> new Calendar(Unit.MINUTE);
            case "hour" -> new Calendar(Unit.HOUR);
            case "day" -> new Calendar(Unit.DAY);
            case "month" -> new Calendar(Unit.MONTH);
            case "none", "" -> NONE;
            default -> {
                if (w.startsWith("rolling:")) {
                    try {
                        yield new Rolling(Long.parseLong(w.substring(8)));
                    } catch (NumberFormatException e) {
                        // fall through to the error below
                    }
                }
                throw new IllegalArgumentException("unknown window '" + s + "': minute, hour, day, month (UTC) or rolling:<seconds>");
            }
        };
    }
}
