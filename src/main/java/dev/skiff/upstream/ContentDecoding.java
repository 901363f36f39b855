package dev.skiff.upstream;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpContentDecompressor;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObject;
import java.util.List;

/**
 * Decodes compressed upstream responses, except for the exchange on the connection that asked to
 * receive the bytes as the provider sent them (passthrough: the client accepted that encoding and
 * gets it untouched, content-length included). Pooled connections serve both kinds in turn, so the
 * choice is made by each exchange when it takes the connection.
 *
 * <p>The body of an answer with no decoder (most: Skiff asks for identity) goes on as it came, piece by
 * piece, without the decoder's per-piece work (a list, and a retain and release of each piece); a
 * relayed stream's provider sends a dozen pieces an answer.
 */
final class ContentDecoding extends HttpContentDecompressor {
    private boolean passEncoded;
    /** The answer being read has no decoder: its body's pieces pass as they are. */
    private boolean asItCame;
    /** No piece went on since the last read completed (the decoder's own rule for asking to read on). */
    private boolean needRead = true;

    ContentDecoding() {
        super(0);
    }

    void passEncoded(boolean pass) {
        passEncoded = pass;
    }

    @Override
    protected EmbeddedChannel newContentDecoder(String contentEncoding) throws Exception {
        // No decoder: the message and its content go on as they came, headers unchanged.
        EmbeddedChannel decoder = passEncoded ? null : super.newContentDecoder(contentEncoding);
        asItCame = decoder == null;
        return decoder;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (asItCame && msg instanceof HttpContent && !(msg instanceof HttpMessage)) {
            // what the decoder does with such a piece, without its list and its retain and release
            needRead = false;
            ctx.fireChannelRead(msg);
            return;
        }
        if (msg instanceof HttpMessage) asItCame = false; // until its decoder is known
        super.channelRead(ctx, msg);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, HttpObject msg, List<Object> out) throws Exception {
        try {
            super.decode(ctx, msg, out);
        } finally {
            needRead = out.isEmpty();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
        // The decoder's rule, kept here because pieces that pass by it do not reach its own flag: a read
        // that gave the next handler nothing asks for another when reads are not automatic.
        boolean need = needRead;
        needRead = true;
        try {
            ctx.fireChannelReadComplete();
        } finally {
            if (need && !ctx.channel().config().isAutoRead()) ctx.read();
        }
    }
}
