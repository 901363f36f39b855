package dev.skiff.observe.audit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.skiff.observe.RequestTrail;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The tap joins a connection with its first audited request and leaves it at the first write it has nothing to capture of. */
class AuditTapTest {
    /** Stands for the connection's handler: the tap goes just before it. */
    static final class Handler extends ChannelInboundHandlerAdapter {
        ChannelHandlerContext ctx;

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.ctx = ctx;
        }
    }

    static FullHttpResponse response() {
        return new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, Unpooled.wrappedBuffer(new byte[] {'{', '}'}));
    }

    @Test
    void joinsWhenNeededAndLeavesWhenNotAndCapturesBetween() {
        Handler h = new Handler();
        EmbeddedChannel ch = new EmbeddedChannel(h);
        dev.skiff.observe.Observers o = new dev.skiff.observe.Observers(null);
        o.audit(new AuditConfig(AuditConfig.Level.BODIES, 1024, null, Duration.ofDays(1)));
        RequestTrail t = AuditSwitchTest.begin(o);
        assertThat(ch.pipeline().get(AuditTap.class)).isNull();

        RequestTrail audited = o.begin(new io.netty.handler.codec.http.DefaultFullHttpRequest(HttpVersion.HTTP_1_1,
                io.netty.handler.codec.http.HttpMethod.GET, "/v1/models"));
        AuditTap.attach(h.ctx, audited);
        assertThat(ch.pipeline().get(AuditTap.class)).isNotNull();
        assertThat(ch.pipeline().names().indexOf(ch.pipeline().context(AuditTap.class).name()))
                .isLessThan(ch.pipeline().names().indexOf(h.ctx.name()));
        h.ctx.writeAndFlush(response());
        assertThat(audited.clientStatus()).isEqualTo(200);
        ((FullHttpResponse) ch.readOutbound()).release();
        AuditTap first = ch.pipeline().get(AuditTap.class);
        AuditTap.attach(h.ctx, t); // the next audited request: the same tap
        assertThat(ch.pipeline().get(AuditTap.class)).isSameAs(first);

        t.finish();
        h.ctx.writeAndFlush(response()); // after its request ended: not captured
        h.ctx.writeAndFlush(response()); // a response nothing audits: the tap leaves, the write still goes out
        assertThat(ch.pipeline().get(AuditTap.class)).isNull();
        assertThat(ch.outboundMessages()).hasSize(2);
        ch.finishAndReleaseAll();
    }
}
