package dev.skiff.observe.trace;

import dev.skiff.observe.CallObserver;
import dev.skiff.observe.RequestTrail;
import dev.skiff.observe.UsageRecord;
import io.netty.handler.codec.http.HttpRequest;

/** Placeholder until tracing lands: samples nothing. */
public class Tracer implements CallObserver {
    public Span startServer(HttpRequest req) {
        return null;
    }

    public Span startClient(RequestTrail t, HttpRequest head, String provider) {
        throw new IllegalStateException();
    }

    @Override
    public void finished(UsageRecord record, RequestTrail trail) {}
}
