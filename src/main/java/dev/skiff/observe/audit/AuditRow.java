package dev.skiff.observe.audit;

/**
 * One audited request as stored: the columns the list filters and shows, and the whole record as JSON
 * ({@code detail}). {@code id} is 0 until stored. Latencies are µs, -1 when there were none; token
 * counts -1 when unknown.
 */
public record AuditRow(long id, long ts, String requestId, String keyId, String userPath, String endUser, String method, String path,
                       String endpoint, String provider, String model, String requestedModel, boolean stream, int status, long latencyUs,
                       long ttftUs, long inputTokens, long outputTokens, String error, String level, String traceId, String detail) {
}
