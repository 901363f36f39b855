package dev.skiff.routing;

import dev.skiff.config.RoutingConfig;

/** The breaker settings in the form the hot path reads them (nanoseconds, no Duration arithmetic). */
public record RoutingBreaker(boolean enabled, int failureThreshold, int successThreshold, long timeoutNanos) {
    public static RoutingBreaker of(RoutingConfig.Breaker b) {
        return new RoutingBreaker(b.enabled(), b.failureThreshold(), b.successThreshold(), b.timeout().toNanos());
    }
}
