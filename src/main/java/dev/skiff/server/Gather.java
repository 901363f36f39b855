package dev.skiff.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;

/**
 * Bytes gathered to leave as one piece (one HTTP chunk): what one upstream read brought of a
 * stream. Small pieces (SSE events, a few hundred bytes each) are copied into one buffer of its own,
 * which costs less than a composite of slices does to build, release and hand to the socket (each
 * component is an iovec); once the gathered bytes are large, pieces are joined without a copy.
 */
final class Gather {
    /** Up to this many bytes in all are copied; beyond, pieces are joined as they are. */
    static final int COPY_UP_TO = 16 << 10;
    /**
     * The least a buffer of a gather's own holds: a relayed stream's whole body (the bench's chat
     * stream: 34 events, ~3 KB) when one read brings it all, so that it is not copied into a larger one
     * on the way. Held only from the read to the write that sends it.
     */
    static final int FIRST_BUFFER = 4096;

    private final ByteBufAllocator alloc;
    private ByteBuf bytes;
    private boolean own; // bytes is a buffer this gather allocated, so it may be written to

    Gather(ByteBufAllocator alloc) {
        this.alloc = alloc;
    }

    /** Appends {@code piece}, taking ownership of it. */
    void add(ByteBuf piece) {
        ByteBuf b = bytes;
        if (b == null) {
            bytes = piece;
            own = false;
            return;
        }
        int total = b.readableBytes() + piece.readableBytes();
        if (b instanceof CompositeByteBuf c) {
            c.addComponent(true, piece);
        } else if (total <= COPY_UP_TO) {
            if (!own) {
                ByteBuf mine = mine(Math.min(COPY_UP_TO, total * 2));
                DirectCopy.write(mine, b, b.readerIndex(), b.readableBytes());
                b.release();
                bytes = b = mine;
                own = true;
            }
            DirectCopy.write(b, piece, piece.readerIndex(), piece.readableBytes());
            piece.release();
        } else {
            bytes = alloc.compositeBuffer(16).addComponent(true, b).addComponent(true, piece);
            own = false;
        }
    }

    /** Appends {@code len} bytes of {@code a} from {@code off}, copied. */
    void add(byte[] a, int off, int len) {
        ByteBuf b = bytes;
        if (b == null) {
            ByteBuf mine = mine(Math.min(COPY_UP_TO, len * 2));
            DirectCopy.write(mine, a, off, len);
            bytes = mine;
            own = true;
        } else if (own && b.readableBytes() + len <= COPY_UP_TO) {
            DirectCopy.write(b, a, off, len);
        } else {
            add(alloc.directBuffer(len).writeBytes(a, off, len));
        }
    }

    /**
     * A buffer of this gather's own for at least {@code bytes} ({@link #FIRST_BUFFER} at least), its first {@link
     * ChunkWithRoom#ROOM_BEFORE} bytes left free for the chunk's size line and two more at the end.
     */
    private ByteBuf mine(int bytes) {
        ByteBuf b = alloc.directBuffer(Math.max(FIRST_BUFFER, bytes + ChunkWithRoom.ROOM_BEFORE + 2));
        return b.setIndex(ChunkWithRoom.ROOM_BEFORE, ChunkWithRoom.ROOM_BEFORE);
    }

    /** Whether what {@link #take} gives next is a buffer of this gather's own (room around its bytes: see {@link ChunkWithRoom}). */
    boolean ownsBuffer() {
        return own && bytes != null;
    }

    int size() {
        return bytes == null ? 0 : bytes.readableBytes();
    }

    /** What was gathered (the caller owns it), or null when nothing was; the gather is empty after. */
    ByteBuf take() {
        ByteBuf b = bytes;
        bytes = null;
        own = false;
        return b;
    }

    void release() {
        ByteBuf b = take();
        if (b != null) b.release();
    }
}
