package dev.skiff.bench.jmh;

import dev.skiff.dialect.BadRequestException;
import dev.skiff.dialect.JsonTypes;
import dev.skiff.dialect.RequestScan;
import io.netty.buffer.ByteBuf;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.*;

/** The one streaming pass every /v1 request body gets: model, stream flags, field types. */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
public class RequestScanBench {
    ByteBuf small, large;

    @Setup
    public void setUp() {
        small = Payloads.direct("chat-request.json");
        large = Payloads.direct("chat-request-large.json");
    }

    @TearDown
    public void tearDown() {
        small.release();
        large.release();
    }

    @Benchmark
    public RequestScan chatSmall() throws BadRequestException {
        return RequestScan.of(small, JsonTypes.CHAT);
    }

    @Benchmark
    public RequestScan chatLarge() throws BadRequestException {
        return RequestScan.of(large, JsonTypes.CHAT);
    }
}
