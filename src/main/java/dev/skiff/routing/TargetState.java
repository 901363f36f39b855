package dev.skiff.routing;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * What Skiff knows of one target ({@code provider/model}) across requests: its circuit breaker,
 * requests in flight and a moving average of its latency. Shared by every event loop, so each
 * field is updated atomically or under the object's lock (the breaker changes state rarely). A
 * healthy target (circuit closed, no failure since its last success) is read and told of successes
 * without the lock: that is every request of a working configuration, on every event loop at once.
 */
public final class TargetState {
    public enum Circuit { CLOSED, OPEN, HALF_OPEN }

    /** What the admin API and the metrics show of a target. */
    public record Snapshot(String target, Circuit circuit, int consecutiveFailures, long openedAtMs, long retryAtMs, int inFlight,
                           double latencyMs, long successes, long failures) {}

    private final String key;
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile double latencyMs = -1; // -1 until the first answer
    private volatile Circuit circuit = Circuit.CLOSED; // written under the lock; read without it on the healthy path
    private volatile int consecutiveFailures; // likewise
    private final LongAdder successes = new LongAdder();
    private int probeSuccesses;
    private boolean probing; // a half-open circuit lets one probe through at a time
    private long openedAtNanos;
    private long openedAtMs;
    private long failures;
    volatile Long priceNanos; // per million tokens (input + output), for the cheapest strategy; null when unknown

    TargetState(String key) {
        this.key = key;
    }

    public String key() {
        return key;
    }

    /** As {@link #available(long, RoutingBreaker)} at this moment; the clock is read only for a circuit that is not closed. */
    boolean available(RoutingBreaker b) {
        return !b.enabled() || circuit == Circuit.CLOSED || availableLocked(System.nanoTime(), b);
    }

    /** Whether a plan may list this target at {@code now}: closed, or open long enough to be probed. */
    boolean available(long now, RoutingBreaker b) {
        return !b.enabled() || circuit == Circuit.CLOSED || availableLocked(now, b);
    }

    private synchronized boolean availableLocked(long now, RoutingBreaker b) {
        if (circuit == Circuit.CLOSED) return true;
        if (circuit == Circuit.OPEN) return now - openedAtNanos >= b.timeoutNanos();
        return !probing;
    }

    /** Takes the right to call the target now; false when its circuit stays open (the attempt is skipped). */
    public boolean tryAcquire(long now, RoutingBreaker b) {
        return !b.enabled() || circuit == Circuit.CLOSED || acquireLocked(now, b);
    }

    private synchronized boolean acquireLocked(long now, RoutingBreaker b) {
        if (circuit == Circuit.CLOSED) return true;
        if (circuit == Circuit.OPEN) {
            if (now - openedAtNanos < b.timeoutNanos()) return false;
            circuit = Circuit.HALF_OPEN;
            probeSuccesses = 0;
        }
        if (probing) return false;
        probing = true;
        return true;
    }

    public void started() {
        inFlight.incrementAndGet();
    }

    /** An attempt ended: {@code failure} null when the target answered (whatever the client's fate), else what counts against it. */
    public void ended(long now, long durationNanos, Failure failure, RoutingBreaker b) {
        inFlight.decrementAndGet();
        if (failure == null) {
            double ms = durationNanos / 1e6;
            double old = latencyMs;
            latencyMs = old < 0 ? ms : old * 0.8 + ms * 0.2;
            successes.increment();
            // Nothing to reset: a closed circuit with no failure since the last success stays as it is.
            if (circuit == Circuit.CLOSED && consecutiveFailures == 0) return;
        }
        synchronized (this) {
            if (failure == null) {
                consecutiveFailures = 0;
                if (circuit == Circuit.HALF_OPEN) {
                    probing = false;
                    if (++probeSuccesses >= b.successThreshold()) circuit = Circuit.CLOSED;
                }
                return;
            }
            if (!failure.countsAgainstTarget()) {
                if (circuit == Circuit.HALF_OPEN) probing = false;
                return;
            }
            failures++;
            consecutiveFailures++;
            if (!b.enabled()) return;
            if (circuit == Circuit.HALF_OPEN || consecutiveFailures >= b.failureThreshold()) {
                circuit = Circuit.OPEN;
                probing = false;
                openedAtNanos = now;
                openedAtMs = System.currentTimeMillis();
            }
        }
    }

    /** An acquired probe that was never sent (the request ended first): the next request may probe. */
    public synchronized void released() {
        if (circuit == Circuit.HALF_OPEN) probing = false;
    }

    public int inFlight() {
        return inFlight.get();
    }

    public double latencyMs() {
        return latencyMs;
    }

    public Circuit circuit() {
        return circuit;
    }

    public synchronized Snapshot snapshot(RoutingBreaker b) {
        long retryAt = circuit == Circuit.OPEN ? openedAtMs + b.timeoutNanos() / 1_000_000 : 0;
        return new Snapshot(key, circuit, consecutiveFailures, circuit == Circuit.CLOSED ? 0 : openedAtMs, retryAt, inFlight.get(),
                latencyMs, successes.sum(), failures);
    }
}
