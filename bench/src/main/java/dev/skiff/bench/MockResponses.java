package dev.skiff.bench;

import io.netty.buffer.ByteBuf;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Every answer of the mock as ready-to-send HTTP bytes, built once at startup so that serving a
 * request costs a lookup and a write. The figures a benchmark reports for the mock alone are then
 * close to what the machine's network stack allows, which is what a gateway is compared with.
 */
final class MockResponses {
    /** A streamed answer: one frame per SSE event, and the pause before each frame. */
    record Stream(ByteBuf[] frames, long[] delayNanos) {}

    final ByteBuf chat;
    final ByteBuf message;
    final ByteBuf response;
    final ByteBuf models;
    final ByteBuf anthropicModels;
    final ByteBuf notFound;
    final ByteBuf badRequest;
    /** A 503 for the requests --fail-rate fails on purpose. */
    final ByteBuf unavailable;
    final Stream chatStream;
    final Stream chatStreamWithUsage;
    final Stream messageStream;
    final Stream responseStream;
    final long delayNanos;
    private final long chunkDelayNanos;
    private final ConcurrentHashMap<Integer, ByteBuf> embeddings = new ConcurrentHashMap<>();

    MockResponses(int chunks, long delayMs, long chunkDelayMs) {
        this.delayNanos = TimeUnit.MILLISECONDS.toNanos(delayMs);
        this.chunkDelayNanos = TimeUnit.MILLISECONDS.toNanos(chunkDelayMs);
        MockPayloads payloads = new MockPayloads(chunks);
        chat = json(payloads.chatCompletion());
        message = json(payloads.message());
        response = json(payloads.response());
        models = json(payloads.models());
        anthropicModels = json(payloads.anthropicModels());
        notFound = HttpWire.fixedResponse(404, "Not Found", "application/json", MockPayloads.notFound());
        unavailable = HttpWire.fixedResponse(503, "Service Unavailable", "application/json", """
                {"error":{"message":"The mock provider failed this request on purpose (--fail-rate).",\
                "type":"server_error","param":null,"code":null}}""");
        badRequest = HttpWire.fixedResponse(400, "Bad Request", "application/json", """
                {"error":{"message":"The mock provider could not parse this request.",\
                "type":"invalid_request_error","param":null,"code":null}}""");
        chatStream = stream(payloads.chatStream(false));
        chatStreamWithUsage = stream(payloads.chatStream(true));
        messageStream = stream(payloads.messageStream());
        responseStream = stream(payloads.responseStream());
        for (int inputs = 1; inputs <= 4; inputs++) embeddings(inputs);
    }

    /** Embedding lists for common input counts are cached; odd sizes are built on first use. */
    ByteBuf embeddings(int inputs) {
        return embeddings.computeIfAbsent(Math.min(inputs, 2048), n -> json(MockPayloads.embeddings(n)));
    }

    private static ByteBuf json(String body) {
        return HttpWire.fixedResponse(200, "OK", "application/json", body);
    }

    /**
     * The first frame waits {@code --delay-ms} (time to first token); each text event after the
     * first waits {@code --chunk-delay-ms}; framing events follow their predecessor at once.
     */
    private Stream stream(List<SseEvent> events) {
        ByteBuf[] frames = HttpWire.eventStreamFrames(events.stream().map(SseEvent::wire).toList());
        long[] delays = new long[frames.length];
        boolean textSeen = false;
        for (int i = 0; i < frames.length; i++) {
            boolean text = events.get(i).carriesText();
            if (i == 0) delays[i] = delayNanos;
            else if (text && textSeen) delays[i] = chunkDelayNanos;
            textSeen |= text;
        }
        return new Stream(frames, delays);
    }
}
