package dev.skiff.server;

import dev.skiff.config.RoutingConfig;
import dev.skiff.routing.Attempt;
import dev.skiff.routing.Backoff;
import dev.skiff.routing.Failure;
import dev.skiff.routing.Plan;
import dev.skiff.routing.Route;
import dev.skiff.routing.Routing;
import dev.skiff.routing.TargetState;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.concurrent.EventExecutor;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * The attempts of one request that may take more than one (a {@link Plan} that can retry): which
 * target is next, how long to wait before it, and what each attempt did, for the usage record and
 * the {@code x-skiff-attempts} header. Runs on the request's event loop; its waits are timers there,
 * never a sleep. Only requests with routing configured have one: the others pay for none of this.
 */
final class Attempts {
    /** Sends the request again, to {@code route}, through the same call (re-translated if its dialect differs). */
    interface Redo {
        void send(ProxyCall call, Route route);
    }

    /** The same for a passthrough call. */
    interface PassthroughRedo {
        void send(PassthroughCall call, Route route);
    }

    private final Routing routing;
    private final RoutingConfig.Retry retry;
    private final RoutingConfig.Failover failover;
    private final List<Route> routes;
    private final Redo redo;
    private final PassthroughRedo passthroughRedo;
    private final long deadlineNanos;
    private final long firstTokenNanos;
    private List<Attempt> log; // made by the first failed attempt: a request answered at once lists none
    private Runnable releaseBody; // what a re-send needs of the client's request, kept until nothing can be re-sent
    private int index; // the current target
    private int targetsTried = 1;
    private int retries; // of the current target
    private int count; // attempts sent
    private long sentNanos;
    private TargetState current; // the current attempt's target, while it is in flight
    private boolean exhausted; // the last failure was the answer: no more attempts
    private Future<?> timer;
    private Future<?> deadline; // armed with the first retry: the exchanges' own timeouts bound only the first attempt

    Attempts(Routing routing, Plan plan, long deadlineNanos, boolean stream, Runnable releaseBody, Redo redo) {
        this(routing, plan, deadlineNanos, stream, releaseBody, redo, null);
    }

    static Attempts passthrough(Routing routing, Plan plan, long deadlineNanos, PassthroughRedo redo) {
        return new Attempts(routing, plan, deadlineNanos, false, null, null, redo);
    }

    private Attempts(Routing routing, Plan plan, long deadlineNanos, boolean stream, Runnable releaseBody, Redo redo,
                     PassthroughRedo passthroughRedo) {
        this.passthroughRedo = passthroughRedo;
        this.routing = routing;
        this.retry = routing.config().retry();
        this.failover = routing.config().failover();
        this.routes = plan.routes();
        this.redo = redo;
        this.deadlineNanos = deadlineNanos;
        this.releaseBody = releaseBody;
        this.firstTokenNanos = stream && failover.firstTokenTimeout() != null ? failover.firstTokenTimeout().toNanos() : 0;
    }

    Route route() {
        return routes.get(index);
    }

    /** Attempts so far, as {@code x-skiff-attempts} says it: at least one. */
    int count() {
        return Math.max(1, count);
    }

    /** Whether a first attempt was sent: a further one is admitted already (limits, translation memory). */
    boolean started() {
        return count > 0;
    }

    /**
     * The attempts as the usage record keeps them, the last one included once the call has finished;
     * null when there were fewer than two (answered at once, or before any attempt): a request that
     * took one attempt says it in its count alone, as one without routing does.
     */
    List<Attempt> logCopy() {
        return log == null ? null : List.copyOf(log);
    }

    /** The current attempt's request went out. */
    void sent(Route route) {
        count++;
        sentNanos = System.nanoTime();
        current = routing.target(route);
        // A half-open target whose probe is already in flight is called anyway: the plan chose it.
        current.tryAcquire(sentNanos, routing.breaker());
        current.started();
    }

    /** A stream without its first byte of answer after this long fails over; 0 for no such limit. */
    long firstTokenNanos() {
        return firstTokenNanos;
    }

    void redo(ProxyCall call) {
        redo.send(call, route());
    }

    void redo(PassthroughCall call) {
        passthroughRedo.send(call, route());
    }

    /**
     * The failure an error answer is, as far as retrying and failing over care; null when it is the
     * client's answer (a 400 for a bad request goes back as it is).
     */
    Failure classify(int status, ByteBuf body) {
        if (retry.statuses().contains(status) || failover.enabled() && failover.statuses().contains(status)) return Failure.STATUS;
        if (status != 400 && status != 404 && status != 413 && status != 422) return null;
        if (!failover.enabled() || index + 1 >= routes.size()) return null; // nothing to fail over to
        return dev.skiff.routing.ProviderErrors.classify(body);
    }

    /**
     * The current attempt failed before anything reached the client. Returns the wait, in
     * nanoseconds, before the next attempt (to {@link #route()}), or -1 when this failure is the
     * answer: no retries or targets left, or no time left before the request's deadline.
     */
    long failed(Failure kind, int status, HttpHeaders headers) {
        if (exhausted) return -1;
        long now = System.nanoTime();
        long delay = next(kind, status, headers, now);
        if (delay < 0 || now + delay >= deadlineNanos) {
            exhausted = true;
            return -1;
        }
        Route was = routes.get(lastIndex);
        if (log == null) log = new ArrayList<>(4);
        log.add(new Attempt(was.provider().name(), was.upstreamModel(), status, kind.id(), (now - sentNanos) / 1e6));
        if (current != null) {
            current.ended(now, now - sentNanos, kind, routing.breaker());
            current = null;
        }
        return delay;
    }

    private int lastIndex;

    private long next(Failure kind, int status, HttpHeaders headers, long now) {
        lastIndex = index;
        boolean sameTargetHelps = kind == Failure.TRANSPORT || kind == Failure.TIMEOUT
                || kind == Failure.STATUS && retry.statuses().contains(status);
        if (sameTargetHelps && retries < retry.maxRetries()) {
            // The key the provider rate-limited now rests in its pool (provider/KeyPool): with another key
            // ready, the same target is tried again at once, whatever Retry-After said about the key used.
            if (kind == Failure.STATUS && status == 429 && routes.get(lastIndex).provider().hasReadyKey()) {
                retries++;
                return 0;
            }
            long asked = Backoff.askedNanos(headers, status, System.currentTimeMillis());
            // A provider that asks for a longer wait than Skiff would ever make is failed over instead.
            if (asked <= retry.maxBackoff().toNanos()) {
                retries++;
                return asked >= 0 ? asked : Backoff.jitteredNanos(retry, retries);
            }
        }
        boolean failsOver = failover.enabled() && (kind != Failure.STATUS || failover.statuses().contains(status));
        if (!failsOver) return -1;
        for (int i = index + 1; i < routes.size(); i++) {
            if (failover.maxAttempts() > 0 && targetsTried >= failover.maxAttempts()) return -1;
            if (pinned != null && routes.get(i).provider() != pinned) continue;
            index = i;
            targetsTried++;
            retries = 0;
            if (routing.target(routes.get(index)).circuit() != TargetState.Circuit.OPEN || lastOfPinned(index)) return 0;
        }
        return -1;
    }

    /** Whether no target after {@code i} may be tried: the last is called even with its circuit open. */
    private boolean lastOfPinned(int i) {
        for (int j = i + 1; j < routes.size(); j++) if (pinned == null || routes.get(j).provider() == pinned) return false;
        return true;
    }

    private dev.skiff.provider.Provider pinned; // the provider every further attempt must go to, when only it can answer

    /**
     * Further attempts go only to the current target's provider: the request names something only
     * it keeps (a response it stored, which another provider would not know).
     */
    void stayWithProvider() {
        pinned = routes.get(index).provider();
    }

    /** Runs {@code task} on {@code loop} after {@code delayNanos} (at once for 0), replacing any pending timer. */
    void schedule(EventExecutor loop, Runnable task, long delayNanos) {
        cancelTimer();
        if (delayNanos <= 0) loop.execute(task);
        else timer = loop.schedule(task, delayNanos, TimeUnit.NANOSECONDS);
    }

    /** Runs {@code task} when the request's deadline passes, unless {@link #finish} comes first; armed once. */
    void armDeadline(EventExecutor loop, Runnable task) {
        if (deadline != null) return;
        deadline = loop.schedule(task, Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
    }

    /** No attempt after this one: the deadline passed. */
    void expire() {
        exhausted = true;
    }

    void cancelTimer() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    /** Something of the answer reached the client: nothing is sent again, so the request is let go. */
    void commit() {
        cancelTimer();
        if (releaseBody != null) {
            releaseBody.run();
            releaseBody = null;
        }
    }

    /** The call finished with {@code status} at {@code now} (nanoTime): the last attempt is logged and its target told. */
    void finish(int status, String error, boolean upstreamFailure, long now) {
        commit();
        if (deadline != null) {
            deadline.cancel(false);
            deadline = null;
        }
        exhausted = true;
        if (count == 0) return; // answered before any attempt (refused, or the client left while waiting)
        if (current != null) {
            if (log != null) { // an earlier attempt failed: the log lists this one too
                Route r = routes.get(index);
                log.add(new Attempt(r.provider().name(), r.upstreamModel(), status, error == null ? null : upstreamFailure ? "upstream" : "other",
                        (now - sentNanos) / 1e6));
            }
            if (status == 499) current.ended(now, now - sentNanos, Failure.CIRCUIT_OPEN, routing.breaker()); // neither health nor sickness
            else current.ended(now, now - sentNanos, upstreamFailure ? Failure.STATUS : null, routing.breaker());
            current = null;
        }
    }
}
