package dev.skiff.dialect.responses;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.io.SerializedString;
import com.fasterxml.jackson.core.io.SegmentedStringWriter;
import com.fasterxml.jackson.core.util.BufferRecycler;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.databind.util.TokenBuffer;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.ir.FinishReason;
import dev.skiff.dialect.openai.OpenAiChat;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;

/**
 * The pieces of a Responses object shared by the complete answer and the stream: the envelope that
 * echoes the request's parameters, the output items, usage and the terminal status.
 */
final class ResponseObject {
    private ResponseObject() {}

    /**
     * The members that change as an answer ends: its status, when it completed (-1: not yet), why it
     * is incomplete, its error, and its usage (null: not known yet).
     */
    record Ending(String status, long completedAt, String incompleteReason, String errorCode, String errorMessage, Usage usage) {
        /** A response still being answered (the stream's opening events). */
        static Ending inProgress() {
            return new Ending("in_progress", -1, null, null, null, null);
        }

        /** A whole answer: completed, or incomplete with its reason (conformance 19). */
        static Ending finished(FinishReason reason, Usage usage, long completedAt) {
            String incomplete = ResponseObject.incompleteReason(reason);
            return new Ending(incomplete == null ? "completed" : "incomplete", incomplete == null ? completedAt : -1, incomplete,
                    null, null, usage);
        }

        /**
         * A failed response with what was output before the failure. The API's error codes are a
         * closed set (the SDKs refuse others when validating): a provider's own code becomes the
         * nearest of them and stays readable at the end of the message.
         */
        static Ending failed(String code, String message, Usage usage) {
            String apiCode = code != null && code.contains("rate_limit") ? "rate_limit_exceeded" : "server_error";
            if (code != null && !code.equals(apiCode)) message = message + " (" + code + ")";
            return new Ending("failed", -1, null, apiCode, message, usage == Usage.NONE ? null : usage);
        }
    }

    /**
     * Writes the object: every top-level member the API returns, in its order, with what the client
     * sent or the API's default. {@code billing} is left out: it is OpenAI's account of who pays
     * OpenAI, which a translated answer has nothing true to say about. {@code output_text} is not a
     * member of the wire object (the SDKs compute it). A complete answer is written straight to its
     * bytes: built as a tree first, it cost a map entry per member and a copy of every echoed value.
     * Nodes are written by their own serializers with one provider for the whole object:
     * {@code JsonGenerator.writeTree} made a provider for each of them.
     */
    static void write(JsonGenerator g, ResponseContext ctx, Ending end, Iterable<? extends JsonNode> output) throws IOException {
        write(g, request(ctx), own(ctx, end, output), null, null);
    }

    /**
     * {@link #write}, noting in {@code cuts} where each member the stored form leaves out lies in the
     * written bytes: the stored form is then those bytes without them ({@link Cuts#stored}), with no
     * second pass of the generator over the object.
     */
    static void write(JsonGenerator g, ResponseContext ctx, Ending end, Iterable<? extends JsonNode> output, Cuts cuts) throws IOException {
        write(g, request(ctx), own(ctx, end, output), null, cuts);
    }

    /**
     * The object as the response store keeps it: the same members in the same order, less those
     * that hold the API's default or a constant (most of the object: ~1.15 KB of a 1.4 KB answer to
     * a short request, each of them bytes the store's write-ahead log writes and copies again).
     * {@link #expand} gives the whole object back, byte for byte.
     */
    static Stored stored(ResponseContext ctx, Ending end, Iterable<? extends JsonNode> output) {
        int[] omitted = {0};
        try {
            String json = text(g -> write(g, request(ctx), own(ctx, end, output), omitted, null));
            return new Stored(json, omitted[0]);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes JSON with a generator. */
    @FunctionalInterface
    interface Writing {
        void write(JsonGenerator g) throws IOException;
    }

    /**
     * What {@code writing} writes, as text: as ObjectMapper.writeValueAsString makes it, in recycled
     * segments with no StringBuffer, but without looking up a serializer for a value first.
     */
    static String text(Writing writing) throws IOException {
        BufferRecycler buffers = OpenAiChat.JSON.getFactory()._getBufferRecycler();
        try (SegmentedStringWriter text = new SegmentedStringWriter(buffers)) {
            try (JsonGenerator g = OpenAiChat.JSON.getFactory().createGenerator(text)) {
                writing.write(g);
            }
            return text.getAndClear();
        } finally {
            buffers.releaseToPool();
        }
    }

    /**
     * A stored object ({@link #stored}) as the client received it: its own members as they are, the
     * members left out with the values they were left out for. The stored members are the echoed
     * request values, so the writer of the whole object takes them as the request.
     */
    static void expand(JsonGenerator g, ObjectNode stored) throws IOException {
        write(g, stored, (gen, sp, member) -> {
            JsonNode v = stored.get(member);
            if (v == null) gen.writeNull();
            else v.serialize(gen, sp);
        }, null, null);
    }

    /** An object as the store keeps it, and how many characters of the whole object it leaves out. */
    record Stored(String json, int omitted) {}

    /**
     * Where the members that the stored form leaves out lie in a whole object being written into a
     * buffer: each such member is the run from the comma before it to the end of its value (the
     * object's first member, its id, is never left out, so each has a comma before it), and runs that
     * meet are one. The members left out hold defaults and constants: ASCII, so their bytes are their
     * characters.
     */
    static final class Cuts {
        private final ByteBuf out;
        private final int start;
        private JsonGenerator g;
        private int[] at = new int[16]; // from, to, from, to...
        private int size;

        /** For an object written into {@code out} from its writer index now on. */
        Cuts(ByteBuf out) {
            this.out = out;
            this.start = out.writerIndex();
        }

        /** The generator writing the object: what it holds is counted with what reached the buffer. */
        Cuts of(JsonGenerator generator) {
            this.g = generator;
            return this;
        }

        private int position() {
            return out.writerIndex() - start + g.getOutputBuffered();
        }

        /** A member left out begins here. */
        void begin() {
            int p = position();
            if (size > 0 && at[size - 1] == p) { // it follows the last one left out: one run
                size--;
                return;
            }
            if (size == at.length) at = java.util.Arrays.copyOf(at, size * 2);
            at[size++] = p;
        }

        /** ... and ends here. */
        void end() {
            at[size++] = position();
        }

        /** The stored form, once the generator has written the whole object into the buffer and been closed. */
        Stored stored() {
            int whole = out.writerIndex() - start, omitted = 0;
            for (int i = 0; i < size; i += 2) omitted += at[i + 1] - at[i];
            byte[] bytes = new byte[whole - omitted];
            int from = 0, to = 0;
            for (int i = 0; i <= size; i += 2) {
                int until = i < size ? at[i] : whole;
                out.getBytes(start + from, bytes, to, until - from);
                to += until - from;
                if (i < size) from = at[i + 1];
            }
            return new Stored(new String(bytes, java.nio.charset.StandardCharsets.UTF_8), omitted);
        }
    }

    private static JsonNode request(ResponseContext ctx) {
        return ctx.request() != null && ctx.request().isObject() ? ctx.request() : NullNode.getInstance();
    }

    /** Writes the value of one of the object's own members (neither echoed nor constant). */
    @FunctionalInterface
    private interface Own {
        void write(JsonGenerator g, SerializerProvider sp, String member) throws IOException;
    }

    /** The own members of an answer being made. */
    private static Own own(ResponseContext ctx, Ending end, Iterable<? extends JsonNode> output) {
        return (g, sp, member) -> {
            switch (member) {
                case "id" -> g.writeString(ctx.responseId());
                case "created_at" -> g.writeNumber(ctx.createdAt());
                case "status" -> g.writeString(end.status());
                case "completed_at" -> {
                    if (end.completedAt() >= 0) g.writeNumber(end.completedAt());
                    else g.writeNull();
                }
                case "error" -> {
                    if (end.errorCode() != null) {
                        g.writeStartObject();
                        g.writeStringField("code", end.errorCode());
                        g.writeStringField("message", end.errorMessage());
                        g.writeEndObject();
                    } else {
                        g.writeNull();
                    }
                }
                case "incomplete_details" -> {
                    if (end.incompleteReason() != null) {
                        g.writeStartObject();
                        g.writeStringField("reason", end.incompleteReason());
                        g.writeEndObject();
                    } else {
                        g.writeNull();
                    }
                }
                case "model" -> g.writeString(ctx.clientModel());
                case "output" -> {
                    g.writeStartArray();
                    for (JsonNode item : output) item.serialize(g, sp);
                    g.writeEndArray();
                }
                case "usage" -> {
                    if (end.usage() != null) writeUsage(g, end.usage());
                    else g.writeNull();
                }
                default -> throw new IllegalArgumentException(member);
            }
        };
    }

    /**
     * The one list of the object's members. {@code omitted} null: the whole object; else the stored
     * form, with the count of characters left out added to {@code omitted[0]}.
     */
    private static void write(JsonGenerator g, JsonNode req, Own own, int[] omitted, Cuts cuts) throws IOException {
        SerializerProvider sp = OpenAiChat.JSON.getSerializerProviderInstance();
        g.writeStartObject();
        own(g, sp, own, "id");
        constant(g, omitted, cuts, "object", "response");
        own(g, sp, own, "created_at");
        own(g, sp, own, "status");
        echo(g, sp, req, "background", FALSE, omitted, cuts);
        own(g, sp, own, "completed_at");
        own(g, sp, own, "error");
        echo(g, sp, req, "frequency_penalty", ZERO, omitted, cuts);
        own(g, sp, own, "incomplete_details");
        echo(g, sp, req, "instructions", null, omitted, cuts);
        echo(g, sp, req, "max_output_tokens", null, omitted, cuts);
        echo(g, sp, req, "max_tool_calls", null, omitted, cuts);
        own(g, sp, own, "model");
        own(g, sp, own, "output");
        echo(g, sp, req, "parallel_tool_calls", TRUE, omitted, cuts);
        echo(g, sp, req, "presence_penalty", ZERO, omitted, cuts);
        echo(g, sp, req, "previous_response_id", null, omitted, cuts);
        echo(g, sp, req, "prompt_cache_key", null, omitted, cuts);
        echo(g, sp, req, "prompt_cache_retention", null, omitted, cuts);
        JsonNode reasoning = req.path("reasoning");
        boolean cut = cuts != null && !given(reasoning, "effort", "summary");
        if (cut) cuts.begin();
        if (startNested(g, reasoning, "reasoning", omitted, "effort", "summary")) {
            echo(g, sp, reasoning, "effort", null, null, null);
            echo(g, sp, reasoning, "summary", null, null, null);
            g.writeEndObject();
            if (cut) cuts.end();
        } else {
            omitted[0] += nestedChars("reasoning", "effort", null, "summary", null);
        }
        echo(g, sp, req, "safety_identifier", null, omitted, cuts);
        // The tier that served the request: Skiff asks no provider for a special one.
        constant(g, omitted, cuts, "service_tier", "default");
        echo(g, sp, req, "store", TRUE, omitted, cuts);
        echo(g, sp, req, "temperature", ONE, omitted, cuts);
        JsonNode text = req.path("text");
        cut = cuts != null && !given(text, "format", "verbosity");
        if (cut) cuts.begin();
        if (startNested(g, text, "text", omitted, "format", "verbosity")) {
            echo(g, sp, text, "format", TEXT_FORMAT, null, null);
            echo(g, sp, text, "verbosity", MEDIUM, null, null);
            g.writeEndObject();
            if (cut) cuts.end();
        } else {
            omitted[0] += nestedChars("text", "format", TEXT_FORMAT, "verbosity", MEDIUM);
        }
        echo(g, sp, req, "tool_choice", AUTO, omitted, cuts);
        echo(g, sp, req, "tools", NO_TOOLS, omitted, cuts);
        echo(g, sp, req, "top_logprobs", NO_LOGPROBS, omitted, cuts);
        echo(g, sp, req, "top_p", ONE, omitted, cuts);
        echo(g, sp, req, "truncation", DISABLED, omitted, cuts);
        own(g, sp, own, "usage");
        echo(g, sp, req, "user", null, omitted, cuts);
        echo(g, sp, req, "metadata", NO_METADATA, omitted, cuts);
        g.writeEndObject();
    }

    private static void own(JsonGenerator g, SerializerProvider sp, Own own, String member) throws IOException {
        g.writeFieldName(name(member));
        own.write(g, sp, member);
    }

    /** The members' names, quoted and encoded once: the generator copies their bytes. */
    private static final java.util.Map<String, SerializedString> NAMES = new java.util.concurrent.ConcurrentHashMap<>();

    private static SerializedString name(String field) {
        return NAMES.computeIfAbsent(field, SerializedString::new);
    }

    private static void constant(JsonGenerator g, int[] omitted, Cuts cuts, String field, String value) throws IOException {
        if (omitted != null) {
            omitted[0] += field.length() + value.length() + 6; // "field":"value",
            return;
        }
        if (cuts != null) cuts.begin();
        g.writeFieldName(name(field));
        g.writeString(value);
        if (cuts != null) cuts.end();
    }

    /**
     * Opens a nested object of echoed members ({@code reasoning}, {@code text}) unless the stored
     * form leaves it out, as it does when the client gave none of them; says whether it opened it.
     */
    private static boolean startNested(JsonGenerator g, JsonNode in, String field, int[] omitted, String a, String b) throws IOException {
        if (omitted != null && !given(in, a, b)) return false;
        g.writeFieldName(name(field));
        g.writeStartObject();
        return true;
    }

    /** Whether the client gave either member of a nested object (the stored form keeps it then). */
    private static boolean given(JsonNode in, String a, String b) {
        return in.hasNonNull(a) || in.hasNonNull(b);
    }

    /** The characters of a nested object of two defaults, with its comma: "field":{"a":x,"b":y}, */
    private static int nestedChars(String field, String a, Default aDefault, String b, Default bDefault) {
        return field.length() + 3 + 2 + memberChars(a, aDefault) + memberChars(b, bDefault) - 1 + 1;
    }

    /** The characters a member holding its default takes, with its comma: "field":value, */
    private static int memberChars(String field, Default fallback) {
        return field.length() + 3 + (fallback == null ? 4 : fallback.text().charLength()) + 1;
    }

    /** The object as a tree, for the stream's events: {@link #write} through a token buffer (no text between). */
    static ObjectNode tree(ResponseContext ctx, Ending end, Iterable<? extends JsonNode> output) {
        try (TokenBuffer tokens = new TokenBuffer(OpenAiChat.JSON, false)) {
            write(tokens, ctx, end, output);
            try (JsonParser p = tokens.asParser(OpenAiChat.JSON)) {
                return (ObjectNode) OpenAiChat.JSON.readTree(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The Responses {@code incomplete_details.reason} for a finish, or null for a complete answer
     * (conformance 19: the reverse of how chat reads a Responses status).
     */
    static String incompleteReason(FinishReason reason) {
        return switch (reason) {
            case LENGTH -> "max_output_tokens";
            case CONTENT_FILTER -> "content_filter";
            case STOP, TOOL_CALLS -> null;
        };
    }

    /** Counts a provider did not report are written as 0, the API having no way to say "unknown". */
    static void writeUsage(JsonGenerator g, Usage u) throws IOException {
        long input = Math.max(0, u.promptTokens());
        long output = Math.max(0, u.completionTokens());
        g.writeStartObject();
        number(g, "input_tokens", input);
        g.writeFieldName(name("input_tokens_details"));
        g.writeStartObject();
        number(g, "cached_tokens", Math.max(0, u.cachedTokens()));
        if (u.cacheCreationTokens() >= 0) number(g, "cache_creation_tokens", u.cacheCreationTokens());
        g.writeEndObject();
        number(g, "output_tokens", output);
        g.writeFieldName(name("output_tokens_details"));
        g.writeStartObject();
        number(g, "reasoning_tokens", Math.max(0, u.reasoningTokens()));
        g.writeEndObject();
        number(g, "total_tokens", u.totalTokens() >= 0 ? u.totalTokens() : input + output);
        g.writeEndObject();
    }

    private static void number(JsonGenerator g, String field, long value) throws IOException {
        g.writeFieldName(name(field));
        g.writeNumber(value);
    }

    static ObjectNode messageItem(String id, String status) {
        ObjectNode item = OpenAiChat.JSON.createObjectNode();
        item.put("id", id);
        item.put("type", "message");
        item.put("status", status);
        item.putArray("content");
        item.put("role", "assistant");
        return item;
    }

    static ObjectNode outputText(String text) {
        ObjectNode part = OpenAiChat.JSON.createObjectNode();
        part.put("type", "output_text");
        part.putArray("annotations");
        part.putArray("logprobs");
        part.put("text", text);
        return part;
    }

    static ObjectNode functionCallItem(String id, String status, String callId, String name, String arguments) {
        ObjectNode item = OpenAiChat.JSON.createObjectNode();
        item.put("id", id);
        item.put("type", "function_call");
        item.put("status", status);
        item.put("arguments", arguments);
        item.put("call_id", callId);
        item.put("name", name);
        return item;
    }

    /**
     * The client's value of {@code field}, else {@code fallback} (null: JSON null), as the API echoes
     * its request; the stored form ({@code omitted} not null) leaves out a member the client did not
     * give, and counts its characters.
     */
    private static void echo(JsonGenerator g, SerializerProvider sp, JsonNode req, String field, Default fallback, int[] omitted,
                             Cuts cuts) throws IOException {
        JsonNode v = req.get(field);
        if (v != null && !v.isNull()) {
            g.writeFieldName(name(field));
            v.serialize(g, sp);
        } else if (omitted != null) {
            omitted[0] += memberChars(field, fallback);
        } else {
            if (cuts != null) cuts.begin();
            g.writeFieldName(name(field));
            if (fallback == null) g.writeNull();
            else if (g instanceof TokenBuffer) fallback.node().serialize(g, sp); // a tree is made of it: nodes, not text
            else g.writeRawValue(fallback.text());
            if (cuts != null) cuts.end();
        }
    }

    /** A default value, and its text, which is what a generator of text is given: no serializer, no number formatting. */
    private record Default(JsonNode node, SerializedString text) {
        Default(JsonNode node) {
            this(node, new SerializedString(node.toString()));
        }
    }

    /**
     * The defaults, made once: they are only ever written, never put into a tree that could change
     * them. The decimals especially: parsing a BigDecimal for each, four per response, showed in
     * profiles of the path.
     */
    private static final Default ZERO = decimal("0.0"), ONE = decimal("1.0"),
            TEXT_FORMAT = new Default(OpenAiChat.JSON.createObjectNode().put("type", "text")), MEDIUM = new Default(TextNode.valueOf("medium")),
            AUTO = new Default(TextNode.valueOf("auto")), DISABLED = new Default(TextNode.valueOf("disabled")),
            NO_TOOLS = new Default(OpenAiChat.JSON.createArrayNode()), NO_METADATA = new Default(OpenAiChat.JSON.createObjectNode()),
            FALSE = new Default(BooleanNode.FALSE), TRUE = new Default(BooleanNode.TRUE), NO_LOGPROBS = new Default(IntNode.valueOf(0));

    private static Default decimal(String value) {
        return new Default(OpenAiChat.JSON.getNodeFactory().numberNode(new BigDecimal(value)));
    }
}
