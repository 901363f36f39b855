package dev.skiff.bench.jmh;

import dev.skiff.dialect.ChatStreamFilter;
import dev.skiff.dialect.SseSplitter;
import dev.skiff.dialect.UsageScan;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.*;
import org.openjdk.jmh.infra.Blackhole;

/**
 * A relayed chat stream (12 events, usage included) cut into events: as one read (the splitter hands
 * out slices, no copy), and again through the chat relay's filter with the usage Skiff injected
 * hidden, as ProxyCall relays it, and through the passthrough's usage accumulator.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
public class SseSplitterBench {
    static final ByteBufAllocator ALLOC = PooledByteBufAllocator.DEFAULT;
    ByteBuf stream;

    @Setup
    public void setUp() {
        stream = Payloads.direct("chat-stream.sse");
    }

    @TearDown
    public void tearDown() {
        stream.release();
    }

    @Benchmark
    public void splitOneRead(Blackhole bh) {
        SseSplitter s = new SseSplitter(ALLOC, 64 << 20);
        s.feed(stream.retainedDuplicate(), event -> {
            bh.consume(event.readableBytes());
            event.release();
        });
        s.release();
    }

    @Benchmark
    public void splitAndFilterChat(Blackhole bh) {
        SseSplitter s = new SseSplitter(ALLOC, 64 << 20);
        ChatStreamFilter filter = new ChatStreamFilter(true);
        s.feed(stream.retainedDuplicate(), event -> {
            ByteBuf out = filter.filter(event, ALLOC);
            if (out != null) {
                bh.consume(out.readableBytes());
                out.release();
            }
        });
        s.release();
        bh.consume(filter.usage());
    }

    @Benchmark
    public void splitAndAccumulateUsage(Blackhole bh) {
        SseSplitter s = new SseSplitter(ALLOC, 64 << 20);
        UsageScan.Accumulator usage = new UsageScan.Accumulator();
        s.feed(stream.retainedDuplicate(), event -> {
            usage.event(event);
            event.release();
        });
        s.release();
        bh.consume(usage.usage());
    }
}
