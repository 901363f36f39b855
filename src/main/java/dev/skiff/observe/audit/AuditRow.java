package dev.skiff.observe.audit;

/**
 * One audited request as stored: the columns the list filters and shows, the record's JSON ({@code
 * detail}), and at bodies level the bodies' bytes apart from it ({@code bodies}, see {@link #BODIES}):
 * null when none are, or for a list's rows, which carry neither. {@code id} is 0 until stored.
 * Latencies are µs, -1 when there were none; token counts -1 when unknown.
 */
public record AuditRow(long id, long ts, String requestId, String keyId, String userPath, String endUser, String method, String path,
                       String endpoint, String provider, String model, String requestedModel, boolean stream, int status, long latencyUs,
                       long ttftUs, long inputTokens, long outputTokens, String error, String level, String traceId, String detail,
                       byte[][] bodies, byte[] detailUtf8) {
    /** The bodies' slots, as their columns: the client's request and response, the provider's request and response. */
    static final int BODIES = 4;

    /** A row whose bodies, if any, are in its detail. */
    public AuditRow(long id, long ts, String requestId, String keyId, String userPath, String endUser, String method, String path,
                    String endpoint, String provider, String model, String requestedModel, boolean stream, int status, long latencyUs,
                    long ttftUs, long inputTokens, long outputTokens, String error, String level, String traceId, String detail) {
        this(id, ts, requestId, keyId, userPath, endUser, method, path, endpoint, provider, model, requestedModel, stream, status, latencyUs,
                ttftUs, inputTokens, outputTokens, error, level, traceId, detail, null, null);
    }

    /** A row as read, its detail a String. */
    public AuditRow(long id, long ts, String requestId, String keyId, String userPath, String endUser, String method, String path,
                    String endpoint, String provider, String model, String requestedModel, boolean stream, int status, long latencyUs,
                    long ttftUs, long inputTokens, long outputTokens, String error, String level, String traceId, String detail, byte[][] bodies) {
        this(id, ts, requestId, keyId, userPath, endUser, method, path, endpoint, provider, model, requestedModel, stream, status, latencyUs,
                ttftUs, inputTokens, outputTokens, error, level, traceId, detail, bodies, null);
    }

    /**
     * The detail as text. A row the writer made has it as UTF-8 only ({@code detailUtf8}, detail null),
     * which SQLite stores as it is: made a String and encoded again, a record's detail was most of
     * what the writer allocated.
     */
    @Override
    public String detail() {
        return detail != null || detailUtf8 == null ? detail : new String(detailUtf8, java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Body {@code slot}'s bytes as stored apart, or null. */
    byte[] body(int slot) {
        return bodies == null ? null : bodies[slot];
    }
}
