package dev.skiff.provider.bedrock;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.ChatStreamWriter;
import dev.skiff.dialect.ir.Part;
import dev.skiff.provider.JsonFields;
import dev.skiff.provider.SignedCallIds;
import dev.skiff.provider.StreamTranslator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Bedrock ConverseStream ({@code application/vnd.amazon.eventstream} frames), read into the calls
 * of a {@link ChatStreamWriter} for the client's dialect.
 *
 * <p>Each frame's {@code :event-type} names the event (API_runtime_ConverseStreamOutput):
 * {@code messageStart} starts the answer; {@code contentBlockStart} with {@code start.toolUse} starts a
 * tool call; {@code contentBlockDelta} carries text, a tool call's JSON fragment
 * ({@code delta.toolUse.input}), or reasoning ({@code reasoningContent.text}, {@code .signature},
 * {@code .redactedContent}); {@code messageStop} gives the stop reason. In Converse streams
 * {@code metadata} (usage, metrics) arrives after {@code messageStop}, so the finish goes out when it
 * arrives, or at the end of the body if it never does. Usage is assigned from metadata, never summed.
 *
 * <p>A frame with {@code :message-type} "exception" (or "error") becomes an in-band error; a body that
 * ends before {@code messageStop}, or whose framing is corrupt, ends with an error too (conformance
 * 18, 33).
 */
public final class BedrockStreamTranslator implements StreamTranslator {
    private final ChatStreamWriter out;
    private final String id = BedrockConverseCodec.newId();

    private EventStreamDecoder decoder;
    private int maxMessageBytes = EventStreamDecoder.DEFAULT_MAX_MESSAGE_LENGTH;
    private EventMemory memory = EventMemory.UNACCOUNTED;

    @Override
    public void limitEvents(int maxBytes, EventMemory memory) {
        // A message is at least its framing; below that no stream could be read at all.
        maxMessageBytes = Math.max(64, Math.min(maxBytes, EventStreamDecoder.DEFAULT_MAX_MESSAGE_LENGTH));
        this.memory = memory;
    }
    private ByteBuf pendingOut;
    private final Map<Integer, Integer> toolIndexByBlock = new HashMap<>();
    private int nextToolIndex;
    private boolean started;
    private String stopReason;
    private boolean stopped; // messageStop seen
    private boolean done;    // finish + [DONE] written
    private Usage usage = Usage.NONE;
    private String error;

    // the reasoning since the last tool call, to carry in the next call's id (see SignedCallIds)
    private final boolean carryReasoning;
    private final List<Part> reasoning = new ArrayList<>();
    private final StringBuilder thinking = new StringBuilder();

    public BedrockStreamTranslator(ChatStreamWriter out) {
        this(out, false);
    }

    /** @param carryReasoning whether tool-call ids carry the reasoning before them (chat clients) */
    public BedrockStreamTranslator(ChatStreamWriter out, boolean carryReasoning) {
        this.out = out;
        this.carryReasoning = carryReasoning;
    }

    @Override
    public ByteBuf onContent(ByteBuf content, ByteBufAllocator alloc) {
        if (error != null || done) { // nothing more to say after an error or [DONE]
            content.release();
            return null;
        }
        if (decoder == null) decoder = new EventStreamDecoder(alloc, maxMessageBytes);
        try {
            decoder.decode(content, m -> append(onMessage(m, alloc)));
        } catch (RuntimeException e) { // EventStreamException (corrupt framing) or an unreadable payload
            error = "the provider's event stream could not be read: " + e.getMessage();
            append(out.error(alloc, error, "upstream_invalid_response"));
            decoder.close(); // the decoder released what it held; the output so far still goes out
        }
        ByteBuf result = pendingOut;
        pendingOut = null;
        return result;
    }

    private void append(ByteBuf piece) {
        if (piece == null) return;
        if (pendingOut == null) {
            pendingOut = piece;
        } else {
            pendingOut.writeBytes(piece);
            piece.release();
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
            return out.error(alloc, error, code == null ? "upstream_error" : code);
        }
        String type = m.eventType();
        if (type == null) return null;
        JsonNode data;
        Runnable reserved = null;
        if (m.payload().length > RESERVE_ABOVE) {
            reserved = memory.tryReserve(io.netty.buffer.Unpooled.wrappedBuffer(m.payload()));
            if (reserved == null) {
                throw new IllegalStateException("Skiff had no translation memory free for an event of "
                        + dev.skiff.dialect.Bytes.describeSize(m.payload().length));
            }
        }
        try {
            data = BedrockConverseCodec.MAPPER.readTree(m.payload());
        } catch (IOException e) {
            throw new IllegalStateException("invalid JSON in a " + type + " event", e);
        } finally {
            // The tree is small next to its text once parsed, and translating it adds little.
            if (reserved != null) reserved.run();
        }
        if (data == null) return null;
        return switch (type) {
            case "messageStart" -> {
                started = true;
                yield out.start(alloc, id, Usage.NONE);
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
        // The writer opens the answer even if messageStart was missed.
        if (started) return null;
        started = true;
        return out.start(alloc, id, Usage.NONE);
    }

    private ByteBuf blockStart(JsonNode data, ByteBufAllocator alloc) {
        JsonNode toolUse = data.path("start").path("toolUse");
        if (!toolUse.isObject()) return null;
        int toolIndex = nextToolIndex++;
        toolIndexByBlock.put(data.path("contentBlockIndex").asInt(), toolIndex);
        String id = toolUse.path("toolUseId").asText();
        if (carryReasoning && !reasoning.isEmpty()) {
            id = SignedCallIds.attach(id, SignedCallIds.Origin.BEDROCK, reasoning);
            reasoning.clear();
        }
        return prefixed(alloc, out.toolCall(alloc, toolIndex, id, toolUse.path("name").asText(), ""));
    }

    private ByteBuf blockDelta(JsonNode data, ByteBufAllocator alloc) {
        JsonNode d = data.path("delta");
        ByteBuf piece;
        if (d.has("text")) {
            String text = d.get("text").asText("");
            if (text.isEmpty()) return null;
            piece = out.text(alloc, text);
        } else if (d.has("toolUse")) {
            Integer toolIndex = toolIndexByBlock.get(data.path("contentBlockIndex").asInt());
            if (toolIndex == null) return null;
            String input = d.path("toolUse").path("input").asText("");
            if (input.isEmpty()) return null;
            piece = out.toolArguments(alloc, toolIndex, input);
        } else if (d.has("reasoningContent")) {
            JsonNode rc = d.get("reasoningContent");
            if (rc.has("text")) {
                if (carryReasoning) thinking.append(rc.get("text").asText(""));
                piece = out.thinking(alloc, rc.get("text").asText(""));
            } else if (rc.has("signature")) {
                // The signature is a reasoning block's last delta: the block is whole now.
                if (carryReasoning) {
                    reasoning.add(new Part.Thinking(thinking.toString(), rc.get("signature").asText()));
                    thinking.setLength(0);
                }
                piece = out.thinkingSignature(alloc, rc.get("signature").asText());
            } else if (rc.has("redactedContent")) {
                if (carryReasoning) reasoning.add(new Part.RedactedThinking(rc.get("redactedContent").asText()));
                piece = out.redactedThinking(alloc, rc.get("redactedContent").asText());
            } else {
                return null;
            }
        } else {
            return null; // citations and other deltas have no place in the representation yet
        }
        return prefixed(alloc, piece);
    }

    private ByteBuf prefixed(ByteBufAllocator alloc, ByteBuf piece) {
        ByteBuf first = startIfNeeded(alloc);
        if (first == null) return piece;
        if (piece != null) {
            first.writeBytes(piece);
            piece.release();
        }
        return first;
    }

    /** The normal end: the writer's finish, with the usage metadata brought (if any). */
    private ByteBuf finish(ByteBufAllocator alloc) {
        done = true;
        return prefixed(alloc, out.finish(alloc, BedrockConverseCodec.finishReason(stopReason), stopReason, usage));
    }

    @Override
    public ByteBuf onEnd(ByteBufAllocator alloc) {
        boolean partial = decoder != null && decoder.hasPartialMessage();
        release();
        if (done || error != null) return null;
        if (stopped && !partial) return finish(alloc); // no metadata: finish without usage numbers
        error = stopped ? "the provider's stream ended inside an event" : "the provider's stream ended before messageStop";
        return out.error(alloc, error, "upstream_incomplete_stream");
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
    public ByteBuf onFailure(ByteBufAllocator alloc, String message, String code) {
        if (error == null) error = message;
        return out.error(alloc, message, code);
    }

    @Override
    public Usage usage() {
        return usage;
    }

    @Override
    public boolean ended() {
        return done || error != null;
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
}
