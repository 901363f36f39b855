package dev.skiff.bench;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.concurrent.Future;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One closed-loop client: a keep-alive connection that sends the next request only when the
 * previous response has fully arrived, so the offered load adapts to the server and latency is
 * never hidden behind a queue inside the load generator. All state lives on one event loop.
 * A failed or timed-out request counts as an error, and the connection is opened anew for the
 * next one, so a misbehaving server can slow a run down but never hang it. Latency runs from
 * writing the request to the last byte of the response: (re)connecting is not part of it.
 */
final class ClientConnection {
    private static final int SNIPPET_BYTES = 200;

    private final Bootstrap bootstrap;
    private final Target target;
    private final ByteBuf[] requests; // sent in turn: one, or several differing in a header
    private int next;
    private final int step;
    private final long timeoutNanos;
    private final boolean closeEach;
    private final EventLoop loop;

    private Channel channel;
    private Phase phase;
    private long sentAt;           // 0 while no request is outstanding
    private long firstByteAt;
    private int status;
    private boolean keepAlive;
    private long bodyBytes;
    private StringBuilder snippet; // the start of a non-2xx body, for the one diagnostic line

    /** @param closeEach the request asks for {@code Connection: close}: open a connection per request */
    ClientConnection(Bootstrap bootstrap, EventLoop loop, Target target, ByteBuf request, long timeoutNanos,
            boolean closeEach) {
        this(bootstrap, loop, target, new ByteBuf[] {request}, 0, 1, timeoutNanos, closeEach);
    }

    /**
     * Sends {@code requests} in turn, starting at {@code first} and moving by {@code step}: connection
     * i of n, starting at i with step n, covers them all between the connections.
     */
    ClientConnection(Bootstrap bootstrap, EventLoop loop, Target target, ByteBuf[] requests, int first, int step, long timeoutNanos,
            boolean closeEach) {
        this.bootstrap = bootstrap.clone(loop);
        this.loop = loop;
        this.target = target;
        this.requests = requests;
        this.next = first % requests.length;
        this.step = step;
        this.timeoutNanos = timeoutNanos;
        this.closeEach = closeEach;
        this.bootstrap.handler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(new HttpResponseDecoder(), new Handler());
            }
        });
        loop.scheduleAtFixedRate(this::failIfStale, 100, 100, TimeUnit.MILLISECONDS);
    }

    /** Opens the connection ahead of the run, so connecting is not counted as request latency. */
    Future<?> open() {
        ChannelFuture connect = bootstrap.connect(target.host(), target.port());
        connect.addListener(f -> {
            if (f.isSuccess()) channel = connect.channel();
        });
        return connect;
    }

    /** Starts (or continues) sending the requests of {@code next}, from this connection's loop. */
    void run(Phase next) {
        loop.execute(() -> {
            phase = next;
            sendNext();
        });
    }

    void close() {
        loop.execute(() -> {
            if (channel != null) channel.close();
        });
    }

    private void sendNext() {
        if (!phase.claim()) return;
        if (channel != null && channel.isActive()) {
            send();
            return;
        }
        // The server closed the connection (or it never opened): reconnect, then send.
        ChannelFuture connect = bootstrap.connect(target.host(), target.port());
        connect.addListener(f -> {
            if (f.isSuccess()) {
                channel = connect.channel();
                send();
            } else {
                phase.error(f.cause());
                loop.execute(this::sendNext);
            }
        });
    }

    private void send() {
        status = 0;
        keepAlive = true;
        bodyBytes = 0;
        firstByteAt = 0;
        snippet = null;
        sentAt = System.nanoTime();
        Channel on = channel;
        ByteBuf request = requests[next];
        next = (next + step) % requests.length;
        on.writeAndFlush(request.duplicate()).addListener(f -> {
            if (!f.isSuccess()) fail(on, f.cause());
        });
    }

    private void onResponse(HttpResponse response) {
        status = response.status().code();
        keepAlive = HttpUtil.isKeepAlive(response) && !closeEach;
        if (status < 200 || status > 299) snippet = new StringBuilder();
    }

    private void onContent(HttpContent content) {
        ByteBuf bytes = content.content();
        int readable = bytes.readableBytes();
        if (readable > 0 && firstByteAt == 0) firstByteAt = System.nanoTime();
        bodyBytes += readable;
        if (snippet != null && snippet.length() < SNIPPET_BYTES) {
            int n = Math.min(readable, SNIPPET_BYTES - snippet.length());
            snippet.append(bytes.toString(bytes.readerIndex(), n, UTF_8));
        }
        if (content instanceof LastHttpContent) complete();
    }

    private void complete() {
        long now = System.nanoTime();
        long latency = now - sentAt;
        long firstByte = (firstByteAt == 0 ? now : firstByteAt) - sentAt;
        sentAt = 0;
        if (status >= 200 && status <= 299) phase.ok(latency, firstByte, bodyBytes);
        else phase.non2xx(status, snippet == null ? "" : snippet.toString().replaceAll("\\s+", " "));
        if (!keepAlive) {
            channel.close();
            channel = null;
        }
        sendNext();
    }

    /** Ends the outstanding request of {@code on} as an error; events of older channels are ignored. */
    private void fail(Channel on, Throwable cause) {
        if (on == null || on != channel || sentAt == 0) return;
        sentAt = 0;
        channel.close();
        channel = null;
        phase.error(cause);
        sendNext();
    }

    private void failIfStale() {
        if (sentAt != 0 && System.nanoTime() - sentAt > timeoutNanos) {
            fail(channel, new TimeoutException("no complete response within "
                    + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms"));
        }
    }

    /** Feeds decoded response parts to the connection; one instance per channel. */
    private final class Handler extends SimpleChannelInboundHandler<HttpObject> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
            if (ctx.channel() != channel || sentAt == 0) return;
            if (msg.decoderResult().isFailure()) {
                fail(ctx.channel(), msg.decoderResult().cause());
                return;
            }
            if (msg instanceof HttpResponse response) onResponse(response);
            if (msg instanceof HttpContent content) onContent(content);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            fail(ctx.channel(), new IOException("connection closed by the server mid-response"));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            fail(ctx.channel(), cause);
            ctx.close();
        }
    }
}
