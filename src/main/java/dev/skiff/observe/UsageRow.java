package dev.skiff.observe;

/**
 * A request's record as stored: its tokens by class and its cost in nanodollars (null when unknown:
 * the model has no price, or the provider answered without reporting usage), and the audit log's
 * record of it when the audit log keeps its metadata level in usage rows (JSON; null when it does not).
 */
public record UsageRow(UsageRecord record, Tokens tokens, Long costNanos, String audit) {
    public UsageRow(UsageRecord record, Tokens tokens, Long costNanos) {
        this(record, tokens, costNanos, null);
    }

    /** This row carrying {@code audit}. */
    public UsageRow withAudit(String audit) {
        return new UsageRow(record, tokens, costNanos, audit);
    }

    /**
     * Prices a record. Skiff's own refusals (no provider called), a local server's answers and a
     * provider's refusals without usage cost 0: providers do not bill an error. An answer whose usage
     * was not reported has an unknown cost, as has a model the catalog does not price, and a call the
     * client cut short (499): the provider may bill tokens it generated and never reported; the tokens
     * seen until then are kept.
     */
    public static UsageRow of(UsageRecord r, Pricing pricing) {
        Tokens t = Tokens.of(r.usage());
        if (r.provider() == null) return new UsageRow(r, t, 0L);
        Pricing.Price p = pricing.find(r.providerType(), r.model());
        Long cost;
        if (p == Pricing.Price.FREE) cost = 0L;
        else if (r.status() == 499) cost = null;
        else if (!t.reported()) cost = r.status() / 100 == 2 ? null : Long.valueOf(0);
        else cost = Pricing.costNanos(p, t); // the price found above: one lookup per record
        return new UsageRow(r, t, cost);
    }
}
