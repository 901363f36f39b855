package dev.skiff.server;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;

/**
 * The Netty end of one client connection. Requests are answered in order: a pipelined request waits
 * until the proxied call before it has finished. A client that disconnects cancels its call.
 */
final class ConnectionHandler extends ChannelInboundHandlerAdapter {
    private final Gateway gateway;
    private ProxyCall inFlight;
    private ArrayDeque<FullHttpRequest> waiting;

    ConnectionHandler(Gateway gateway) {
        this.gateway = gateway;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof FullHttpRequest req)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (inFlight != null) {
            if (waiting == null) waiting = new ArrayDeque<>(2);
            waiting.add(req);
            return;
        }
        dispatch(ctx, req);
    }

    private void dispatch(ChannelHandlerContext ctx, FullHttpRequest req) {
        ProxyCall call = gateway.handle(ctx, req);
        if (call == null) return;
        inFlight = call;
        call.onFinished(() -> {
            inFlight = null;
            FullHttpRequest next = waiting == null ? null : waiting.poll();
            if (next != null && ctx.channel().isActive()) ctx.channel().eventLoop().execute(() -> dispatch(ctx, next));
            else if (next != null) next.release();
        });
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (inFlight != null) inFlight.clientWritabilityChanged(ctx.channel().isWritable());
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (inFlight != null) inFlight.cancel();
        if (waiting != null) {
            waiting.forEach(FullHttpRequest::release);
            waiting.clear();
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // A reset or broken connection: nothing to answer, just let go of it.
        ctx.close();
    }
}
