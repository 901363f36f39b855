package dev.skiff.control.limits;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skiff.dialect.Usage;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

/**
 * The limits of a running Skiff: the policy snapshot (replaced whole by the store's refresher),
 * the limiter that counts, the cost model for money budgets, and what to do when the counters cannot
 * be reached. The request path asks it for a request's charges (a snapshot lookup: nothing when no
 * policy applies), reserves them, and settles them when the call ends.
 */
public final class Limits implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Limits.class.getName());
    /** Output reserved for a request that does not say how long an answer it wants. */
    public static final long DEFAULT_OUTPUT_TOKENS = 1024;

    private final Limiter limiter;
    private final boolean failOpen;
    private final Warnings warnings = new Warnings();
    private volatile CostModel costs;
    private volatile PolicySet policies = PolicySet.EMPTY;
    private final ConcurrentHashMap<String, KeyRules> keyRules = new ConcurrentHashMap<>();
    private final AtomicLong lastFailOpenLog = new AtomicLong(Long.MIN_VALUE);
    private final AtomicLong lastUnpricedLog = new AtomicLong(Long.MIN_VALUE);

    /** A key's own limits, parsed once per version of its JSON. */
    private record KeyRules(JsonNode source, List<LimitPolicy> policies) {}

    public Limits(Limiter limiter, boolean failOpen, CostModel costs) {
        this.limiter = limiter;
        this.failOpen = failOpen;
        this.costs = costs;
    }

    public boolean failOpen() {
        return failOpen;
    }

    public Limiter limiter() {
        return limiter;
    }

    public Warnings warnings() {
        return warnings;
    }

    public PolicySet policies() {
        return policies;
    }

    public void policies(PolicySet set) {
        policies = set;
    }

    public void costs(CostModel c) {
        costs = c;
    }

    /** A key's own policies from its {@code limits} JSON; a key whose JSON cannot be read counts nothing (its creation refused it). */
    public List<LimitPolicy> keyPolicies(String keyId, JsonNode limits) {
        if (keyId == null || limits == null || limits.isNull() || limits.isEmpty()) return List.of();
        KeyRules r = keyRules.get(keyId);
        if (r != null && r.source() == limits) return r.policies();
        List<LimitPolicy> parsed;
        try {
            parsed = PolicyJson.ofKey(keyId, limits);
        } catch (IllegalArgumentException e) {
            LOG.warning("skiff: the limits of key " + keyId + " cannot be read and are ignored: " + e.getMessage());
            parsed = List.of();
        }
        keyRules.put(keyId, new KeyRules(limits, parsed));
        return parsed;
    }

    /**
     * Whether no policy can apply to a request of a key with these limits (null for none): the
     * request path's whole cost of limits when none are configured, two field reads.
     */
    public boolean idle(JsonNode keyLimits) {
        return policies.isEmpty() && (keyLimits == null || keyLimits.isNull() || keyLimits.isEmpty());
    }

    /** A provider and model a call may be sent to: what its price is looked up by. */
    public record Target(dev.skiff.config.ProviderType provider, String model) {}

    /**
     * What a request is about to ask of a provider, for the estimate. {@code alternatives}: the other
     * targets it may fail over to, each possibly dearer than the first; empty for a single target.
     */
    public record Call(dev.skiff.config.ProviderType provider, String model, long bodyBytes, long maxTokens, boolean generates,
                       List<Target> alternatives) {
        public Call {
            alternatives = List.copyOf(alternatives);
        }

        public Call(dev.skiff.config.ProviderType provider, String model, long bodyBytes, long maxTokens, boolean generates) {
            this(provider, model, bodyBytes, maxTokens, generates, List.of());
        }

        /** The same request, sent to {@code target}. */
        public Call at(Target target) {
            return new Call(target.provider(), target.model(), bodyBytes, maxTokens, generates, List.of());
        }

        /** Input tokens: about four bytes of JSON per token, which errs high (JSON syntax counts too). */
        long inputTokens() {
            return (bodyBytes + 3) / 4;
        }

        long outputTokens() {
            return !generates ? 0 : maxTokens >= 0 ? maxTokens : DEFAULT_OUTPUT_TOKENS;
        }
    }

    /**
     * The charges of a request, with its estimated tokens and cost reserved; empty (and no work
     * beyond a lookup) when no policy applies.
     */
    public List<Charge> charges(String keyId, JsonNode keyLimits, String userPath, String endUser, Call call) {
        PolicySet set = policies;
        List<LimitPolicy> own = keyPolicies(keyId, keyLimits);
        if (set.isEmpty() && own.isEmpty()) return List.of();
        PolicySet.Request r = new PolicySet.Request(keyId, own, userPath, endUser);
        long tokens = call.inputTokens() + call.outputTokens();
        List<Charge> charges = set.charges(r, tokens, 0);
        // The price is looked up only when a money budget applies.
        for (int i = 0; i < charges.size(); i++) {
            Charge c = charges.get(i);
            if (c.metric() != Metric.COST) continue;
            long cost = dearestEstimate(call);
            if (cost < 0) {
                logAtMostEveryMinute(lastUnpricedLog, "skiff: no price is known for " + call.model() + " at " + call.provider()
                        + ": its calls are not counted against money budgets");
                break;
            }
            charges = new java.util.ArrayList<>(charges);
            for (int j = i; j < charges.size(); j++) {
                if (charges.get(j).metric() == Metric.COST) charges.set(j, charges.get(j).withAmount(cost));
            }
            break;
        }
        return charges;
    }

    /**
     * The estimate reserved against money budgets: that of the dearest target the call may end at
     * (it may fail over to any of them), so that a failover cannot spend more than was admitted;
     * settling gives back what the target that answered did not use. -1 when none is priced.
     */
    long dearestEstimate(Call call) {
        long cost = estimateMicros(call);
        for (Target t : call.alternatives()) cost = Math.max(cost, estimateMicros(call.at(t)));
        return cost;
    }

    private long estimateMicros(Call call) {
        return costs.estimateMicros(call.provider(), call.model(), call.inputTokens(), call.outputTokens());
    }

    public CompletableFuture<Decision> reserve(List<Charge> charges) {
        return limiter.reserve(charges).toCompletableFuture().thenApply(this::checked);
    }

    /**
     * The decision at once when the counters are in this process, or null when they are elsewhere
     * (Redis: use {@link #reserve}). Spares the request path a future and its callback per request.
     */
    public Decision reserveNow(List<Charge> charges) {
        return limiter instanceof LocalLimiter local ? checked(local.reserveNow(charges)) : null;
    }

    private Decision checked(Decision d) {
        if (d instanceof Decision.Admitted a) warnings.check(a.counters(), c -> c.charge().amount(), a.ticket().reservedAtMs());
        return d;
    }

    /**
     * Settles an admitted request at the price of {@code answered}, the call as sent to the target
     * that answered it last (after failovers, not necessarily the one reserved for).
     * {@code providerCalled}: whether a provider was asked at all (a request refused before it costs
     * nothing); a usage the provider never reported keeps the estimate when it may have run (a
     * cancelled stream), and is 0 when it answered an error.
     *
     * @return completes once the counters hold the settlement (at once in process, when Redis has
     *         applied it otherwise); null when nothing moves
     */
    public CompletableFuture<?> settle(Ticket ticket, Call answered, Usage usage, boolean providerCalled, int status) {
        if (!ticket.settles()) return null; // requests counted are counted: only tokens, cost and concurrency move at the end
        dev.skiff.config.ProviderType provider = answered.provider();
        String model = answered.model();
        long tokens, cost;
        boolean reported = usage.promptTokens() >= 0 || usage.completionTokens() >= 0 || usage.totalTokens() >= 0;
        if (!providerCalled || !reported && status >= 400 && status != 499) {
            tokens = 0;
            cost = 0;
        } else if (!reported) {
            tokens = -1;
            cost = estimateAt(ticket, answered); // the answering target's estimate, not the dearest one's
        } else {
            tokens = usage.totalTokens() >= 0 ? usage.totalTokens() : Math.max(0, usage.promptTokens()) + Math.max(0, usage.completionTokens());
            cost = costs.costMicros(provider, model, usage);
            if (cost < 0 && ticket.reserved(Metric.COST) == 0) cost = 0;
            if (status == 499) { // cut short: the provider may bill more than it reported before the client left
                tokens = Math.max(tokens, ticket.reserved(Metric.TOKENS));
                long estimate = estimateAt(ticket, answered);
                cost = cost < 0 ? -1 : Math.max(cost, estimate < 0 ? ticket.reserved(Metric.COST) : estimate);
            }
        }
        long t = tokens, m = cost;
        return limiter.settle(ticket, t, m).whenComplete((after, error) -> {
            if (after != null && !after.isEmpty()) {
                warnings.check(after, c -> Limiter.delta(c.charge(), t, m), System.currentTimeMillis());
            }
        }).toCompletableFuture();
    }

    /** What a money budget keeps of a call whose usage is not known: its estimate at the target that answered; -1 for the reservation. */
    private long estimateAt(Ticket ticket, Call answered) {
        if (ticket.reserved(Metric.COST) == 0) return -1;
        long estimate = estimateMicros(answered);
        return estimate < 0 ? -1 : Math.min(estimate, ticket.reserved(Metric.COST));
    }

    /**
     * The counters could not be reached: whether to admit anyway (failOpen), logged at most once a
     * minute so an outage does not flood the log.
     */
    public boolean admitUnavailable(Decision.Unavailable u) {
        if (failOpen) {
            logAtMostEveryMinute(lastFailOpenLog, "skiff: limits cannot be checked (" + u.reason()
                    + "); admitting requests without them (SKIFF_LIMITS_FAILURE=open)");
        }
        return failOpen;
    }

    private static void logAtMostEveryMinute(AtomicLong last, String message) {
        long now = System.nanoTime();
        long prev = last.get();
        if (prev != Long.MIN_VALUE && now - prev < 60_000_000_000L) return;
        if (last.compareAndSet(prev, now)) LOG.warning(message);
    }

    private volatile AutoCloseable closeWith;

    /** Something that lives as long as these limits (the policies' refresher). */
    public void closeWith(AutoCloseable c) {
        closeWith = c;
    }

    @Override
    public void close() {
        AutoCloseable c = closeWith;
        if (c != null) {
            try {
                c.close();
            } catch (Exception e) {
                LOG.warning("skiff: closing the limits: " + e.getMessage());
            }
        }
        limiter.close();
    }
}
