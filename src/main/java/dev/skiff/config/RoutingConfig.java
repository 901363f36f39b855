package dev.skiff.config;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * How requests are routed when one call is not enough: retries of the same target, failover to an
 * ordered list of others, circuit breakers per target, virtual models and the priority of providers
 * that serve the same bare model name. With nothing configured ({@link #active()} false) Skiff
 * routes as before and a request pays for none of it.
 *
 * @param retry          retries of one target ({@code RETRY_*}, {@code routing.retry})
 * @param failover       what moves a request to its next target ({@code FAILOVER_*}, {@code routing.failover})
 * @param breaker        per-target circuit breakers ({@code CIRCUIT_BREAKER_*}, {@code routing.circuit_breaker})
 * @param fallbacks      per model, the targets ({@code provider/model}) tried after it, in order
 * @param virtualModels  names clients use, mapped to weighted targets
 * @param providerPriority providers in the order that serves a bare model name several of them list
 * @param sessionHeader  the request header whose value keeps a session on one target of a virtual model
 */
public record RoutingConfig(Retry retry, Failover failover, Breaker breaker, Map<String, List<String>> fallbacks,
                            Map<String, VirtualModel> virtualModels, List<String> providerPriority, String sessionHeader) {
    public RoutingConfig {
        fallbacks = Map.copyOf(fallbacks);
        virtualModels = Map.copyOf(virtualModels);
        providerPriority = List.copyOf(providerPriority);
    }

    /**
     * @param maxRetries     retries of one target after its first attempt; 0 turns retries off
     * @param initialBackoff the first backoff's ceiling (full jitter: the wait is uniform below it)
     * @param maxBackoff     the ceiling no backoff exceeds; a provider asking for longer is failed over instead
     * @param factor         how much the ceiling grows per retry
     * @param statuses       upstream statuses retried on the same target
     */
    public record Retry(int maxRetries, Duration initialBackoff, Duration maxBackoff, double factor, Set<Integer> statuses) {
        public Retry {
            statuses = Set.copyOf(statuses);
        }
    }

    /**
     * @param enabled          whether a failed target hands the request to the next one
     * @param statuses         upstream statuses that do
     * @param maxAttempts      most targets tried per request; 0 for all of them
     * @param firstTokenTimeout longest a stream may wait for its first byte of answer before the next target is tried (null: no limit but the upstream timeouts)
     */
    public record Failover(boolean enabled, Set<Integer> statuses, int maxAttempts, Duration firstTokenTimeout) {
        public Failover {
            statuses = Set.copyOf(statuses);
        }
    }

    /**
     * @param enabled          whether targets are ejected at all
     * @param failureThreshold consecutive failures that open a target's circuit
     * @param successThreshold successful probes that close it again
     * @param timeout          how long an open circuit waits before it lets a probe through
     */
    public record Breaker(boolean enabled, int failureThreshold, int successThreshold, Duration timeout) {}

    /** A virtual model's target: {@code provider/model} (or a bare model name) and its weight. */
    public record WeightedTarget(String model, int weight) {}

    public record VirtualModel(String name, Strategy strategy, List<WeightedTarget> targets) {
        public VirtualModel {
            targets = List.copyOf(targets);
        }
    }

    /** How a virtual model orders its targets for one request; the rest of the order is the failover list. */
    public enum Strategy {
        /** The configured order: the first healthy target, then the next. */
        FAILOVER("failover", "priority"),
        /** Weighted round robin over the targets. */
        ROUND_ROBIN("round_robin", "weighted_round_robin", "weighted"),
        /** The target that answered fastest lately (an average of its recent latencies). */
        LEAST_LATENCY("least_latency", "latency"),
        /** The target with the fewest requests in flight from this Skiff. */
        LEAST_BUSY("least_busy", "least_connections"),
        /** The target with the lowest price per token (observe/Pricing). */
        CHEAPEST("cheapest", "cost");

        private final List<String> names;

        Strategy(String... names) {
            this.names = List.of(names);
        }

        public String id() {
            return names.getFirst();
        }

        public static Optional<Strategy> of(String name) {
            String n = name.strip().toLowerCase(Locale.ROOT).replace('-', '_');
            for (Strategy s : values()) if (s.names.contains(n)) return Optional.of(s);
            return Optional.empty();
        }
    }

    public static final Set<Integer> DEFAULT_RETRY_STATUSES = Set.of(408, 429, 502, 503, 504);

    public static RoutingConfig defaults() {
        return new RoutingConfig(new Retry(0, Duration.ofMillis(250), Duration.ofSeconds(5), 2.0, DEFAULT_RETRY_STATUSES),
                new Failover(true, RoutingSettings.statuses("default", "429,5xx"), 0, null),
                new Breaker(true, 5, 2, Duration.ofSeconds(30)), Map.of(), Map.of(), List.of(), "X-Session-Id");
    }

    /** Whether anything here changes how a request is routed: otherwise the router is used as it was. */
    public boolean active() {
        return retry.maxRetries() > 0 || !fallbacks.isEmpty() || !virtualModels.isEmpty() || !providerPriority.isEmpty();
    }

    @Override
    public String toString() {
        return "RoutingConfig[retries=" + retry.maxRetries() + ", fallbacks=" + fallbacks.keySet() + ", virtualModels=" + virtualModels.keySet()
                + ", providerPriority=" + providerPriority + ", breaker=" + (breaker.enabled() ? breaker.failureThreshold() + "/" + breaker.timeout() : "off") + "]";
    }
}
