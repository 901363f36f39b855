package dev.skiff.server;

import dev.skiff.dialect.SseSplitter;
import dev.skiff.dialect.StreamingModelScan;
import dev.skiff.dialect.Usage;
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
 * go to the client as they arrive with a flush each (reading from the provider pauses while the
 * client's socket is full). Nothing is rewritten; usage is read on the side from JSON and SSE
 * responses, and one usage record is written when the call ends, however it ends.
 */
final class PassthroughCall implements ExchangeListener {
    /** A JSON response larger than this is relayed without reading its usage (it is kept until the end to be read). */
    private static final int MAX_SCANNED_JSON = 8 << 20;

    private final ChannelHandlerContext ctx;
    private final UsageLog usageLog;
    private final String requestId;
    private final HttpMethod method;
    private final long startNanos = System.nanoTime();
    private boolean keepAlive;
    private boolean bodyPending; // the client is still sending the request body

    private Provider provider;
    private Exchange exchange;
    private StreamingModelScan modelScan;
    private final ArrayDeque<HttpContent> pending = new ArrayDeque<>(4); // body pieces the upstream cannot take yet

    private boolean responseStarted;
    private int status;
    private long firstByteNanos = -1;
    private boolean eventStream;
    private SseSplitter splitter;
    private UsageScan.Accumulator streamUsage;
    private CompositeByteBuf jsonCopy; // a JSON response, kept to read its usage at the end

    private boolean finished;
    private Runnable onFinished;

    PassthroughCall(ChannelHandlerContext ctx, UsageLog usageLog, String requestId, boolean keepAlive, boolean hasBody, HttpMethod method) {
        this.ctx = ctx;
        this.usageLog = usageLog;
        this.requestId = requestId;
        this.keepAlive = keepAlive;
        this.bodyPending = hasBody;
        this.method = method;
    }

    void start(UpstreamClient client, Provider provider, HttpRequest head, boolean jsonBody) {
        this.provider = provider;
        if (jsonBody) modelScan = new StreamingModelScan();
        exchange = client.sendStreamed(provider, ctx.channel().eventLoop(), head, this);
        // A pooled connection is ready at once, before the exchange was known here.
        if (!finished && exchange.isWritable()) onSendable(true);
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
        if (pending.isEmpty() && exchange.isWritable()) {
            exchange.writeBody(piece);
        } else {
            pending.add(piece);
        }
        if (bodyPending && !pending.isEmpty()) pauseClient(true);
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
        responseStarted = true;
        status = head.status().code();
        firstByteNanos = System.nanoTime();
        HttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, head.status());
        HttpHeaders h = r.headers();
        h.set(head.headers());
        PassthroughHeaders.stripForClient(h);
        h.set(Replies.X_REQUEST_ID, requestId).set("x-skiff-provider", provider.name());
        if (!h.contains(HttpHeaderNames.CONTENT_LENGTH) && mayHaveBody()) h.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        // A response before the whole request arrived: the rest of it is not read, so the connection ends.
        if (bodyPending) keepAlive = false;
        if (!keepAlive) h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        watchUsage(head.headers());
        ctx.writeAndFlush(r, ctx.voidPromise());
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
            streamUsage = new UsageScan.Accumulator();
        } else if (type.contains("json")) {
            jsonCopy = ctx.alloc().compositeBuffer(Integer.MAX_VALUE);
        }
    }

    @Override
    public void onContent(ByteBuf content) {
        if (finished) {
            content.release();
            return;
        }
        if (splitter != null) {
            splitter.feed(content.retainedDuplicate(), event -> {
                streamUsage.event(event);
                event.release();
            });
        } else if (jsonCopy != null) {
            if (jsonCopy.readableBytes() + content.readableBytes() > MAX_SCANNED_JSON) {
                jsonCopy.release();
                jsonCopy = null;
            } else {
                jsonCopy.addComponent(true, content.retainedDuplicate());
            }
        }
        ctx.writeAndFlush(new DefaultHttpContent(content), ctx.voidPromise());
        if (!ctx.channel().isWritable()) exchange.setAutoRead(false);
    }

    /** Follows the client's pace: stop reading upstream while the client's socket is full. */
    void clientWritabilityChanged(boolean writable) {
        if (!finished && exchange != null) exchange.setAutoRead(writable);
    }

    @Override
    public void onEnd() {
        if (finished) return;
        var f = ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
        if (!keepAlive) f.addListener(ChannelFutureListener.CLOSE);
        finish(status, usageSoFar(), status >= 400 ? "upstream status " + status : null);
    }

    @Override
    public void onFailure(UpstreamFailure failure) {
        if (finished) return;
        if (!responseStarted) {
            String code = failure.kind() == UpstreamFailure.Kind.TIMEOUT ? "upstream_timeout"
                    : failure.kind() == UpstreamFailure.Kind.UNREACHABLE ? "upstream_unreachable" : "upstream_error";
            Replies.send(ctx, Replies.openAiError(ctx, failure.status(), failure.message(), "server_error", null, code, requestId),
                    keepAlive && !bodyPending);
            finish(failure.status(), Usage.NONE, failure.message());
            return;
        }
        // Part of the provider's response is out, in the provider's framing: nothing can be added to
        // it that the client would read as an error, so the connection is closed short of the end.
        ctx.close();
        finish(status, usageSoFar(), failure.message());
    }

    /** The client went away: stop the upstream request. */
    void cancel() {
        if (finished) return;
        if (exchange != null) exchange.cancel();
        finish(499, usageSoFar(), "client closed the connection");
    }

    private Usage usageSoFar() {
        if (streamUsage != null) return streamUsage.usage();
        if (jsonCopy != null) return UsageScan.of(jsonCopy);
        return Usage.NONE;
    }

    private void finish(int finalStatus, Usage usage, String error) {
        if (finished) return;
        finished = true;
        HttpContent p;
        while ((p = pending.poll()) != null) p.release();
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
        if (provider != null) {
            long now = System.nanoTime();
            usageLog.record(new UsageRecord(System.currentTimeMillis(), requestId, "passthrough", provider.name(), model, model,
                    eventStream, finalStatus, usage, (now - startNanos) / 1e6,
                    firstByteNanos < 0 ? -1 : (firstByteNanos - startNanos) / 1e6, error, null));
        }
        if (onFinished != null) onFinished.run();
    }
}
