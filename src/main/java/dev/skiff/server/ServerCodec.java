package dev.skiff.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.CombinedChannelDuplexHandler;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.LastHttpContent;
import dev.skiff.upstream.FramedTrailers;
import dev.skiff.upstream.Whole;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.List;

/**
 * The HTTP/1.1 codec of a client connection: Netty's request decoder and response encoder, plus a
 * complete answer Skiff encodes itself ({@link EncodedResponse}), which goes to the socket in one
 * buffer without a header map or Netty's encoder in between.
 *
 * <p>It keeps what Netty's server codec keeps beside them: the method of each request not answered
 * yet, so that the answer to a HEAD goes without a body and a successful CONNECT without framing,
 * and, after a request that said both {@code Transfer-Encoding} and {@code Content-Length} (a
 * request-smuggling shape), the connection closes once that request is answered.
 */
final class ServerCodec extends CombinedChannelDuplexHandler<ServerCodec.Decoder, ServerCodec.Encoder> {
    private final ArrayDeque<HttpMethod> unanswered = new ArrayDeque<>(2);
    private boolean closeAfterResponse;

    ServerCodec(int maxInitialLine, int maxHeaderSize, int maxChunkSize) {
        this(maxInitialLine, maxHeaderSize, maxChunkSize, maxChunkSize);
    }

    /** {@code maxWholeBody}: the largest body a request read whole may have (at most the body limit, which Netty's pieces go through). */
    ServerCodec(int maxInitialLine, int maxHeaderSize, int maxChunkSize, long maxWholeBody) {
        FramedTrailers trailers = new FramedTrailers();
        Whole whole = new Whole(maxInitialLine, maxHeaderSize, (int) Math.min(maxChunkSize, maxWholeBody));
        init(new Decoder(trailers, whole, new HttpDecoderConfig().setTrailersFactory(trailers).setMaxInitialLineLength(maxInitialLine).setMaxHeaderSize(maxHeaderSize)
                .setMaxChunkSize(maxChunkSize)), new Encoder());
    }

    /**
     * Netty's request decoder, with the way around it that the upstream decoder has ({@link Whole}): a
     * request that came whole, framed by {@code content-length}, goes on as one {@link
     * io.netty.handler.codec.http.FullHttpRequest}, which the body's aggregator lets through as it is
     * (no composite of one piece). Not a passthrough request, whose body goes on in pieces.
     */
    final class Decoder extends HttpRequestDecoder {
        private final FramedTrailers trailers;
        private final Whole whole;
        private boolean atStart = true; // Netty's decoder holds no part of a request

        Decoder(FramedTrailers trailers, Whole whole, HttpDecoderConfig config) {
            super(config);
            this.trailers = trailers;
            this.whole = whole;
        }

        @Override
        protected HttpMessage createMessage(String[] initialLine) throws Exception {
            return trailers.decoding(super.createMessage(initialLine));
        }

        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf buffer, List<Object> out) throws Exception {
            int before = out.size();
            if (atStart) {
                HttpRequest r = whole.readRequest(buffer, uri -> !PassthroughTarget.matches(uri));
                if (r != null) {
                    unanswered.add(r.method());
                    out.add(r);
                    return;
                }
            }
            int from = buffer.readerIndex();
            super.decode(ctx, buffer, out);
            atStart = Whole.atStart(atStart, out, before, buffer, from);
            for (int i = before, n = out.size(); i < n; i++) {
                if (out.get(i) instanceof HttpRequest r) unanswered.add(r.method());
            }
        }

        @Override
        protected void handleTransferEncodingChunkedWithContentLength(HttpMessage message) {
            super.handleTransferEncodingChunkedWithContentLength(message);
            closeAfterResponse = true;
        }
    }

    private static final int OWN_NONE = 0, OWN_CHUNKED = 1, OWN_AS_IS = 2, OWN_NO_BODY = 3;
    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private static final ByteBuf CRLF = Unpooled.unreleasableBuffer(Unpooled.directBuffer(2).writeByte('\r').writeByte('\n')).asReadOnly();
    private static final ByteBuf LAST_CHUNK = Unpooled.unreleasableBuffer(
            Unpooled.directBuffer(5).writeBytes("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII))).asReadOnly();

    final class Encoder extends HttpResponseEncoder {
        private HttpMethod method; // of the request the response being encoded answers
        private int own = OWN_NONE; // the body of a StreamHead's answer is on its way: how it is framed

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
            if (msg instanceof EncodedResponse r) {
                HttpMethod m = unanswered.poll();
                promise = closing(promise);
                r.writeTo(ctx, promise, HttpMethod.HEAD.equals(m));
                return;
            }
            if (msg instanceof StreamHead h) {
                own = HttpMethod.HEAD.equals(unanswered.poll()) ? OWN_NO_BODY : h.chunked() ? OWN_CHUNKED : OWN_AS_IS;
                h.writeTo(ctx, promise);
                return;
            }
            if (msg instanceof LastHttpContent) promise = closing(promise);
            if (own != OWN_NONE && msg instanceof HttpContent c && !(msg instanceof HttpResponse)) {
                int framing = own;
                if (msg instanceof LastHttpContent) own = OWN_NONE;
                body(ctx, c, framing, promise);
                return;
            }
            super.write(ctx, msg, promise);
        }

        /** A piece of a StreamHead's body, or its end (takes {@code c}), as Netty's encoder frames it. */
        private void body(ChannelHandlerContext ctx, HttpContent c, int framing, ChannelPromise promise) {
            ByteBuf b = c.content();
            int n = b.readableBytes();
            boolean last = c instanceof LastHttpContent;
            if (framing == OWN_NO_BODY || n == 0) {
                if (!last || framing != OWN_CHUNKED) {
                    c.release();
                    ctx.write(Unpooled.EMPTY_BUFFER, promise);
                    return;
                }
            } else if (framing == OWN_AS_IS) {
                ctx.write(b, promise); // the end's trailers, if any, have no place here (as with Netty's encoder)
                return;
            } else {
                chunk(ctx, c, b, n, last ? ctx.voidPromise() : promise);
                if (!last) return;
            }
            // The end of a chunked body: the last chunk, and trailers if there are any.
            HttpHeaders trailers = ((LastHttpContent) c).trailingHeaders();
            if (trailers.isEmpty()) {
                if (n == 0) c.release();
                ctx.write(LAST_CHUNK.duplicate(), promise);
                return;
            }
            ByteBuf end = ctx.alloc().directBuffer(64);
            end.writeByte('0');
            HeadLines.crlf(end);
            for (var it = trailers.iteratorCharSequence(); it.hasNext(); ) {
                var e = it.next();
                HeadLines.header(end, e.getKey(), e.getValue());
            }
            HeadLines.crlf(end);
            if (n == 0) c.release();
            ctx.write(end, promise);
        }

        /** One chunk of {@code n > 0} bytes: {@code b} (owned by the write) with its size line before and a line break after. */
        private void chunk(ChannelHandlerContext ctx, HttpContent c, ByteBuf b, int n, ChannelPromise promise) {
            int digits = (35 - Integer.numberOfLeadingZeros(n)) >> 2;
            int start = b.readerIndex() - digits - 2;
            if (c instanceof ChunkWithRoom && start >= 0) { // framed in place: one buffer
                hex(b, start, digits, n);
                b.readerIndex(start);
                b.writeByte('\r').writeByte('\n');
                ctx.write(b, promise);
                return;
            }
            ByteBuf size = ctx.alloc().directBuffer(digits + 2);
            size.writerIndex(digits + 2);
            hex(size, 0, digits, n);
            ctx.write(size, ctx.voidPromise());
            ctx.write(b, ctx.voidPromise());
            ctx.write(CRLF.duplicate(), promise);
        }

        /** Writes {@code n} in {@code digits} lower-case hex digits and a line break at {@code at}. */
        private static void hex(ByteBuf b, int at, int digits, int n) {
            for (int i = at + digits - 1; i >= at; i--, n >>>= 4) b.setByte(i, HEX[n & 15]);
            b.setByte(at + digits, '\r');
            b.setByte(at + digits + 1, '\n');
        }

        private ChannelPromise closing(ChannelPromise promise) {
            if (!closeAfterResponse) return promise;
            closeAfterResponse = false;
            return promise.unvoid().addListener(ChannelFutureListener.CLOSE);
        }

        @Override
        protected boolean isContentAlwaysEmpty(HttpResponse msg) {
            // An interim response (100 Continue) answers no request by itself: the real one follows.
            if (msg.status().codeClass() == HttpStatusClass.INFORMATIONAL) return super.isContentAlwaysEmpty(msg);
            method = unanswered.poll();
            return HttpMethod.HEAD.equals(method) || super.isContentAlwaysEmpty(msg);
        }

        @Override
        protected void sanitizeHeadersBeforeEncode(HttpResponse msg, boolean isAlwaysEmpty) {
            if (!isAlwaysEmpty && HttpMethod.CONNECT.equals(method) && msg.status().codeClass() == HttpStatusClass.SUCCESS) {
                // A tunnel's answer has no body framing: what follows is the tunnel's.
                msg.headers().remove(HttpHeaderNames.TRANSFER_ENCODING);
                return;
            }
            super.sanitizeHeadersBeforeEncode(msg, isAlwaysEmpty);
        }
    }
}
