package dev.skiff.observe;

/**
 * A request's record as stored: its tokens by class and its cost in nanodollars (null when unknown:
 * the model has no price, or the provider answered without reporting usage).
 */
public record UsageRow(UsageRecord record, Tokens tokens, Long costNanos) {
    /**
     * Prices a record. Skiff's own refusals (no provider called) and a provider's refusals without
     * usage cost 0: providers do not bill an error. An answer, or a call the client cut short, whose
     * usage was not reported has an unknown cost, as has a model the catalog does not price.
     */
    public static UsageRow of(UsageRecord r, Pricing pricing) {
        Tokens t = Tokens.of(r.usage());
        Long cost;
        if (r.provider() == null) {
            cost = 0L;
        } else if (!t.reported()) {
            int s = r.status();
            boolean mayHaveSpent = s / 100 == 2 || s == 499;
            Pricing.Price p = pricing.find(r.providerType(), r.model());
            cost = !mayHaveSpent || p == Pricing.Price.FREE ? Long.valueOf(0) : null;
        } else {
            cost = pricing.costNanos(r.providerType(), r.model(), t);
        }
        return new UsageRow(r, t, cost);
    }
}
