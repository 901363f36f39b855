package dev.skiff.control.limits;

import java.util.List;

/** What the limiter says of a request. */
public sealed interface Decision permits Decision.Admitted, Decision.Refused, Decision.Unavailable {
    /** Every charge was reserved; settle the ticket when the call ends. */
    record Admitted(Ticket ticket, List<Counter> counters) implements Decision {}

    /**
     * Nothing was reserved: {@code refused} would go past its limit.
     *
     * @param retryAfterMs how long until the request could fit, as far as the counters know now
     */
    record Refused(Counter refused, long retryAfterMs, List<Counter> counters) implements Decision {}

    /** The counters could not be reached (Redis down): failOpen decides. */
    record Unavailable(String reason) implements Decision {}

    /** A request no limit applies to. */
    Admitted NONE = new Admitted(new Ticket("", List.of(), 0), List.of());
}
