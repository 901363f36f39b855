package dev.skiff.upstream;

import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContentDecompressor;

/**
 * Decodes compressed upstream responses, except for the exchange on the connection that asked to
 * receive the bytes as the provider sent them (passthrough: the client accepted that encoding and
 * gets it untouched, content-length included). Pooled connections serve both kinds in turn, so the
 * choice is made by each exchange when it takes the connection.
 */
final class ContentDecoding extends HttpContentDecompressor {
    private boolean passEncoded;

    ContentDecoding() {
        super(0);
    }

    void passEncoded(boolean pass) {
        passEncoded = pass;
    }

    @Override
    protected EmbeddedChannel newContentDecoder(String contentEncoding) throws Exception {
        // No decoder: the message and its content go on as they came, headers unchanged.
        return passEncoded ? null : super.newContentDecoder(contentEncoding);
    }
}
