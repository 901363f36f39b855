package dev.skiff.provider.gemini;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.Bytes;
import dev.skiff.dialect.SseSplitter;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.ir.Part;
import dev.skiff.dialect.openai.OpenAiChat;
import dev.skiff.dialect.openai.OpenAiChunks;
import dev.skiff.provider.JsonFields;
import dev.skiff.provider.SseStreamTranslator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Gemini's {@code streamGenerateContent?alt=sse} stream as OpenAI chat-completion chunks. Each SSE
 * event is a whole {@code GenerateContentResponse}: text parts become {@code delta.content}, thought
 * parts ({@code thought:true}) {@code delta.reasoning_content}, and each {@code functionCall} part
 * (which arrives whole) one {@code tool_calls} delta with index, id, type, name and the complete
 * arguments.
 *
 * <p>A call is held back until something else follows it (text, or the end of the stream), because
 * its thought signature may arrive in a later chunk, on a part of its own (conformance 13); the
 * signature travels in the call's id (see {@link GeminiCodec}), so the id can only be sent once the
 * signature had its chance to arrive.
 *
 * <p>Gemini has no terminal event: the stream ends after the chunk with {@code finishReason}. The
 * finish chunk (the only one with a finish_reason), the usage chunk if the client asked, and
 * {@code [DONE]} are therefore written when the upstream body ends. A stream that ends without any
 * finishReason ends with an in-band error instead. {@code usageMetadata} is cumulative: each one
 * replaces the previous (conformance 22).
 */
public final class GeminiStreamTranslator extends SseStreamTranslator {
    private final boolean clientWantsUsage;

    private final OpenAiChunks chunks;
    private String responseId;
    private boolean started;
    private final List<Part.ToolCall> pendingCalls = new ArrayList<>();
    private int callCount;
    private int nextToolIndex;
    private String rawFinish;
    private boolean promptBlocked;
    private JsonNode usageMetadata;
    private boolean finished;
    private String error;


    public GeminiStreamTranslator(String clientModel, boolean clientWantsUsage) {
        this.chunks = new OpenAiChunks(clientModel);
        this.clientWantsUsage = clientWantsUsage;
    }

    @Override
    protected ByteBuf onData(JsonNode data, ByteBufAllocator alloc) {
        if (data == null || error != null) return null;
        if (data.isArray() && !data.isEmpty()) data = data.get(0);
        if (data.has("error")) {
            GeminiCodec.ErrorInfo e = GeminiCodec.parseError(500, data.toString());
            error = e.message();
            return errorEvent(alloc, error, e.status());
        }
        ByteBuf out = alloc.buffer(256);
        if (!started) {
            started = true;
            responseId = JsonFields.textOrNull(data, "responseId");
            if (responseId != null) chunks.id("chatcmpl-" + responseId);
            write(out, chunk(alloc, OpenAiChat.JSON.createObjectNode().put("role", "assistant").put("content", ""), null));
        }
        if (data.has("usageMetadata")) usageMetadata = data.get("usageMetadata"); // cumulative: assign
        JsonNode candidate = data.path("candidates").path(0);
        if (candidate.isMissingNode()) {
            String block = JsonFields.textOrNull(data.path("promptFeedback"), "blockReason");
            if (block != null) {
                rawFinish = block;
                promptBlocked = true;
            }
        }
        for (JsonNode p : candidate.path("content").path("parts")) {
            String sig = JsonFields.textOrNull(p, "thoughtSignature");
            if (p.has("functionCall")) {
                JsonNode fc = p.get("functionCall");
                String name = fc.path("name").asText("");
                String args = GeminiCodec.compact(fc.get("args"));
                pendingCalls.add(new Part.ToolCall(GeminiCodec.toolCallId(responseId, callCount++, name, args,
                        JsonFields.textOrNull(fc, "id"), sig), name, args));
            } else if (p.has("text")) {
                String text = p.get("text").asText("");
                if (text.isEmpty()) {
                    if (sig != null) attachSignature(sig);
                    continue;
                }
                flushCalls(out, alloc);
                String field = p.path("thought").asBoolean(false) ? "reasoning_content" : "content";
                write(out, chunk(alloc, OpenAiChat.JSON.createObjectNode().put(field, text), null));
            }
        }
        String reason = JsonFields.textOrNull(candidate, "finishReason");
        if (reason != null) rawFinish = reason;
        if (!out.isReadable()) {
            out.release();
            return null;
        }
        return out;
    }

    /** A signature on a part of its own belongs to the last held call that came without one. */
    private void attachSignature(String sig) {
        if (pendingCalls.isEmpty()) return; // a text part's signature: not required back, not kept
        int last = pendingCalls.size() - 1;
        Part.ToolCall tc = pendingCalls.get(last);
        if (GeminiCodec.parseCallId(tc.id()).signature() != null) return;
        String id = tc.id() + GeminiCodec.SIGNATURE_MARK
                + java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(sig.getBytes(StandardCharsets.UTF_8));
        pendingCalls.set(last, new Part.ToolCall(id, tc.name(), tc.arguments()));
    }

    private void flushCalls(ByteBuf out, ByteBufAllocator alloc) {
        for (Part.ToolCall tc : pendingCalls) {
            ObjectNode delta = OpenAiChat.JSON.createObjectNode();
            ObjectNode call = delta.putArray("tool_calls").addObject();
            call.put("index", nextToolIndex++).put("id", tc.id()).put("type", "function");
            call.putObject("function").put("name", tc.name()).put("arguments", tc.arguments());
            write(out, chunk(alloc, delta, null));
        }
        pendingCalls.clear();
    }

    @Override
    public ByteBuf onEnd(ByteBufAllocator alloc) {
        ByteBuf out = error == null ? finishPartialEvent(alloc) : null;
        release();
        if (error != null || finished) return out;
        if (out == null) out = alloc.buffer(256);
        if (rawFinish == null) {
            error = "the provider's stream ended without a finishReason";
            write(out, errorEvent(alloc, error, "upstream_incomplete_stream"));
            return out;
        }
        finished = true;
        boolean calls = nextToolIndex > 0 || !pendingCalls.isEmpty();
        flushCalls(out, alloc);
        String finish = promptBlocked ? "content_filter" : GeminiCodec.finishReason(rawFinish, calls).openAi();
        write(out, chunk(alloc, OpenAiChat.JSON.createObjectNode(), finish));
        if (clientWantsUsage) write(out, usageChunk(alloc));
        out.writeCharSequence("data: [DONE]\n\n", StandardCharsets.US_ASCII);
        return out;
    }

    @Override
    public Usage usage() {
        return GeminiCodec.usage(usageMetadata);
    }

    @Override
    public String error() {
        return error;
    }

    private static void write(ByteBuf out, ByteBuf piece) {
        out.writeBytes(piece);
        piece.release();
    }

    // Chunk writing is shared by every translated provider.
    private ByteBuf chunk(ByteBufAllocator alloc, ObjectNode delta, String finishReason) {
        return chunks.chunk(alloc, delta, finishReason);
    }

    private ByteBuf usageChunk(ByteBufAllocator alloc) {
        return chunks.usage(alloc, usage());
    }

    private static ByteBuf errorEvent(ByteBufAllocator alloc, String message, String code) {
        return OpenAiChunks.error(alloc, message, code);
    }
}
