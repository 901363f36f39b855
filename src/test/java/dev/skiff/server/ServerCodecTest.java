package dev.skiff.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The client connection's codec: answers Skiff encodes itself, and the bookkeeping Netty's server codec did. */
class ServerCodecTest {
    static ByteBuf ascii(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII);
    }

    static String written(EmbeddedChannel ch) {
        StringBuilder out = new StringBuilder();
        for (Object o; (o = ch.readOutbound()) != null; ) {
            ByteBuf b = (ByteBuf) o;
            out.append(b.toString(StandardCharsets.US_ASCII));
            b.release();
        }
        return out.toString();
    }

    private static void takeRequests(EmbeddedChannel ch, int n) {
        for (int i = 0; i < n; ) {
            Object o = ch.readInbound();
            assertThat(o).isNotNull();
            if (o instanceof HttpRequest) i++;
            ReferenceCountUtil.release(o);
        }
        for (Object o; (o = ch.readInbound()) != null; ) ReferenceCountUtil.release(o);
    }

    @Test
    void settingAHeaderReplacesEveryOneOfThatNameAsAHeaderMapDoes() {
        // The provider's rate-limit headers are added as they came (a name may repeat); Skiff's limits then set theirs.
        EmbeddedChannel ch = new EmbeddedChannel(new ServerCodec(8192, 32768, 65536));
        ch.writeInbound(ascii("GET /v1/models HTTP/1.1\r\nhost: x\r\n\r\n"));
        takeRequests(ch, 1);
        EncodedResponse r = new EncodedResponse(HttpResponseStatus.OK, ascii("{}"));
        r.add("x-ratelimit-remaining-requests", "90").add("x-request-id", "req_1").add("X-RateLimit-Remaining-Requests", "89")
                .add("x-ratelimit-reset-requests", "1s").set("x-ratelimit-remaining-requests", "4").set("x-skiff-new", "y");
        ch.writeOutbound(r);
        assertThat(written(ch)).isEqualTo("HTTP/1.1 200 OK\r\nx-ratelimit-remaining-requests: 4\r\nx-request-id: req_1\r\n"
                + "x-ratelimit-reset-requests: 1s\r\nx-skiff-new: y\r\ncontent-length: 2\r\n\r\n{}");
        ch.finishAndReleaseAll();
    }

    @Test
    void aBodyOfKnownLengthEndsWithTheSharedEmptyTrailersAndAChunkedOneKeepsItsTrailers() {
        EmbeddedChannel ch = new EmbeddedChannel(new ServerCodec(8192, 32768, 65536));
        ch.writeInbound(ascii("POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}"));
        ch.writeInbound(ascii("POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
                + "2\r\n{}\r\n0\r\nx-checksum: abc\r\n\r\n"));
        ch.writeInbound(ascii("POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n[]"));
        java.util.List<io.netty.handler.codec.http.LastHttpContent> lasts = new java.util.ArrayList<>();
        for (Object o; (o = ch.readInbound()) != null; ) {
            if (o instanceof io.netty.handler.codec.http.LastHttpContent last) lasts.add(last);
            else ReferenceCountUtil.release(o);
        }
        assertThat(lasts).hasSize(3);
        assertThat(lasts.get(0).trailingHeaders()).isSameAs(io.netty.handler.codec.http.EmptyHttpHeaders.INSTANCE);
        assertThat(lasts.get(0).content().toString(StandardCharsets.US_ASCII)).isEqualTo("{}");
        assertThat(lasts.get(1).trailingHeaders().get("x-checksum")).isEqualTo("abc");
        assertThat(lasts.get(2).trailingHeaders()).isSameAs(io.netty.handler.codec.http.EmptyHttpHeaders.INSTANCE);
        assertThat(lasts.get(2).content().toString(StandardCharsets.US_ASCII)).isEqualTo("[]");
        lasts.forEach(ReferenceCountUtil::release);
        ch.finishAndReleaseAll();
    }

    @Test
    void anEncodedAnswerIsItsHeadAndBodyInOneBuffer() {
        EmbeddedChannel ch = new EmbeddedChannel(new ServerCodec(8192, 32768, 65536));
        ch.writeInbound(ascii("POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}"));
        takeRequests(ch, 1);
        EncodedResponse r = new EncodedResponse(HttpResponseStatus.OK, ascii("{\"a\":1}"));
        r.add(HttpHeaderNames.CONTENT_TYPE, "application/json").add("x-request-id", "req_1").set("x-request-id", "req_2");
        ch.writeOutbound(r);
        ByteBuf only = ch.readOutbound();
        assertThat(only.toString(StandardCharsets.US_ASCII)).isEqualTo("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                + "x-request-id: req_2\r\ncontent-length: 7\r\n\r\n{\"a\":1}");
        only.release();
        assertThat((Object) ch.readOutbound()).isNull();
        assertThat(r.refCnt()).isZero();
        ch.finishAndReleaseAll();
    }

    @Test
    void theAnswerToAHeadRequestHasNoBodyInEitherPath() {
        EmbeddedChannel ch = new EmbeddedChannel(new ServerCodec(8192, 32768, 65536));
        // Pipelined: a HEAD, then a POST, then a HEAD; answered in order, each by its request's method.
        ch.writeInbound(ascii("HEAD /health HTTP/1.1\r\nhost: x\r\n\r\nPOST /v1/x HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n"
                + "HEAD /health HTTP/1.1\r\nhost: x\r\n\r\n"));
        takeRequests(ch, 3);
        DefaultFullHttpResponse full = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, ascii("{}"));
        full.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, 2);
        ch.writeOutbound(full);
        assertThat(written(ch)).endsWith("content-length: 2\r\n\r\n");
        ch.writeOutbound(new EncodedResponse(HttpResponseStatus.OK, ascii("{}")));
        assertThat(written(ch)).endsWith("content-length: 2\r\n\r\n{}");
        ch.writeOutbound(new EncodedResponse(HttpResponseStatus.OK, ascii("{}")));
        assertThat(written(ch)).endsWith("content-length: 2\r\n\r\n");
        ch.finishAndReleaseAll();
    }

    @Test
    void aLargeBodyFollowsItsHeadUncopiedAndCloseIsSaid() {
        EmbeddedChannel ch = new EmbeddedChannel(new ServerCodec(8192, 32768, 65536));
        ch.writeInbound(ascii("POST /v1/x HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n"));
        takeRequests(ch, 1);
        ByteBuf big = Unpooled.wrappedBuffer(new byte[100_000]);
        EncodedResponse r = new EncodedResponse(HttpResponseStatus.BAD_GATEWAY, big);
        r.closeConnection();
        r.closeConnection(); // said once
        ch.writeOutbound(r);
        ByteBuf head = ch.readOutbound();
        assertThat(head.toString(StandardCharsets.US_ASCII))
                .isEqualTo("HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 100000\r\n\r\n");
        head.release();
        ByteBuf body = ch.readOutbound();
        assertThat(body.readableBytes()).isEqualTo(100_000);
        body.release();
        assertThat(big.refCnt()).isZero();
        ch.finishAndReleaseAll();
    }

    @Test
    void aRequestWithBothFramingsIsMalformed() {
        // Netty's decoder marks it failed (a request-smuggling shape): the gate answers 400 and closes.
        EmbeddedChannel ch = new EmbeddedChannel(new ServerCodec(8192, 32768, 65536));
        ch.writeInbound(ascii("POST /v1/x HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n"));
        HttpRequest req = ch.readInbound();
        assertThat(req.decoderResult().isFailure()).isTrue();
        ReferenceCountUtil.release(req);
        ch.finishAndReleaseAll();
    }

    @Test
    void anInterimAnswerDoesNotTakeTheRequestsPlace() {
        EmbeddedChannel ch = new EmbeddedChannel(new ServerCodec(8192, 32768, 65536));
        ch.writeInbound(ascii("HEAD /health HTTP/1.1\r\nhost: x\r\n\r\n"));
        takeRequests(ch, 1);
        ch.writeOutbound(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE));
        assertThat(written(ch)).startsWith("HTTP/1.1 100 Continue");
        ch.writeOutbound(new EncodedResponse(HttpResponseStatus.OK, ascii("{}"))); // still the HEAD's answer: no body
        assertThat(written(ch)).endsWith("content-length: 2\r\n\r\n");
        ch.finishAndReleaseAll();
    }

    @Test
    void onlyPrintableValuesAreHeaderSafe() {
        assertThat(EncodedResponse.headerSafe("gpt-4o mini\tx")).isTrue();
        assertThat(EncodedResponse.headerSafe("gpt\r\nx-evil: 1")).isFalse();
        assertThat(EncodedResponse.headerSafe("caf\u00e9")).isFalse();
    }

    @Test
    void aRequestThatCameWholeIsOneFullRequestAndPassthroughsExpectsAndLargeBodiesComeInPieces() {
        EmbeddedChannel ch = new EmbeddedChannel(new ServerCodec(8192, 32768, 65536, 16));
        ch.writeInbound(ascii("POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\ncontent-length: 2\r\n\r\n{}"
                + "POST /p/openai/v1/chat/completions HTTP/1.1\r\ncontent-length: 2\r\n\r\n{}"
                + "POST /v1/chat/completions HTTP/1.1\r\nexpect: 100-continue\r\ncontent-length: 2\r\n\r\n{}"
                + "POST /v1/chat/completions HTTP/1.1\r\ncontent-length: 17\r\n\r\n{\"a\":\"0123456789\"}"
                + "GET /v1/models HTTP/1.1\r\ncontent-length: 0\r\n\r\n"));
        java.util.List<String> kinds = new java.util.ArrayList<>();
        io.netty.handler.codec.http.FullHttpRequest first = null;
        for (Object o; (o = ch.readInbound()) != null; ) {
            kinds.add(o instanceof io.netty.handler.codec.http.FullHttpRequest ? "full" : o instanceof HttpRequest ? "head"
                    : o instanceof io.netty.handler.codec.http.LastHttpContent ? "last" : "piece");
            if (first == null && o instanceof io.netty.handler.codec.http.FullHttpRequest f) first = f;
            else ReferenceCountUtil.release(o);
        }
        assertThat(kinds).containsExactly("full", "head", "last", "head", "last", "head", "last", "full");
        assertThat(first.method().name()).isEqualTo("POST");
        assertThat(first.uri()).isEqualTo("/v1/chat/completions?x=1");
        assertThat(first.headers().names()).containsExactly("Host", "Content-Type", "content-length");
        assertThat(first.content().toString(StandardCharsets.US_ASCII)).isEqualTo("{}");
        first.release();
        ch.finishAndReleaseAll();
    }
}
