package dev.skiff.observe;

import dev.skiff.dialect.Usage;

/**
 * One request as observed: who served it, what it cost in tokens, how long it took and how it ended.
 * Times are milliseconds; {@code ttfbMs} is -1 when no response byte arrived.
 */
public record UsageRecord(long timestampMs, String requestId, String endpoint, String provider, String model,
                          boolean stream, int status, Usage usage, double latencyMs, double ttfbMs, String error) {}
