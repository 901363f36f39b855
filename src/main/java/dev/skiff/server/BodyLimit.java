package dev.skiff.server;

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
 * Gathers a request body up to the configured limit; a larger one is refused with 413 in the error
 * shape of the endpoint called, and the connection is closed since the rest of the body is still on the wire.
 * Passthrough requests ({@code /p/...}) are let through in pieces: their bodies stream to the
 * provider as they arrive, unlimited (except where passthrough itself must gather one to sign it,
 * and applies the same limit: see {@link Passthrough}).
 */
final class BodyLimit extends HttpObjectAggregator {
    private final long limit;

    BodyLimit(int maxBytes) {
        super(maxBytes);
        this.limit = maxBytes;
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

    /**
     * A request that declares a body over the limit and waits for {@code 100 Continue}: Netty's own
     * answer would be a bare 413 without a body; returning none lets {@link #handleOversizedMessage}
     * refuse it with the error body every other refusal has.
     */
    @Override
    protected Object newContinueResponse(HttpMessage start, int maxContentLength, io.netty.channel.ChannelPipeline pipeline) {
        if (io.netty.handler.codec.http.HttpUtil.getContentLength(start, -1L) > maxContentLength) return null;
        return super.newContinueResponse(start, maxContentLength, pipeline);
    }

    @Override
    protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
        String requestId = RequestIds.accept(oversized.headers().get(Replies.X_REQUEST_ID));
        // In the dialect of the endpoint called, as every other error (Anthropic's shape on /v1/messages).
        boolean messages = oversized instanceof HttpRequest req && req.uri().startsWith("/v1/messages");
        var r = Replies.error(ctx, messages ? dev.skiff.dialect.ClientDialect.ANTHROPIC_MESSAGES : dev.skiff.dialect.ClientDialect.OPENAI_CHAT,
                413, "The request body is larger than the limit of " + limit + " bytes.", "invalid_request_error", null,
                "request_too_large", requestId);
        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
    }
}
