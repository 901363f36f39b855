package dev.skiff.server;

import dev.skiff.config.ProviderType;
import dev.skiff.dialect.Usage;
import dev.skiff.observe.UsageRecord;
import dev.skiff.observe.metrics.Metrics;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.*;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Per-stream pieces of a relayed chat stream that do not touch a socket, on Netty's default (adaptive)
 * allocator as the event loops use it: the bench mock's 34 events (~3 KB) gathered from arrays into one
 * buffer as one upstream read brings them, a stream head written out, and a request's metrics. In the
 * server package for the package-private classes; run against two builds to compare them.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
public class StreamPathBench {
    static final ByteBufAllocator ALLOC = ByteBufAllocator.DEFAULT;
    byte[][] events = new byte[34][];
    Metrics metrics;
    UsageRecord record;

    @Setup
    public void setUp() {
        for (int i = 0; i < events.length; i++) {
            String json = "{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"w" + i + "\"},\"finish_reason\":null}]}";
            events[i] = ("data: " + json + "\n\n").getBytes(StandardCharsets.US_ASCII);
        }
        metrics = new Metrics(() -> null);
        record = new UsageRecord(0, "req", "/v1/chat/completions", "openai", ProviderType.OPENAI, "gpt-4o-mini", new String("gpt-4o-mini"),
                true, 200, new Usage(9, 12, 21, 0, 0), 1.5, 0.5, 0.6, null, null, null, 1);
    }

    @Benchmark
    public int gatherStream() {
        Gather g = new Gather(ALLOC);
        for (byte[] e : events) g.add(e, 0, e.length);
        ByteBuf b = g.take();
        int n = b.readableBytes();
        b.release();
        return n;
    }

    @Benchmark
    public int streamHead() {
        StreamHead h = new StreamHead(HttpResponseStatus.OK);
        h.lines().add(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.TEXT_EVENT_STREAM);
        h.lines().add(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        h.lines().add(Replies.X_REQUEST_ID, "req_0123456789abcdef01234567");
        ByteBuf out = ALLOC.directBuffer(h.lines().estimate());
        h.lines().writeTo(out, HttpResponseStatus.OK);
        HeadLines.crlf(out);
        int n = out.readableBytes();
        out.release();
        return n;
    }

    @Benchmark
    public void metricsFinished() {
        metrics.finished(record, null);
    }
}
