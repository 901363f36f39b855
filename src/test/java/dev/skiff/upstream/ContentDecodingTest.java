package dev.skiff.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;

/** Pieces of an answer with no decoder pass as they are; a compressed answer on the same connection is still decoded. */
class ContentDecodingTest {
    private int reads;

    private EmbeddedChannel channel() {
        return new EmbeddedChannel(new ChannelOutboundHandlerAdapter() {
            @Override
            public void read(ChannelHandlerContext ctx) {
                reads++;
                ctx.read();
            }
        }, new ContentDecoding());
    }

    private static HttpResponse chunked(String encoding) {
        HttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        r.headers().set("transfer-encoding", "chunked");
        if (encoding != null) r.headers().set("content-encoding", encoding);
        return r;
    }

    private static ByteBuf ascii(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII);
    }

    private static byte[] gzip(String s) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(s.getBytes(StandardCharsets.US_ASCII));
        }
        return out.toByteArray();
    }

    /** The body that came out of the channel since the last call, and whether its last piece came. */
    private static String body(EmbeddedChannel ch, boolean[] ended) {
        StringBuilder b = new StringBuilder();
        for (Object o; (o = ch.readInbound()) != null; ) {
            if (o instanceof HttpContent c) {
                b.append(c.content().toString(StandardCharsets.US_ASCII));
                if (c instanceof LastHttpContent) ended[0] = true;
                c.release();
            }
        }
        return b.toString();
    }

    @Test
    void identityPiecesPassAsTheyAreAndGzipBetweenThemIsDecoded() throws Exception {
        EmbeddedChannel ch = channel();
        boolean[] ended = new boolean[1];
        for (int round = 0; round < 2; round++) {
            ch.writeInbound(chunked(null));
            DefaultHttpContent piece = new DefaultHttpContent(ascii("data: a\n\n"));
            ch.writeInbound(piece);
            ch.writeInbound(new DefaultHttpContent(ascii("data: b\n\n")));
            ch.writeInbound(new DefaultLastHttpContent());
            assertThat(ch.<Object>readInbound()).isInstanceOf(HttpResponse.class);
            Object first = ch.readInbound();
            assertThat(first).isSameAs(piece); // not a copy, nor retained again
            assertThat(piece.refCnt()).isEqualTo(1);
            piece.release();
            ended[0] = false;
            assertThat(body(ch, ended)).isEqualTo("data: b\n\n");
            assertThat(ended[0]).isTrue();

            byte[] z = gzip("data: compressed\n\n");
            HttpResponse gz = chunked("gzip");
            ch.writeInbound(gz);
            ch.writeInbound(new DefaultHttpContent(Unpooled.wrappedBuffer(z, 0, 7)));
            ch.writeInbound(new DefaultHttpContent(Unpooled.wrappedBuffer(z, 7, z.length - 7)));
            ch.writeInbound(new DefaultLastHttpContent());
            HttpResponse head = ch.readInbound();
            assertThat(head.headers().contains("content-encoding")).isFalse();
            ended[0] = false;
            assertThat(body(ch, ended)).isEqualTo("data: compressed\n\n");
            assertThat(ended[0]).isTrue();
        }
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void aReadThatPassedPiecesOnAsksForNoOtherWhenReadsAreNotAutomatic() {
        EmbeddedChannel ch = channel();
        ch.config().setAutoRead(false);
        ch.writeInbound(chunked(null)); // writeInbound completes a read after each message
        int before = reads;
        ch.writeInbound(new DefaultHttpContent(ascii("data: a\n\n")));
        assertThat(reads).isEqualTo(before); // something went on: no read asked for
        ch.pipeline().fireChannelReadComplete(); // a read that brought nothing
        assertThat(reads).isEqualTo(before + 1);
        ch.writeInbound(new DefaultLastHttpContent());
        ch.finishAndReleaseAll();
    }
}
