package dev.skiff.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What a relaying call writes, and what it keeps back from a stream's terminal event until its limits are settled. */
class ClientWritesTest {
    final EmbeddedChannel channel = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
    final ChannelHandlerContext ctx = channel.pipeline().firstContext();

    static ByteBuf text(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
    }

    /** The outbound messages so far, as text ("END" for the last content). */
    List<String> sent() {
        List<String> out = new ArrayList<>();
        for (Object m; (m = channel.readOutbound()) != null; ) {
            if (m == LastHttpContent.EMPTY_LAST_CONTENT) {
                out.add("END");
                continue;
            }
            HttpContent c = (HttpContent) m;
            out.add(c.content().toString(StandardCharsets.UTF_8));
            c.release();
        }
        return out;
    }

    @Test
    void whatCameBeforeTheTerminalEventGoesWhatCameAfterWaitsAndKeepsItsOrder() {
        ClientWrites w = new ClientWrites(ctx);
        w.queue(text("a"));
        w.queue(text("b"));
        w.keepBack(); // the terminal event comes next
        w.queue(text("DONE"));
        assertThat(w.flush()).isTrue(); // the read completes
        assertThat(sent()).containsExactly("ab");
        w.write(new io.netty.handler.codec.http.DefaultHttpContent(text("tail")));
        w.writeAndFlushVoid(new io.netty.handler.codec.http.DefaultHttpContent(text("stored")));
        w.queue(text("late"));
        assertThat(w.flush()).isTrue();
        assertThat(sent()).isEmpty();

        w.letGo();
        assertThat(sent()).isEmpty(); // written, not flushed yet
        w.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
        assertThat(sent()).containsExactly("DONE", "tail", "stored", "late", "END");
    }

    @Test
    void keptBytesStopTheUpstreamReadsBeyondAReadsWorth() {
        ClientWrites w = new ClientWrites(ctx);
        w.keepBack();
        w.queue(Unpooled.wrappedBuffer(new byte[ClientWrites.MAX_QUEUED]));
        assertThat(w.flush()).isFalse();
        w.letGo();
        assertThat(w.flush()).isTrue();
        assertThat(sent()).hasSize(1);
    }

    @Test
    void theClientLeavingReleasesWhatWasKeptBack() {
        ClientWrites w = new ClientWrites(ctx);
        w.keepBack();
        ByteBuf kept = text("DONE");
        w.queue(kept);
        w.flush();
        ByteBuf written = text("tail");
        w.write(new io.netty.handler.codec.http.DefaultHttpContent(written));
        w.release();
        assertThat(kept.refCnt()).isZero();
        assertThat(written.refCnt()).isZero();
        assertThat(sent()).isEmpty();
    }
}
