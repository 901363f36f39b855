package dev.skiff.provider.anthropic;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skiff.dialect.ChatStreamWriter;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.ir.Part;
import dev.skiff.provider.SignedCallIds;
import dev.skiff.provider.SseStreamTranslator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Anthropic's Messages event stream, read into the calls of a {@link ChatStreamWriter} for the
 * client's dialect. Text, thinking (and its signature), redacted thinking and tool_use blocks (whose
 * arguments arrive as {@code input_json_delta} fragments) go on as they arrive. Usage is merged from
 * {@code message_start} (input and cache) and {@code message_delta} (output) without double counting
 * (conformance 21). Pings keep the client's stream alive (conformance 4). A stream that ends before
 * {@code message_stop} ends with an error (conformance 18).
 */
public final class AnthropicStreamTranslator extends SseStreamTranslator {
    private final ChatStreamWriter out;

    private long input = -1, cacheRead = -1, cacheWrite = -1, output = -1;
    private final Map<Integer, Integer> toolIndexByBlock = new HashMap<>();
    private int nextToolIndex;
    private String stopReason;
    private boolean stopped;
    private String error;

    // the reasoning since the last tool call, to carry in the next call's id (see SignedCallIds)
    private final boolean carryReasoning;
    private final List<Part> reasoning = new ArrayList<>();
    private final StringBuilder thinking = new StringBuilder();

    public AnthropicStreamTranslator(ChatStreamWriter out) {
        this(out, false);
    }

    /** @param carryReasoning whether tool-call ids carry the thinking before them (chat clients) */
    public AnthropicStreamTranslator(ChatStreamWriter out, boolean carryReasoning) {
        this.out = out;
        this.carryReasoning = carryReasoning;
    }

    @Override
    protected ByteBuf onData(JsonNode data, ByteBufAllocator alloc) {
        // Pings and keep-alive comments carry nothing to translate, but the silence they fill (long
        // thinking) must stay filled for the client too.
        if (data == null) return out.keepAlive(alloc);
        return switch (data.path("type").asText()) {
            case "message_start" -> {
                JsonNode m = data.path("message");
                readUsage(m.path("usage"));
                yield out.start(alloc, m.path("id").asText(null), usage());
            }
            case "content_block_start" -> blockStart(data, alloc);
            case "content_block_delta" -> blockDelta(data, alloc);
            case "message_delta" -> {
                stopReason = data.path("delta").path("stop_reason").asText(null);
                readUsage(data.path("usage"));
                yield null; // the finish goes out with message_stop, after every block
            }
            case "message_stop" -> {
                stopped = true;
                yield out.finish(alloc, AnthropicCodec.finishReason(stopReason), stopReason, usage());
            }
            case "error" -> {
                error = data.path("error").path("message").asText("the provider reported an error");
                yield out.error(alloc, error, data.path("error").path("type").asText("upstream_error"));
            }
            case "ping" -> out.keepAlive(alloc);
            default -> null; // content_block_stop, and types added later
        };
    }

    private ByteBuf blockStart(JsonNode data, ByteBufAllocator alloc) {
        JsonNode block = data.path("content_block");
        return switch (block.path("type").asText()) {
            case "tool_use" -> {
                int toolIndex = nextToolIndex++;
                toolIndexByBlock.put(data.path("index").asInt(), toolIndex);
                String id = block.path("id").asText();
                if (carryReasoning && !reasoning.isEmpty()) {
                    id = SignedCallIds.attach(id, SignedCallIds.Origin.ANTHROPIC, reasoning);
                    reasoning.clear();
                }
                yield out.toolCall(alloc, toolIndex, id, block.path("name").asText(), "");
            }
            case "text" -> {
                String text = block.path("text").asText("");
                yield text.isEmpty() ? null : out.text(alloc, text);
            }
            case "redacted_thinking" -> {
                if (carryReasoning) reasoning.add(new Part.RedactedThinking(block.path("data").asText()));
                yield out.redactedThinking(alloc, block.path("data").asText());
            }
            default -> null; // thinking starts empty; its text comes in deltas
        };
    }

    private ByteBuf blockDelta(JsonNode data, ByteBufAllocator alloc) {
        JsonNode d = data.path("delta");
        return switch (d.path("type").asText()) {
            case "text_delta" -> out.text(alloc, d.path("text").asText());
            case "thinking_delta" -> {
                if (carryReasoning) thinking.append(d.path("thinking").asText());
                yield out.thinking(alloc, d.path("thinking").asText());
            }
            case "signature_delta" -> {
                // The signature is a thinking block's last delta: the block is whole now.
                if (carryReasoning) {
                    reasoning.add(new Part.Thinking(thinking.toString(), d.path("signature").asText()));
                    thinking.setLength(0);
                }
                yield out.thinkingSignature(alloc, d.path("signature").asText());
            }
            case "input_json_delta" -> {
                Integer toolIndex = toolIndexByBlock.get(data.path("index").asInt());
                yield toolIndex == null ? null : out.toolArguments(alloc, toolIndex, d.path("partial_json").asText());
            }
            default -> null;
        };
    }

    @Override
    public ByteBuf onEnd(ByteBufAllocator alloc) {
        release();
        if (stopped || error != null) return null;
        error = "the provider's stream ended before message_stop";
        return out.error(alloc, error, "upstream_incomplete_stream");
    }

    @Override
    public ByteBuf onFailure(ByteBufAllocator alloc, String message, String code) {
        if (error == null) error = message;
        return out.error(alloc, message, code);
    }

    @Override
    public Usage usage() {
        if (input < 0 && output < 0) return Usage.NONE;
        return Usage.fromUncachedInput(input, cacheRead, cacheWrite, output);
    }

    @Override
    public boolean ended() {
        return stopped || error != null;
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
