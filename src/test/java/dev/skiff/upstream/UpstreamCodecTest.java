package dev.skiff.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
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
}
