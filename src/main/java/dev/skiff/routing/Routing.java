package dev.skiff.routing;

import dev.skiff.config.RoutingConfig;
import dev.skiff.observe.Pricing;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Plans requests when routing is configured ({@link RoutingConfig#active()}): which targets a model
 * name stands for and in which order they are tried (virtual models and their strategies, per-model
 * fallbacks, the provider priority for bare names), and what is known of each target's health. The
 * state is per process: each replica ejects and balances on what it sees itself.
 */
public final class Routing {
    private final RoutingConfig config;
    private final ModelRouter router;
    private final RoutingBreaker breaker;
    // By provider, then model: found without making the "provider/model" key (every attempt looks its target up).
    private final Map<String, Map<String, TargetState>> targets = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> turns = new ConcurrentHashMap<>(); // round robin, per virtual model
    private final Pricing pricing; // null: prices unknown (cheapest keeps the configured order)
    private final ModelCatalog catalog;
    private volatile Resolved resolved; // the fallback plans of the catalog's current snapshot

    /**
     * The target lists of models with fallbacks, by the name the client used, as one catalog snapshot
     * resolves them: every request for such a model would otherwise resolve and copy its whole list
     * again. Only names that resolved to more than one target are kept, and a new snapshot starts
     * afresh, so this holds no more names than the catalog and the configuration do.
     */
    private record Resolved(ModelCatalog.Snapshot snapshot, Map<String, List<Route>> plans) {}

    public Routing(RoutingConfig config, ModelCatalog catalog, Pricing pricing) {
        this.config = config;
        this.router = new ModelRouter(catalog, config.providerPriority());
        this.breaker = RoutingBreaker.of(config.breaker());
        this.pricing = pricing;
        this.catalog = catalog;
        this.resolved = new Resolved(catalog.snapshot(), new ConcurrentHashMap<>());
        for (RoutingConfig.VirtualModel v : config.virtualModels().values()) turns.put(v.name(), new AtomicLong());
    }

    public RoutingConfig config() {
        return config;
    }

    public RoutingBreaker breaker() {
        return breaker;
    }

    /** The state of {@code route}'s target, made on first use. */
    public TargetState target(Route route) {
        String provider = route.provider().name();
        Map<String, TargetState> models = targets.get(provider);
        if (models == null) models = targets.computeIfAbsent(provider, p -> new ConcurrentHashMap<>());
        TargetState t = models.get(route.upstreamModel());
        return t != null ? t : models.computeIfAbsent(route.upstreamModel(), m -> new TargetState(provider + "/" + m));
    }

    /** Every target seen so far, for the admin API and metrics. */
    public List<TargetState.Snapshot> snapshot() {
        List<TargetState.Snapshot> out = new ArrayList<>();
        for (Map<String, TargetState> models : targets.values()) for (TargetState t : models.values()) out.add(t.snapshot(breaker));
        out.sort(Comparator.comparing(TargetState.Snapshot::target));
        return out;
    }

    /** Each target's circuit as the {@code skiff_circuit_breaker_state} gauge reads it: 0 closed, 1 open, 2 half-open. */
    public Map<String, Integer> circuitStates() {
        Map<String, Integer> out = new java.util.TreeMap<>();
        for (Map<String, TargetState> models : targets.values()) {
            for (TargetState t : models.values()) {
                out.put(t.key(), switch (t.circuit()) {
                    case CLOSED -> 0;
                    case OPEN -> 1;
                    case HALF_OPEN -> 2;
                });
            }
        }
        return out;
    }

    /** Whether {@code model} is a virtual model, whose plan may depend on the request's session header. */
    public boolean isVirtual(String model) {
        return config.virtualModels().containsKey(model);
    }

    /**
     * The targets for {@code model}, best first; {@code session} (may be null) keeps a session on one
     * target of a virtual model. Targets whose circuit is open are left out; when that leaves none,
     * the request is refused (503) rather than sent where it is known to fail.
     */
    public Plan plan(String model, String session) throws RouteException {
        RoutingConfig.VirtualModel v = config.virtualModels().get(model);
        List<Route> routes;
        if (v != null) {
            routes = ordered(v, session);
        } else if (config.fallbacks().isEmpty()) {
            routes = router.resolveAll(model);
        } else {
            Resolved r = resolved;
            ModelCatalog.Snapshot now = catalog.snapshot();
            if (r.snapshot() != now) resolved = r = new Resolved(now, new ConcurrentHashMap<>());
            routes = r.plans().get(model);
            if (routes == null) {
                routes = withFallbacks(model);
                if (routes.size() > 1) r.plans().put(model, routes);
            }
        }
        return new Plan(available(model, routes), config.retry().maxRetries() > 0);
    }

    /** {@code model}'s targets followed by those of its fallbacks, if it has any; an unmodifiable list. */
    private List<Route> withFallbacks(String model) throws RouteException {
        List<Route> primary = router.resolveAll(model);
        List<String> more = config.fallbacks().get(model);
        if (more == null) {
            Route first = primary.getFirst();
            more = config.fallbacks().get(first.provider().name() + "/" + first.upstreamModel());
        }
        if (more == null) return primary;
        List<Route> routes = new ArrayList<>(primary);
        for (String m : more) addAll(routes, m);
        return List.copyOf(routes);
    }

    private void addAll(List<Route> routes, String model) throws RouteException {
        for (Route r : router.resolveAll(model)) if (!routes.contains(r)) routes.add(r);
    }

    private List<Route> available(String model, List<Route> routes) throws RouteException {
        if (!breaker.enabled()) return routes;
        List<Route> open = null;
        for (Route r : routes) {
            if (!target(r).available(breaker)) {
                if (open == null) open = new ArrayList<>(routes.size());
                open.add(r);
            }
        }
        if (open == null) return routes;
        if (open.size() == routes.size()) {
            throw new RouteException(503, "circuit_open", "Every target of the model '" + model + "' failed repeatedly and is resting ("
                    + String.join(", ", routes.stream().map(r -> r.provider().name() + "/" + r.upstreamModel()).toList())
                    + "); try again in " + Math.max(1, breaker.timeoutNanos() / 1_000_000_000L) + " s.");
        }
        List<Route> healthy = new ArrayList<>(routes);
        healthy.removeAll(open);
        return healthy;
    }

    /**
     * A model listing ({@code {"object":"list","data":[...]}}) with the virtual models added, so that
     * clients that check their model against the listing accept them (owned by {@code skiff}). A key
     * allowed only some models is shown only the {@code provider/model} ids it may use, not these.
     */
    public byte[] withVirtualModels(byte[] listing) {
        try {
            var tree = (com.fasterxml.jackson.databind.node.ObjectNode) dev.skiff.dialect.openai.OpenAiChat.JSON.readTree(listing);
            var data = tree.withArray("data");
            for (RoutingConfig.VirtualModel v : config.virtualModels().values()) {
                data.addObject().put("id", v.name()).put("object", "model").put("created", 0).put("owned_by", "skiff")
                        .put("skiff_virtual", true);
            }
            return dev.skiff.dialect.openai.OpenAiChat.JSON.writeValueAsBytes(tree);
        } catch (java.io.IOException | ClassCastException e) {
            return listing; // a listing Skiff made itself is JSON; should it not be, it goes as it is
        }
    }

    /** A virtual model's targets in the order its strategy (or the session) picks for this request. */
    private List<Route> ordered(RoutingConfig.VirtualModel v, String session) throws RouteException {
        List<RoutingConfig.WeightedTarget> ts = v.targets();
        List<Route> routes = new ArrayList<>(ts.size());
        List<Integer> weights = new ArrayList<>(ts.size());
        for (RoutingConfig.WeightedTarget t : ts) {
            for (Route r : router.resolveAll(t.model())) {
                if (routes.contains(r)) continue;
                routes.add(r);
                weights.add(t.weight());
            }
        }
        int total = 0;
        for (int w : weights) total += w;
        int pick = -1;
        if (session != null && total > 0) {
            pick = weighted(weights, Math.floorMod(mix(session.hashCode() * 31L + v.name().hashCode()), total));
        } else {
            switch (v.strategy()) {
                case FAILOVER -> pick = -1;
                case ROUND_ROBIN -> {
                    if (total > 0) pick = weighted(weights, (int) Math.floorMod(turns.get(v.name()).getAndIncrement(), (long) total));
                }
                case LEAST_LATENCY -> routes.sort(Comparator.comparingDouble(r -> target(r).latencyMs()));
                case LEAST_BUSY -> routes.sort(Comparator.comparingInt(r -> target(r).inFlight()));
                case CHEAPEST -> routes.sort(Comparator.comparingLong(this::price));
            }
        }
        if (pick > 0) routes.addFirst(routes.remove(pick));
        return routes;
    }

    /** The index whose share of the total weight holds {@code n}. */
    private static int weighted(List<Integer> weights, int n) {
        for (int i = 0; i < weights.size(); i++) {
            n -= weights.get(i);
            if (n < 0) return i;
        }
        return 0;
    }

    private static long mix(long h) {
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        return h & Long.MAX_VALUE;
    }

    /** Input plus output price per token, in nanodollars; unknown prices sort last. */
    private long price(Route r) {
        TargetState t = target(r);
        Long p = t.priceNanos;
        if (p == null) {
            Pricing.Price price = pricing == null ? null : pricing.find(r.provider().type(), r.upstreamModel());
            p = price == null ? Long.MAX_VALUE : price.input() + price.output();
            t.priceNanos = p;
        }
        return p;
    }
}
