package dev.skiff.upstream;

import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpUtil;

/**
 * The trailer maps of an HTTP decoder's last pieces. Netty's decoder gives the last piece of every
 * body framed by {@code content-length} a fresh, empty, writable header map for trailers, which no
 * such body can have: two maps per proxied request (the client's body and the provider's), about
 * 200 bytes each, made and dropped. Here such a piece gets the shared empty map; a chunked body,
 * whose trailer may carry headers the decoder then adds, still gets a map of its own, as before.
 *
 * <p>One per decoder: {@link #decoding} is told each message the decoder makes, and whether it is
 * chunked is read from its headers when its last piece is made (they are complete by then).
 */
public final class FramedTrailers implements HttpHeadersFactory {
    private static final HttpHeadersFactory TRAILERS = DefaultHttpHeadersFactory.trailersFactory(); // the decoder's default
    private HttpMessage current;

    /** The message the decoder is reading now; returns it. */
    public <M extends HttpMessage> M decoding(M message) {
        current = message;
        return message;
    }

    private boolean mayHaveTrailers() {
        HttpMessage m = current;
        return m == null || HttpUtil.isTransferEncodingChunked(m);
    }

    @Override
    public HttpHeaders newHeaders() {
        return mayHaveTrailers() ? TRAILERS.newHeaders() : EmptyHttpHeaders.INSTANCE;
    }

    @Override
    public HttpHeaders newEmptyHeaders() {
        return mayHaveTrailers() ? TRAILERS.newEmptyHeaders() : EmptyHttpHeaders.INSTANCE;
    }
}
