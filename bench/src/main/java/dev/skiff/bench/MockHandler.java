package dev.skiff.bench;

import static java.nio.charset.StandardCharsets.US_ASCII;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import java.util.concurrent.TimeUnit;

/**
 * Serves one connection of the mock: reads a request (line, headers, body), picks the prepared
 * answer and writes it. Responses are raw bytes, so there is no HTTP encoder in the pipeline.
 * Requests are expected one at a time per connection, as every HTTP client pool sends them; a
 * pipelining client would get answers in order only while no delay is configured.
 */
final class MockHandler extends SimpleChannelInboundHandler<HttpObject> {
    private static final ByteBuf CONTINUE = HttpWire.shared("HTTP/1.1 100 Continue\r\n\r\n".getBytes(US_ASCII));

    private enum Route { CHAT, MESSAGES, RESPONSES, EMBEDDINGS, MODELS, ANTHROPIC_MODELS, NOT_FOUND }

    private final MockResponses responses;
    private Route route;
    private boolean keepAlive;
    private boolean malformed;
    private ByteBuf body;

    private final double failRate;

    MockHandler(MockResponses responses) {
        this(responses, 0);
    }

    MockHandler(MockResponses responses, double failRate) {
        this.responses = responses;
        this.failRate = failRate;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
        if (msg instanceof HttpRequest request) {
            malformed = request.decoderResult().isFailure();
            route = route(request.method(), request.uri());
            // Anthropic's listing names Claude models; answering both families with one list would
            // make every model ambiguous for a gateway configured with both.
            if (route == Route.MODELS && request.headers().contains("anthropic-version")) route = Route.ANTHROPIC_MODELS;
            keepAlive = HttpUtil.isKeepAlive(request) && !malformed;
            if (HttpUtil.is100ContinueExpected(request)) ctx.writeAndFlush(CONTINUE.duplicate());
            releaseBody();
            if (route != Route.MODELS && route != Route.ANTHROPIC_MODELS && route != Route.NOT_FOUND) body = ctx.alloc().buffer(512);
        }
        if (msg instanceof HttpContent content) {
            if (body != null) body.writeBytes(content.content());
            if (msg instanceof LastHttpContent) {
                try {
                    respond(ctx);
                } finally {
                    releaseBody();
                }
            }
        }
    }

    private static Route route(HttpMethod method, String uri) {
        int query = uri.indexOf('?');
        String path = query >= 0 ? uri.substring(0, query) : uri;
        // Under /unlisted/v1 the same endpoints are served but there is no model listing, so a
        // provider configured there serves only the models it declares (no name clashes in Skiff).
        boolean unlisted = path.startsWith("/unlisted/v1/");
        if (unlisted) path = path.substring("/unlisted/v1".length());
        else if (path.startsWith("/v1/")) path = path.substring(3);
        boolean post = method.equals(HttpMethod.POST);
        if (unlisted && path.equals("/models")) return Route.NOT_FOUND;
        return switch (path) {
            case "/chat/completions" -> post ? Route.CHAT : Route.NOT_FOUND;
            case "/messages" -> post ? Route.MESSAGES : Route.NOT_FOUND;
            case "/responses" -> post ? Route.RESPONSES : Route.NOT_FOUND;
            case "/embeddings" -> post ? Route.EMBEDDINGS : Route.NOT_FOUND;
            case "/models" -> method.equals(HttpMethod.GET) ? Route.MODELS : Route.NOT_FOUND;
            default -> Route.NOT_FOUND;
        };
    }

    private void respond(ChannelHandlerContext ctx) {
        if (malformed) {
            send(ctx, responses.badRequest);
            return;
        }
        boolean stream = body != null && JsonScan.isTrue(body, "stream");
        if (failRate > 0 && route != Route.MODELS && route != Route.ANTHROPIC_MODELS && route != Route.NOT_FOUND
                && java.util.concurrent.ThreadLocalRandom.current().nextDouble() < failRate) {
            send(ctx, responses.unavailable);
            return;
        }
        switch (route) {
            case CHAT -> {
                if (!stream) send(ctx, responses.chat);
                else if (JsonScan.isTrue(body, "include_usage")) stream(ctx, responses.chatStreamWithUsage);
                else stream(ctx, responses.chatStream);
            }
            case MESSAGES -> {
                if (stream) stream(ctx, responses.messageStream);
                else send(ctx, responses.message);
            }
            case RESPONSES -> {
                if (stream) stream(ctx, responses.responseStream);
                else send(ctx, responses.response);
            }
            case EMBEDDINGS -> send(ctx, responses.embeddings(JsonScan.inputCount(body)));
            case MODELS -> send(ctx, responses.models);
            case ANTHROPIC_MODELS -> send(ctx, responses.anthropicModels);
            case NOT_FOUND -> send(ctx, responses.notFound);
        }
    }

    /** A whole response in one write, after {@code --delay-ms} if set. */
    private void send(ChannelHandlerContext ctx, ByteBuf prepared) {
        boolean close = !keepAlive;
        Runnable write = () -> finish(ctx.writeAndFlush(frame(prepared, close)), close);
        if (responses.delayNanos == 0) write.run();
        else ctx.executor().schedule(write, responses.delayNanos, TimeUnit.NANOSECONDS);
    }

    private void stream(ChannelHandlerContext ctx, MockResponses.Stream stream) {
        boolean close = !keepAlive;
        long first = stream.delayNanos()[0];
        if (first == 0) sendFrames(ctx, stream, 0, close);
        else ctx.executor().schedule(() -> sendFrames(ctx, stream, 0, close), first, TimeUnit.NANOSECONDS);
    }

    /**
     * Writes and flushes frames from {@code from} on, each on its own so every event leaves as a
     * separate chunk; stops at the first frame that must wait and schedules the rest.
     */
    private static void sendFrames(ChannelHandlerContext ctx, MockResponses.Stream stream, int from, boolean close) {
        ByteBuf[] frames = stream.frames();
        for (int i = from; i < frames.length; i++) {
            if (!ctx.channel().isActive()) return;
            if (i > from && stream.delayNanos()[i] > 0) {
                int next = i;
                ctx.executor().schedule(() -> sendFrames(ctx, stream, next, close),
                        stream.delayNanos()[i], TimeUnit.NANOSECONDS);
                return;
            }
            ChannelFuture written = ctx.writeAndFlush(i == 0 ? frame(frames[0], close) : frames[i].duplicate());
            if (i == frames.length - 1) finish(written, close);
        }
    }

    /** The prepared bytes to write; a closing answer says so in its headers. */
    private static ByteBuf frame(ByteBuf prepared, boolean close) {
        return close ? HttpWire.withConnectionClose(prepared) : prepared.duplicate();
    }

    private static void finish(ChannelFuture written, boolean close) {
        if (close) written.addListener(ChannelFutureListener.CLOSE);
    }

    private void releaseBody() {
        if (body != null) {
            body.release();
            body = null;
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        releaseBody();
        super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // A client resetting its connection is normal at the end of a load run: close quietly.
        ctx.close();
    }
}
