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

    @Test
    void aTypicalStreamFromArraysStaysInTheFirstBuffer() {
        Gather g = new Gather(io.netty.buffer.ByteBufAllocator.DEFAULT);
        byte[] event = ("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\","
                + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"w\"}}]}\n\n").getBytes(StandardCharsets.US_ASCII);
        g.add(event, 0, event.length);
        assertThat(g.ownsBuffer()).isTrue();
        int total = event.length;
        while (total + event.length <= 3200) { // the bench's stream: 34 events, ~3 KB
            g.add(event, 0, event.length);
            total += event.length;
        }
        ByteBuf out = g.take();
        assertThat(out.readableBytes()).isEqualTo(total);
        assertThat(out.readerIndex()).as("room for the chunk's size line").isEqualTo(ChunkWithRoom.ROOM_BEFORE);
        assertThat(out.capacity()).as("not grown").isEqualTo(Gather.FIRST_BUFFER);
        assertThat(out.writableBytes()).as("room for the chunk's closing line break").isGreaterThanOrEqualTo(2);
        out.release();
    }
}
