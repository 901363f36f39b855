package dev.skiff.server;

import io.netty.buffer.ByteBuf;
import io.netty.util.AsciiString;
import io.netty.util.internal.PlatformDependent;

/**
 * Appends bytes to a direct buffer by its memory address. Netty's adaptive allocator copies into its
 * buffers through a {@link java.nio.ByteBuffer} view of the chunk they sit in (a view made per
 * buffer, and the JDK's checks on each copy); a copy by address is one {@code Unsafe} call. Buffers
 * without an address (no Unsafe, a composite, a heap buffer) are written as usual.
 */
final class DirectCopy {
    private DirectCopy() {}

    /** Appends {@code len} bytes of {@code a} from {@code off} to {@code out}. */
    static void write(ByteBuf out, byte[] a, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, a.length);
        out.ensureWritable(len);
        if (!out.hasMemoryAddress()) {
            out.writeBytes(a, off, len);
            return;
        }
        int w = out.writerIndex();
        PlatformDependent.copyMemory(a, off, out.memoryAddress() + w, len);
        out.writerIndex(w + len);
    }

    /** Appends {@code len} readable bytes of {@code src} from {@code from} to {@code out}; {@code src} is left as it was. */
    static void write(ByteBuf out, ByteBuf src, int from, int len) {
        if (!src.hasMemoryAddress() || !out.hasMemoryAddress()) {
            out.writeBytes(src, from, len);
            return;
        }
        java.util.Objects.checkFromIndexSize(from, len, src.capacity());
        out.ensureWritable(len);
        int w = out.writerIndex();
        PlatformDependent.copyMemory(src.memoryAddress() + from, out.memoryAddress() + w, len);
        out.writerIndex(w + len);
    }

    /** Appends {@code s}, a name or value of ASCII characters, as {@link io.netty.buffer.ByteBufUtil#writeAscii} does. */
    static void ascii(ByteBuf out, CharSequence s) {
        if (s instanceof AsciiString a) write(out, a.array(), a.arrayOffset(), a.length());
        else io.netty.buffer.ByteBufUtil.writeAscii(out, s);
    }
}
