package dev.skiff.server;

import dev.skiff.control.Caller;
import dev.skiff.dialect.ChatStreamFilter;
import dev.skiff.dialect.ClientDialect;
import dev.skiff.dialect.SseSplitter;
import dev.skiff.dialect.StreamRelay;
import dev.skiff.dialect.StreamingModelScan;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.UsageRelay;
import dev.skiff.dialect.UsageScan;
import dev.skiff.observe.UsageLog;
import dev.skiff.observe.UsageRecord;
import dev.skiff.provider.Provider;
import dev.skiff.upstream.Exchange;
import dev.skiff.upstream.ExchangeListener;
import dev.skiff.upstream.UpstreamClient;
import dev.skiff.upstream.UpstreamFailure;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.util.ArrayDeque;

/**
 * One passthrough request, both ways at once on the client's event loop: body pieces go upstream as
 * they arrive (reading from the client pauses while the provider's socket is full), response pieces
 * go to the client as they arrive, flushed once per upstream read (reading from the provider pauses while the
 * client's socket is full). Nothing is rewritten; usage is read on the side from JSON and SSE
 * responses, and one usage record is written when the call ends, however it ends.
 *
 * <p>A call to Bedrock with AWS keys {@linkplain #gather gathers} the request body instead (SigV4
 * signs its hash): pieces are kept off heap, up to the body-size limit, and the request is signed
 * and sent once the last one arrived. The response is relayed as for any other call.
 */
final class PassthroughCall implements ExchangeListener {
    /** A JSON response larger than this is relayed without reading its usage (it is kept until the end to be read). */
    private static final int MAX_SCANNED_JSON = 8 << 20;

    private final ChannelHandlerContext ctx;
    private final dev.skiff.observe.Observers observers;
    private final dev.skiff.observe.RequestTrail trail; // null when nothing captures
    private final String requestId;
    private final HttpMethod method;
    private final long startNanos = System.nanoTime();
    private boolean keepAlive;
    private boolean bodyPending; // the client is still sending the request body

    private Provider provider;
    private Exchange exchange;
    private StreamingModelScan modelScan;
    private final ArrayDeque<HttpContent> pending = new ArrayDeque<>(4); // body pieces the upstream cannot take yet

    // SigV4 (Bedrock with AWS keys): the body is gathered, then the request signed and sent
    private UpstreamClient client;
    private HttpRequest gatheredHead;
    private PassthroughSigning signing;
    private CompositeByteBuf gathered;
    private long maxGathered;

    private boolean responseStarted;
    private ClientWrites writes; // what the current upstream read brought, sent as one piece when it completes
    private int status;
    private long firstByteNanos = -1;
    private long firstContentNanos = -1; // the first byte of the response body: a stream's first event
    private boolean eventStream;
    private SseSplitter splitter;
    private UsageScan.Accumulator streamUsage;
    private ClientDialect streamDialect; // the API the path names, when its streams have a known final event
    private StreamRelay streamEnd; // watches for that final event (and takes the usage on the way)
    private CompositeByteBuf jsonCopy; // a JSON response, kept to read its usage at the end

    private boolean finished;
    private Runnable onFinished;
    private Attempts attempts; // null: one attempt (no retries configured, or a request that cannot be replayed)
    private boolean discarding; // the current attempt's response is a retried error: drained, not relayed
    private final Caller caller; // who the request acts for, as the gate authenticated it

    /** Who the request acts for: its usage is theirs. */
    Caller caller() {
        return caller;
    }

    PassthroughCall(ChannelHandlerContext ctx, dev.skiff.observe.Observers observers, dev.skiff.observe.RequestTrail trail, String requestId, boolean keepAlive, boolean hasBody, HttpMethod method,
                    Caller caller) {
        this.ctx = ctx;
        this.caller = caller;
        this.observers = observers;
        this.trail = trail;
        observers.started();
        this.requestId = requestId;
        this.keepAlive = keepAlive;
        this.bodyPending = hasBody;
        this.method = method;
    }

    /**
     * The API a passthrough path calls, when it is one whose streams end with a known event: a
     * stream of it that ends without that event is then completed with an error event in its form,
     * as on {@code /v1}. Other paths (Gemini, Bedrock, anything else) are relayed as they end.
     */
    void streamsOf(String path) {
        int q = path.indexOf('?');
        String p = q < 0 ? path : path.substring(0, q);
        if (p.endsWith("/")) p = p.substring(0, p.length() - 1);
        if (p.endsWith("/chat/completions")) streamDialect = ClientDialect.OPENAI_CHAT;
        else if (p.endsWith("/messages")) streamDialect = ClientDialect.ANTHROPIC_MESSAGES;
        else if (p.endsWith("/responses")) streamDialect = ClientDialect.OPENAI_RESPONSES;
    }

    /** Lets a bodiless, idempotent request be sent again when it fails before its response starts. */
    void retrying(Attempts a) {
        attempts = a;
    }

    void start(UpstreamClient client, Provider provider, HttpRequest head, boolean jsonBody) {
        this.provider = provider;
        if (jsonBody) modelScan = new StreamingModelScan();
        observeUpstream(head, null); // the body streams through: the client's, captured as it arrives
        exchange = client.sendStreamed(provider, ctx.channel().eventLoop(), head, this);
        if (attempts != null) attempts.sent(attempts.route());
        // A pooled connection is ready at once, before the exchange was known here.
        if (!finished && exchange.isWritable()) onSendable(true);
    }

    /**
     * Like {@link #start}, but the head is sent only once the whole body has arrived (at most {@code
     * maxBodyBytes}, 413 beyond) and {@code signing} has signed it.
     */
    void gather(UpstreamClient client, Provider provider, HttpRequest head, boolean jsonBody, PassthroughSigning signing,
                long maxBodyBytes) {
        this.client = client;
        this.provider = provider;
        this.gatheredHead = head;
        this.signing = signing;
        this.maxGathered = maxBodyBytes;
        if (jsonBody) modelScan = new StreamingModelScan();
        // As HttpObjectAggregator gathers /v1 bodies: the pieces themselves (pooled, direct), consolidated past 1024 of them.
        gathered = ctx.alloc().compositeDirectBuffer(1024);
    }

    /** Answers 413 as the body-size limit does for /v1 (and closes, the rest of the body being on the wire). */
    void refuseTooLarge(long limit) {
        Replies.send(ctx, Replies.openAiError(ctx, 413, "The request body is larger than the limit of " + limit + " bytes.",
                "invalid_request_error", null, "request_too_large", requestId), keepAlive && !bodyPending);
        finish(413, Usage.NONE, "request body over " + limit + " bytes");
    }

    /** Answers with an error before anything went upstream. */
    void refuse(int httpStatus, String message, String code) {
        // The rest of the body is still on the wire: rather than read it to throw it away, close.
        Replies.send(ctx, Replies.openAiError(ctx, httpStatus, message, code, requestId), keepAlive && !bodyPending);
        finish(httpStatus, Usage.NONE, message);
    }

    void onFinished(Runnable r) {
        if (finished) r.run();
        else onFinished = r;
    }

    boolean isFinished() {
        return finished;
    }

    // ---- the request body, client to provider ----

    /** The next piece of the request body; takes ownership. */
    void onClientContent(HttpContent piece) {
        if (trail != null) trail.requestContent(piece.content());
        boolean last = piece instanceof LastHttpContent;
        if (last) {
            bodyPending = false;
            // Reading may have been paused for this body; what follows is the connection's business.
            ctx.channel().config().setAutoRead(true);
        }
        if (finished) {
            piece.release();
            return;
        }
        if (modelScan != null) {
            modelScan.feed(piece.content());
            if (last) modelScan.close();
        }
        if (gathered != null) {
            gatherPiece(piece, last);
            return;
        }
        if (pending.isEmpty() && exchange.isWritable()) {
            exchange.writeBody(piece);
        } else {
            pending.add(piece);
        }
        if (bodyPending && !pending.isEmpty()) pauseClient(true);
    }

    private void gatherPiece(HttpContent piece, boolean last) {
        ByteBuf bytes = piece.content();
        if ((long) gathered.readableBytes() + bytes.readableBytes() > maxGathered) {
            piece.release();
            refuseTooLarge(maxGathered); // releases what was gathered
            return;
        }
        if (bytes.isReadable()) gathered.addComponent(true, bytes.retain());
        piece.release();
        if (!last) return;
        ByteBuf body = gathered;
        gathered = null;
        HttpHeaders h = gatheredHead.headers();
        if (body.isReadable() || !HttpMethod.GET.equals(method) && !HttpMethod.HEAD.equals(method)) {
            h.setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
        }
        // The body is hashed here, on the event loop: it is at most the body-size limit, and at the
        // default 10 MB that is some tens of milliseconds of SHA-256 at worst, acceptable rather than
        // worth a hand-off to another thread (a much larger configured limit would stall the loop longer).
        try {
            signing.sign(method, h, body);
        } catch (RuntimeException e) {
            body.release();
            refuse(500, "The request to '" + provider.name() + "' could not be signed: " + e.getMessage(), "signing_failed");
            return;
        }
        observeUpstream(gatheredHead, body);
        exchange = client.sendRelayed(provider, ctx.channel().eventLoop(), gatheredHead, body, this);
    }

    private void observeUpstream(HttpRequest head, ByteBuf body) {
        if (trail != null) {
            observers.upstream(trail, head, body, provider.name(), (provider.tls() ? "https://" : "http://") + provider.host() + ":" + provider.port());
        }
    }

    @Override
    public void onConnected(boolean reused) {
        if (trail != null) trail.upstreamConnected(reused);
    }

    @Override
    public void onSendable(boolean writable) {
        if (finished || exchange == null) return;
        if (!writable) {
            pauseClient(true);
            return;
        }
        while (!pending.isEmpty() && exchange.isWritable()) exchange.writeBody(pending.poll());
        if (pending.isEmpty() && exchange.isWritable()) pauseClient(false);
    }

    private void pauseClient(boolean pause) {
        if (bodyPending) ctx.channel().config().setAutoRead(!pause);
    }

    // ---- the response, provider to client ----

    @Override
    public void onHead(HttpResponse head) {
        if (attempts != null && attempts.classify(head.status().code(), io.netty.buffer.Unpooled.EMPTY_BUFFER) != null) {
            long delay = attempts.failed(dev.skiff.routing.Failure.STATUS, head.status().code(), head.headers());
            if (delay >= 0) { // drained, then sent again (onEnd)
                discarding = true;
                retryDelay = delay;
                return;
            }
        }
        responseStarted = true;
        status = head.status().code();
        firstByteNanos = System.nanoTime();
        if (trail != null) trail.upstreamHead(head, firstByteNanos);
        HttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, head.status());
        HttpHeaders h = r.headers();
        h.set(head.headers());
        PassthroughHeaders.stripForClient(h);
        h.set(Replies.X_REQUEST_ID, requestId).set(ProxyCall.X_PROVIDER, provider.name());
        if (attempts != null) h.set(ProxyCall.X_ATTEMPTS, Integer.toString(attempts.count()));
        if (!h.contains(HttpHeaderNames.CONTENT_LENGTH) && mayHaveBody()) h.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        // A response before the whole request arrived: the rest of it is not read, so the connection ends.
        if (bodyPending) keepAlive = false;
        if (!keepAlive) h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        watchUsage(head.headers());
        writes = new ClientWrites(ctx);
        writes.write(r); // flushed with the first piece, when the upstream read is done
    }

    private boolean mayHaveBody() {
        return !method.equals(HttpMethod.HEAD) && status >= 200 && status != 204 && status != 304;
    }

    /** Sets up reading usage from a successful JSON or SSE response; compressed bodies are not read. */
    private void watchUsage(HttpHeaders upstream) {
        if (status / 100 != 2) return;
        String encoding = upstream.get(HttpHeaderNames.CONTENT_ENCODING);
        if (encoding != null && !encoding.equalsIgnoreCase("identity")) return;
        String type = upstream.get(HttpHeaderNames.CONTENT_TYPE);
        if (type == null) return;
        if (type.regionMatches(true, 0, "text/event-stream", 0, 17)) {
            eventStream = true;
            splitter = new SseSplitter(ctx.alloc());
            // A stream framed by a Content-Length cannot take an event more; it is only watched for usage.
            if (streamDialect == null || upstream.contains(HttpHeaderNames.CONTENT_LENGTH)) streamUsage = new UsageScan.Accumulator();
            else streamEnd = switch (streamDialect) {
                case OPENAI_CHAT -> new ChatStreamFilter(false); // false: it changes nothing, only watches
                case OPENAI_RESPONSES -> UsageRelay.responses();
                case ANTHROPIC_MESSAGES -> UsageRelay.messages();
            };
        } else if (type.contains("json")) {
            jsonCopy = ctx.alloc().compositeBuffer(Integer.MAX_VALUE);
        }
    }

    @Override
    public void onContent(ByteBuf content) {
        if (finished || discarding) {
            content.release();
            return;
        }
        if (firstContentNanos < 0) firstContentNanos = System.nanoTime();
        if (trail != null) trail.upstreamContent(content, firstContentNanos);
        if (splitter != null) {
            splitter.feed(content.retainedDuplicate(), event -> {
                if (streamEnd != null) {
                    ByteBuf same = streamEnd.filter(event, ctx.alloc());
                    if (same != null) same.release();
                } else {
                    streamUsage.event(event);
                    event.release();
                }
            });
        } else if (jsonCopy != null) {
            if (jsonCopy.readableBytes() + content.readableBytes() > MAX_SCANNED_JSON) {
                jsonCopy.release();
                jsonCopy = null;
            } else {
                jsonCopy.addComponent(true, content.retainedDuplicate());
            }
        }
        // Queued, and sent when the upstream read is done: one piece (one HTTP chunk) and one write to
        // the client per read, however many chunks the provider's bytes came in.
        writes.queue(content);
        if (writes.full()) flushPending();
    }

    @Override
    public void onReadComplete() {
        if (!finished) flushPending();
    }

    /** Sends what is queued and flushes; follows the client's pace from there. */
    private void flushPending() {
        // The client's socket is full: read no more upstream until it drains (clientWritabilityChanged).
        if (writes != null && !writes.flush() && exchange != null) exchange.setAutoRead(false);
    }

    /** Follows the client's pace: stop reading upstream while the client's socket is full. */
    void clientWritabilityChanged(boolean writable) {
        if (!finished && exchange != null) exchange.setAutoRead(writable);
    }

    @Override
    public void onEnd() {
        if (finished) return;
        if (discarding) {
            discarding = false;
            again(retryDelay);
            return;
        }
        if (streamEnd != null && !streamEnd.complete()) {
            // Still in the provider's framing (chunks of SSE), so an event in the dialect's own error
            // form can be added: the client learns the answer is cut rather than taking it for whole.
            String message = provider.name() + " ended the stream before its final event; the answer is incomplete.";
            writes.write(new DefaultHttpContent(streamDialect.streamError(ctx.alloc(), message, "upstream_error")));
            var f = writes.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
            if (!keepAlive) f.addListener(ChannelFutureListener.CLOSE);
            finish(status, usageSoFar(), message);
            return;
        }
        var f = writes.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
        if (!keepAlive) f.addListener(ChannelFutureListener.CLOSE);
        finish(status, usageSoFar(), status >= 400 ? "upstream status " + status : null);
    }

    @Override
    public void onFailure(UpstreamFailure failure) {
        if (finished) return;
        if (provider != null) observers.upstreamFailed(provider.name(), failure.kind().name().toLowerCase(java.util.Locale.ROOT));
        if (attempts != null && !responseStarted) {
            long delay = discarding ? retryDelay : attempts.failed(failure.kind() == UpstreamFailure.Kind.TIMEOUT
                    ? dev.skiff.routing.Failure.TIMEOUT : dev.skiff.routing.Failure.TRANSPORT, 0, null);
            discarding = false;
            if (delay >= 0) {
                again(delay);
                return;
            }
        }
        if (!responseStarted) {
            String code = failure.kind() == UpstreamFailure.Kind.TIMEOUT ? "upstream_timeout"
                    : failure.kind() == UpstreamFailure.Kind.UNREACHABLE ? "upstream_unreachable" : "upstream_error";
            Replies.send(ctx, Replies.openAiError(ctx, failure.status(), failure.message(), "server_error", null, code, requestId),
                    keepAlive && !bodyPending);
            finish(failure.status(), Usage.NONE, failure.detail());
            return;
        }
        // Part of the provider's response is out, in the provider's framing: nothing can be added to
        // it that the client would read as an error, so the connection is closed short of the end
        // (after what was relayed so far: closing would drop bytes not yet flushed).
        flushPending();
        ctx.close();
        finish(status, usageSoFar(), failure.detail());
    }

    /** The client went away: stop the upstream request. */
    void cancel() {
        if (finished) return;
        if (exchange != null) exchange.cancel();
        finish(499, usageSoFar(), "client closed the connection");
    }

    /**
     * Skiff is shutting down and the drain deadline passed. Before the response started the client
     * gets 503; after, its format is the provider's, which Skiff does not write into: the connection
     * is closed (by the caller) mid-body, which the client sees as a cut response.
     */
    void shutDown() {
        if (finished) return;
        if (exchange != null) exchange.cancel();
        String message = "Skiff is shutting down: the request did not finish within SKIFF_DRAIN_TIMEOUT.";
        if (!responseStarted) {
            keepAlive = false;
            refuse(503, message, "server_shutting_down");
            return;
        }
        writes.writeQueued(); // what was relayed so far goes before the connection is closed
        finish(status, usageSoFar(), message);
    }

    private Usage usageSoFar() {
        if (streamEnd != null) return streamEnd.usage();
        if (streamUsage != null) return streamUsage.usage();
        if (jsonCopy != null) return UsageScan.of(jsonCopy);
        return Usage.NONE;
    }

    private long retryDelay;

    /** Sends the request again after {@code delayNanos}, on this event loop. */
    private void again(long delayNanos) {
        exchange = null;
        attempts.armDeadline(ctx.executor(), () -> {
            if (finished) return;
            attempts.expire();
            attempts.cancelTimer();
            discarding = false;
            if (exchange != null) exchange.cancel();
            onFailure(new UpstreamFailure(UpstreamFailure.Kind.TIMEOUT, "The request did not finish within its deadline (SKIFF_TOTAL_TIMEOUT)."));
        });
        attempts.schedule(ctx.executor(), () -> {
            if (finished) return;
            try {
                attempts.redo(this);
            } catch (Throwable t) {
                onFailure(new UpstreamFailure(UpstreamFailure.Kind.BROKEN, "Skiff could not send the request again: " + t.getMessage()));
            }
        }, delayNanos);
    }

    private void finish(int finalStatus, Usage usage, String error) {
        if (finished) return;
        finished = true;
        if (attempts != null) attempts.finish(finalStatus, error, finalStatus == 429 || finalStatus >= 500, System.nanoTime());
        if (writes != null) writes.release(); // left only when the client went away
        HttpContent p;
        while ((p = pending.poll()) != null) p.release();
        if (gathered != null) {
            gathered.release();
            gathered = null;
        }
        if (splitter != null) splitter.release();
        if (jsonCopy != null) {
            jsonCopy.release();
            jsonCopy = null;
        }
        String model = null;
        if (modelScan != null) {
            modelScan.close();
            model = modelScan.model();
        }
        // Reading from the client may be paused for the body: let the rest in (and be dropped) or the close be seen.
        if (bodyPending) ctx.channel().config().setAutoRead(true);
        // Refusals before a provider was found (unknown provider, a malformed request) are logged too.
        long now = System.nanoTime();
        if (trail != null) trail.finish(now); // the request's end, as its latency has it
        observers.finishedCall(new UsageRecord(System.currentTimeMillis(), requestId, "passthrough", provider == null ? null : provider.name(),
                provider == null ? null : provider.type(), model, model, eventStream, finalStatus, usage, (now - startNanos) / 1e6,
                firstByteNanos < 0 ? -1 : (firstByteNanos - startNanos) / 1e6,
                firstContentNanos < 0 ? -1 : (firstContentNanos - startNanos) / 1e6, error, null, caller,
                attempts == null ? 1 : attempts.count(), attempts == null ? null : attempts.logCopy()), trail);
        if (onFinished != null) onFinished.run();
    }
}
