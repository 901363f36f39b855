package dev.skiff.provider.gemini;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skiff.dialect.ChatStreamWriter;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.ir.FinishReason;
import dev.skiff.dialect.ir.Part;
import dev.skiff.provider.JsonFields;
import dev.skiff.provider.SseStreamTranslator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Gemini's {@code streamGenerateContent?alt=sse} stream, read into the calls of a
 * {@link ChatStreamWriter} for the client's dialect. Each SSE event is a whole
 * {@code GenerateContentResponse}: text parts are text, thought parts ({@code thought:true})
 * thinking, and each {@code functionCall} part (which arrives whole) one tool call with its complete
 * arguments.
 *
 * <p>A call is held back until something else follows it (text, or the end of the stream), because
 * its thought signature may arrive in a later chunk, on a part of its own (conformance 13); the
 * signature travels in the call's id (see {@link GeminiCodec}), so the id can only be sent once the
 * signature had its chance to arrive.
 *
 * <p>Gemini has no terminal event: the stream ends after the chunk with {@code finishReason}. The
 * finish is therefore written when the upstream body ends. A stream that ends without any
 * finishReason ends with an in-band error instead. {@code usageMetadata} is cumulative: each one
 * replaces the previous (conformance 22).
 */
public final class GeminiStreamTranslator extends SseStreamTranslator {
    private final ChatStreamWriter out;
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

    public GeminiStreamTranslator(ChatStreamWriter out) {
        this.out = out;
    }

    @Override
    protected ByteBuf onData(JsonNode data, ByteBufAllocator alloc) {
        if (data == null || error != null) return null;
        if (data.isArray() && !data.isEmpty()) data = data.get(0);
        if (data.has("error")) {
            GeminiCodec.ErrorInfo e = GeminiCodec.parseError(500, data.toString());
            error = e.message();
            return out.error(alloc, error, e.status());
        }
        if (data.has("usageMetadata")) usageMetadata = data.get("usageMetadata"); // cumulative: assign
        ByteBuf buf = alloc.buffer(256);
        if (!started) {
            started = true;
            responseId = JsonFields.textOrNull(data, "responseId");
            write(buf, out.start(alloc, responseId == null ? null : "chatcmpl-" + responseId, usage()));
        }
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
                flushCalls(buf, alloc);
                write(buf, p.path("thought").asBoolean(false) ? out.thinking(alloc, text) : out.text(alloc, text));
            }
        }
        String reason = JsonFields.textOrNull(candidate, "finishReason");
        if (reason != null) rawFinish = reason;
        if (!buf.isReadable()) {
            buf.release();
            return null;
        }
        return buf;
    }

    /** A signature on a part of its own belongs to the last held call that came without one. */
    private void attachSignature(String sig) {
        if (pendingCalls.isEmpty()) return; // a text part's signature: not required back, not kept
        int last = pendingCalls.size() - 1;
        Part.ToolCall tc = pendingCalls.get(last);
        if (GeminiCodec.parseCallId(tc.id()).signature() != null) return;
        String id = GeminiCodec.withSignature(tc.id(), sig);
        pendingCalls.set(last, new Part.ToolCall(id, tc.name(), tc.arguments()));
    }

    private void flushCalls(ByteBuf buf, ByteBufAllocator alloc) {
        for (Part.ToolCall tc : pendingCalls) write(buf, out.toolCall(alloc, nextToolIndex++, tc.id(), tc.name(), tc.arguments()));
        pendingCalls.clear();
    }

    @Override
    public ByteBuf onEnd(ByteBufAllocator alloc) {
        ByteBuf buf = error == null ? finishPartialEvent(alloc) : null;
        release();
        if (error != null || finished) return buf;
        if (buf == null) buf = alloc.buffer(256);
        if (rawFinish == null) {
            error = "the provider's stream ended without a finishReason";
            write(buf, out.error(alloc, error, "upstream_incomplete_stream"));
            return buf;
        }
        finished = true;
        boolean calls = nextToolIndex > 0 || !pendingCalls.isEmpty();
        flushCalls(buf, alloc);
        FinishReason finish = promptBlocked ? FinishReason.CONTENT_FILTER : GeminiCodec.finishReason(rawFinish, calls);
        write(buf, out.finish(alloc, finish, rawFinish, usage()));
        return buf;
    }

    @Override
    public ByteBuf onFailure(ByteBufAllocator alloc, String message, String code) {
        if (error == null) error = message;
        return out.error(alloc, message, code);
    }

    @Override
    public Usage usage() {
        return GeminiCodec.usage(usageMetadata);
    }

    @Override
    public boolean ended() {
        return finished || error != null;
    }

    @Override
    public String error() {
        return error;
    }

    private static void write(ByteBuf buf, ByteBuf piece) {
        if (piece == null) return;
        buf.writeBytes(piece);
        piece.release();
    }
}
