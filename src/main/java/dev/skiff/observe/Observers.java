package dev.skiff.observe;

import dev.skiff.observe.audit.AuditConfig;
import dev.skiff.observe.trace.Span;
import dev.skiff.observe.trace.Tracer;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpRequest;
import java.util.Arrays;

/**
 * The one seam between the request path and what observes it. The server calls {@link #begin} when a
 * request arrives (a trail, or null when nothing captures), a few capture hooks along the way, and
 * {@link #finished} once per request with its usage record: the usage log gets the record, then each
 * {@link CallObserver} (metrics, audit log, tracer) gets record and trail. Observers are added at
 * start-up, before traffic, but for the audit log, added when it is first turned on. The audit level
 * may change while requests run (see AuditSwitch): each request is captured at the level it began
 * with, which its trail keeps, and {@link #begin} reads the level once, a field.
 */
public final class Observers {
    private final UsageLog usageLog;
    private volatile CallObserver[] observers = new CallObserver[0];
    private volatile AuditConfig audit = AuditConfig.OFF;
    private volatile Tracer tracer;
    private final java.util.concurrent.atomic.LongAdder inFlight = new java.util.concurrent.atomic.LongAdder();

    public Observers(UsageLog usageLog) {
        this.usageLog = usageLog;
    }

    public UsageLog usageLog() {
        return usageLog;
    }

    public synchronized void add(CallObserver o) {
        CallObserver[] next = Arrays.copyOf(observers, observers.length + 1);
        next[next.length - 1] = o;
        observers = next;
    }

    /** Requests that begin from now on are captured for the audit log at {@code a}'s level. */
    public void audit(AuditConfig a) {
        this.audit = a;
    }

    /**
     * Whether client responses are captured now (the server then adds the audit tap to each new
     * connection; a connection made while the audit log was off gets it with its first audited request).
     */
    public boolean capturesResponses() {
        return audit.on();
    }

    /** Requests are traced (the tracer decides which are sampled). */
    public void tracer(Tracer t) {
        this.tracer = t;
        add(t);
    }

    /** A request arrived: its trail, or null when neither the audit log nor a sampled trace wants it. */
    public RequestTrail begin(HttpRequest req) {
        AuditConfig a = audit;
        Tracer tr = tracer;
        Span server = tr == null ? null : tr.startServer(req);
        if (!a.on() && server == null) return null;
        int cap = a.level() == AuditConfig.Level.BODIES ? a.maxBodyBytes() : 0;
        if (server != null && tr.config().captureContent()) cap = Math.max(cap, 64 << 10); // message content asked for in spans
        RequestTrail t = new RequestTrail(a.on(), cap, a.level() == AuditConfig.Level.BODIES);
        t.serverSpan = server;
        t.request(req);
        return t;
    }

    /**
     * The request to a provider is about to be sent: captured, and a client span started whose
     * {@code traceparent} the head carries to the provider.
     */
    public void upstream(RequestTrail t, HttpRequest head, ByteBuf body, String provider, String baseUrl) {
        if (t == null) return;
        Tracer tr = tracer;
        if (tr != null && t.serverSpan != null) {
            Tracer.supersede(t); // a retry or failover: the attempt before it ends here
            t.clientSpan = tr.startClient(t, head, provider);
            head.headers().set("traceparent", t.clientSpan.traceparent());
        }
        t.upstreamRequest(head, body);
        t.upstreamHost(baseUrl);
    }

    /** A request answered before the gateway took it (refused on its head): captured and finished at once. */
    public void refused(HttpRequest head, FullHttpResponse response, UsageRecord record) {
        RequestTrail t = head == null ? null : begin(head);
        if (t != null) t.clientWrite(response);
        finished(record, t);
    }

    /**
     * Once per request: the usage log, then every observer. When the audit log keeps its records in
     * usage rows (metadata level, usage stored), the trail goes to the usage log with the record, after
     * the observers (the tracer reads it on this thread; the usage writer releases it), and the audit
     * log leaves it alone.
     */
    public void finished(UsageRecord record, RequestTrail trail) {
        if (trail != null) trail.finish();
        boolean inRow = trail != null && trail.audited() && usageLog.auditsInRow(record, trail);
        if (inRow) trail.inUsageRow(true);
        else usageLog.record(record);
        for (CallObserver o : observers) {
            try {
                o.finished(record, trail);
            } catch (RuntimeException e) { // an observer's bug must not break the request path
                System.err.println("skiff: observer " + o.getClass().getSimpleName() + " failed: " + e);
            }
        }
        if (inRow) {
            usageLog.record(record, trail);
            return;
        }
        // The audit log releases the audited trails it is given once their records are made; any other is done with here.
        if (trail != null && !trail.audited()) trail.release();
    }

    /** A call started (ProxyCall, PassthroughCall): it counts as in flight until {@link #finishedCall}. */
    public void started() {
        inFlight.increment();
    }

    /** {@link #finished} for a call that {@link #started}. */
    public void finishedCall(UsageRecord record, RequestTrail trail) {
        inFlight.decrement();
        finished(record, trail);
    }

    /** Calls in flight now. */
    public long inFlight() {
        return inFlight.sum();
    }

    public void upstreamFailed(String provider, String kind) {
        for (CallObserver o : observers) o.upstreamFailed(provider, kind);
    }
}
