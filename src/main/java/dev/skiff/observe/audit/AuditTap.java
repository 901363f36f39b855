package dev.skiff.observe.audit;

import dev.skiff.observe.RequestTrail;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.util.AttributeKey;

/**
 * Sees what Skiff writes to a client, for the audit log: every response of a connection passes here
 * on its way out (head, body pieces, stream chunks, whole responses alike), so the response is
 * captured in one place rather than at each of the call's many write sites. A connection made while
 * the audit log is on gets it at once; one made while it was off gets it with its first audited
 * request ({@link #attach}). It leaves the pipeline at the first write it sees with no request to
 * capture (the audit level was turned off, or the request is one nothing audits), so that a connection
 * of a gateway whose audit log was turned off pays nothing for it; the next audited request puts it back.
 */
public final class AuditTap extends ChannelOutboundHandlerAdapter {
    private static final AttributeKey<AuditTap> KEY = AttributeKey.valueOf("skiff.audit.tap");

    private RequestTrail current;

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        ctx.channel().attr(KEY).set(this);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        ctx.channel().attr(KEY).compareAndSet(this, null);
    }

    /**
     * Captures what the handler of {@code ctx} writes from now on into {@code trail} (until it is
     * finished), putting a tap just before that handler when the connection has none.
     */
    public static void attach(ChannelHandlerContext ctx, RequestTrail trail) {
        AuditTap tap = ctx.channel().attr(KEY).get();
        if (tap == null) {
            tap = new AuditTap();
            ctx.pipeline().addBefore(ctx.name(), null, tap);
        }
        tap.current = trail;
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        RequestTrail t = current;
        if (t == null) {
            ctx.pipeline().remove(this); // nothing to capture: out of the way until an audited request (see attach)
        } else if (t.isFinished()) {
            current = null;
        } else {
            t.clientWrite(msg);
        }
        ctx.write(msg, promise);
    }
}
