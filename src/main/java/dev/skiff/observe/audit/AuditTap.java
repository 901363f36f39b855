package dev.skiff.observe.audit;

import dev.skiff.observe.RequestTrail;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.util.AttributeKey;

/**
 * Sees what Skiff writes to a client, for the audit log: every response of a connection passes here
 * on its way out (head, body pieces, stream chunks, whole responses alike), so the response is
 * captured in one place rather than at each of the call's many write sites. It is in the pipeline
 * only while the audit log is on; the current request's trail is attached when its handling starts.
 */
public final class AuditTap extends ChannelOutboundHandlerAdapter {
    private static final AttributeKey<AuditTap> KEY = AttributeKey.valueOf("skiff.audit.tap");

    private RequestTrail current;

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        ctx.channel().attr(KEY).set(this);
    }

    /** Captures what {@code channel} writes from now on into {@code trail} (until it is finished). */
    public static void attach(Channel channel, RequestTrail trail) {
        AuditTap tap = channel.attr(KEY).get();
        if (tap != null) tap.current = trail;
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        RequestTrail t = current;
        if (t != null) {
            if (t.isFinished()) current = null;
            else t.clientWrite(msg);
        }
        ctx.write(msg, promise);
    }
}
