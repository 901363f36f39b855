package dev.skiff.observe.audit;

/**
 * A question to the audit log: the most recent requests first, narrowed by any of the filters.
 *
 * @param fromMs   received at or after (epoch ms)
 * @param toMs     received before (epoch ms)
 * @param keyId    only this managed key
 * @param path     only this user path and its subtree
 * @param endUser  only this end user
 * @param model    only this model (as the provider was asked for it)
 * @param provider only this provider
 * @param endpoint only this endpoint (chat, messages, responses, embeddings, ...)
 * @param statusFrom only statuses from this (inclusive) ...
 * @param statusTo   ... to this (inclusive)
 * @param before   the cursor: only audit rows with an id below it (0: from the newest)
 * @param beforeUsage the cursor's other half: only usage rows (their audit records) with an id below it (0: from the newest)
 * @param limit    rows at most
 */
public record AuditQuery(long fromMs, long toMs, String keyId, String path, String endUser, String model, String provider, String endpoint,
                         int statusFrom, int statusTo, long before, long beforeUsage, int limit) {
    public static final int MAX_LIMIT = 500;

    public AuditQuery {
        if (toMs <= fromMs) throw new IllegalArgumentException("'to' must be after 'from'");
        if (limit < 1 || limit > MAX_LIMIT) throw new IllegalArgumentException("limit must be between 1 and " + MAX_LIMIT);
    }

    /** {@code 429}, {@code 4xx} or {@code error} (400 and above) as a range of statuses. */
    static int[] statusRange(String s) {
        if (s.equals("error")) return new int[] {400, 599};
        if (s.matches("[1-5]xx")) {
            int c = (s.charAt(0) - '0') * 100;
            return new int[] {c, c + 99};
        }
        if (s.matches("\\d{3}")) {
            int v = Integer.parseInt(s);
            return new int[] {v, v};
        }
        throw new IllegalArgumentException("status must be a status (429), a class (4xx) or 'error' (got '" + s + "')");
    }
}
