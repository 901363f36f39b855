package dev.skiff.dialect.openai;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.ChatStreamWriter;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.ir.FinishReason;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;

/**
 * A streamed answer as OpenAI chat-completion chunks: the first chunk announces the assistant's role
 * (conformance 36), text is {@code delta.content}, reasoning {@code delta.reasoning_content} (its
 * signature {@code delta.reasoning_signature}, encrypted reasoning {@code delta.redacted_reasoning},
 * fields the OpenAI codec reads back on the next turn), tool calls are {@code delta.tool_calls} by
 * index. The end is the finish chunk (the only one with a finish_reason), the usage chunk only when
 * the client asked for it (conformance 20), and {@code [DONE]}.
 */
public final class OpenAiChatStreamWriter implements ChatStreamWriter {
    private final OpenAiChunks chunks;
    private final boolean clientWantsUsage;
    private boolean started;

    public OpenAiChatStreamWriter(String clientModel, boolean clientWantsUsage) {
        this.chunks = new OpenAiChunks(clientModel);
        this.clientWantsUsage = clientWantsUsage;
    }

    @Override
    public ByteBuf start(ByteBufAllocator alloc, String id, Usage usage) {
        if (started) return null;
        started = true;
        chunks.id(id);
        return chunks.role(alloc);
    }

    @Override
    public ByteBuf text(ByteBufAllocator alloc, String text) {
        return delta(alloc, OpenAiChunks.newDelta().put("content", text));
    }

    @Override
    public ByteBuf thinking(ByteBufAllocator alloc, String text) {
        return delta(alloc, OpenAiChunks.newDelta().put("reasoning_content", text));
    }

    @Override
    public ByteBuf thinkingSignature(ByteBufAllocator alloc, String signature) {
        return delta(alloc, OpenAiChunks.newDelta().put("reasoning_signature", signature));
    }

    @Override
    public ByteBuf redactedThinking(ByteBufAllocator alloc, String data) {
        ObjectNode d = OpenAiChunks.newDelta();
        d.putArray("redacted_reasoning").add(data);
        return delta(alloc, d);
    }

    @Override
    public ByteBuf toolCall(ByteBufAllocator alloc, int index, String id, String name, String arguments) {
        ObjectNode d = OpenAiChunks.newDelta();
        ObjectNode call = d.putArray("tool_calls").addObject();
        call.put("index", index).put("id", id).put("type", "function");
        call.putObject("function").put("name", name).put("arguments", arguments == null ? "" : arguments);
        return delta(alloc, d);
    }

    @Override
    public ByteBuf toolArguments(ByteBufAllocator alloc, int index, String fragment) {
        ObjectNode d = OpenAiChunks.newDelta();
        d.putArray("tool_calls").addObject().put("index", index).putObject("function").put("arguments", fragment);
        return delta(alloc, d);
    }

    /** An SSE comment: OpenAI clients skip it, proxies and idle timers see traffic (conformance 4). */
    @Override
    public ByteBuf keepAlive(ByteBufAllocator alloc) {
        ByteBuf b = alloc.buffer(8);
        b.writeCharSequence(": ping\n\n", StandardCharsets.US_ASCII);
        return b;
    }

    @Override
    public ByteBuf finish(ByteBufAllocator alloc, FinishReason reason, String rawReason, Usage usage) {
        ByteBuf out = prefix(alloc);
        append(out, chunks.finish(alloc, reason.openAi()));
        if (clientWantsUsage) append(out, chunks.usage(alloc, usage));
        append(out, OpenAiChunks.done(alloc));
        return out;
    }

    @Override
    public ByteBuf error(ByteBufAllocator alloc, String message, String code) {
        return OpenAiChunks.error(alloc, message, code);
    }

    private ByteBuf delta(ByteBufAllocator alloc, ObjectNode delta) {
        ByteBuf out = prefix(alloc);
        append(out, chunks.delta(alloc, delta));
        return out;
    }

    /** The role chunk if content comes before any start, else an empty buffer to write into. */
    private ByteBuf prefix(ByteBufAllocator alloc) {
        ByteBuf first = start(alloc, null, Usage.NONE);
        return first != null ? first : alloc.buffer(256);
    }

    private static void append(ByteBuf out, ByteBuf piece) {
        out.writeBytes(piece);
        piece.release();
    }
}
