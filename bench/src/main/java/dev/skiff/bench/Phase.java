package dev.skiff.bench;

import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One batch of requests shared by all connections of a load run: connections claim requests
 * until {@code total} are out, and report each outcome here. Latencies go into plain arrays
 * (one slot per successful request) and are sorted once at the end: exact percentiles, no
 * histogram buckets, and nothing allocated while measuring.
 */
final class Phase {
    final int total;
    private final boolean recordFirstByte;
    private final AtomicInteger claimed = new AtomicInteger();
    private final AtomicInteger finished = new AtomicInteger();
    private final AtomicInteger ok = new AtomicInteger();
    private final AtomicInteger non2xx = new AtomicInteger();
    private final AtomicInteger errors = new AtomicInteger();
    private final AtomicLong bodyBytes = new AtomicLong();
    private final long[] latencies;
    private final long[] firstBytes;
    private final CountDownLatch done = new CountDownLatch(1);
    private volatile long startNanos;
    private volatile long endNanos;
    private volatile String firstNon2xx;
    private volatile String firstError;

    Phase(int total, boolean recordFirstByte) {
        this.total = total;
        this.recordFirstByte = recordFirstByte;
        this.latencies = new long[total];
        this.firstBytes = new long[recordFirstByte ? total : 0];
        if (total == 0) done.countDown();
    }

    void start() {
        startNanos = System.nanoTime();
    }

    /** Takes the next request of the batch; false once all have been handed out. */
    boolean claim() {
        return claimed.getAndIncrement() < total;
    }

    void ok(long latencyNanos, long firstByteNanos, long bytes) {
        int slot = ok.getAndIncrement();
        latencies[slot] = latencyNanos;
        if (recordFirstByte) firstBytes[slot] = firstByteNanos;
        bodyBytes.addAndGet(bytes);
        finishOne();
    }

    void non2xx(int status, String bodyStart) {
        non2xx.incrementAndGet();
        if (firstNon2xx == null) firstNon2xx = status + " " + bodyStart;
        finishOne();
    }

    void error(Throwable cause) {
        errors.incrementAndGet();
        if (firstError == null) firstError = String.valueOf(cause);
        finishOne();
    }

    private void finishOne() {
        if (finished.incrementAndGet() == total) {
            endNanos = System.nanoTime();
            done.countDown();
        }
    }

    boolean await(long timeout, TimeUnit unit) throws InterruptedException {
        return done.await(timeout, unit);
    }

    /** The machine-readable summary line; {@code complete} is false when the run timed out. */
    String resultLine(boolean complete) {
        int n = ok.get();
        long end = complete ? endNanos : System.nanoTime();
        double seconds = Math.max(end - startNanos, 1) / 1e9;
        long[] sorted = Arrays.copyOf(latencies, n);
        Arrays.sort(sorted);
        StringBuilder line = new StringBuilder("RESULT")
                .append(" rps=").append(Math.round(n / seconds))
                .append(" p50_ms=").append(ms(percentile(sorted, 50)))
                .append(" p90_ms=").append(ms(percentile(sorted, 90)))
                .append(" p99_ms=").append(ms(percentile(sorted, 99)))
                .append(" max_ms=").append(ms(n == 0 ? -1 : sorted[n - 1]));
        if (recordFirstByte) {
            long[] ttfb = Arrays.copyOf(firstBytes, n);
            Arrays.sort(ttfb);
            line.append(" ttfb_p50_ms=").append(ms(percentile(ttfb, 50)))
                    .append(" ttfb_p99_ms=").append(ms(percentile(ttfb, 99)));
        }
        line.append(" ok=").append(n)
                .append(" non2xx=").append(non2xx.get())
                .append(" errors=").append(errors.get())
                .append(" body_bytes_avg=").append(n == 0 ? 0 : bodyBytes.get() / n)
                .append(" elapsed_s=").append(String.format(Locale.ROOT, "%.3f", seconds));
        if (!complete) line.append(" timed_out=1");
        return line.toString();
    }

    String firstNon2xx() {
        return firstNon2xx;
    }

    String firstError() {
        return firstError;
    }

    int okCount() {
        return ok.get();
    }

    /** Nearest-rank percentile of a sorted array; -1 when empty. */
    static long percentile(long[] sorted, double p) {
        if (sorted.length == 0) return -1;
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.clamp(rank - 1, 0, sorted.length - 1)];
    }

    private static String ms(long nanos) {
        return nanos < 0 ? "nan" : String.format(Locale.ROOT, "%.3f", nanos / 1e6);
    }
}
