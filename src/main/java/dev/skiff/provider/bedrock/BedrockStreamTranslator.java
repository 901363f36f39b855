package dev.skiff.provider.bedrock;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.openai.OpenAiChat;
import dev.skiff.dialect.openai.OpenAiChunks;
import dev.skiff.provider.JsonFields;
import dev.skiff.provider.StreamTranslator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * Bedrock ConverseStream ({@code application/vnd.amazon.eventstream} frames) as OpenAI
 * chat-completion chunks.
 *
 * <p>Each frame's {@code :event-type} names the event (API_runtime_ConverseStreamOutput):
 * {@code messageStart} -> the first chunk with {@code role:"assistant"}; {@code contentBlockStart}
 * with {@code start.toolUse} -> a tool call's first delta (index, id, type, name, arguments "");
 * {@code contentBlockDelta}: {@code delta.text} -> {@code delta.content}, {@code delta.toolUse.input}
 * (a JSON fragment) -> the call's arguments, {@code delta.reasoningContent.text} ->
 * {@code reasoning_content}, {@code .signature} -> {@code reasoning_signature},
 * {@code .redactedContent} -> {@code redacted_reasoning}; {@code messageStop} -> the stop reason.
 * In Converse streams {@code metadata} (usage, metrics) arrives after {@code messageStop}, so the
 * finish chunk, the usage chunk (only if the client asked) and {@code [DONE]} go out when it
 * arrives, or at the end of the body if it never does. Usage is assigned from metadata, never summed.
 *
 * <p>A frame with {@code :message-type} "exception" (or "error") becomes an in-band OpenAI error
 * event; a body that ends before {@code messageStop}, or whose framing is corrupt, ends with an error
 * event too (conformance 18, 33).
 */
public final class BedrockStreamTranslator implements StreamTranslator {
    private final boolean clientWantsUsage;
    private final OpenAiChunks chunks;

    private EventStreamDecoder decoder;
    private ByteBuf pendingOut;
    private final Map<Integer, Integer> toolIndexByBlock = new HashMap<>();
    private int nextToolIndex;
    private boolean started;
    private String stopReason;
    private boolean stopped; // messageStop seen
    private boolean done;    // finish + [DONE] written
    private Usage usage = Usage.NONE;
    private String error;

    public BedrockStreamTranslator(String clientModel, boolean clientWantsUsage) {
        this.chunks = new OpenAiChunks(clientModel);
        chunks.id(BedrockConverseCodec.newId());
        this.clientWantsUsage = clientWantsUsage;
    }

    @Override
    public ByteBuf onContent(ByteBuf content, ByteBufAllocator alloc) {
        if (error != null || done) { // nothing more to say after an error or [DONE]
            content.release();
            return null;
        }
        if (decoder == null) decoder = new EventStreamDecoder(alloc);
        try {
            decoder.decode(content, m -> append(onMessage(m, alloc)));
        } catch (RuntimeException e) { // EventStreamException (corrupt framing) or an unreadable payload
            error = "the provider's event stream could not be read: " + e.getMessage();
            append(errorEvent(alloc, error, "upstream_invalid_response"));
            decoder.close(); // the decoder released what it held; the output so far still goes out
        }
        ByteBuf out = pendingOut;
        pendingOut = null;
        return out;
    }

    private void append(ByteBuf out) {
        if (out == null) return;
        if (pendingOut == null) {
            pendingOut = out;
        } else {
            pendingOut.writeBytes(out);
            out.release();
        }
    }

    /** Translates one decoded frame. */
    ByteBuf onMessage(EventStreamMessage m, ByteBufAllocator alloc) {
        if (error != null || done) return null;
        String messageType = m.messageType();
        if ("exception".equals(messageType) || "error".equals(messageType)) {
            String code = "exception".equals(messageType) ? m.exceptionType() : m.errorCode();
            String message = "exception".equals(messageType) ? exceptionMessage(m) : m.errorMessage();
            error = message == null || message.isEmpty() ? "the provider reported an error" : message;
            return errorEvent(alloc, error, code == null ? "upstream_error" : code);
        }
        String type = m.eventType();
        if (type == null) return null;
        JsonNode data;
        try {
            data = BedrockConverseCodec.MAPPER.readTree(m.payload());
        } catch (IOException e) {
            throw new IllegalStateException("invalid JSON in a " + type + " event", e);
        }
        if (data == null) return null;
        return switch (type) {
            case "messageStart" -> {
                started = true;
                yield chunk(alloc, OpenAiChat.JSON.createObjectNode().put("role", "assistant").put("content", ""), null);
            }
            case "contentBlockStart" -> blockStart(data, alloc);
            case "contentBlockDelta" -> blockDelta(data, alloc);
            case "messageStop" -> {
                stopped = true;
                stopReason = JsonFields.textOrNull(data, "stopReason");
                yield null; // the finish chunk waits for metadata, which follows
            }
            case "metadata" -> {
                if (data.has("usage")) usage = BedrockConverseCodec.usage(data.get("usage"));
                yield stopped ? finish(alloc) : null;
            }
            default -> null; // contentBlockStop, and event types added later
        };
    }

    private ByteBuf startIfNeeded(ByteBufAllocator alloc) {
        // The first chunk carries role:"assistant" (conformance 36) even if messageStart was missed.
        if (started) return null;
        started = true;
        return chunk(alloc, OpenAiChat.JSON.createObjectNode().put("role", "assistant").put("content", ""), null);
    }

    private ByteBuf blockStart(JsonNode data, ByteBufAllocator alloc) {
        JsonNode toolUse = data.path("start").path("toolUse");
        if (!toolUse.isObject()) return null;
        int toolIndex = nextToolIndex++;
        toolIndexByBlock.put(data.path("contentBlockIndex").asInt(), toolIndex);
        ObjectNode delta = OpenAiChat.JSON.createObjectNode();
        ObjectNode call = delta.putArray("tool_calls").addObject();
        call.put("index", toolIndex).put("id", toolUse.path("toolUseId").asText()).put("type", "function");
        call.putObject("function").put("name", toolUse.path("name").asText()).put("arguments", "");
        return prefixed(alloc, chunk(alloc, delta, null));
    }

    private ByteBuf blockDelta(JsonNode data, ByteBufAllocator alloc) {
        JsonNode d = data.path("delta");
        ObjectNode delta = OpenAiChat.JSON.createObjectNode();
        if (d.has("text")) {
            String text = d.get("text").asText("");
            if (text.isEmpty()) return null;
            delta.put("content", text);
        } else if (d.has("toolUse")) {
            Integer toolIndex = toolIndexByBlock.get(data.path("contentBlockIndex").asInt());
            if (toolIndex == null) return null;
            String input = d.path("toolUse").path("input").asText("");
            if (input.isEmpty()) return null;
            ArrayNode calls = delta.putArray("tool_calls");
            calls.addObject().put("index", toolIndex).putObject("function").put("arguments", input);
        } else if (d.has("reasoningContent")) {
            JsonNode rc = d.get("reasoningContent");
            if (rc.has("text")) delta.put("reasoning_content", rc.get("text").asText(""));
            else if (rc.has("signature")) delta.put("reasoning_signature", rc.get("signature").asText());
            else if (rc.has("redactedContent")) delta.putArray("redacted_reasoning").add(rc.get("redactedContent").asText());
            else return null;
        } else {
            return null; // citations and other deltas have no place in chat chunks
        }
        return prefixed(alloc, chunk(alloc, delta, null));
    }

    private ByteBuf prefixed(ByteBufAllocator alloc, ByteBuf out) {
        ByteBuf first = startIfNeeded(alloc);
        if (first == null) return out;
        first.writeBytes(out);
        out.release();
        return first;
    }

    /** The finish chunk, the usage chunk if asked for, and [DONE]. */
    private ByteBuf finish(ByteBufAllocator alloc) {
        done = true;
        ByteBuf out = prefixed(alloc, chunk(alloc, OpenAiChat.JSON.createObjectNode(),
                BedrockConverseCodec.finishReason(stopReason).openAi()));
        if (clientWantsUsage) {
            ByteBuf u = usageChunk(alloc);
            out.writeBytes(u);
            u.release();
        }
        out.writeCharSequence("data: [DONE]\n\n", StandardCharsets.US_ASCII);
        return out;
    }

    @Override
    public ByteBuf onEnd(ByteBufAllocator alloc) {
        boolean partial = decoder != null && decoder.hasPartialMessage();
        release();
        if (done || error != null) return null;
        if (stopped && !partial) return finish(alloc); // no metadata: finish without usage numbers
        error = stopped ? "the provider's stream ended inside an event" : "the provider's stream ended before messageStop";
        return errorEvent(alloc, error, "upstream_incomplete_stream");
    }

    @Override
    public void release() {
        if (decoder != null) decoder.close();
        if (pendingOut != null) {
            pendingOut.release();
            pendingOut = null;
        }
    }

    @Override
    public Usage usage() {
        return usage;
    }

    @Override
    public String error() {
        return error;
    }

    private static String exceptionMessage(EventStreamMessage m) {
        try {
            JsonNode n = BedrockConverseCodec.MAPPER.readTree(m.payload());
            if (n != null && n.isObject()) {
                String s = JsonFields.textOrNull(n, "message");
                if (s == null) s = JsonFields.textOrNull(n, "Message");
                if (s != null) return s;
            }
        } catch (IOException e) {
            // fall through to the raw payload
        }
        return m.payloadUtf8();
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
