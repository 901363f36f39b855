package dev.skiff.dialect.anthropic;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.skiff.dialect.ChatStreamWriter;
import dev.skiff.dialect.Ids;
import dev.skiff.dialect.Json;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.ir.FinishReason;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A streamed answer as Anthropic Messages events: {@code message_start}; then for each content block
 * {@code content_block_start}, its deltas and {@code content_block_stop}, numbered by {@code index};
 * then {@code message_delta} (stop reason and the final usage, conformance 21) and
 * {@code message_stop}.
 *
 * <p>Anthropic's blocks never overlap, while the calls this writer gets are a flat sequence in which
 * tool-call argument fragments may interleave between calls (conformance 1). So:
 * <ul>
 *   <li>Text and thinking stream live; a call of another kind closes the open block and opens a new
 *       one, and a signature with no open, unsigned thinking block gets a thinking block of its own.</li>
 *   <li>The first tool call opens its block at once and its fragments stream live. Calls that start
 *       while a tool block is open, and their fragments, are held; at the finish the open block is
 *       closed and each held call is written whole, in index order. A tool block is closed only at the
 *       finish, so no fragment can arrive for a block that is already closed: nothing is lost.</li>
 *   <li>Text or thinking that comes after tool calls began is held too and written after the tool
 *       blocks, so the text of a turn precedes its tool blocks (conformance 3) and no block is split.</li>
 * </ul>
 * Clients act on tool calls at {@code message_stop} anyway, so holding the later calls costs nothing
 * but live progress display.
 */
public final class AnthropicMessagesStreamWriter implements ChatStreamWriter {
    /** Error types of Anthropic's error events, which a code already in that vocabulary keeps. */
    private static final Set<String> ERROR_TYPES = Set.of("invalid_request_error", "authentication_error", "billing_error",
            "permission_error", "not_found_error", "request_too_large", "rate_limit_error", "api_error", "timeout_error",
            "overloaded_error");

    private final String clientModel;

    private boolean started;
    private boolean ended;
    private Usage startUsage = Usage.NONE;
    private int nextBlockIndex;

    /** The block now open, or null. */
    private OpenBlock open;
    /** Every tool call seen, by its index; those not yet written hold their arguments. */
    private final Map<Integer, ToolCall> tools = new TreeMap<>();
    /** Set once a tool block has been opened: from then on, other content waits for the finish. */
    private boolean toolPhase;
    private final List<Held> held = new ArrayList<>();

    public AnthropicMessagesStreamWriter(String clientModel) {
        this.clientModel = clientModel;
    }

    private enum Kind { TEXT, THINKING, TOOL }

    private static final class OpenBlock {
        final Kind kind;
        final int index;
        final ToolCall tool;
        /** A thinking block that got its signature: more thinking is a new block. */
        boolean signed;

        OpenBlock(Kind kind, int index, ToolCall tool) {
            this.kind = kind;
            this.index = index;
            this.tool = tool;
        }
    }

    private static final class ToolCall {
        String id;
        String name;
        final StringBuilder heldArguments = new StringBuilder();
        boolean written;
    }

    /** Content that came after tool calls began, to be written after them. */
    private sealed interface Held {
        record Text(StringBuilder text) implements Held {}

        record Thinking(String text) implements Held {}

        record Signature(String signature) implements Held {}

        record Redacted(String data) implements Held {}
    }

    @FunctionalInterface
    private interface Body {
        void write(ByteBuf out);
    }

    // ---- ChatStreamWriter ----------------------------------------------------------------------

    @Override
    public ByteBuf start(ByteBufAllocator alloc, String id, Usage usage) {
        if (started || ended) return null;
        ByteBuf out = alloc.buffer(384);
        writeStart(out, id, usage);
        return out;
    }

    @Override
    public ByteBuf text(ByteBufAllocator alloc, String text) {
        if (text == null || text.isEmpty()) return emit(alloc, out -> { });
        return emit(alloc, out -> {
            if (toolPhase) {
                if (!held.isEmpty() && held.getLast() instanceof Held.Text t) t.text().append(text);
                else held.add(new Held.Text(new StringBuilder(text)));
            } else {
                writeText(out, text);
            }
        });
    }

    @Override
    public ByteBuf thinking(ByteBufAllocator alloc, String text) {
        if (text == null || text.isEmpty()) return emit(alloc, out -> { });
        return emit(alloc, out -> {
            if (toolPhase) held.add(new Held.Thinking(text));
            else writeThinking(out, text);
        });
    }

    @Override
    public ByteBuf thinkingSignature(ByteBufAllocator alloc, String signature) {
        if (signature == null || signature.isEmpty()) return emit(alloc, out -> { });
        return emit(alloc, out -> {
            if (toolPhase) held.add(new Held.Signature(signature));
            else writeSignature(out, signature);
        });
    }

    @Override
    public ByteBuf redactedThinking(ByteBufAllocator alloc, String data) {
        return emit(alloc, out -> {
            if (toolPhase) held.add(new Held.Redacted(data));
            else writeRedacted(out, data);
        });
    }

    @Override
    public ByteBuf toolCall(ByteBufAllocator alloc, int index, String id, String name, String arguments) {
        return emit(alloc, out -> {
            ToolCall call = tools.computeIfAbsent(index, i -> new ToolCall());
            if (call.id == null) call.id = id;
            if (call.name == null) call.name = name;
            if (arguments != null && !arguments.isEmpty()) appendArguments(out, call, arguments);
            if (!call.written && (open == null || open.kind != Kind.TOOL)) openTool(out, call);
        });
    }

    @Override
    public ByteBuf toolArguments(ByteBufAllocator alloc, int index, String fragment) {
        if (fragment == null || fragment.isEmpty()) return emit(alloc, out -> { });
        return emit(alloc, out -> appendArguments(out, tools.computeIfAbsent(index, i -> new ToolCall()), fragment));
    }

    /** Anthropic's own ping event, which its clients expect and skip. */
    @Override
    public ByteBuf keepAlive(ByteBufAllocator alloc) {
        if (ended) return null;
        ByteBuf out = alloc.buffer(48);
        // Spelled as Anthropic sends it, space included.
        out.writeCharSequence("event: ping\ndata: {\"type\": \"ping\"}\n\n", StandardCharsets.US_ASCII);
        return out;
    }

    @Override
    public ByteBuf finish(ByteBufAllocator alloc, FinishReason reason, String rawReason, Usage usage) {
        ByteBuf out = emit(alloc, o -> {
            flushToolsAndHeld(o);
            close(o);
            Usage u = merged(usage);
            event(o, "message_delta", g -> {
                g.writeStartObject();
                g.writeStringField("type", "message_delta");
                g.writeObjectFieldStart("delta");
                g.writeStringField("stop_reason", AnthropicMessages.stopReason(reason, rawReason));
                g.writeNullField("stop_sequence");
                g.writeEndObject();
                g.writeObjectFieldStart("usage");
                g.writeNumberField("input_tokens", AnthropicMessages.uncachedInput(u));
                g.writeNumberField("output_tokens", Math.max(0, u.completionTokens()));
                g.writeNumberField("cache_read_input_tokens", Math.max(0, u.cachedTokens()));
                g.writeNumberField("cache_creation_input_tokens", Math.max(0, u.cacheCreationTokens()));
                g.writeEndObject();
                g.writeEndObject();
            });
            event(o, "message_stop", g -> {
                g.writeStartObject();
                g.writeStringField("type", "message_stop");
                g.writeEndObject();
            });
        });
        ended = true;
        return out;
    }

    /** Anthropic's in-band error: open blocks stay unclosed, as Anthropic leaves them, and nothing follows. */
    @Override
    public ByteBuf error(ByteBufAllocator alloc, String message, String code) {
        if (ended) return null;
        ended = true;
        ByteBuf out = alloc.buffer(256);
        event(out, "error", g -> {
            g.writeStartObject();
            g.writeStringField("type", "error");
            g.writeObjectFieldStart("error");
            g.writeStringField("type", errorType(code));
            g.writeStringField("message", message == null ? "the provider reported an error" : message);
            g.writeEndObject();
            g.writeEndObject();
        });
        return out;
    }

    // ---- blocks --------------------------------------------------------------------------------

    private void writeText(ByteBuf out, String text) {
        if (open == null || open.kind != Kind.TEXT) {
            openBlock(out, Kind.TEXT, null, g -> {
                g.writeStringField("type", "text");
                g.writeStringField("text", "");
            });
        }
        delta(out, open.index, g -> {
            g.writeStringField("type", "text_delta");
            g.writeStringField("text", text);
        });
    }

    private void writeThinking(ByteBuf out, String text) {
        ensureUnsignedThinking(out);
        delta(out, open.index, g -> {
            g.writeStringField("type", "thinking_delta");
            g.writeStringField("thinking", text);
        });
    }

    private void writeSignature(ByteBuf out, String signature) {
        ensureUnsignedThinking(out);
        open.signed = true;
        delta(out, open.index, g -> {
            g.writeStringField("type", "signature_delta");
            g.writeStringField("signature", signature);
        });
    }

    private void ensureUnsignedThinking(ByteBuf out) {
        if (open != null && open.kind == Kind.THINKING && !open.signed) return;
        openBlock(out, Kind.THINKING, null, g -> {
            g.writeStringField("type", "thinking");
            g.writeStringField("thinking", "");
            g.writeStringField("signature", "");
        });
    }

    /** Encrypted reasoning arrives whole, so its block opens and closes at once. */
    private void writeRedacted(ByteBuf out, String data) {
        openBlock(out, Kind.THINKING, null, g -> {
            g.writeStringField("type", "redacted_thinking");
            g.writeStringField("data", data == null ? "" : data);
        });
        close(out);
    }

    private void openTool(ByteBuf out, ToolCall call) {
        if (call.id == null) call.id = Ids.alphanumeric("toolu_");
        toolPhase = true;
        openBlock(out, Kind.TOOL, call, g -> {
            g.writeStringField("type", "tool_use");
            g.writeStringField("id", call.id);
            g.writeStringField("name", call.name == null ? "" : call.name);
            g.writeObjectFieldStart("input");
            g.writeEndObject();
        });
        call.written = true;
        if (!call.heldArguments.isEmpty()) {
            String args = call.heldArguments.toString();
            call.heldArguments.setLength(0);
            writeArguments(out, args);
        }
    }

    /** Live into the call's open block; held when the call's block is not the open one yet. */
    private void appendArguments(ByteBuf out, ToolCall call, String fragment) {
        if (open != null && open.tool == call) writeArguments(out, fragment);
        else call.heldArguments.append(fragment);
    }

    private void writeArguments(ByteBuf out, String json) {
        delta(out, open.index, g -> {
            g.writeStringField("type", "input_json_delta");
            g.writeStringField("partial_json", json);
        });
    }

    /** At the finish: the open tool block closes, held calls go out whole in index order, then held content. */
    private void flushToolsAndHeld(ByteBuf out) {
        for (ToolCall call : tools.values()) {
            if (call.written) continue;
            close(out);
            openTool(out, call);
        }
        if (held.isEmpty()) return;
        close(out);
        for (Held h : held) {
            switch (h) {
                case Held.Text t -> writeText(out, t.text().toString());
                case Held.Thinking th -> writeThinking(out, th.text());
                case Held.Signature s -> writeSignature(out, s.signature());
                case Held.Redacted r -> writeRedacted(out, r.data());
            }
        }
        held.clear();
    }

    /** Closes the open block, if any, and opens a new one with the next index. */
    private void openBlock(ByteBuf out, Kind kind, ToolCall tool, Json.Writer contentBlock) {
        close(out);
        OpenBlock b = new OpenBlock(kind, nextBlockIndex++, tool);
        event(out, "content_block_start", g -> {
            g.writeStartObject();
            g.writeStringField("type", "content_block_start");
            g.writeNumberField("index", b.index);
            g.writeObjectFieldStart("content_block");
            contentBlock.write(g);
            g.writeEndObject();
            g.writeEndObject();
        });
        open = b;
    }

    private void close(ByteBuf out) {
        if (open == null) return;
        int index = open.index;
        open = null;
        event(out, "content_block_stop", g -> {
            g.writeStartObject();
            g.writeStringField("type", "content_block_stop");
            g.writeNumberField("index", index);
            g.writeEndObject();
        });
    }

    private static void delta(ByteBuf out, int index, Json.Writer delta) {
        event(out, "content_block_delta", g -> {
            g.writeStartObject();
            g.writeStringField("type", "content_block_delta");
            g.writeNumberField("index", index);
            g.writeObjectFieldStart("delta");
            delta.write(g);
            g.writeEndObject();
            g.writeEndObject();
        });
    }

    // ---- message -------------------------------------------------------------------------------

    /**
     * {@code message_start} with what is known of input so far; output is 0 until the real count
     * arrives in {@code message_delta}, which clients take as the final number.
     */
    private void writeStart(ByteBuf out, String id, Usage usage) {
        started = true;
        startUsage = usage == null ? Usage.NONE : usage;
        Usage u = startUsage;
        event(out, "message_start", g -> {
            g.writeStartObject();
            g.writeStringField("type", "message_start");
            g.writeObjectFieldStart("message");
            g.writeStringField("id", AnthropicMessages.messageId(id));
            g.writeStringField("type", "message");
            g.writeStringField("role", "assistant");
            g.writeStringField("model", clientModel);
            g.writeArrayFieldStart("content");
            g.writeEndArray();
            g.writeNullField("stop_reason");
            g.writeNullField("stop_sequence");
            g.writeObjectFieldStart("usage");
            g.writeNumberField("input_tokens", AnthropicMessages.uncachedInput(u));
            g.writeNumberField("cache_creation_input_tokens", Math.max(0, u.cacheCreationTokens()));
            g.writeNumberField("cache_read_input_tokens", Math.max(0, u.cachedTokens()));
            g.writeNumberField("output_tokens", 0);
            g.writeEndObject();
            g.writeEndObject();
            g.writeEndObject();
        });
    }

    /** The final usage, with counts it does not report taken from what the start said. */
    private Usage merged(Usage end) {
        Usage e = end == null ? Usage.NONE : end;
        Usage s = startUsage;
        return new Usage(pick(e.promptTokens(), s.promptTokens()), pick(e.completionTokens(), s.completionTokens()),
                pick(e.totalTokens(), s.totalTokens()), pick(e.cachedTokens(), s.cachedTokens()),
                pick(e.reasoningTokens(), s.reasoningTokens()), pick(e.cacheCreationTokens(), s.cacheCreationTokens()));
    }

    private static long pick(long end, long start) {
        return end >= 0 ? end : start;
    }

    /**
     * Writes content events into a new buffer, preceded by {@code message_start} when the answer has
     * not started yet; null when there is nothing to send (held content, an empty delta).
     */
    private ByteBuf emit(ByteBufAllocator alloc, Body body) {
        if (ended) return null;
        ByteBuf out = alloc.buffer(256);
        try {
            if (!started) writeStart(out, null, Usage.NONE);
            body.write(out);
        } catch (RuntimeException e) {
            out.release();
            throw e;
        }
        if (out.isReadable()) return out;
        out.release();
        return null;
    }

    /** One SSE event: {@code event: <type>}, {@code data: <json>}, a blank line. */
    private static void event(ByteBuf out, String type, Json.Writer data) {
        out.writeCharSequence("event: ", StandardCharsets.US_ASCII);
        out.writeCharSequence(type, StandardCharsets.US_ASCII);
        out.writeCharSequence("\ndata: ", StandardCharsets.US_ASCII);
        try (JsonGenerator g = Json.FACTORY.createGenerator((OutputStream) new ByteBufOutputStream(out))) {
            data.write(g);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        out.writeCharSequence("\n\n", StandardCharsets.US_ASCII);
    }

    /**
     * The Anthropic error type for a code: kept when it already is one (an Anthropic upstream),
     * otherwise the nearest by what the code says (OpenAI codes, Gemini statuses, Bedrock exceptions).
     */
    static String errorType(String code) {
        if (code == null || code.isEmpty()) return "api_error";
        if (ERROR_TYPES.contains(code)) return code;
        String c = code.toLowerCase(Locale.ROOT);
        if (c.startsWith("upstream_")) return "api_error"; // Skiff's own codes for a provider that misbehaved
        if (c.contains("rate_limit") || c.contains("throttl") || c.contains("resource_exhausted") || c.contains("quota")) {
            return "rate_limit_error";
        }
        if (c.contains("overload") || c.contains("unavailable") || c.contains("capacity")) return "overloaded_error";
        if (c.contains("timeout") || c.contains("timed_out") || c.contains("deadline")) return "timeout_error";
        if (c.contains("context_length") || c.contains("invalid") || c.contains("validation")) return "invalid_request_error";
        if (c.contains("unauthenticated") || c.contains("authentication")) return "authentication_error";
        if (c.contains("permission") || c.contains("access_denied") || c.contains("accessdenied")) return "permission_error";
        if (c.contains("not_found") || c.contains("notfound")) return "not_found_error";
        return "api_error";
    }

}
