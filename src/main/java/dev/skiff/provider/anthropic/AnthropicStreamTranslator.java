package dev.skiff.provider.anthropic;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.Bytes;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.openai.OpenAiChat;
import dev.skiff.dialect.openai.OpenAiChunks;
import io.netty.buffer.CompositeByteBuf;
import dev.skiff.provider.SseStreamTranslator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * Anthropic's Messages event stream as OpenAI chat-completion chunks. Text becomes
 * {@code delta.content}, thinking {@code delta.reasoning_content} (its signature
 * {@code delta.reasoning_signature}), each tool_use block a tool call whose arguments arrive as
 * {@code input_json_delta} fragments. Usage is merged from {@code message_start} (input and cache)
 * and {@code message_delta} (output) without double counting; a usage chunk is sent only when the
 * client asked for one. A stream that ends before {@code message_stop} ends with an error event.
 */
public final class AnthropicStreamTranslator extends SseStreamTranslator {
    private final OpenAiChunks chunks;
    private final boolean clientWantsUsage;

    private long input = -1, cacheRead = -1, cacheWrite = -1, output = -1;
    private final Map<Integer, Integer> toolIndexByBlock = new HashMap<>();
    private int nextToolIndex;
    private String stopReason;
    private boolean stopped;
    private String error;

    public AnthropicStreamTranslator(String clientModel, boolean clientWantsUsage) {
        this.chunks = new OpenAiChunks(clientModel);
        this.clientWantsUsage = clientWantsUsage;
    }


    @Override
    protected ByteBuf onData(JsonNode data, ByteBufAllocator alloc) {
        // Pings and keep-alive comments carry nothing to translate, but the silence they fill (long
        // thinking) must stay filled for the client too (conformance 4): they go on as a comment.
        if (data == null) return keepAlive(alloc);
        return switch (data.path("type").asText()) {
            case "message_start" -> {
                JsonNode m = data.path("message");
                chunks.id(m.path("id").asText(null));
                readUsage(m.path("usage"));
                yield chunks.role(alloc);
            }
            case "content_block_start" -> blockStart(data, alloc);
            case "content_block_delta" -> blockDelta(data, alloc);
            case "message_delta" -> {
                stopReason = data.path("delta").path("stop_reason").asText(null);
                readUsage(data.path("usage"));
                yield null; // the finish chunk goes out with message_stop, after every block
            }
            case "message_stop" -> {
                stopped = true;
                CompositeByteBuf out = alloc.compositeBuffer(3);
                out.addComponent(true, chunks.finish(alloc, AnthropicCodec.finishReason(stopReason).openAi()));
                if (clientWantsUsage) out.addComponent(true, chunks.usage(alloc, usage()));
                out.addComponent(true, OpenAiChunks.done(alloc));
                yield out;
            }
            case "error" -> {
                error = data.path("error").path("message").asText("the provider reported an error");
                yield OpenAiChunks.error(alloc, error, data.path("error").path("type").asText("upstream_error"));
            }
            case "ping" -> keepAlive(alloc);
            default -> null; // content_block_stop, and types added later
        };
    }

    private ByteBuf blockStart(JsonNode data, ByteBufAllocator alloc) {
        JsonNode block = data.path("content_block");
        switch (block.path("type").asText()) {
            case "tool_use" -> {
                int toolIndex = nextToolIndex++;
                toolIndexByBlock.put(data.path("index").asInt(), toolIndex);
                ObjectNode delta = OpenAiChunks.newDelta();
                ObjectNode call = delta.putArray("tool_calls").addObject();
                call.put("index", toolIndex).put("id", block.path("id").asText()).put("type", "function");
                call.putObject("function").put("name", block.path("name").asText()).put("arguments", "");
                return chunks.delta(alloc, delta);
            }
            case "text" -> {
                String text = block.path("text").asText("");
                return text.isEmpty() ? null : chunks.delta(alloc, OpenAiChunks.newDelta().put("content", text));
            }
            case "redacted_thinking" -> {
                ObjectNode delta = OpenAiChunks.newDelta();
                delta.putArray("redacted_reasoning").add(block.path("data").asText());
                return chunks.delta(alloc, delta);
            }
            default -> {
                return null; // thinking starts empty; its text comes in deltas
            }
        }
    }

    private ByteBuf blockDelta(JsonNode data, ByteBufAllocator alloc) {
        JsonNode d = data.path("delta");
        ObjectNode delta = OpenAiChunks.newDelta();
        switch (d.path("type").asText()) {
            case "text_delta" -> delta.put("content", d.path("text").asText());
            case "thinking_delta" -> delta.put("reasoning_content", d.path("thinking").asText());
            case "signature_delta" -> delta.put("reasoning_signature", d.path("signature").asText());
            case "input_json_delta" -> {
                Integer toolIndex = toolIndexByBlock.get(data.path("index").asInt());
                if (toolIndex == null) return null;
                ArrayNode calls = delta.putArray("tool_calls");
                calls.addObject().put("index", toolIndex).putObject("function").put("arguments", d.path("partial_json").asText());
            }
            default -> {
                return null;
            }
        }
        return chunks.delta(alloc, delta);
    }

    /** An SSE comment: OpenAI clients skip it, proxies and idle timers see traffic. */
    private static ByteBuf keepAlive(ByteBufAllocator alloc) {
        ByteBuf b = alloc.buffer(8);
        b.writeCharSequence(": ping\n\n", StandardCharsets.US_ASCII);
        return b;
    }

    @Override
    public ByteBuf onEnd(ByteBufAllocator alloc) {
        release();
        if (stopped || error != null) return null;
        error = "the provider's stream ended before message_stop";
        return OpenAiChunks.error(alloc, error, "upstream_incomplete_stream");
    }

    @Override
    public Usage usage() {
        if (input < 0 && output < 0) return Usage.NONE;
        return Usage.fromUncachedInput(input, cacheRead, cacheWrite, output);
    }

    @Override
    public String error() {
        return error;
    }

    /** Counts are totals so far: a later event's value replaces an earlier one, never adds to it. */
    private void readUsage(JsonNode u) {
        if (u.has("input_tokens")) input = u.get("input_tokens").asLong();
        if (u.has("cache_read_input_tokens")) cacheRead = u.get("cache_read_input_tokens").asLong();
        if (u.has("cache_creation_input_tokens")) cacheWrite = u.get("cache_creation_input_tokens").asLong();
        if (u.has("output_tokens")) output = u.get("output_tokens").asLong();
    }
}
