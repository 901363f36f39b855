package dev.skiff.control.limits;

/**
 * The state of one counter as a reservation left it.
 *
 * @param used      what the counter holds with this request's reservation (or, when refused, without it)
 * @param resetAtMs when the count starts over (calendar), when all of it has dropped out (rolling), or 0 (concurrency)
 */
public record Counter(Charge charge, long used, long resetAtMs) {
    public long remaining() {
        return Math.max(0, charge.limit() - used);
    }
}
