package dev.skiff.provider;

import dev.skiff.dialect.SseSplitter;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;

/**
 * A {@link StreamTranslator} for providers that stream Server-Sent Events: the body is cut into
 * whole events as it arrives, each is translated, and what one read produced leaves together.
 */
public abstract class SseStreamTranslator implements StreamTranslator {
    private SseSplitter splitter;
    private ByteBuf pending;

    /** Translates one whole event (owned); returns the bytes for the client, or null for none. */
    protected abstract ByteBuf onEvent(ByteBuf event, ByteBufAllocator alloc);

    @Override
    public final ByteBuf onContent(ByteBuf content, ByteBufAllocator alloc) {
        if (splitter == null) splitter = new SseSplitter(alloc);
        splitter.feed(content, event -> collect(onEvent(event, alloc)));
        return takeCollected();
    }

    /**
     * At the end of the body: translates a last event that lacks its closing blank line, so it is
     * not lost, and returns what it produced (or null). Releases the splitter.
     */
    protected final ByteBuf finishPartialEvent(ByteBufAllocator alloc) {
        if (splitter != null && splitter.hasPartialEvent()) {
            splitter.feed(Unpooled.wrappedBuffer(new byte[] {'\n', '\n'}), event -> collect(onEvent(event, alloc)));
        }
        release();
        return takeCollected();
    }

    @Override
    public void release() {
        if (splitter != null) splitter.release();
    }

    private void collect(ByteBuf out) {
        if (out == null) return;
        if (pending == null) {
            pending = out;
        } else {
            pending.writeBytes(out);
            out.release();
        }
    }

    private ByteBuf takeCollected() {
        ByteBuf out = pending;
        pending = null;
        return out;
    }
}
