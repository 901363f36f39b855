package dev.skiff.dialect;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.function.Consumer;

/**
 * Cuts a Server-Sent Events byte stream into whole events (each ending with its blank line) as
 * chunks arrive. Events that fall inside one chunk are handed out as slices of it, with no copy; only
 * an event split across chunks is gathered into a buffer of its own.
 */
public final class SseSplitter {
    private final ByteBufAllocator alloc;
    private ByteBuf pending;

    public SseSplitter(ByteBufAllocator alloc) {
        this.alloc = alloc;
    }

    /** Takes ownership of {@code chunk}; each complete event goes to {@code sink}, which owns it. */
    public void feed(ByteBuf chunk, Consumer<ByteBuf> sink) {
        ByteBuf buf;
        if (pending == null) {
            buf = chunk;
        } else {
            buf = pending;
            pending = null;
            if (buf.writableBytes() < chunk.readableBytes()) {
                ByteBuf bigger = alloc.buffer(buf.readableBytes() + chunk.readableBytes());
                bigger.writeBytes(buf);
                buf.release();
                buf = bigger;
            }
            buf.writeBytes(chunk);
            chunk.release();
        }
        int start = buf.readerIndex();
        int end = buf.writerIndex();
        int lineStart = start;
        int eventStart = start;
        // indexOf scans in bulk (checking the buffer once), unlike a getByte per byte.
        for (int i = buf.indexOf(start, end, (byte) '\n'); i >= 0; i = buf.indexOf(i + 1, end, (byte) '\n')) {
            int lineLength = i - lineStart;
            if (lineLength > 0 && buf.getByte(i - 1) == '\r') lineLength--;
            lineStart = i + 1;
            if (lineLength == 0) {
                // A blank line ends an event. A lone blank line (a bare keep-alive) is passed on too.
                sink.accept(buf.retainedSlice(eventStart, i + 1 - eventStart));
                eventStart = i + 1;
            }
        }
        if (eventStart < end) {
            pending = alloc.buffer(Math.max(256, (end - eventStart) * 2));
            pending.writeBytes(buf, eventStart, end - eventStart);
        }
        buf.release();
    }

    /** Bytes of an event the stream never finished; empty when it ended cleanly. */
    public boolean hasPartialEvent() {
        return pending != null && pending.isReadable();
    }

    public void release() {
        if (pending != null) {
            pending.release();
            pending = null;
        }
    }
}
