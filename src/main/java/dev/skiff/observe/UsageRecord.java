package dev.skiff.observe;

import dev.skiff.config.ProviderType;
import dev.skiff.control.Caller;
import dev.skiff.dialect.Usage;
import dev.skiff.routing.Attempt;
import java.util.List;

/**
 * One request as observed: who served it, what it cost in tokens, how long it took and how it ended.
 * {@code requestedModel} is what the client named, {@code model} what the provider was asked for.
 * {@code droppedFields} lists what a translation could not carry to the provider (null when nothing).
 * Times are milliseconds; {@code ttfbMs} (the provider's response head) and {@code ttftMs} (the first
 * byte of the answer's body: the first event of a stream) are -1 when none arrived, {@code latencyMs}
 * -1 for answers Skiff wrote at once without a call (refusals, listings). {@code caller} is who the
 * request acts for (null when it was refused before anyone was identified), {@code providerType}
 * what prices its tokens (null when no provider was called). The cost is not here: the usage writer
 * prices the record off the request path. {@code attempts} counts the upstream attempts; {@code
 * attemptLog} lists them (target, status, why it was not the last, duration) when routing made more
 * than one possible, else it is null.
 */
public record UsageRecord(long timestampMs, String requestId, String endpoint, String provider, ProviderType providerType,
                          String requestedModel, String model, boolean stream, int status, Usage usage, double latencyMs,
                          double ttfbMs, double ttftMs, String error, String droppedFields, Caller caller, int attempts,
                          List<Attempt> attemptLog) {

    /** A request of one attempt (no retry or failover configured): no attempt log. */
    public UsageRecord(long timestampMs, String requestId, String endpoint, String provider, ProviderType providerType,
                       String requestedModel, String model, boolean stream, int status, Usage usage, double latencyMs,
                       double ttfbMs, double ttftMs, String error, String droppedFields, Caller caller, int attempts) {
        this(timestampMs, requestId, endpoint, provider, providerType, requestedModel, model, stream, status, usage, latencyMs, ttfbMs, ttftMs,
                error, droppedFields, caller, attempts, null);
    }

    /** A record with no caller, provider type or first-token time: refusals Skiff answers itself. */
    public UsageRecord(long timestampMs, String requestId, String endpoint, String provider, String requestedModel, String model,
                       boolean stream, int status, Usage usage, double latencyMs, double ttfbMs, String error, String droppedFields) {
        this(timestampMs, requestId, endpoint, provider, null, requestedModel, model, stream, status, usage, latencyMs, ttfbMs, -1, error,
                droppedFields, null, 1);
    }

    public String keyId() {
        return caller == null ? null : caller.keyId();
    }

    public String userPath() {
        return caller == null ? null : caller.userPath();
    }

    public String endUser() {
        return caller == null ? null : caller.endUser();
    }
}
