package dev.skiff.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The upstream connection's decoder: the last pieces of answers, with and without trailers. */
class UpstreamCodecTest {
    @Test
    void anAnswerOfKnownLengthEndsWithTheSharedEmptyTrailersAndAChunkedOneKeepsItsTrailers() {
        EmbeddedChannel ch = new EmbeddedChannel(new UpstreamCodec(4096, 16384, 16384));
        for (int i = 0; i < 3; i++) {
            ch.writeOutbound(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/v1/chat/completions", Unpooled.EMPTY_BUFFER));
        }
        for (Object o; (o = ch.readOutbound()) != null; ) ReferenceCountUtil.release(o);
        ch.writeInbound(Unpooled.copiedBuffer("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"
                + "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nx-checksum: abc\r\n\r\n"
                + "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n[]", StandardCharsets.US_ASCII));
        List<LastHttpContent> lasts = new ArrayList<>();
        int heads = 0;
        for (Object o; (o = ch.readInbound()) != null; ) {
            if (o instanceof HttpResponse) heads++;
            if (o instanceof LastHttpContent last) lasts.add(last);
            else ReferenceCountUtil.release(o);
        }
        assertThat(heads).isEqualTo(3);
        assertThat(lasts).hasSize(3);
        assertThat(lasts.get(0).trailingHeaders()).isSameAs(EmptyHttpHeaders.INSTANCE);
        assertThat(lasts.get(0).content().toString(StandardCharsets.US_ASCII)).isEqualTo("{}");
        assertThat(lasts.get(1).trailingHeaders().get("x-checksum")).isEqualTo("abc");
        assertThat(lasts.get(2).trailingHeaders()).isSameAs(EmptyHttpHeaders.INSTANCE);
        lasts.forEach(ReferenceCountUtil::release);
        ch.finishAndReleaseAll();
    }

    private static EmbeddedChannel sent(HttpMethod... methods) {
        EmbeddedChannel ch = new EmbeddedChannel(new UpstreamCodec(4096, 16384, 16384));
        for (HttpMethod m : methods) ch.writeOutbound(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, m, "/v1/x", Unpooled.EMPTY_BUFFER));
        for (Object o; (o = ch.readOutbound()) != null; ) ReferenceCountUtil.release(o);
        return ch;
    }

    private static List<Object> read(EmbeddedChannel ch) {
        List<Object> got = new ArrayList<>();
        for (Object o; (o = ch.readInbound()) != null; ) got.add(o);
        return got;
    }

    @Test
    void anAnswerThatCameWholeIsOneFullResponseWithItsHeadersAsTheyCame() {
        EmbeddedChannel ch = sent(HttpMethod.POST, HttpMethod.POST);
        ch.writeInbound(Unpooled.copiedBuffer("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length:  7 \r\nX-Odd: a\tb \r\n\r\n{\"a\":1}"
                + "HTTP/1.1 429 Slow Down\r\ncontent-length: 0\r\nconnection: close\r\n\r\n", StandardCharsets.ISO_8859_1));
        List<Object> got = read(ch);
        assertThat(got).hasSize(2);
        FullHttpResponse a = (FullHttpResponse) got.get(0);
        assertThat(a.status()).isSameAs(HttpResponseStatus.OK);
        assertThat(a.headers().names()).containsExactly("Content-Type", "Content-Length", "X-Odd");
        assertThat(a.headers().get("content-length")).isEqualTo("7");
        assertThat(a.headers().get("x-odd")).isEqualTo("a\tb");
        assertThat(a.content().toString(StandardCharsets.US_ASCII)).isEqualTo("{\"a\":1}");
        assertThat(a.trailingHeaders()).isSameAs(EmptyHttpHeaders.INSTANCE);
        FullHttpResponse b = (FullHttpResponse) got.get(1);
        assertThat(b.status().code()).isEqualTo(429);
        assertThat(b.status().reasonPhrase()).isEqualTo("Slow Down");
        assertThat(HttpUtil.isKeepAlive(b)).isFalse();
        assertThat(b.content().readableBytes()).isZero();
        got.forEach(ReferenceCountUtil::release);
        ch.finishAndReleaseAll();
    }

    @Test
    void whatDoesNotComeWholeOrPlainIsNettysToReadAsBefore() {
        // in two reads; chunked; the answer to a HEAD; a 204; a folded header; a second content-length (refused as before)
        EmbeddedChannel ch = sent(HttpMethod.POST, HttpMethod.POST, HttpMethod.HEAD, HttpMethod.POST, HttpMethod.POST, HttpMethod.POST, HttpMethod.POST);
        ch.writeInbound(Unpooled.copiedBuffer("HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nab", StandardCharsets.US_ASCII));
        ch.writeInbound(Unpooled.copiedBuffer("cd"
                + "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
                + "HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n"
                + "HTTP/1.1 204 No Content\r\n\r\n"
                + "HTTP/1.1 200 OK\r\nx-a: 1\r\n  2\r\ncontent-length: 1\r\n\r\nz"
                + "HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\ny", StandardCharsets.US_ASCII));
        List<Object> got = read(ch);
        List<String> kinds = new ArrayList<>();
        StringBuilder bodies = new StringBuilder();
        for (Object o : got) {
            kinds.add(o instanceof FullHttpResponse ? "full" : o instanceof HttpResponse ? "head" : o instanceof LastHttpContent ? "last" : "piece");
            if (o instanceof HttpContent c) bodies.append(c.content().toString(StandardCharsets.US_ASCII)).append('|');
        }
        // Netty's pieces for the first five answers; the last one came whole.
        assertThat(kinds).containsExactly("head", "piece", "last", "head", "piece", "last", "head", "last", "head", "last", "head", "last", "full");
        assertThat(bodies.toString()).isEqualTo("ab|cd|{}||||z|y|");
        assertThat(((HttpResponse) got.get(8)).status().code()).isEqualTo(204);
        got.forEach(ReferenceCountUtil::release);

        EmbeddedChannel twice = sent(HttpMethod.POST);
        twice.writeInbound(Unpooled.copiedBuffer("HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 1\r\n\r\nx", StandardCharsets.US_ASCII));
        List<Object> refused = read(twice);
        assertThat(((HttpResponse) refused.get(0)).decoderResult().isFailure()).isTrue();
        refused.forEach(ReferenceCountUtil::release);
        ch.finishAndReleaseAll();
        twice.finishAndReleaseAll();
    }

    @Test
    void namesAndValuesKeptFromEarlierHeadsAreTakenOnlyWhenTheyAreTheSameBytes() {
        // The reader keeps the Strings of names (and of some values) it has seen; each head must still
        // come out exactly as it was sent: case, every byte of a value, values past the kept length.
        String[] types = {"application/json", "Application/JSON", "application/jsoN", "text/plain; charset=\u00e9", "application/json"};
        String longValue = "x".repeat(200);
        StringBuilder in = new StringBuilder();
        for (int i = 0; i < 5 * 40; i++) {
            String type = types[i % types.length];
            String name = i % 2 == 0 ? "Content-Type" : "content-type";
            String body = "{" + "a".repeat(i % 7) + "}";
            in.append("HTTP/1.1 200 OK\r\n").append(name).append(": ").append(type).append("\r\n")
                    .append("content-length: ").append(body.length()).append("\r\n")
                    .append("x-n-").append(i % 9).append(": ").append(i).append("\r\n")
                    .append("Server: ").append(i % 3 == 0 ? longValue : "s" + (i % 4)).append("\r\n\r\n").append(body);
        }
        HttpMethod[] posts = new HttpMethod[5 * 40];
        java.util.Arrays.fill(posts, HttpMethod.POST);
        EmbeddedChannel ch = sent(posts);
        ch.writeInbound(Unpooled.copiedBuffer(in.toString(), StandardCharsets.ISO_8859_1));
        List<Object> got = read(ch);
        assertThat(got).hasSize(5 * 40);
        for (int i = 0; i < got.size(); i++) {
            FullHttpResponse r = (FullHttpResponse) got.get(i);
            String body = "{" + "a".repeat(i % 7) + "}";
            assertThat(r.headers().names()).containsExactly(i % 2 == 0 ? "Content-Type" : "content-type", "content-length", "x-n-" + (i % 9), "Server");
            assertThat(r.headers().get("content-type")).isEqualTo(types[i % types.length]);
            assertThat(r.headers().get("content-length")).isEqualTo(String.valueOf(body.length()));
            assertThat(r.headers().get("x-n-" + (i % 9))).isEqualTo(String.valueOf(i));
            assertThat(r.headers().get("server")).isEqualTo(i % 3 == 0 ? longValue : "s" + (i % 4));
            assertThat(r.content().toString(StandardCharsets.US_ASCII)).isEqualTo(body);
        }
        got.forEach(ReferenceCountUtil::release);
        ch.finishAndReleaseAll();
    }

    /**
     * Chunked bodies read by the codec (whole chunks at hand read by its own loop, the rest left to Netty's
     * decoder) come out as Netty's decoder alone makes them, however the bytes are split into reads: the
     * same heads, bodies, ends, trailers and faults (pieces may break elsewhere), and a cut body still ends
     * in a failed last piece.
     */
    @Test
    void chunkedBodiesReadAsNettysDecoderReadsThemAtEverySplit() {
        String ev = "data: {\"a\":1}\n\n";
        String hex = Integer.toHexString(ev.length());
        String chunked = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
        String[] answers = {
            chunked + hex + "\r\n" + ev + "\r\n" + hex + "\r\n" + ev + "\r\n" + "3\r\nabc\r\n0\r\n\r\n",
            chunked + "A\r\n0123456789\r\n5;ext=1\r\nhello\r\nb\r\nworld!12345\r\n0\r\nx-sum: 9\r\n\r\n",
            chunked + "50\r\n" + "x".repeat(80) + "\r\n2\r\nok\r\n0\r\n\r\n", // over the 64-byte chunk size below
            "HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nxyz",
            chunked + "0002\r\n{}\r\n000\r\n\r\n",
            chunked + "3\r\nabcX\r\n0\r\n\r\n", // no CRLF after the data: Netty's to refuse
        };
        String[] cut = {chunked + "3\r\nabc\r\n", chunked + "3\r\nabc\r\n4\r\nde"};
        for (String bytes : answers) {
            for (int split = 0; split <= bytes.length(); split++) assertSameAsNetty(bytes, split, false);
            assertSameAsNetty(bytes, -1, false);
        }
        for (String bytes : cut) {
            for (int split = 0; split <= bytes.length(); split++) assertSameAsNetty(bytes, split, true);
        }
    }

    private static void assertSameAsNetty(String bytes, int split, boolean close) {
        EmbeddedChannel skiff = new EmbeddedChannel(new UpstreamCodec(4096, 16384, 64));
        skiff.writeOutbound(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/v1/x", Unpooled.EMPTY_BUFFER));
        for (Object o; (o = skiff.readOutbound()) != null; ) ReferenceCountUtil.release(o);
        EmbeddedChannel netty = new EmbeddedChannel(new io.netty.handler.codec.http.HttpResponseDecoder(4096, 16384, 64));
        String a = summary(skiff, bytes, split, close), b = summary(netty, bytes, split, close);
        assertThat(a).as("split at %d of %s", split, bytes).isEqualTo(b);
    }

    /** Feeds {@code bytes} in two reads at {@code split} (-1: a byte a read), and describes what came out. */
    private static String summary(EmbeddedChannel ch, String bytes, int split, boolean close) {
        byte[] all = bytes.getBytes(StandardCharsets.ISO_8859_1);
        if (split < 0) {
            for (byte x : all) ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {x}));
        } else {
            ch.writeInbound(Unpooled.wrappedBuffer(all, 0, split));
            ch.writeInbound(Unpooled.wrappedBuffer(all, split, all.length - split));
        }
        if (close) ch.finish();
        StringBuilder out = new StringBuilder();
        for (Object o; (o = ch.readInbound()) != null; ) {
            if (o instanceof HttpResponse r) out.append("[head ").append(r.status().code()).append(r.decoderResult().isSuccess() ? "" : " failed").append("]");
            if (o instanceof HttpContent c) out.append(c.content().toString(StandardCharsets.ISO_8859_1));
            if (o instanceof LastHttpContent l) {
                out.append("[end").append(l.decoderResult().isSuccess() ? "" : " failed");
                l.trailingHeaders().forEach(h -> out.append(' ').append(h.getKey()).append('=').append(h.getValue()));
                out.append("]");
            } else if (o instanceof HttpContent c && c.decoderResult().isFailure()) {
                out.append("[piece failed]");
            }
            ReferenceCountUtil.release(o);
        }
        ch.finishAndReleaseAll();
        return out.toString();
    }

    @Test
    void aSmallBodyFromADirectSliceIsCopiedBehindTheHead() {
        io.netty.handler.codec.http.DefaultHttpRequest head = new io.netty.handler.codec.http.DefaultHttpRequest(HttpVersion.HTTP_1_1,
                HttpMethod.POST, "/v1/chat/completions");
        head.headers().set("host", "example.com").setInt("content-length", 3);
        io.netty.buffer.ByteBuf read = Unpooled.directBuffer().writeBytes("xx{}!yy".getBytes(StandardCharsets.US_ASCII));
        UpstreamCodec.Wire w = UpstreamCodec.encode(io.netty.buffer.ByteBufAllocator.DEFAULT, head, read.slice(2, 3));
        assertThat(w.head().toString(StandardCharsets.US_ASCII))
                .isEqualTo("POST /v1/chat/completions HTTP/1.1\r\nhost: example.com\r\ncontent-length: 3\r\n\r\n{}!");
        assertThat(read.readerIndex()).isZero();
        w.release();
        read.release();
    }
}
