package dev.skiff.observe;

import dev.skiff.dialect.Usage;

/**
 * One request as observed: who served it, what it cost in tokens, how long it took and how it ended.
 * {@code requestedModel} is what the client named, {@code model} what the provider was asked for.
 * {@code droppedFields} lists what a translation could not carry to the provider (null when nothing).
 * Times are milliseconds; {@code ttfbMs} is -1 when no response byte arrived, {@code latencyMs} -1 for
 * answers Skiff wrote at once without a call (refusals, listings).
 */
public record UsageRecord(long timestampMs, String requestId, String endpoint, String provider, String requestedModel, String model,
                          boolean stream, int status, Usage usage, double latencyMs, double ttfbMs, String error,
                          String droppedFields) {}
