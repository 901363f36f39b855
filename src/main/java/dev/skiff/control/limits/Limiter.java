package dev.skiff.control.limits;

import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * Counts requests against limits. A request's charges are reserved all at once or not at all: no
 * request is counted against one limit and refused by another, and concurrent requests can never
 * together pass a limit, however many replicas share the counters.
 *
 * <p>The call is settled when it ends: the estimated tokens and cost are replaced by what the
 * provider reported, and its concurrency slot is given back.
 *
 * <p>Neither method blocks; {@link #reserve} completes on the limiter's thread (or at once), so
 * callers on an event loop hand the result back to their loop.
 */
public interface Limiter extends AutoCloseable {
    CompletionStage<Decision> reserve(List<Charge> charges);

    /**
     * Ends an admitted request: each token and cost counter moves by the real amount minus the
     * reserved one (-1 keeps the estimate, for a usage nobody reported), and concurrency is released.
     * A period that ended meanwhile is left alone. Fire and forget.
     *
     * @return the counters after settling, where known (for soft thresholds crossed by the settlement)
     */
    CompletionStage<List<Counter>> settle(Ticket ticket, long tokens, long costMicros);

    @Override
    void close();

    /** The amount a settlement moves a counter by: real minus reserved, 0 when not known or not counted so. */
    static long delta(Charge c, long tokens, long costMicros) {
        return switch (c.metric()) {
            case TOKENS -> tokens < 0 ? 0 : tokens - c.amount();
            case COST -> costMicros < 0 ? 0 : costMicros - c.amount();
            default -> 0;
        };
    }

    /** Whether {@code amount} more fits a counter holding {@code used}; an exhausted counter admits nothing more, not even 0. */
    static boolean fits(long used, long amount, long limit) {
        return used < limit && used + amount <= limit;
    }
}
