package dev.skiff.server;

import dev.skiff.dialect.Usage;
import dev.skiff.observe.UsageLog;
import dev.skiff.observe.UsageRecord;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.HttpObjectAggregator;

/**
 * Gathers a request body up to the configured limit; a larger one is refused with 413 in the
 * endpoint's error shape, and the connection is closed since the rest of the body is still on the wire.
 * Passthrough requests ({@code /p/...}) are let through in pieces: their bodies stream to the
 * provider as they arrive, unlimited (except where passthrough itself must gather one to sign it,
 * and applies the same limit: see {@link Passthrough}).
 */
final class BodyLimit extends HttpObjectAggregator {
    private final long limit;
    private final dev.skiff.observe.Observers observers;

    BodyLimit(int maxBytes, dev.skiff.observe.Observers observers) {
        super(maxBytes);
        this.limit = maxBytes;
        this.observers = observers;
    }

    private boolean passingThrough; // between a passthrough request's head and its last piece

    @Override
    public boolean acceptInboundMessage(Object msg) throws Exception {
        if (msg instanceof HttpRequest req && !(msg instanceof FullHttpRequest) && PassthroughTarget.matches(req.uri())) {
            passingThrough = true;
            return false;
        }
        if (passingThrough && msg instanceof HttpContent) {
            if (msg instanceof LastHttpContent) passingThrough = false;
            return false;
        }
        return super.acceptInboundMessage(msg);
    }

    @Override
    protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
        String requestId = RequestIds.accept(oversized.headers().get(Replies.X_REQUEST_ID));
        // A body that did not say its length up front (chunked); ClientGate refused the others on their head.
        String path = oversized instanceof HttpRequest req ? Gateway.pathOf(req.uri()) : "";
        var r = Replies.error(ctx, Gateway.dialectOf(path), 413, "The request body is larger than the limit of " + limit + " bytes.",
                "invalid_request_error", null, "request_too_large", requestId);
        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        observers.refused(oversized instanceof HttpRequest req ? req : null, r, new UsageRecord(System.currentTimeMillis(), requestId,
                Gateway.endpointName(path), null, null, null, false, 413, Usage.NONE, -1, -1, "request body over " + limit + " bytes", null));
        ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
    }
}
