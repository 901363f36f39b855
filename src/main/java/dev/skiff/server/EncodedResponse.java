package dev.skiff.server;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.AbstractReferenceCounted;
import io.netty.util.ReferenceCounted;

/**
 * A complete answer with a {@code content-length} body, written out by Skiff itself: the status line,
 * a short list of headers and the body, in one buffer, handed to the socket by {@link ServerCodec}
 * as it is. A forwarded answer costs a header map and Netty's encoder otherwise (a buffer for the
 * head, one for the body, a promise combiner). The {@link ClientGate} takes it for a response head
 * and its end at once.
 *
 * <p>Header values that did not come from Netty's decoder or Skiff's own constants must be checked
 * with {@link #headerSafe} first: nothing here checks them again.
 */
final class EncodedResponse extends AbstractReferenceCounted implements dev.skiff.observe.WholeAnswer {
    /** Bodies up to this size are copied behind the head: one buffer, one piece for the socket. */
    private static final int COPY_BODY_BELOW = 16 << 10;

    private final HttpResponseStatus status;
    private ByteBuf body;
    private final HeadLines head = new HeadLines();
    private boolean close;

    /** Takes ownership of {@code body}. */
    EncodedResponse(HttpResponseStatus status, ByteBuf body) {
        this.status = status;
        this.body = body;
    }

    HttpResponseStatus status() {
        return status;
    }

    @Override
    public int statusCode() {
        return status.code();
    }

    @Override
    public String[] headerPairs() {
        String[] out = head.pairs(2);
        out[out.length - 2] = HttpHeaderNames.CONTENT_LENGTH.toString();
        out[out.length - 1] = Integer.toString(body.readableBytes());
        return out;
    }

    @Override
    public ByteBuf content() {
        return body;
    }

    /** Adds a header (see the class comment on what its value must be). */
    EncodedResponse add(CharSequence name, CharSequence value) {
        head.add(name, value);
        return this;
    }

    /** Replaces every header of that name added before (names compared without case) with this one, or adds it. */
    EncodedResponse set(CharSequence name, CharSequence value) {
        head.set(name, value);
        return this;
    }

    /** The connection closes after this answer: says so to the client. */
    void closeConnection() {
        if (close) return;
        close = true;
        set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }

    /**
     * Whether {@code value} may go into a header as it is: printable ASCII, spaces and tabs, no line
     * break (which would end the header, and let whoever chose the value write headers of its own).
     */
    static boolean headerSafe(CharSequence value) {
        for (int i = 0, n = value.length(); i < n; i++) {
            char c = value.charAt(i);
            if (c < 0x20 && c != '\t' || c >= 0x7f) return false;
        }
        return true;
    }

    /** Writes the answer ({@code headOnly}: without its body, for a HEAD request); the buffers change hands. */
    void writeTo(ChannelHandlerContext ctx, ChannelPromise promise, boolean headOnly) {
        ByteBuf b = body;
        body = null;
        release();
        int bodyBytes = b.readableBytes();
        boolean copy = !headOnly && bodyBytes < COPY_BODY_BELOW;
        ByteBuf out = ctx.alloc().directBuffer(head.estimate() + (copy ? bodyBytes : 0));
        head.writeTo(out, status);
        HeadLines.header(out, HttpHeaderNames.CONTENT_LENGTH, Integer.toString(bodyBytes));
        HeadLines.crlf(out);
        if (headOnly || bodyBytes == 0) {
            b.release();
            ctx.write(out, promise);
        } else if (copy) {
            DirectCopy.write(out, b, b.readerIndex(), bodyBytes);
            b.release();
            ctx.write(out, promise);
        } else {
            ctx.write(out, ctx.voidPromise());
            ctx.write(b, promise);
        }
    }

    @Override
    protected void deallocate() {
        if (body != null) body.release();
        body = null;
    }

    @Override
    public ReferenceCounted touch(Object hint) {
        return this;
    }
}
