package dev.skiff.observe;

/**
 * A request's record as stored: its tokens by class and its cost in nanodollars (null when unknown:
 * the model has no price, or the provider answered without reporting usage), and the audit log's
 * record of it when the audit log keeps its records in usage rows (JSON in UTF-8; null when it does not), with
 * at bodies level the bodies' bytes ({@code auditBodies}: the client's request and response, the
 * provider's request and response, each null when not kept; null when none are) and the capture budget
 * they hold until the row is stored or dropped ({@code auditHeld}, see {@link RequestTrail#handOver}).
 */
public record UsageRow(UsageRecord record, Tokens tokens, Long costNanos, byte[] audit, byte[][] auditBodies, long auditHeld) {
    public UsageRow(UsageRecord record, Tokens tokens, Long costNanos) {
        this(record, tokens, costNanos, null, null, 0);
    }

    /** This row carrying {@code audit}. */
    public UsageRow withAudit(String audit) {
        return withAudit(audit.getBytes(java.nio.charset.StandardCharsets.UTF_8), null, 0);
    }

    /** This row carrying an audit record (UTF-8) with its bodies, which hold {@code held} bytes of the capture budget. */
    public UsageRow withAudit(byte[] audit, byte[][] bodies, long held) {
        return new UsageRow(record, tokens, costNanos, audit, bodies, held);
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
