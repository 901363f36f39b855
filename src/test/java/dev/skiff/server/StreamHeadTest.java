package dev.skiff.server;

import static dev.skiff.server.ServerCodecTest.ascii;
import static dev.skiff.server.ServerCodecTest.written;
import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * A stream's head and chunks as the server codec writes them itself ({@link StreamHead}, {@link
 * ChunkWithRoom}) come out byte for byte as Netty's response encoder writes the same answer from a
 * header map and {@link HttpContent}s: chunked, close-delimited (HTTP/1.0), and for a HEAD request.
 */
class StreamHeadTest {
    private static final String[][] HEADERS = {
        {"content-type", "text/event-stream"}, {"transfer-encoding", "chunked"}, {"cache-control", "no-cache"},
        {"x-request-id", "req_1"}, {"x-ratelimit-remaining-requests", "99"}};

    /** A piece in a buffer of a gather's own, as a relaying call writes it. */
    private static HttpContent gathered(String... events) {
        Gather g = new Gather(ByteBufAllocator.DEFAULT);
        for (String e : events) {
            byte[] a = e.getBytes(StandardCharsets.US_ASCII);
            g.add(a, 0, a.length);
        }
        assertThat(g.ownsBuffer()).isTrue();
        return new ChunkWithRoom(g.take());
    }

    /** The body's messages, made afresh for each encoder. */
    private static List<Supplier<HttpContent>> body(boolean trailers) {
        String big = "data: " + "x".repeat(70_000) + "\n\n"; // a size line of five hex digits
        List<Supplier<HttpContent>> b = new ArrayList<>();
        b.add(() -> gathered("data: {\"a\":1}\n\n", "data: {\"b\":2}\n\n"));
        b.add(() -> new DefaultHttpContent(Unpooled.EMPTY_BUFFER)); // an empty piece: no chunk (it would end the body)
        b.add(() -> gathered("d")); // one byte: one hex digit
        b.add(() -> new DefaultHttpContent(ascii(big))); // not in a buffer with room: framed around it
        b.add(() -> gathered("e".repeat(4000))); // a gather's buffer that grew
        b.add(() -> new DefaultHttpContent(ascii("data: [DONE]\n\n")));
        if (trailers) {
            b.add(() -> {
                LastHttpContent last = new DefaultLastHttpContent(ascii("tail"));
                last.trailingHeaders().add("x-usage", "12").add("x-more", "a b");
                return last;
            });
        } else {
            b.add(() -> LastHttpContent.EMPTY_LAST_CONTENT);
        }
        return b;
    }

    private static String request(String method, String version) {
        return method + " /v1/chat/completions " + version + "\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}";
    }

    /** A channel through {@code codec} that took {@code request}. */
    private static EmbeddedChannel after(ChannelHandler codec, String request) {
        EmbeddedChannel ch = new EmbeddedChannel(codec);
        ch.writeInbound(ascii(request));
        for (Object o; (o = ch.readInbound()) != null; ) ReferenceCountUtil.release(o);
        return ch;
    }

    /** What {@code ch} writes for {@code head} and {@code body}. */
    private static String answer(EmbeddedChannel ch, Object head, List<Supplier<HttpContent>> body) {
        ch.write(head);
        for (Supplier<HttpContent> c : body) ch.write(c.get());
        ch.flush();
        String out = written(ch);
        ch.finishAndReleaseAll();
        return out;
    }

    /** What Skiff's codec writes for the answer to {@code request}. */
    private static String ours(String request, boolean closeDelimited, List<Supplier<HttpContent>> body) {
        StreamHead head = new StreamHead(HttpResponseStatus.OK);
        for (String[] h : HEADERS) head.lines().add(h[0], h[1]);
        if (closeDelimited) head.closeDelimited();
        return answer(after(new ServerCodec(8192, 32768, 65536), request), head, body);
    }

    /** What Netty's server codec writes for the same answer from a header map. */
    private static String netty(String request, boolean closeDelimited, List<Supplier<HttpContent>> body) {
        HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        for (String[] h : HEADERS) head.headers().add(h[0], h[1]);
        if (closeDelimited) { // what ClientGate does to an HTTP/1.0 client's stream head
            head.headers().remove(HttpHeaderNames.TRANSFER_ENCODING);
            head.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        return answer(after(new HttpServerCodec(), request), head, body);
    }

    @Test
    void aChunkedStreamComesOutAsNettysEncoderWritesIt() {
        for (boolean trailers : new boolean[] {false, true}) {
            String ours = ours(request("POST", "HTTP/1.1"), false, body(trailers));
            assertThat(ours).isEqualTo(netty(request("POST", "HTTP/1.1"), false, body(trailers)));
            assertThat(ours).startsWith("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n")
                    .contains("\r\n1e\r\ndata: {\"a\":1}\n\ndata: {\"b\":2}\n\n\r\n1\r\nd\r\n")
                    .endsWith(trailers ? "\r\n0\r\nx-usage: 12\r\nx-more: a b\r\n\r\n" : "data: [DONE]\n\n\r\n0\r\n\r\n");
        }
    }

    @Test
    void theStreamParsesBackWithNettysDecoder() {
        String ours = ours(request("POST", "HTTP/1.1"), false, body(true));
        EmbeddedChannel client = new EmbeddedChannel(new HttpResponseDecoder(), new HttpObjectAggregator(1 << 20));
        client.writeInbound(ascii(ours));
        FullHttpResponse r = client.readInbound();
        assertThat(r.status().code()).isEqualTo(200);
        assertThat(r.headers().get("x-request-id")).isEqualTo("req_1");
        assertThat(r.trailingHeaders().get("x-usage")).isEqualTo("12");
        String content = r.content().toString(StandardCharsets.US_ASCII);
        assertThat(content).startsWith("data: {\"a\":1}\n\ndata: {\"b\":2}\n\nd").endsWith("data: [DONE]\n\ntail").hasSize(30 + 1 + 70_008 + 4000 + 14 + 4);
        r.release();
        client.finishAndReleaseAll();
    }

    @Test
    void anHttp10ClientsStreamIsCloseDelimitedAsNettyWritesIt() {
        for (boolean trailers : new boolean[] {false, true}) {
            String ours = ours(request("POST", "HTTP/1.0"), true, body(trailers));
            assertThat(ours).isEqualTo(netty(request("POST", "HTTP/1.0"), true, body(trailers)));
            assertThat(ours).doesNotContain("transfer-encoding").contains("connection: close\r\n\r\ndata: {\"a\":1}\n\ndata: {\"b\":2}\n\nd")
                    .endsWith(trailers ? "data: [DONE]\n\ntail" : "data: [DONE]\n\n");
        }
    }

    @Test
    void aHeadRequestGetsTheHeadAloneAsFromNetty() {
        String ours = ours(request("HEAD", "HTTP/1.1"), false, body(true));
        assertThat(ours).isEqualTo(netty(request("HEAD", "HTTP/1.1"), false, body(true)));
        assertThat(ours).endsWith("x-ratelimit-remaining-requests: 99\r\n\r\n");
    }

    @Test
    void theNextAnswerOnTheConnectionIsFramedAsItsOwn() {
        // After a stream's end the codec frames nothing of its own: a header-map answer that follows is Netty's.
        EmbeddedChannel ch = after(new ServerCodec(8192, 32768, 65536), request("POST", "HTTP/1.1") + request("POST", "HTTP/1.1"));
        StreamHead head = new StreamHead(HttpResponseStatus.OK);
        head.lines().add("transfer-encoding", "chunked");
        ch.write(head);
        ch.write(gathered("a"));
        ch.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
        HttpResponse second = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        second.headers().set(HttpHeaderNames.CONTENT_LENGTH, 2);
        ch.write(second);
        ch.writeAndFlush(new DefaultLastHttpContent(ascii("ok")));
        assertThat(written(ch)).isEqualTo("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n"
                + "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
        ch.finishAndReleaseAll();
    }
}
