package dev.skiff.bench.jmh;

import dev.skiff.dialect.OpenAiUsage;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.UsageScan;
import io.netty.buffer.ByteBuf;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.*;

/** Usage read from complete answers: the chat scanner (chat, embeddings) and the dialect-agnostic one. */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
public class UsageBench {
    ByteBuf chat, response;

    @Setup
    public void setUp() {
        chat = Payloads.direct("chat-completion.json");
        response = Payloads.direct("response.json");
    }

    @TearDown
    public void tearDown() {
        chat.release();
        response.release();
    }

    @Benchmark
    public OpenAiUsage.Found openAiUsageOfChat() {
        return OpenAiUsage.scan(chat);
    }

    @Benchmark
    public Usage usageScanOfResponse() {
        return UsageScan.of(response);
    }
}
