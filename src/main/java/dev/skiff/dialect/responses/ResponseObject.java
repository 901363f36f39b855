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
import com.fasterxml.jackson.databind.node.MissingNode;
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

    /** {@link #write} of output items written as they are, with no tree made of them first. */
    static void writeItems(JsonGenerator g, ResponseContext ctx, Ending end, java.util.List<Item> output, Cuts cuts) throws IOException {
        write(g, request(ctx), own(ctx, end, (gen, sp) -> {
            for (Item item : output) item.write(gen, sp);
        }), null, cuts);
    }

    /**
     * An output item of a complete answer: a message or a function call, which {@link #write} writes
     * straight to the generator (the members, in the order, of {@link #messageItem} with its
     * {@link #outputText}, and of {@link #functionCallItem}), or any other item as a tree.
     */
    sealed interface Item {
        String id();

        void write(JsonGenerator g, SerializerProvider sp) throws IOException;

        /** The item marked incomplete, as the last item of an answer cut short is; items without a status stay as they are. */
        Item incomplete();

        ObjectNode node();

        /** Opens an item: its id, type and status, the members every item of these begins with. */
        private static void start(JsonGenerator g, String id, SerializedString type, String status) throws IOException {
            g.writeStartObject();
            g.writeFieldName(ITEM_ID);
            g.writeString(id);
            g.writeFieldName(TYPE);
            g.writeString(type);
            g.writeFieldName(ITEM_STATUS);
            g.writeString(status);
        }

        /** The items as trees. */
        static java.util.List<ObjectNode> nodes(java.util.List<Item> items) {
            java.util.List<ObjectNode> nodes = new java.util.ArrayList<>(items.size());
            for (Item item : items) nodes.add(item.node());
            return nodes;
        }

        record Message(String id, String status, String text) implements Item {
            @Override
            public void write(JsonGenerator g, SerializerProvider sp) throws IOException {
                start(g, id, MESSAGE, status);
                g.writeFieldName(CONTENT);
                g.writeStartArray();
                g.writeStartObject();
                g.writeFieldName(TYPE);
                g.writeString(OUTPUT_TEXT);
                g.writeFieldName(ANNOTATIONS);
                g.writeStartArray();
                g.writeEndArray();
                g.writeFieldName(LOGPROBS);
                g.writeStartArray();
                g.writeEndArray();
                g.writeFieldName(TEXT_VALUE);
                g.writeString(text);
                g.writeEndObject();
                g.writeEndArray();
                g.writeFieldName(ROLE);
                g.writeString(ASSISTANT);
                g.writeEndObject();
            }

            @Override
            public Item incomplete() {
                return new Message(id, "incomplete", text);
            }

            @Override
            public ObjectNode node() {
                ObjectNode item = messageItem(id, status);
                item.withArray("content").add(outputText(text));
                return item;
            }
        }

        record Call(String id, String status, String callId, String name, String arguments) implements Item {
            @Override
            public void write(JsonGenerator g, SerializerProvider sp) throws IOException {
                start(g, id, FUNCTION_CALL, status);
                g.writeFieldName(ARGUMENTS);
                g.writeString(arguments);
                g.writeFieldName(CALL_ID);
                g.writeString(callId);
                g.writeFieldName(FUNCTION_NAME);
                g.writeString(name);
                g.writeEndObject();
            }

            @Override
            public Item incomplete() {
                return new Call(id, "incomplete", callId, name, arguments);
            }

            @Override
            public ObjectNode node() {
                return functionCallItem(id, status, callId, name, arguments);
            }
        }

        /** Any other item (reasoning), as a tree. */
        record Node(ObjectNode node) implements Item {
            @Override
            public String id() {
                return node.get("id").asText();
            }

            @Override
            public void write(JsonGenerator g, SerializerProvider sp) throws IOException {
                node.serialize(g, sp);
            }

            @Override
            public Item incomplete() {
                if (node.has("status")) node.put("status", "incomplete");
                return this;
            }
        }
    }

    /** The output items' member names and constant values, quoted and encoded once. */
    private static final SerializedString ITEM_ID = new SerializedString("id"), TYPE = new SerializedString("type"),
            ITEM_STATUS = new SerializedString("status"), CONTENT = new SerializedString("content"), ROLE = new SerializedString("role"),
            ANNOTATIONS = new SerializedString("annotations"), LOGPROBS = new SerializedString("logprobs"),
            TEXT_VALUE = new SerializedString("text"), ARGUMENTS = new SerializedString("arguments"),
            CALL_ID = new SerializedString("call_id"), FUNCTION_NAME = new SerializedString("name"),
            MESSAGE = new SerializedString("message"), OUTPUT_TEXT = new SerializedString("output_text"),
            ASSISTANT = new SerializedString("assistant"), FUNCTION_CALL = new SerializedString("function_call");

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
            JsonNode v = stored.get(member.text);
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
        void write(JsonGenerator g, SerializerProvider sp, Name member) throws IOException;
    }

    /** The own members of an answer being made. */
    private static Own own(ResponseContext ctx, Ending end, Iterable<? extends JsonNode> output) {
        return own(ctx, end, (g, sp) -> {
            for (JsonNode item : output) item.serialize(g, sp);
        });
    }

    /** Writes the output items, between the brackets of their array. */
    @FunctionalInterface
    private interface Items {
        void write(JsonGenerator g, SerializerProvider sp) throws IOException;
    }

    private static Own own(ResponseContext ctx, Ending end, Items output) {
        return (g, sp, member) -> {
            if (member == ID) {
                g.writeString(ctx.responseId());
            } else if (member == CREATED_AT) {
                g.writeNumber(ctx.createdAt());
            } else if (member == STATUS) {
                g.writeString(end.status());
            } else if (member == COMPLETED_AT) {
                if (end.completedAt() >= 0) g.writeNumber(end.completedAt());
                else g.writeNull();
            } else if (member == ERROR) {
                if (end.errorCode() != null) {
                    g.writeStartObject();
                    g.writeStringField("code", end.errorCode());
                    g.writeStringField("message", end.errorMessage());
                    g.writeEndObject();
                } else {
                    g.writeNull();
                }
            } else if (member == INCOMPLETE_DETAILS) {
                if (end.incompleteReason() != null) {
                    g.writeStartObject();
                    g.writeStringField("reason", end.incompleteReason());
                    g.writeEndObject();
                } else {
                    g.writeNull();
                }
            } else if (member == MODEL) {
                g.writeString(ctx.clientModel());
            } else if (member == OUTPUT) {
                g.writeStartArray();
                output.write(g, sp);
                g.writeEndArray();
            } else if (member == USAGE) {
                if (end.usage() != null) writeUsage(g, end.usage());
                else g.writeNull();
            } else {
                throw new IllegalArgumentException(member.text);
            }
        };
    }

    /**
     * The one list of the object's members. {@code omitted} null: the whole object; else the stored
     * form, with the count of characters left out added to {@code omitted[0]}. The request's members
     * are looked up in one pass over them ({@link #given}), not one lookup for each member echoed.
     */
    private static void write(JsonGenerator g, JsonNode req, Own own, int[] omitted, Cuts cuts) throws IOException {
        SerializerProvider sp = OpenAiChat.JSON.getSerializerProviderInstance();
        JsonNode[] given = given(req);
        g.writeStartObject();
        own(g, sp, own, ID); // the first member: every other one follows a comma (see Name.member)
        constant(g, sp, omitted, cuts, OBJECT);
        own(g, sp, own, CREATED_AT);
        own(g, sp, own, STATUS);
        echo(g, sp, given, BACKGROUND, omitted, cuts);
        own(g, sp, own, COMPLETED_AT);
        own(g, sp, own, ERROR);
        echo(g, sp, given, FREQUENCY_PENALTY, omitted, cuts);
        own(g, sp, own, INCOMPLETE_DETAILS);
        echo(g, sp, given, INSTRUCTIONS, omitted, cuts);
        echo(g, sp, given, MAX_OUTPUT_TOKENS, omitted, cuts);
        echo(g, sp, given, MAX_TOOL_CALLS, omitted, cuts);
        own(g, sp, own, MODEL);
        own(g, sp, own, OUTPUT);
        echo(g, sp, given, PARALLEL_TOOL_CALLS, omitted, cuts);
        echo(g, sp, given, PRESENCE_PENALTY, omitted, cuts);
        echo(g, sp, given, PREVIOUS_RESPONSE_ID, omitted, cuts);
        echo(g, sp, given, PROMPT_CACHE_KEY, omitted, cuts);
        echo(g, sp, given, PROMPT_CACHE_RETENTION, omitted, cuts);
        nested(g, sp, given, REASONING, EFFORT, SUMMARY, omitted, cuts);
        echo(g, sp, given, SAFETY_IDENTIFIER, omitted, cuts);
        // The tier that served the request: Skiff asks no provider for a special one.
        constant(g, sp, omitted, cuts, SERVICE_TIER);
        echo(g, sp, given, STORE, omitted, cuts);
        echo(g, sp, given, TEMPERATURE, omitted, cuts);
        nested(g, sp, given, TEXT, FORMAT, VERBOSITY, omitted, cuts);
        echo(g, sp, given, TOOL_CHOICE, omitted, cuts);
        echo(g, sp, given, TOOLS, omitted, cuts);
        echo(g, sp, given, TOP_LOGPROBS, omitted, cuts);
        echo(g, sp, given, TOP_P, omitted, cuts);
        echo(g, sp, given, TRUNCATION, omitted, cuts);
        own(g, sp, own, USAGE);
        echo(g, sp, given, USER, omitted, cuts);
        echo(g, sp, given, METADATA, omitted, cuts);
        g.writeEndObject();
    }

    /** The request's values of the members the object echoes, by {@link Name#echoed}; null where it gave none. */
    private static JsonNode[] given(JsonNode req) {
        JsonNode[] given = new JsonNode[ECHOED.size()];
        if (req instanceof ObjectNode object) {
            for (var e : object.properties()) {
                Name name = ECHOED.get(e.getKey());
                if (name != null) given[name.echoed] = e.getValue();
            }
        }
        return given;
    }

    private static void own(JsonGenerator g, SerializerProvider sp, Own own, Name member) throws IOException {
        g.writeFieldName(member.quoted);
        own.write(g, sp, member);
    }

    private static void constant(JsonGenerator g, SerializerProvider sp, int[] omitted, Cuts cuts, Name name) throws IOException {
        if (omitted != null) omitted[0] += name.member.charLength();
        else defaulted(g, sp, name, cuts);
    }

    /**
     * The client's value of a member, else its default (null: JSON null), as the API echoes its
     * request; the stored form ({@code omitted} not null) leaves out a member the client did not
     * give, and counts its characters.
     */
    private static void echo(JsonGenerator g, SerializerProvider sp, JsonNode[] given, Name name, int[] omitted, Cuts cuts)
            throws IOException {
        JsonNode v = given[name.echoed];
        if (v != null && !v.isNull()) {
            g.writeFieldName(name.quoted);
            v.serialize(g, sp);
        } else if (omitted != null) {
            omitted[0] += name.member.charLength();
        } else {
            defaulted(g, sp, name, cuts);
        }
    }

    /**
     * A member holding its default or constant, noted in {@code cuts}: a text generator is given the
     * member whole, comma and all (the object's first member is never one, so a comma is always due,
     * and the generator's own count of members still puts one before the next member it writes); a
     * token buffer, which a tree is made of, the name and the value's node.
     */
    private static void defaulted(JsonGenerator g, SerializerProvider sp, Name name, Cuts cuts) throws IOException {
        if (cuts != null) cuts.begin();
        if (g instanceof TokenBuffer) {
            g.writeFieldName(name.quoted);
            if (name.fallback == null) g.writeNull();
            else name.fallback.node().serialize(g, sp);
        } else {
            g.writeRaw(name.member);
        }
        if (cuts != null) cuts.end();
    }

    /**
     * A nested object of echoed members ({@code reasoning}, {@code text}): the client's members and
     * the defaults of the others if it gave either, else the whole default object, which the stored
     * form leaves out.
     */
    private static void nested(JsonGenerator g, SerializerProvider sp, JsonNode[] given, Name name, Name a, Name b, int[] omitted,
                               Cuts cuts) throws IOException {
        JsonNode in = given[name.echoed];
        if (in != null && (in.hasNonNull(a.text) || in.hasNonNull(b.text))) {
            g.writeFieldName(name.quoted);
            g.writeStartObject();
            inner(g, sp, in, a);
            inner(g, sp, in, b);
            g.writeEndObject();
        } else if (omitted != null) {
            omitted[0] += name.member.charLength();
        } else if (g instanceof TokenBuffer) {
            if (cuts != null) cuts.begin();
            g.writeFieldName(name.quoted);
            g.writeStartObject();
            inner(g, sp, MissingNode.getInstance(), a);
            inner(g, sp, MissingNode.getInstance(), b);
            g.writeEndObject();
            if (cuts != null) cuts.end();
        } else {
            defaulted(g, sp, name, cuts);
        }
    }

    /** A member of a nested object: the client's value, else its default. */
    private static void inner(JsonGenerator g, SerializerProvider sp, JsonNode in, Name name) throws IOException {
        JsonNode v = in.get(name.text);
        g.writeFieldName(name.quoted);
        if (v != null && !v.isNull()) v.serialize(g, sp);
        else if (name.fallback == null) g.writeNull();
        else if (g instanceof TokenBuffer) name.fallback.node().serialize(g, sp); // a tree is made of it: nodes, not text
        else g.writeRawValue(name.fallback.text());
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
        number(g, INPUT_TOKENS, input);
        g.writeFieldName(INPUT_TOKENS_DETAILS);
        g.writeStartObject();
        number(g, CACHED_TOKENS, Math.max(0, u.cachedTokens()));
        if (u.cacheCreationTokens() >= 0) number(g, CACHE_CREATION_TOKENS, u.cacheCreationTokens());
        g.writeEndObject();
        number(g, OUTPUT_TOKENS, output);
        g.writeFieldName(OUTPUT_TOKENS_DETAILS);
        g.writeStartObject();
        number(g, REASONING_TOKENS, Math.max(0, u.reasoningTokens()));
        g.writeEndObject();
        number(g, TOTAL_TOKENS, u.totalTokens() >= 0 ? u.totalTokens() : input + output);
        g.writeEndObject();
    }

    /** The usage object's member names, quoted and encoded once. */
    private static final SerializedString INPUT_TOKENS = new SerializedString("input_tokens"),
            INPUT_TOKENS_DETAILS = new SerializedString("input_tokens_details"), CACHED_TOKENS = new SerializedString("cached_tokens"),
            CACHE_CREATION_TOKENS = new SerializedString("cache_creation_tokens"), OUTPUT_TOKENS = new SerializedString("output_tokens"),
            OUTPUT_TOKENS_DETAILS = new SerializedString("output_tokens_details"), REASONING_TOKENS = new SerializedString("reasoning_tokens"),
            TOTAL_TOKENS = new SerializedString("total_tokens");

    private static void number(JsonGenerator g, SerializedString field, long value) throws IOException {
        g.writeFieldName(field);
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

    /**
     * A member of the object, or of one of its nested objects: its name quoted and encoded once (the
     * generator copies its bytes); for a top-level member echoed from the request, its index among
     * those (-1 for the others); the value it holds when the client gave none (a default or constant;
     * null: JSON null); and, for a top-level member with such a value, the member whole as text with
     * the comma before it ({@code ,"name":value}), which is also what the stored form leaves out.
     */
    static final class Name {
        final String text;
        final SerializedString quoted;
        final int echoed;
        final Default fallback;
        final SerializedString member;

        private Name(String text, int echoed, Default fallback, String value) {
            this.text = text;
            this.quoted = new SerializedString(text);
            this.echoed = echoed;
            this.fallback = fallback;
            this.member = value == null ? null : new SerializedString(",\"" + text + "\":" + value);
        }

        /** One of the object's own members, written by an {@link Own}. */
        static Name own(String text) {
            return new Name(text, -1, null, null);
        }

        /** A member of a nested object. */
        static Name inner(String text, Default fallback) {
            return new Name(text, -1, fallback, null);
        }

        /** A member echoed from the request, {@code index}: its place in {@link #ECHOED}. */
        static Name echoed(String text, int index, Default fallback) {
            return new Name(text, index, fallback, fallback == null ? "null" : fallback.text().getValue());
        }

        /** A member echoed from the request whose default is a nested object of {@code a} and {@code b}'s defaults. */
        static Name nested(String text, int index, Name a, Name b) {
            return new Name(text, index, null, "{\"" + a.text + "\":" + value(a) + ",\"" + b.text + "\":" + value(b) + "}");
        }

        /** A member holding a constant string. */
        static Name constant(String text, String value) {
            Default v = new Default(TextNode.valueOf(value));
            return new Name(text, -1, v, v.text().getValue());
        }

        private static String value(Name inner) {
            return inner.fallback == null ? "null" : inner.fallback.text().getValue();
        }
    }

    private static final Name ID = Name.own("id"), CREATED_AT = Name.own("created_at"), STATUS = Name.own("status"),
            COMPLETED_AT = Name.own("completed_at"), ERROR = Name.own("error"), INCOMPLETE_DETAILS = Name.own("incomplete_details"),
            MODEL = Name.own("model"), OUTPUT = Name.own("output"), USAGE = Name.own("usage"),
            OBJECT = Name.constant("object", "response"), SERVICE_TIER = Name.constant("service_tier", "default"),
            EFFORT = Name.inner("effort", null), SUMMARY = Name.inner("summary", null),
            FORMAT = Name.inner("format", TEXT_FORMAT), VERBOSITY = Name.inner("verbosity", MEDIUM),
            BACKGROUND = Name.echoed("background", 0, FALSE), FREQUENCY_PENALTY = Name.echoed("frequency_penalty", 1, ZERO),
            INSTRUCTIONS = Name.echoed("instructions", 2, null), MAX_OUTPUT_TOKENS = Name.echoed("max_output_tokens", 3, null),
            MAX_TOOL_CALLS = Name.echoed("max_tool_calls", 4, null), PARALLEL_TOOL_CALLS = Name.echoed("parallel_tool_calls", 5, TRUE),
            PRESENCE_PENALTY = Name.echoed("presence_penalty", 6, ZERO), PREVIOUS_RESPONSE_ID = Name.echoed("previous_response_id", 7, null),
            PROMPT_CACHE_KEY = Name.echoed("prompt_cache_key", 8, null), PROMPT_CACHE_RETENTION = Name.echoed("prompt_cache_retention", 9, null),
            REASONING = Name.nested("reasoning", 10, EFFORT, SUMMARY), SAFETY_IDENTIFIER = Name.echoed("safety_identifier", 11, null),
            STORE = Name.echoed("store", 12, TRUE), TEMPERATURE = Name.echoed("temperature", 13, ONE),
            TEXT = Name.nested("text", 14, FORMAT, VERBOSITY), TOOL_CHOICE = Name.echoed("tool_choice", 15, AUTO),
            TOOLS = Name.echoed("tools", 16, NO_TOOLS), TOP_LOGPROBS = Name.echoed("top_logprobs", 17, NO_LOGPROBS),
            TOP_P = Name.echoed("top_p", 18, ONE), TRUNCATION = Name.echoed("truncation", 19, DISABLED),
            USER = Name.echoed("user", 20, null), METADATA = Name.echoed("metadata", 21, NO_METADATA);

    /** The members echoed from the request, by name. */
    private static final java.util.Map<String, Name> ECHOED = java.util.stream.Stream.of(BACKGROUND, FREQUENCY_PENALTY, INSTRUCTIONS,
                    MAX_OUTPUT_TOKENS, MAX_TOOL_CALLS, PARALLEL_TOOL_CALLS, PRESENCE_PENALTY, PREVIOUS_RESPONSE_ID, PROMPT_CACHE_KEY,
                    PROMPT_CACHE_RETENTION, REASONING, SAFETY_IDENTIFIER, STORE, TEMPERATURE, TEXT, TOOL_CHOICE, TOOLS, TOP_LOGPROBS, TOP_P,
                    TRUNCATION, USER, METADATA)
            .collect(java.util.stream.Collectors.toUnmodifiableMap(n -> n.text, n -> n));
}
