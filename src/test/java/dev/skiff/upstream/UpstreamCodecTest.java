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
}
