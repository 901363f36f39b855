package dev.skiff.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class DirectCopyTest {
    static final ByteBufAllocator ALLOC = ByteBufAllocator.DEFAULT; // the adaptive allocator the event loops use

    @Test
    void arraysAndBuffersAreAppendedAtTheWriterIndexGrowingTheBuffer() {
        ByteBuf out = ALLOC.directBuffer(4).writeByte('>');
        byte[] a = "xxhello".getBytes(StandardCharsets.US_ASCII);
        DirectCopy.write(out, a, 2, 5);
        ByteBuf src = ALLOC.directBuffer().writeBytes(" world!".getBytes(StandardCharsets.US_ASCII));
        DirectCopy.write(out, src, src.readerIndex(), 6);
        ByteBuf heap = Unpooled.copiedBuffer(" heap", StandardCharsets.US_ASCII);
        DirectCopy.write(out, heap, 0, 5);
        DirectCopy.ascii(out, AsciiString.of(" ascii"));
        DirectCopy.ascii(out, " string");
        assertThat(out.toString(StandardCharsets.US_ASCII)).isEqualTo(">hello world heap ascii string");
        assertThat(src.readerIndex()).isZero();
        out.release();
        src.release();
    }

    @Test
    void anArrayRangeOutsideTheArrayIsRefused() {
        ByteBuf out = ALLOC.directBuffer(16);
        assertThatThrownBy(() -> DirectCopy.write(out, new byte[4], 2, 3)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThat(out.writerIndex()).isZero();
        out.release();
    }

    @Test
    void aSlicedAsciiStringCopiesOnlyItsOwnBytes() {
        AsciiString s = new AsciiString("abcdef").subSequence(2, 5);
        ByteBuf out = ALLOC.directBuffer(8);
        DirectCopy.ascii(out, s);
        assertThat(out.toString(StandardCharsets.US_ASCII)).isEqualTo("cde");
        out.release();
    }
}
