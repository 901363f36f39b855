package dev.skiff.dialect;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Byte-level edits of a JSON body: the untouched stretches are shared slices of the original
 * buffer, only the replaced values are new bytes. This is how the fast path changes a model name
 * or asks upstream for usage without re-serializing a request that may carry megabytes of images.
 */
public final class BodyEdit {
    private record Splice(int start, int end, byte[] bytes) {}

    private final List<Splice> splices = new ArrayList<>(2);

    /** Replaces {@code [start, end)} with {@code bytes}; {@code start == end} inserts. */
    public BodyEdit replace(int start, int end, byte[] bytes) {
        splices.add(new Splice(start, end, bytes));
        return this;
    }

    public BodyEdit insert(int at, String text) {
        return replace(at, at, text.getBytes(StandardCharsets.UTF_8));
    }

    public boolean isEmpty() {
        return splices.isEmpty();
    }

    /**
     * The edited body. Consumes one reference of {@code body} (the result holds what it needs), so
     * the caller hands over ownership exactly as if it had sent the original.
     */
    public ByteBuf apply(ByteBufAllocator alloc, ByteBuf body) {
        if (splices.isEmpty()) return body;
        splices.sort((a, b) -> Integer.compare(a.start, b.start));
        CompositeByteBuf out = alloc.compositeBuffer(splices.size() * 2 + 1);
        int base = body.readerIndex();
        int pos = 0;
        for (Splice s : splices) {
            if (s.start > pos) out.addComponent(true, body.retainedSlice(base + pos, s.start - pos));
            out.addComponent(true, Unpooled.wrappedBuffer(s.bytes));
            pos = s.end;
        }
        int length = body.readableBytes();
        if (length > pos) out.addComponent(true, body.retainedSlice(base + pos, length - pos));
        body.release();
        return out;
    }
}
