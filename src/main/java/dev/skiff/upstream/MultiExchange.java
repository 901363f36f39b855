package dev.skiff.upstream;

import dev.skiff.provider.Provider;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Several requests to one provider whose answers reach a single {@link ExchangeListener} as one
 * response, for a provider that takes fewer items per call than the client sent (Bedrock's Titan
 * embeds one text per call). The listener cannot tell it from one {@link Exchange}:
 *
 * <ul>
 *   <li>all answers 2xx: a 200 whose body is the JSON array of the answer bodies, in request order
 *       whatever order they arrived in;
 *   <li>an answer that is not 2xx: that answer, head and body as they came (its status, message and
 *       {@code retry-after} reach the client), and the others are cancelled: the first failure wins;
 *   <li>a transport failure or timeout: that failure, and the others are cancelled.
 * </ul>
 *
 * <p>At most {@link #MAX_IN_FLIGHT} requests are in flight at once, so that one client request does
 * not open dozens of connections nor trip the provider's rate limit by itself. Each request has the
 * usual timeouts; the total timeout also bounds the whole, counted from the first request. Lives on
 * one event loop, like {@link Exchange}.
 */
public final class MultiExchange implements UpstreamCall {
    /** One request: its head (credentials and Content-Length included) and body. */
    public record Part(HttpRequest head, ByteBuf body) {}

    static final int MAX_IN_FLIGHT = 16;
    /** As for one buffered response: answers are gathered on the heap before anything is written. */
    private static final int MAX_GATHERED = 64 << 20;
    private static final byte[] OPEN = {'['};
    private static final byte[] COMMA = {','};
    private static final byte[] CLOSE = {']'};

    private final UpstreamClient client;
    private final Provider provider;
    private final EventLoop loop;
    private final ByteBufAllocator alloc;
    private final ExchangeListener listener;
    private final List<Part> parts; // a slot is cleared once its body is handed to an Exchange
    private final Exchange[] exchanges;
    private final HttpResponse[] heads;
    private final CompositeByteBuf[] bodies;
    private int launched;
    private int completed;
    private long gathered;
    private int failing = -1; // the part whose error answer is being read, if any
    private boolean done;
    private ScheduledFuture<?> deadline;

    private MultiExchange(UpstreamClient client, Provider provider, EventLoop loop, ByteBufAllocator alloc, List<Part> parts,
                          ExchangeListener listener) {
        this.client = client;
        this.provider = provider;
        this.loop = loop;
        this.alloc = alloc;
        this.listener = listener;
        this.parts = new ArrayList<>(parts);
        int n = parts.size();
        this.exchanges = new Exchange[n];
        this.heads = new HttpResponse[n];
        this.bodies = new CompositeByteBuf[n];
    }

    /**
     * Sends {@code parts} (at least one) from {@code loop}, the caller's. Takes ownership of their
     * bodies. Callbacks run on {@code loop}, never before this returns.
     */
    public static MultiExchange send(UpstreamClient client, Provider provider, EventLoop loop, ByteBufAllocator alloc,
                                     List<Part> parts, ExchangeListener listener) {
        if (parts.isEmpty()) throw new IllegalArgumentException("no requests");
        MultiExchange m = new MultiExchange(client, provider, loop, alloc, parts, listener);
        // Started from a task: a request that fails at once (no TLS, say) must not report to a
        // listener that does not hold this call yet.
        loop.execute(m::start);
        return m;
    }

    private void start() {
        if (done) return;
        long total = client.timeouts().total().toNanos();
        deadline = loop.schedule(() -> fail(new UpstreamFailure(UpstreamFailure.Kind.TIMEOUT,
                provider.name() + " did not finish within " + TimeUnit.NANOSECONDS.toMillis(total) + " ms (total timeout)")),
                total, TimeUnit.NANOSECONDS);
        launch();
    }

    /** Sends what the in-flight window allows. */
    private void launch() {
        while (!done && failing < 0 && launched < parts.size() && launched - completed < MAX_IN_FLIGHT) {
            int i = launched++;
            Part p = parts.set(i, null);
            exchanges[i] = client.send(provider, loop, p.head(), p.body(), new PartListener(i));
        }
    }

    @Override
    public void cancel() {
        if (done) return;
        done = true;
        stopAll(-1);
    }

    /** The answers are gathered whole before anything is written: the client's pace does not matter yet. */
    @Override
    public void setAutoRead(boolean autoRead) {}

    public boolean isDone() {
        return done;
    }

    private final class PartListener implements ExchangeListener {
        private final int index;

        PartListener(int index) {
            this.index = index;
        }

        @Override
        public void onHead(HttpResponse head) {
            if (done) return;
            heads[index] = head;
            bodies[index] = alloc.compositeBuffer(64);
            if (head.status().code() / 100 != 2 && failing < 0) {
                // Its answer is what the client gets: stop the others now rather than wait for its body.
                failing = index;
                stopAll(index);
            }
        }

        @Override
        public void onContent(ByteBuf content) {
            if (done || bodies[index] == null) {
                content.release();
                return;
            }
            gathered += content.readableBytes();
            if (gathered > MAX_GATHERED) {
                content.release();
                fail(new UpstreamFailure(UpstreamFailure.Kind.BROKEN,
                        "The upstream responses exceeded " + (MAX_GATHERED >> 20) + " MB together."));
                return;
            }
            bodies[index].addComponent(true, content);
        }

        @Override
        public void onEnd() {
            if (done) return;
            if (index == failing) {
                deliver(heads[index], take(index));
                return;
            }
            completed++;
            if (completed == parts.size()) {
                deliver(joinedHead(), joined());
            } else {
                launch();
            }
        }

        @Override
        public void onFailure(UpstreamFailure failure) {
            fail(failure);
        }
    }

    private void fail(UpstreamFailure failure) {
        if (done) return;
        done = true;
        stopAll(-1);
        listener.onFailure(failure);
    }

    private void deliver(HttpResponse head, ByteBuf body) {
        done = true;
        stopAll(-1);
        listener.onHead(head);
        if (body.isReadable()) listener.onContent(body);
        else body.release();
        listener.onEnd();
    }

    /** Cancels every exchange but {@code keep}'s, and frees what it does not keep: unsent bodies, gathered answers. */
    private void stopAll(int keep) {
        if (deadline != null && keep < 0) deadline.cancel(false);
        for (int i = 0; i < parts.size(); i++) {
            if (i == keep) continue;
            if (exchanges[i] != null) exchanges[i].cancel();
            Part unsent = parts.set(i, null);
            if (unsent != null) unsent.body().release();
            if (bodies[i] != null) {
                bodies[i].release();
                bodies[i] = null;
            }
        }
        launched = parts.size(); // nothing more is sent
    }

    private ByteBuf take(int i) {
        ByteBuf b = bodies[i];
        bodies[i] = null;
        return b;
    }

    private ByteBuf joined() {
        CompositeByteBuf out = alloc.compositeBuffer(2 * parts.size() + 1);
        out.addComponent(true, alloc.buffer(1).writeBytes(OPEN));
        for (int i = 0; i < parts.size(); i++) {
            if (i > 0) out.addComponent(true, alloc.buffer(1).writeBytes(COMMA));
            out.addComponent(true, take(i));
        }
        out.addComponent(true, alloc.buffer(1).writeBytes(CLOSE));
        return out;
    }

    private static HttpResponse joinedHead() {
        HttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
        return r;
    }

    @Override
    public String toString() {
        return "MultiExchange(" + parts.size() + " requests to " + provider.name() + ")";
    }
}
