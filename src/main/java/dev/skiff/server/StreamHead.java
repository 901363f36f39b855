package dev.skiff.server;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * The head of a streamed answer, written out by Skiff itself as {@link EncodedResponse} writes a
 * complete one: no header map, no Netty encoder. What follows it (the stream's pieces as {@link
 * io.netty.handler.codec.http.HttpContent}, its end as a {@link io.netty.handler.codec.http.LastHttpContent})
 * is framed by {@link ServerCodec} too: chunked while the head says {@code transfer-encoding: chunked},
 * as it is otherwise (an HTTP/1.0 client, see {@link ClientGate}), and not at all for a HEAD request.
 *
 * <p>Header values are as for {@link EncodedResponse}: checked first unless they came from Netty's
 * decoder or Skiff's own constants.
 */
final class StreamHead implements dev.skiff.observe.AnswerHead {
    private final HttpResponseStatus status;
    private final HeadLines head = new HeadLines();

    /** {@code status}: one whose answer has a body (not 1xx, 204, 205 or 304). */
    StreamHead(HttpResponseStatus status) {
        this.status = status;
    }

    /** Its headers, to add to or set (see the class comment on what their values must be). */
    HeadLines lines() {
        return head;
    }

    /** Whether the body goes in chunks. */
    boolean chunked() {
        return head.has(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
    }

    /** No chunks: the body ends where the connection does (for a client that cannot read chunks). */
    void closeDelimited() {
        head.remove(HttpHeaderNames.TRANSFER_ENCODING);
        head.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }

    @Override
    public int statusCode() {
        return status.code();
    }

    @Override
    public String[] headerPairs() {
        return head.pairs(0);
    }

    /** Writes the head, up to the empty line that ends it. */
    void writeTo(ChannelHandlerContext ctx, ChannelPromise promise) {
        ByteBuf out = ctx.alloc().directBuffer(head.estimate());
        head.writeTo(out, status);
        HeadLines.crlf(out);
        ctx.write(out, promise);
    }
}
