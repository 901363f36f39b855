package dev.skiff.control.limits;

import java.util.Locale;

/** What a limit counts. Amounts are whole numbers: cost is counted in micro-dollars (1 USD = 1,000,000). */
public enum Metric {
    /** One per request admitted. */
    REQUESTS,
    /** Input plus output tokens: the estimate is reserved, the provider's count settles it. */
    TOKENS,
    /** Money in micro-dollars: the estimated cost is reserved, the real cost settles it. */
    COST,
    /** Requests in flight at once: taken on admission, given back when the call ends. */
    CONCURRENT;

    /** The name, made once: it is part of every counter's name, built per request. */
    private final String wire = name().toLowerCase(Locale.ROOT);

    /** The name the admin API and key JSON use ({@code requests}, {@code tokens}, {@code cost}, {@code concurrent}). */
    public String wire() {
        return wire;
    }

    public static Metric parse(String s) {
        return switch (s.strip().toLowerCase(Locale.ROOT)) {
            case "requests", "request" -> REQUESTS;
            case "tokens", "token" -> TOKENS;
            case "cost", "cost_micros", "usd_micros", "money" -> COST;
            case "concurrent", "concurrency", "concurrent_requests" -> CONCURRENT;
            default -> throw new IllegalArgumentException("unknown metric '" + s + "': requests, tokens, cost (micro-dollars) or concurrent");
        };
    }
}
