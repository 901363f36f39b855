package dev.skiff.bench.jmh;

import dev.skiff.dialect.AnswerModel;
import dev.skiff.dialect.BadRequestException;
import dev.skiff.dialect.BodyEdit;
import dev.skiff.dialect.JsonTypes;
import dev.skiff.dialect.RequestScan;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.*;

/**
 * The in-place edits of the forwarding path: a request's model replaced by the provider's (BodyEdit,
 * from RequestScan's offsets), and an answer's model replaced by the client's (AnswerModel), for a
 * complete answer and for one stream event.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
public class BodyEditBench {
    static final ByteBufAllocator ALLOC = PooledByteBufAllocator.DEFAULT;
    static final byte[] UPSTREAM_MODEL = "\"gpt-4o-mini-2024-07-18\"".getBytes(StandardCharsets.US_ASCII);
    ByteBuf request, answer, event;
    RequestScan scan;
    AnswerModel renamed = new AnswerModel("openai/gpt-4o-mini");

    @Setup
    public void setUp() throws BadRequestException {
        request = Payloads.direct("chat-request-large.json");
        scan = RequestScan.of(request, JsonTypes.CHAT);
        answer = Payloads.direct("chat-completion.json");
        String stream = new String(Payloads.bytes("chat-stream.sse"), StandardCharsets.UTF_8);
        String first = stream.substring(0, stream.indexOf("\n\n") + 2);
        event = ALLOC.directBuffer().writeBytes(first.getBytes(StandardCharsets.UTF_8));
    }

    @TearDown
    public void tearDown() {
        request.release();
        answer.release();
        event.release();
    }

    @Benchmark
    public int requestModelReplaced() {
        ByteBuf out = new BodyEdit().replace(scan.modelStart(), scan.modelEnd(), UPSTREAM_MODEL).apply(ALLOC, request.retainedDuplicate());
        int n = out.readableBytes();
        out.release();
        return n;
    }

    @Benchmark
    public int answerModelRenamed() {
        ByteBuf out = renamed.body(answer.retainedDuplicate(), ALLOC);
        int n = out.readableBytes();
        out.release();
        return n;
    }

    @Benchmark
    public int streamEventModelRenamed() {
        ByteBuf out = renamed.event(event.retainedDuplicate(), ALLOC);
        int n = out.readableBytes();
        out.release();
        return n;
    }
}
