package dev.skiff.dialect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledHeapByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SseSplitterTest {
    /** Records every buffer it hands out, so a test can prove all of them were released. */
    static final class TrackingAllocator extends AbstractByteBufAllocator {
        final List<ByteBuf> allocated = new ArrayList<>();

        TrackingAllocator() {
            super(false);
        }

        @Override
        protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
            ByteBuf b = new UnpooledHeapByteBuf(this, initialCapacity, maxCapacity);
            allocated.add(b);
            return b;
        }

        @Override
        protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
            return newHeapBuffer(initialCapacity, maxCapacity);
        }

        @Override
        public boolean isDirectBufferPooled() {
            return false;
        }

        ByteBuf of(String s) {
            byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
            ByteBuf b = buffer(Math.max(1, bytes.length));
            b.writeBytes(bytes);
            return b;
        }

        void assertAllReleased() {
            for (ByteBuf b : allocated) assertThat(b.refCnt()).as("buffer released").isZero();
        }
    }

    private final TrackingAllocator alloc = new TrackingAllocator();

    /** Whether the helpers feed through the array form where it takes a chunk (see SseSplitterArrayTest). */
    boolean arrays;
    private final byte[] array = new byte[64]; // small, so that larger chunks take the other form

    /** Feeds one chunk as the gateway does, adding the events as text and releasing them. */
    private void feed(SseSplitter splitter, ByteBuf chunk, List<String> events) {
        if (arrays && splitter.feed(chunk, array, (a, start, end) -> events.add(new String(a, start, end - start, StandardCharsets.UTF_8)))) return;
        splitter.feed(chunk, e -> {
            events.add(e.toString(StandardCharsets.UTF_8));
            e.release();
        });
    }

    /** Feeds the pieces and returns the events as text, releasing each. */
    private List<String> run(SseSplitter splitter, String... pieces) {
        List<String> events = new ArrayList<>();
        for (String piece : pieces) {
            feed(splitter, alloc.of(piece), events);
        }
        return events;
    }

    private List<String> runAndFinish(String... pieces) {
        SseSplitter s = new SseSplitter(alloc);
        List<String> events = run(s, pieces);
        assertThat(s.hasPartialEvent()).isFalse();
        s.release();
        alloc.assertAllReleased();
        return events;
    }

    private static final String STREAM = "data: {\"a\":1}\n\n"
            + ": keep-alive comment\n\n"
            + "event: message\nid: 7\ndata: {\"b\":\"x y\"}\n\n"
            + "\n"
            + "data: {\"c\":\"é😀\"}\n\n"
            + "data: [DONE]\n\n";

    private static final List<String> EVENTS = List.of(
            "data: {\"a\":1}\n\n",
            ": keep-alive comment\n\n",
            "event: message\nid: 7\ndata: {\"b\":\"x y\"}\n\n",
            "\n",
            "data: {\"c\":\"é😀\"}\n\n",
            "data: [DONE]\n\n");

    @Test
    void wholeStreamInOneChunk() {
        assertThat(runAndFinish(STREAM)).containsExactlyElementsOf(EVENTS);
    }

    @Test
    void eventsInsideOneChunkAreSlicesOfIt() {
        SseSplitter s = new SseSplitter(alloc);
        ByteBuf chunk = alloc.of("data: 1\n\ndata: 2\n\n");
        List<ByteBuf> out = new ArrayList<>();
        s.feed(chunk, out::add);
        assertThat(out).hasSize(2);
        assertThat(alloc.allocated).as("no copy was made").hasSize(1);
        assertThat(chunk.refCnt()).as("the events keep the chunk").isPositive();
        assertThat(out.get(0).toString(StandardCharsets.UTF_8)).isEqualTo("data: 1\n\n");
        out.get(0).release();
        assertThat(chunk.refCnt()).isPositive();
        out.get(1).release();
        assertThat(chunk.refCnt()).isZero();
        s.release();
    }

    @Test
    void splitAtEveryBytePosition() {
        byte[] bytes = STREAM.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i <= bytes.length; i++) {
            SseSplitter s = new SseSplitter(alloc);
            List<String> events = new ArrayList<>();
            feedBytes(s, bytes, 0, i, events);
            feedBytes(s, bytes, i, bytes.length, events);
            assertThat(events).as("split at %d", i).containsExactlyElementsOf(EVENTS);
            assertThat(s.hasPartialEvent()).isFalse();
            s.release();
        }
        alloc.assertAllReleased();
    }

    @Test
    void splitAtEveryPairOfPositions() {
        String small = "data: ab\n\n: c\n\n\ndata: [DONE]\r\n\r\n";
        List<String> expected = List.of("data: ab\n\n", ": c\n\n", "\n", "data: [DONE]\r\n\r\n");
        byte[] bytes = small.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i <= bytes.length; i++) {
            for (int j = i; j <= bytes.length; j++) {
                SseSplitter s = new SseSplitter(alloc);
                List<String> events = new ArrayList<>();
                feedBytes(s, bytes, 0, i, events);
                feedBytes(s, bytes, i, j, events);
                feedBytes(s, bytes, j, bytes.length, events);
                assertThat(events).as("split at %d,%d", i, j).containsExactlyElementsOf(expected);
                s.release();
            }
        }
        alloc.assertAllReleased();
    }

    @Test
    void byteByByte() {
        byte[] bytes = STREAM.getBytes(StandardCharsets.UTF_8);
        SseSplitter s = new SseSplitter(alloc);
        List<String> events = new ArrayList<>();
        for (int i = 0; i < bytes.length; i++) feedBytes(s, bytes, i, i + 1, events);
        assertThat(events).containsExactlyElementsOf(EVENTS);
        assertThat(String.join("", events)).isEqualTo(STREAM);
        s.release();
        alloc.assertAllReleased();
    }

    private void feedBytes(SseSplitter s, byte[] bytes, int from, int to, List<String> events) {
        ByteBuf chunk = alloc.buffer(Math.max(1, to - from));
        chunk.writeBytes(bytes, from, to - from);
        feed(s, chunk, events);
    }

    @Test
    void crlfLineEndingsAtEverySplit() {
        String crlf = "data: a\r\n\r\n: ping\r\n\r\nevent: x\r\ndata: b\r\n\r\n\r\ndata: mixed\r\n\n";
        List<String> expected = List.of("data: a\r\n\r\n", ": ping\r\n\r\n", "event: x\r\ndata: b\r\n\r\n", "\r\n", "data: mixed\r\n\n");
        byte[] bytes = crlf.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i <= bytes.length; i++) {
            SseSplitter s = new SseSplitter(alloc);
            List<String> events = new ArrayList<>();
            feedBytes(s, bytes, 0, i, events);
            feedBytes(s, bytes, i, bytes.length, events);
            assertThat(events).as("split at %d", i).containsExactlyElementsOf(expected);
            assertThat(s.hasPartialEvent()).isFalse();
            s.release();
        }
        alloc.assertAllReleased();
    }

    @Test
    void commentsAndKeepAliveBlankLinesPassThrough() {
        List<String> events = runAndFinish("\n\n: ping\n\n", ":\n\n", "data: x\n\n\n");
        assertThat(events).containsExactly("\n", "\n", ": ping\n\n", ":\n\n", "data: x\n\n", "\n");
    }

    @Test
    void partialTailIsDetectedUntilTheEventCompletes() {
        SseSplitter s = new SseSplitter(alloc);
        assertThat(s.hasPartialEvent()).isFalse();
        assertThat(run(s, "data: a\n\ndata: b")).containsExactly("data: a\n\n");
        assertThat(s.hasPartialEvent()).isTrue();
        assertThat(run(s, "c\n")).isEmpty();
        assertThat(s.hasPartialEvent()).as("one newline does not end an event").isTrue();
        assertThat(run(s, "\n")).containsExactly("data: bc\n\n");
        assertThat(s.hasPartialEvent()).isFalse();
        s.release();
        alloc.assertAllReleased();
    }

    @Test
    void releaseFreesAnUnfinishedEvent() {
        SseSplitter s = new SseSplitter(alloc);
        assertThat(run(s, "data: {\"never\":", "\"finished\"")).isEmpty();
        assertThat(s.hasPartialEvent()).isTrue();
        s.release();
        assertThat(s.hasPartialEvent()).isFalse();
        alloc.assertAllReleased();
        s.release(); // twice is harmless
    }

    @Test
    void largeEventSpanningManyChunks() {
        String big = "data: {\"content\":\"" + "x".repeat(100_000) + "\"}\n\n";
        byte[] bytes = big.getBytes(StandardCharsets.UTF_8);
        SseSplitter s = new SseSplitter(alloc);
        List<String> events = new ArrayList<>();
        for (int i = 0; i < bytes.length; i += 997) feedBytes(s, bytes, i, Math.min(bytes.length, i + 997), events);
        assertThat(events).containsExactly(big);
        s.release();
        alloc.assertAllReleased();
    }

    @Test
    void emptyChunkIsHarmless() {
        SseSplitter s = new SseSplitter(alloc);
        List<String> events = run(s, "", "data: a", "", "\n\n", "");
        assertThat(events).containsExactly("data: a\n\n");
        s.release();
        alloc.assertAllReleased();
    }

    @Test
    void oneLargeEventInSmallChunksCostsLinearTime() {
        // 16 MB in 4 KB chunks: gathering by copying the pending bytes for each chunk is ~4096 copies
        // of up to 16 MB (minutes); gathering linearly is a few tens of milliseconds.
        SseSplitter s = new SseSplitter(io.netty.buffer.UnpooledByteBufAllocator.DEFAULT);
        byte[] piece = new byte[4096];
        java.util.Arrays.fill(piece, (byte) 'x');
        List<Integer> sizes = new ArrayList<>();
        long start = System.nanoTime();
        s.feed(io.netty.buffer.Unpooled.copiedBuffer("data: ", StandardCharsets.US_ASCII), e -> {});
        for (int i = 0; i < 4096; i++) {
            s.feed(io.netty.buffer.Unpooled.wrappedBuffer(piece), e -> {
                sizes.add(e.readableBytes());
                e.release();
            });
        }
        s.feed(io.netty.buffer.Unpooled.copiedBuffer("\n\ndata: next\n\n", StandardCharsets.US_ASCII), e -> {
            sizes.add(e.readableBytes());
            e.release();
        });
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertThat(sizes).containsExactly(6 + 4096 * 4096 + 2, "data: next\n\n".length());
        assertThat(s.hasPartialEvent()).isFalse();
        assertThat(millis).as("milliseconds for one 16 MB event").isLessThan(3000);
        s.release();
    }

    @Test
    void anEventBeyondTheLimitIsRefusedAndNothingIsHeld() {
        SseSplitter s = new SseSplitter(alloc, 64);
        List<String> events = new ArrayList<>();
        String fits = "data: " + "y".repeat(56) + "\n\n"; // exactly 64 bytes
        assertThat(run(s, fits)).containsExactly(fits);
        feedBytes(s, ("data: " + "z".repeat(40)).getBytes(StandardCharsets.UTF_8), 0, 46, events);
        assertThatThrownBy(() -> feedBytes(s, "z".repeat(40).getBytes(StandardCharsets.UTF_8), 0, 40, events))
                .isInstanceOf(SseSplitter.EventTooLargeException.class)
                .hasMessageContaining("64 bytes");
        assertThat(events).isEmpty();
        assertThat(s.hasPartialEvent()).isFalse();
        s.release();
        alloc.assertAllReleased();
    }

    @Test
    void theLimitCountsTheUnfinishedEventNotWholeChunks() {
        // Many complete small events in one large chunk are fine; only one unfinished event counts.
        SseSplitter s = new SseSplitter(alloc, 32);
        String many = "data: 1\n\n".repeat(50) + "data: tail";
        List<String> events = run(s, many);
        assertThat(events).hasSize(50);
        assertThat(run(s, "\n\n")).containsExactly("data: tail\n\n");
        s.release();
        alloc.assertAllReleased();
    }

    @Test
    void aSinkThatThrowsLeaksNothing() {
        SseSplitter s = new SseSplitter(alloc);
        run(s, "data: par");
        ByteBuf chunk = alloc.of("tial\n\ndata: next\n\n");
        assertThatThrownBy(() -> s.feed(chunk, e -> {
            e.release();
            throw new IllegalStateException("cannot translate");
        })).hasMessage("cannot translate");
        s.release();
        alloc.assertAllReleased();
    }
}
