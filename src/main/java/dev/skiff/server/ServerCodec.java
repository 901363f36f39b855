package dev.skiff.server;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.CombinedChannelDuplexHandler;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
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

    final class Encoder extends HttpResponseEncoder {
        private HttpMethod method; // of the request the response being encoded answers

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
            if (msg instanceof EncodedResponse r) {
                HttpMethod m = unanswered.poll();
                promise = closing(promise);
                r.writeTo(ctx, promise, HttpMethod.HEAD.equals(m));
                return;
            }
            if (msg instanceof LastHttpContent) promise = closing(promise);
            super.write(ctx, msg, promise);
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
