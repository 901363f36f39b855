package dev.skiff.upstream;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.CombinedChannelDuplexHandler;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestEncoder;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.util.AbstractReferenceCounted;
import io.netty.util.ReferenceCounted;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The HTTP/1.1 codec of an upstream connection: Netty's response decoder and request encoder, plus
 * a request Skiff wrote out itself ({@link Wire}: head and body in one buffer, see {@link #encode}),
 * which goes to the socket as it is, in one write. Netty's encoder would make a header buffer and a
 * body buffer for the same request, through a promise combiner and its recycled lists, and the
 * socket would get two pieces.
 *
 * <p>As Netty's client codec does, it remembers the method of each request sent, so that the answer
 * to a HEAD is read without a body and a successful CONNECT ends the HTTP conversation.
 */
final class UpstreamCodec extends CombinedChannelDuplexHandler<UpstreamCodec.Decoder, UpstreamCodec.Encoder> {
    /**
     * A whole request, encoded: goes out as it is. Owns {@code head} and {@code body} (null when it is
     * in the head's buffer); reference-counted so that a write that never reaches the codec (the
     * channel closed) still lets them go.
     */
    static final class Wire extends AbstractReferenceCounted {
        private final HttpMethod method;
        private ByteBuf head, body;

        Wire(HttpMethod method, ByteBuf head, ByteBuf body) {
            this.method = method;
            this.head = head;
            this.body = body;
        }

        HttpMethod method() {
            return method;
        }

        /** The encoded head (and the body, when it was copied behind it). */
        ByteBuf head() {
            return head;
        }

        @Override
        protected void deallocate() {
            if (head != null) head.release();
            if (body != null) body.release();
            head = body = null;
        }

        @Override
        public ReferenceCounted touch(Object hint) {
            return this;
        }
    }

    /** Bodies up to this size are copied behind the head (one buffer, one write); larger ones follow it as they are. */
    static final int COPY_BODY_BELOW = 16 << 10;

    private final ArrayDeque<HttpMethod> sent = new ArrayDeque<>(2);
    private boolean tunnel; // a CONNECT succeeded: nothing more is HTTP

    private final int maxChunkSize;

    UpstreamCodec(int maxInitialLine, int maxHeaderSize, int maxChunkSize) {
        this.maxChunkSize = maxChunkSize;
        FramedTrailers trailers = new FramedTrailers();
        init(new Decoder(trailers, new Whole(maxInitialLine, maxHeaderSize, maxChunkSize), new HttpDecoderConfig().setTrailersFactory(trailers).setMaxInitialLineLength(maxInitialLine).setMaxHeaderSize(maxHeaderSize)
                .setMaxChunkSize(maxChunkSize)), new Encoder());
    }

    /**
     * Netty's response decoder, with a way around it for the common answer: one that came whole in
     * the bytes at hand, framed by {@code content-length}, in plain HTTP/1.1 ({@link Whole}). That one
     * is read in one pass and goes on as one {@link FullHttpResponse} (head and body); anything else,
     * or anything the pass does not find exactly as it expects, is left to Netty's decoder, as before.
     */
    final class Decoder extends HttpResponseDecoder {
        private final FramedTrailers trailers;
        private final Whole whole;
        /** Netty's decoder holds no part of an answer: the next bytes start one. */
        private boolean atStart = true;
        private boolean upgraded; // a 101: what follows is not HTTP/1.1 answers
        /** The chunks of a body are read here ({@link #readChunks}) while Netty's decoder waits for the next. */
        private boolean betweenChunks;
        private HttpMessage chunkedHead; // the head Netty's decoder is reading, when its body is chunked

        Decoder(FramedTrailers trailers, Whole whole, HttpDecoderConfig config) {
            super(config);
            this.trailers = trailers;
            this.whole = whole;
        }

        @Override
        protected HttpMessage createMessage(String[] initialLine) {
            return trailers.decoding(super.createMessage(initialLine));
        }

        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf buffer, List<Object> out) throws Exception {
            if (tunnel) {
                int readable = actualReadableBytes();
                if (readable > 0) out.add(buffer.readRetainedSlice(readable));
                return;
            }
            if (atStart && !upgraded) {
                HttpMethod method = sent.peek();
                if (method != null && !HttpMethod.HEAD.equals(method) && !HttpMethod.CONNECT.equals(method)) {
                    FullHttpResponse r = whole.read(buffer);
                    if (r != null) {
                        sent.poll(); // as isContentAlwaysEmpty does for the answers Netty reads
                        out.add(r);
                        return;
                    }
                }
            }
            if (betweenChunks) {
                if (readChunks(buffer, out)) return;
                betweenChunks = false; // Netty's decoder, at the same place, reads the rest of this body
            }
            int before = out.size(), from = buffer.readerIndex();
            super.decode(ctx, buffer, out);
            atStart = Whole.atStart(atStart, out, before, buffer, from);
            // Netty's decoder made the head of a chunked body and waits for the first chunk's size line.
            betweenChunks = !atStart && out.size() == before + 1 && out.get(before) == chunkedHead
                    && chunkedHead.decoderResult().isSuccess();
            chunkedHead = null;
        }

        /**
         * Whole chunks of a chunked body that are at hand, each as Netty's decoder would make it (a
         * retained slice of the bytes read), without its state machine and its line parser: a relayed
         * stream's provider sends a chunk an event. Anything else (a chunk not all here yet, the last
         * chunk and its trailers, extensions, a size line not plainly hex, a chunk over the decoder's
         * chunk size) is left where it starts, and Netty's decoder, waiting there for a size line too,
         * reads the rest of the body as before. Returns whether a chunk was read; false leaves
         * everything to Netty's decoder.
         */
        private boolean readChunks(ByteBuf in, List<Object> out) {
            boolean read = false;
            for (;;) {
                int p = in.readerIndex(), end = in.writerIndex(), i = p, size = 0;
                for (int digit; i < end && i - p < 6 && (digit = Character.digit(in.getByte(i), 16)) >= 0; i++) {
                    size = size << 4 | digit;
                }
                int data = i + 2;
                if (i == p || size == 0 || size > maxChunkSize || data + size + 2 > end
                        || in.getByte(i) != '\r' || in.getByte(i + 1) != '\n'
                        || in.getByte(data + size) != '\r' || in.getByte(data + size + 1) != '\n') {
                    return read;
                }
                out.add(new DefaultHttpContent(in.retainedSlice(data, size)));
                in.readerIndex(data + size + 2);
                read = true;
            }
        }

        @Override
        protected boolean isContentAlwaysEmpty(HttpMessage msg) {
            boolean empty = contentAlwaysEmpty(msg);
            // A head with a chunked body (and nothing else framing it) that Netty's decoder goes on to read.
            chunkedHead = !empty && HttpUtil.isTransferEncodingChunked(msg) && !HttpUtil.isContentLengthSet(msg) ? msg : null;
            return empty;
        }

        private boolean contentAlwaysEmpty(HttpMessage msg) {
            int code = ((HttpResponse) msg).status().code();
            if (code == 101) upgraded = true;
            // An interim answer (100 Continue, 103 Early Hints) is followed by the real one, for the same request.
            if (code >= 100 && code < 200 && code != 101) return true;
            HttpMethod method = sent.poll();
            if (HttpMethod.HEAD.equals(method)) return true;
            if (HttpMethod.CONNECT.equals(method) && code / 100 == 2) {
                tunnel = true;
                sent.clear();
                return true;
            }
            return super.isContentAlwaysEmpty(msg);
        }
    }

    final class Encoder extends HttpRequestEncoder {
        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
            if (msg instanceof Wire w) {
                // The buffers change hands: the wrapper lets go of nothing.
                ByteBuf head = w.head, body = w.body;
                w.head = w.body = null;
                w.release();
                if (!tunnel) sent.offer(w.method);
                if (body == null) {
                    ctx.write(head, promise);
                } else {
                    ctx.write(head, ctx.voidPromise());
                    ctx.write(body, promise);
                }
                return;
            }
            super.write(ctx, msg, promise);
        }

        @Override
        protected void encode(ChannelHandlerContext ctx, Object msg, List<Object> out) throws Exception {
            if (msg instanceof HttpRequest r && !tunnel) sent.offer(r.method());
            super.encode(ctx, msg, out);
        }
    }

    /**
     * {@code head} with its body (framed by {@code content-length}, not chunked), as one buffer when the
     * body is small; a large body is not copied but goes as a second piece (retained). The head's headers
     * are written as they are: they were validated when set, or came from a decoder.
     */
    static Wire encode(ByteBufAllocator alloc, HttpRequest head, ByteBuf body) {
        int bodyBytes = body == null ? 0 : body.readableBytes();
        boolean copy = bodyBytes < COPY_BODY_BELOW;
        HttpHeaders h = head.headers();
        String uri = head.uri();
        int estimate = 64 + uri.length() + h.size() * 48 + (copy ? bodyBytes : 0);
        ByteBuf out = alloc.directBuffer(estimate);
        ByteBufUtil.writeAscii(out, head.method().asciiName());
        out.writeByte(' ');
        ByteBufUtil.writeUtf8(out, uri.isEmpty() ? "/" : uri);
        out.writeBytes(HTTP11_CRLF);
        for (Iterator<Map.Entry<CharSequence, CharSequence>> it = h.iteratorCharSequence(); it.hasNext(); ) {
            Map.Entry<CharSequence, CharSequence> e = it.next();
            ByteBufUtil.writeAscii(out, e.getKey());
            out.writeByte(':').writeByte(' ');
            // Values as Netty's encoder writes them: one byte per char (they are ISO-8859-1 on the wire).
            ByteBufUtil.writeAscii(out, e.getValue());
            out.writeByte('\r').writeByte('\n');
        }
        out.writeByte('\r').writeByte('\n');
        if (bodyBytes == 0) return new Wire(head.method(), out, null);
        if (!copy) return new Wire(head.method(), out, body.retainedDuplicate());
        // Copied by the body's buffer into this one: a direct buffer's copy to another goes address to
        // address, where out.writeBytes(body) makes a java.nio view of each (two objects a request).
        int at = out.writerIndex();
        out.ensureWritable(bodyBytes);
        body.getBytes(body.readerIndex(), out, at, bodyBytes);
        out.writerIndex(at + bodyBytes);
        return new Wire(head.method(), out, null);
    }

    private static final byte[] HTTP11_CRLF = " HTTP/1.1\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
}
