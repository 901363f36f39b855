package dev.skiff.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.AbstractReferenceCounted;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCounted;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

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
    private static final byte[] HTTP11 = "HTTP/1.1 ".getBytes(StandardCharsets.US_ASCII);

    private final HttpResponseStatus status;
    private ByteBuf body;
    private CharSequence[] headers = new CharSequence[16]; // name, value, name, value...
    private int size;
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
        String[] out = new String[size + 2];
        for (int i = 0; i < size; i++) out[i] = headers[i].toString();
        out[size] = HttpHeaderNames.CONTENT_LENGTH.toString();
        out[size + 1] = Integer.toString(body.readableBytes());
        return out;
    }

    @Override
    public ByteBuf content() {
        return body;
    }

    /** Adds a header (see the class comment on what its value must be). */
    EncodedResponse add(CharSequence name, CharSequence value) {
        if (size + 2 > headers.length) headers = Arrays.copyOf(headers, headers.length * 2);
        headers[size++] = name;
        headers[size++] = value;
        return this;
    }

    /** Replaces every header of that name added before (names compared without case) with this one, or adds it. */
    EncodedResponse set(CharSequence name, CharSequence value) {
        boolean replaced = false;
        for (int i = 0; i < size; ) {
            if (!AsciiString.contentEqualsIgnoreCase(headers[i], name)) {
                i += 2;
            } else if (!replaced) {
                headers[i + 1] = value;
                replaced = true;
                i += 2;
            } else { // a second of the name (a provider may repeat one): gone, as a header map's set does
                System.arraycopy(headers, i + 2, headers, i, size - i - 2);
                size -= 2;
            }
        }
        return replaced ? this : add(name, value);
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
        ByteBuf out = ctx.alloc().directBuffer(96 + size * 24 + (copy ? bodyBytes : 0));
        out.writeBytes(HTTP11);
        ByteBufUtil.writeAscii(out, status.codeAsText());
        out.writeByte(' ');
        ByteBufUtil.writeAscii(out, status.reasonPhrase());
        crlf(out);
        for (int i = 0; i < size; i += 2) header(out, headers[i], headers[i + 1]);
        header(out, HttpHeaderNames.CONTENT_LENGTH, Integer.toString(bodyBytes));
        crlf(out);
        if (headOnly || bodyBytes == 0) {
            b.release();
            ctx.write(out, promise);
        } else if (copy) {
            out.writeBytes(b, b.readerIndex(), bodyBytes);
            b.release();
            ctx.write(out, promise);
        } else {
            ctx.write(out, ctx.voidPromise());
            ctx.write(b, promise);
        }
    }

    private static void header(ByteBuf out, CharSequence name, CharSequence value) {
        ByteBufUtil.writeAscii(out, name);
        out.writeByte(':').writeByte(' ');
        ByteBufUtil.writeAscii(out, value);
        crlf(out);
    }

    private static void crlf(ByteBuf out) {
        out.writeByte('\r').writeByte('\n');
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
