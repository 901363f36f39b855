package dev.skiff.server;

import dev.skiff.control.Caller;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;

/**
 * The Netty end of one client connection. Requests are answered in order: a pipelined request waits
 * until the proxied call before it has finished, and reading stops while one waits. A client that
 * disconnects cancels its call.
 *
 * <p>A passthrough request arrives as a head and body pieces rather than whole ({@link BodyLimit}
 * lets it by); its pieces go to its call as they come.
 */
final class ConnectionHandler extends ChannelInboundHandlerAdapter {
    private final Gateway gateway;
    private final ClientGate gate; // says who each request acts for
    private ArrayDeque<Caller> waitingCallers; // of the requests in waiting, in order
    private final long maxBodyBytes; // for the passthrough bodies that are gathered (SigV4 Bedrock)
    private ProxyCall inFlight;
    private PassthroughCall passing; // a passthrough call whose response is not finished
    private PassthroughCall receiving; // the passthrough call whose request body is still arriving
    private ArrayDeque<HttpObject> waiting; // whole requests, and passthrough heads with the pieces read so far
    private boolean pausedForWrites; // reading stopped because the client does not read its responses

    ConnectionHandler(Gateway gateway, ClientGate gate, long maxBodyBytes) {
        this.gateway = gateway;
        this.gate = gate;
        this.maxBodyBytes = maxBodyBytes;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpRequest req) {
            if (inFlight != null || passing != null || (waiting != null && !waiting.isEmpty())) {
                if (waiting == null) {
                    waiting = new ArrayDeque<>(2);
                    waitingCallers = new ArrayDeque<>(2);
                }
                waiting.add(req);
                waitingCallers.add(gate.caller());
                // Read no further while requests wait their turn: a client pipelining behind a slow
                // call would otherwise have its requests (and passthrough bodies) gathered without bound.
                ctx.channel().config().setAutoRead(false);
                return;
            }
            dispatch(ctx, req, gate.caller());
            return;
        }
        if (msg instanceof HttpContent piece) {
            if (receiving != null) {
                feed(piece);
                return;
            }
            if (waiting != null && !waiting.isEmpty()) { // the body of a passthrough request that waits
                waiting.add(piece);
                return;
            }
        }
        ReferenceCountUtil.release(msg);
    }

    private void dispatch(ChannelHandlerContext ctx, HttpRequest req, Caller caller) {
        if (req instanceof FullHttpRequest full) {
            ProxyCall call = gateway.handle(ctx, full, caller);
            if (call == null) return;
            inFlight = call;
            call.onFinished(() -> {
                inFlight = null;
                next(ctx);
            });
            return;
        }
        PassthroughCall call;
        try {
            call = gateway.passthrough().start(ctx, req, maxBodyBytes, caller);
        } catch (Throwable t) {
            // Never leave the client waiting: answer, log, and close (the rest of its body is dropped).
            gateway.internalError(ctx, req.uri(), RequestIds.accept(req.headers().get(Replies.X_REQUEST_ID)), t);
            return;
        }
        receiving = call;
        passing = call;
        call.onFinished(() -> {
            passing = null;
            next(ctx);
        });
    }

    private void feed(HttpContent piece) {
        PassthroughCall call = receiving;
        if (piece instanceof LastHttpContent) receiving = null;
        call.onClientContent(piece);
    }

    private void next(ChannelHandlerContext ctx) {
        if (waiting != null && !waiting.isEmpty()) ctx.channel().eventLoop().execute(() -> dispatchWaiting(ctx));
    }

    /** Dispatches waiting requests in order until one of them occupies the connection. */
    private void dispatchWaiting(ChannelHandlerContext ctx) {
        if (waiting == null) return;
        while (inFlight == null && passing == null && ctx.channel().isActive()) {
            HttpObject next = waiting.poll();
            if (next == null) break;
            if (!(next instanceof HttpRequest req)) { // a piece whose request is gone; cannot happen, but never leak it
                ReferenceCountUtil.release(next);
                continue;
            }
            dispatch(ctx, req, waitingCallers.poll());
            while (receiving != null && waiting.peek() instanceof HttpContent piece && !(piece instanceof HttpRequest)) {
                waiting.poll();
                feed(piece);
            }
        }
        // Reading stopped while requests waited; it resumes once none waits (unless the client is not
        // reading its answers). A passthrough now receiving its body paces the reading itself from here on.
        if (!pausedForWrites && waiting.stream().noneMatch(m -> m instanceof HttpRequest)) {
            ctx.channel().config().setAutoRead(true);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        boolean writable = ctx.channel().isWritable();
        // A client that pipelines requests without reading the answers would have them pile up in
        // memory: read no more requests while its socket is full. Not while a passthrough body
        // arrives, which paces reading itself by the provider's socket.
        var config = ctx.channel().config();
        if (!writable && receiving == null && config.isAutoRead()) {
            pausedForWrites = true;
            config.setAutoRead(false);
        } else if (writable && pausedForWrites) {
            pausedForWrites = false;
            if (waiting == null || waiting.isEmpty()) config.setAutoRead(true);
        }
        if (inFlight != null) inFlight.clientWritabilityChanged(writable);
        if (passing != null) passing.clientWritabilityChanged(writable);
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == SkiffServer.Drain.DEADLINE) {
            // Shutting down, and this connection's request outlived the drain: end it visibly, then the connection.
            if (inFlight != null) inFlight.shutDown();
            if (passing != null) passing.shutDown();
            ctx.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER).addListener(io.netty.channel.ChannelFutureListener.CLOSE);
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (inFlight != null) inFlight.cancel();
        if (passing != null) passing.cancel();
        if (waiting != null) {
            waiting.forEach(ReferenceCountUtil::release);
            waiting.clear();
            waitingCallers.clear();
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // A reset or broken connection: nothing to answer, just let go of it. Anything else is a bug
        // of Skiff's: this connection ends (the event loop and every other connection go on), and
        // it is said, or it would never be found.
        if (!(cause instanceof java.io.IOException)) {
            System.err.println("skiff: closing a client connection after an unexpected error: " + cause);
            cause.printStackTrace();
        }
        ctx.close();
    }
}
