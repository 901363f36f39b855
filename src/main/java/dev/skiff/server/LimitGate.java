package dev.skiff.server;

import dev.skiff.control.limits.Counter;
import dev.skiff.control.limits.Decision;
import dev.skiff.control.limits.LimitPolicy;
import dev.skiff.control.limits.Limits;
import dev.skiff.control.limits.Metric;
import dev.skiff.dialect.Usage;
import io.netty.util.AsciiString;
import io.netty.util.concurrent.EventExecutor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * The admit stage of one call: its reservation (decided at once in process, or on its way back from
 * Redis while the request is prepared), the headers that tell the client what is left, and the
 * settlement when the call ends. The provider is called only once the reservation is admitted:
 * {@link ProxyCall#start} waits for it here. Runs on the call's event loop.
 */
final class LimitGate {
    /** Why a request is not admitted: the status, the error's message and code, and headers (Retry-After). */
    record Refusal(int status, String message, String code, Map<String, String> headers) {}

    private final Limits limits;
    private Decision decision; // null while Redis has not answered
    private Runnable parked; // the call's start, waiting for the decision
    private ProxyCall call;
    private boolean ended; // the call ended before the decision came
    private CompletableFuture<Void> endSettled; // then: completes once the decision came and was settled
    private boolean settled;
    private final Limits.Call estimated; // what was reserved for: the first target, and the others it may fail over to
    private boolean anthropic; // the client speaks Anthropic's API: its rate-limit headers too

    private LimitGate(Limits limits, Decision decision, Limits.Call estimated) {
        this.limits = limits;
        this.decision = decision;
        this.estimated = estimated;
    }

    /** A gate whose decision came at once (in process). */
    static LimitGate decided(Limits limits, Decision d, Limits.Call estimated) {
        return new LimitGate(limits, d, estimated);
    }

    /** A gate waiting for {@code pending}; the decision is handed to {@code loop}. */
    static LimitGate pending(Limits limits, CompletableFuture<Decision> pending, Executor loop, Limits.Call estimated) {
        LimitGate g = new LimitGate(limits, null, estimated);
        pending.whenComplete((d, error) -> {
            Decision decided = d != null ? d : new Decision.Unavailable("the limiter failed: " + error);
            // Redis on the request's own loop answers there: decided at once, without a task.
            if (loop instanceof EventExecutor e && e.inEventLoop()) g.decide(decided);
            else loop.execute(() -> g.decide(decided));
        });
        return g;
    }

    void attach(ProxyCall call, boolean anthropic) {
        this.call = call;
        this.anthropic = anthropic;
    }

    private void decide(Decision d) {
        decision = d;
        if (ended) { // the call ended meanwhile (refused, or the client left): nothing was called
            CompletableFuture<?> applied = d instanceof Decision.Admitted a ? limits.settle(a.ticket(), estimated, Usage.NONE, false, 499) : null;
            if (applied == null) endSettled.complete(null);
            else applied.whenComplete((r, e) -> endSettled.complete(null));
            return;
        }
        Refusal r = refusal(limits, d, anthropic);
        if (r != null) {
            parked = null;
            if (call != null) call.refuseByLimits(r);
            return;
        }
        Runnable p = parked;
        parked = null;
        if (p != null) p.run();
    }

    /** Runs {@code start} now if admitted, once admitted if pending; returns false when refused (the caller answers). */
    boolean whenAdmitted(Runnable start) {
        if (decision == null) {
            parked = start;
            return true;
        }
        if (refusal(limits, decision, anthropic) != null) return false;
        start.run();
        return true;
    }

    Refusal refusal() {
        return decision == null ? null : refusal(limits, decision, anthropic);
    }

    /** The refusal a decision means, or null when the request goes on. */
    static Refusal refusal(Limits limits, Decision d, boolean anthropic) {
        if (d instanceof Decision.Admitted) return null; // every admitted request asks: no pattern switch's dispatch for it
        return switch (d) {
            case Decision.Admitted a -> null;
            case Decision.Unavailable u -> limits.admitUnavailable(u) ? null : new Refusal(503,
                    "Skiff cannot check this request's limits (" + u.reason() + ") and refuses requests while it cannot "
                            + "(SKIFF_LIMITS_FAILURE=closed); try again shortly.", "limits_unavailable", Map.of("retry-after", "1"));
            case Decision.Refused r -> {
                LimitPolicy p = r.refused().charge().policy();
                long seconds = Math.max(1, (r.retryAfterMs() + 999) / 1000);
                String what = switch (p.refusalCode()) {
                    case "end_user_quota_exceeded" -> "End-user quota exceeded";
                    case "budget_exceeded" -> "Budget exceeded";
                    case "concurrency_limit_exceeded" -> "Too many concurrent requests";
                    default -> "Rate limit exceeded";
                };
                String message = what + ": " + p.describe() + " (" + r.refused().used() + " used"
                        + (r.refused().charge().amount() > 1 ? ", this request needs about " + r.refused().charge().amount() : "")
                        + "). Try again in " + seconds + " s.";
                Map<String, String> headers = new LinkedHashMap<>();
                headers.put("retry-after", Long.toString(seconds));
                rateHeaders(r.counters(), System.currentTimeMillis(), headers, anthropic);
                yield new Refusal(429, message, p.refusalCode(), headers);
            }
        };
    }

    /** The remaining-quota headers of an admitted request, replacing the provider's of the same names. */
    void decorate(BiConsumer<CharSequence, CharSequence> set) {
        if (decision instanceof Decision.Admitted a && !a.counters().isEmpty()) {
            rateHeaders(a.counters(), System.currentTimeMillis(), set::accept, anthropic);
        }
    }

    /**
     * OpenAI's names: {@code x-ratelimit-limit-requests}, {@code -remaining-requests},
     * {@code -reset-requests} (a duration like {@code 37s}), and the {@code -tokens} forms, each of
     * the counter with the least left; cost budgets as {@code x-skiff-budget-remaining-usd}. Anthropic
     * clients also get Anthropic's names ({@code anthropic-ratelimit-requests-limit}, {@code -remaining},
     * {@code -reset} as an RFC 3339 time, and the tokens forms).
     */
    static void rateHeaders(List<Counter> counters, long nowMs, Map<String, String> out, boolean anthropic) {
        rateHeaders(counters, nowMs, (BiConsumer<CharSequence, String>) (k, v) -> out.put(k.toString(), v), anthropic);
    }

    /** As above, each header handed to {@code out} (straight into a response's headers: no map on the way). */
    static void rateHeaders(List<Counter> counters, long nowMs, BiConsumer<CharSequence, String> out, boolean anthropic) {
        Counter requests = null, tokens = null, cost = null;
        for (Counter c : counters) {
            Metric m = c.charge().metric();
            if (m == Metric.REQUESTS && (requests == null || c.remaining() < requests.remaining())) requests = c;
            if (m == Metric.TOKENS && (tokens == null || c.remaining() < tokens.remaining())) tokens = c;
            if (m == Metric.COST && (cost == null || c.remaining() < cost.remaining())) cost = c;
        }
        if (requests != null) put(out, REQUESTS, requests, nowMs, anthropic);
        if (tokens != null) put(out, TOKENS, tokens, nowMs, anthropic);
        if (cost != null) out.accept(BUDGET_REMAINING, String.format(java.util.Locale.ROOT, "%.6f", cost.remaining() / 1e6));
    }

    /**
     * The header names of one metric, made once (they were concatenated on every response), as
     * AsciiStrings: their hash is kept and the encoder copies their bytes, where a String name is
     * hashed and encoded character by character on every response.
     */
    private record Names(AsciiString limit, AsciiString remaining, AsciiString reset, AsciiString anthropicLimit,
                         AsciiString anthropicRemaining, AsciiString anthropicReset, LastText limitText, LastText resetText) {
        static Names of(String what) {
            return new Names(AsciiString.cached("x-ratelimit-limit-" + what), AsciiString.cached("x-ratelimit-remaining-" + what),
                    AsciiString.cached("x-ratelimit-reset-" + what), AsciiString.cached("anthropic-ratelimit-" + what + "-limit"),
                    AsciiString.cached("anthropic-ratelimit-" + what + "-remaining"), AsciiString.cached("anthropic-ratelimit-" + what + "-reset"),
                    new LastText(""), new LastText("s"));
        }
    }

    private static final AsciiString BUDGET_REMAINING = AsciiString.cached("x-skiff-budget-remaining-usd");
    private static final Names REQUESTS = Names.of("requests"), TOKENS = Names.of("tokens");

    /**
     * A number's header text, kept for the next response: a limit is the same on every response of a
     * policy, a reset in seconds for a second (three Strings a response were the control row's largest
     * allocation on the event loops). One entry per header name; a race only makes the text again.
     */
    private static final class LastText {
        private record Text(long value, String text) {}

        private final String suffix;
        private volatile Text last;

        LastText(String suffix) {
            this.suffix = suffix;
            this.last = new Text(0, "0" + suffix);
        }

        String of(long value) {
            Text t = last;
            if (t.value() != value) last = t = new Text(value, value + suffix);
            return t.text();
        }
    }

    private static void put(BiConsumer<CharSequence, String> out, Names n, Counter c, long nowMs, boolean anthropic) {
        String limit = n.limitText().of(c.charge().limit());
        String remaining = Long.toString(c.remaining());
        out.accept(n.limit(), limit);
        out.accept(n.remaining(), remaining);
        out.accept(n.reset(), n.resetText().of(Math.max(0, (c.resetAtMs() - nowMs + 999) / 1000)));
        if (anthropic) {
            out.accept(n.anthropicLimit(), limit);
            out.accept(n.anthropicRemaining(), remaining);
            long reset = c.resetAtMs() > 0 ? c.resetAtMs() : nowMs;
            out.accept(n.anthropicReset(), java.time.Instant.ofEpochSecond((reset + 999) / 1000).toString());
        }
    }

    /**
     * Whether settling may move a counter, so needs the target that answered: false for a reservation
     * of request counts alone (settled by doing nothing), true while undecided.
     */
    boolean moves() {
        return !(decision instanceof Decision.Admitted a) || a.ticket().settles();
    }

    /** The call ended without any target answering: settle with what it used. */
    CompletableFuture<?> settle(Usage usage, boolean providerCalled, int status) {
        return settle(null, usage, providerCalled, status);
    }

    /**
     * The call ended: settle with what it used, at the price of {@code answered}, the target its last
     * attempt went to (null: the first), which after a failover is not the one reserved for.
     *
     * <p>Called before the client has the end of its answer, which waits for the returned future:
     * a client sends its next request as soon as it has read this one, maybe on another connection
     * or to another replica, and that request's reservation must find this one settled.
     *
     * @return null when the counters hold the settlement already (in process, or nothing moves, or
     *         settled before); else completes once they do (Redis applied it, or the decision still
     *         on its way came and was settled)
     */
    CompletableFuture<?> settle(Limits.Target answered, Usage usage, boolean providerCalled, int status) {
        if (settled) return null; // once, whichever end comes first
        settled = true;
        if (decision == null) {
            ended = true;
            parked = null;
            return endSettled = new CompletableFuture<>();
        }
        if (decision instanceof Decision.Admitted a) {
            CompletableFuture<?> applied = limits.settle(a.ticket(), answered == null ? estimated : estimated.at(answered), usage,
                    providerCalled, status);
            return applied == null || applied.isDone() ? null : applied;
        }
        return null;
    }
}
