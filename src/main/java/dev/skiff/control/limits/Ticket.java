package dev.skiff.control.limits;

import java.util.List;

/**
 * What an admitted request holds: the charges it reserved and when, so that settling finds the same
 * period and bucket (a request that ends after midnight is settled into the day it was counted in).
 *
 * @param id          unique among the limiter's tickets (names the request in concurrency counters)
 * @param reservedAtMs the clock of the limiter when it reserved
 */
public record Ticket(String id, List<Charge> charges, long reservedAtMs) {
    /**
     * Whether settling moves anything: a token or cost estimate to correct, or a concurrency slot to
     * give back. A ticket of request counts alone is settled by doing nothing (no price lookup, no lock,
     * no round trip to Redis).
     */
    public boolean settles() {
        for (Charge c : charges) if (c.metric() != Metric.REQUESTS) return true;
        return false;
    }

    /** The estimate reserved for {@code metric} (the largest over the counters that count it), or 0. */
    public long reserved(Metric metric) {
        long r = 0;
        for (Charge c : charges) if (c.metric() == metric) r = Math.max(r, c.amount());
        return r;
    }
}
