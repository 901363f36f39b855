package dev.skiff.control.limits;

/**
 * What one request takes from one counter: the counter (a scope's, or one end user's under it), the
 * policy whose limit applies there, and the amount reserved (1 request, the estimated tokens or cost,
 * 1 in flight).
 */
public record Charge(String counter, LimitPolicy policy, long amount) {
    public long limit() {
        return policy.limit();
    }

    public Metric metric() {
        return policy.metric();
    }

    public Window window() {
        return policy.window();
    }

    /** The same counter and limit with another amount (the estimate of a request). */
    public Charge withAmount(long a) {
        return a == amount ? this : new Charge(counter, policy, a);
    }
}
