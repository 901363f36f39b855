package dev.skiff.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class GatherTest {
    static final PooledByteBufAllocator ALLOC = new PooledByteBufAllocator(true);

    static ByteBuf bytes(String s) {
        return ALLOC.directBuffer().writeBytes(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void smallPiecesAreCopiedIntoOneBufferAndReleased() {
        Gather g = new Gather(ALLOC);
        ByteBuf a = bytes("data: a\n\n"), b = bytes("data: b\n\n"), c = bytes("data: c\n\n");
        g.add(a);
        g.add(b);
        g.add(c);
        assertThat(g.size()).isEqualTo(27);
        assertThat(a.refCnt()).isZero();
        assertThat(b.refCnt()).isZero();
        assertThat(c.refCnt()).isZero();
        ByteBuf out = g.take();
        assertThat(out).isNotInstanceOf(CompositeByteBuf.class);
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("data: a\n\ndata: b\n\ndata: c\n\n");
        assertThat(g.take()).isNull();
        assertThat(out.release()).isTrue();
    }

    @Test
    void aLonePieceIsHandedBackAsItIs() {
        Gather g = new Gather(ALLOC);
        ByteBuf a = bytes("x");
        g.add(a);
        assertThat(g.take()).isSameAs(a);
        a.release();
    }

    @Test
    void largePiecesAreJoinedWithoutACopy() {
        Gather g = new Gather(ALLOC);
        ByteBuf big = ALLOC.directBuffer().writeZero(Gather.COPY_UP_TO);
        ByteBuf small = bytes("tail");
        g.add(big);
        g.add(small);
        ByteBuf out = g.take();
        assertThat(out).isInstanceOf(CompositeByteBuf.class);
        assertThat(out.readableBytes()).isEqualTo(Gather.COPY_UP_TO + 4);
        assertThat(big.refCnt()).as("shared, not copied").isPositive();
        assertThat(out.release()).isTrue();
        assertThat(big.refCnt()).isZero();
        assertThat(small.refCnt()).isZero();
    }

    @Test
    void releaseFreesWhatWasGathered() {
        Gather g = new Gather(ALLOC);
        ByteBuf a = bytes("a"), b = bytes("b");
        g.add(a);
        g.add(b);
        g.release();
        assertThat(g.size()).isZero();
        assertThat(a.refCnt()).isZero();
        assertThat(b.refCnt()).isZero();
    }
}
