package dev.skiff.provider.bedrock;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/** Test helpers: Converse fixtures and ConverseStream bodies built with {@link EventStreamEncoder}. */
final class BedrockFrames {
    private BedrockFrames() {}

    static String fixture(String name) {
        try (InputStream in = BedrockFrames.class.getResourceAsStream("/bedrock/" + name)) {
            if (in == null) throw new AssertionError("fixture missing: /bedrock/" + name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Pairs of (event type, JSON payload) as one binary body. */
    static byte[] events(String... typeAndJson) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < typeAndJson.length; i += 2) {
            out.writeBytes(EventStreamEncoder.encode(EventStreamEncoder.event(typeAndJson[i], typeAndJson[i + 1])));
        }
        return out.toByteArray();
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }

    /** A text answer "Hello World" as ConverseStream sends it: metadata after messageStop. */
    static byte[] textStream() {
        return events(
                "messageStart", "{\"role\":\"assistant\"}",
                "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Hello\"}}",
                "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\" World\"}}",
                "contentBlockStop", "{\"contentBlockIndex\":0}",
                "messageStop", "{\"stopReason\":\"end_turn\"}",
                "metadata", "{\"usage\":{\"inputTokens\":10,\"outputTokens\":5,\"totalTokens\":15},\"metrics\":{\"latencyMs\":300}}");
    }

    /** Text, then a tool call whose input arrives in two fragments. */
    static byte[] toolStream() {
        return events(
                "messageStart", "{\"role\":\"assistant\"}",
                "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Checking.\"}}",
                "contentBlockStop", "{\"contentBlockIndex\":0}",
                "contentBlockStart", "{\"contentBlockIndex\":1,\"start\":{\"toolUse\":{\"toolUseId\":\"tooluse_abc\",\"name\":\"get_weather\"}}}",
                "contentBlockDelta", "{\"contentBlockIndex\":1,\"delta\":{\"toolUse\":{\"input\":\"{\\\"location\\\":\"}}}",
                "contentBlockDelta", "{\"contentBlockIndex\":1,\"delta\":{\"toolUse\":{\"input\":\"\\\"Paris\\\"}\"}}}",
                "contentBlockStop", "{\"contentBlockIndex\":1}",
                "messageStop", "{\"stopReason\":\"tool_use\"}",
                "metadata", "{\"usage\":{\"inputTokens\":100,\"outputTokens\":20,\"totalTokens\":120,\"cacheReadInputTokens\":50},\"metrics\":{\"latencyMs\":300}}");
    }
}
