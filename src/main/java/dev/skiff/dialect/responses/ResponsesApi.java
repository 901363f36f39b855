package dev.skiff.dialect.responses;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.BadRequestException;
import dev.skiff.dialect.Ids;
import dev.skiff.dialect.ir.ChatRequest;
import dev.skiff.dialect.ir.ChatResponse;
import dev.skiff.dialect.ir.Dropped;
import dev.skiff.dialect.ir.FinishReason;
import dev.skiff.dialect.ir.Part;
import dev.skiff.dialect.openai.OpenAiChat;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * OpenAI's Responses API ({@code POST /v1/responses}) to and from the internal representation, for
 * providers that speak another dialect. Requests are read together with the stored conversation they
 * continue; answers are written as Responses objects whose output items are valid input items for the
 * next turn, reasoning included (see {@link ReasoningItems} for how signatures survive the client).
 */
public final class ResponsesApi {
    /** Request fields the representation has a place for. */
    private static final Set<String> KNOWN = Set.of("model", "input", "instructions", "tools", "tool_choice",
            "parallel_tool_calls", "max_output_tokens", "temperature", "top_p", "text", "reasoning", "stream");

    /**
     * Fields Skiff itself answers for (storage, conversation state, the response's own bookkeeping):
     * neither for the provider nor reported as dropped. {@code user} and {@code metadata} are not
     * among them: they go on as extras, to the providers whose dialect has them (chat does), and are
     * reported as dropped for the others.
     */
    private static final Set<String> SKIFF_SIDE = Set.of("store", "previous_response_id",
            "truncation", "include", "background", "stream_options");

    private ResponsesApi() {}

    // ---- requests --------------------------------------------------------------------------

    /**
     * The request's {@code input} as a list of items: a string is one user message; items keep their
     * shape except that message content given as a string becomes a one-part array and the
     * {@code {role, content}} shorthand gets {@code type:"message"}. Items are copies; no ids are added.
     * Unknown item types are kept (the reader reports them dropped); only input that is not a string or
     * an array of objects is refused.
     */
    public static List<ObjectNode> inputItems(JsonNode request) throws BadRequestException {
        if (request == null || !request.isObject()) throw new BadRequestException("The request body must be a JSON object.", null);
        JsonNode input = request.get("input");
        List<ObjectNode> items = new ArrayList<>();
        if (input == null || input.isNull()) return items;
        if (input.isTextual()) {
            ObjectNode item = OpenAiChat.JSON.createObjectNode();
            item.put("type", "message");
            item.put("role", "user");
            item.putArray("content").add(contentPart("input_text", input.asText()));
            items.add(item);
            return items;
        }
        if (!input.isArray()) throw new BadRequestException("'input' must be a string or an array of items.", "input");
        for (int i = 0; i < input.size(); i++) {
            JsonNode given = input.get(i);
            if (!given.isObject()) throw new BadRequestException("input[" + i + "] must be an object.", "input[" + i + "]");
            items.add(normalized((ObjectNode) given.deepCopy(), "input[" + i + "]"));
        }
        return items;
    }

    private static ObjectNode normalized(ObjectNode item, String where) throws BadRequestException {
        if (!item.has("type") && item.has("role")) item.put("type", "message");
        if (!"message".equals(item.path("type").asText())) return item;
        JsonNode content = item.get("content");
        if (content != null && content.isTextual()) {
            String partType = "assistant".equals(item.path("role").asText()) ? "output_text" : "input_text";
            item.putArray("content").add(contentPart(partType, content.asText()));
        } else if (content != null && !content.isNull() && !content.isArray()) {
            throw new BadRequestException(where + ".content must be a string or an array.", where + ".content");
        }
        return item;
    }

    private static ObjectNode contentPart(String type, String text) {
        if (type.equals("output_text")) return ResponseObject.outputText(text).without("logprobs");
        return OpenAiChat.JSON.createObjectNode().put("type", type).put("text", text);
    }

    /**
     * The request in the representation: {@code history} (the items of the conversation it continues,
     * earlier inputs and outputs, oldest first) followed by this request's input. {@code instructions}
     * are this request's only: the API does not carry a previous response's instructions over.
     *
     * @param history items as returned by {@link #inputItems} and {@link #outputItems}; empty for a new conversation
     * @param dropped collects what the representation cannot carry (input files, built-in tools, ...)
     */
    public static ChatRequest parseRequest(JsonNode request, List<ObjectNode> history, String upstreamModel, Dropped dropped)
            throws BadRequestException {
        return parseRequest(request, inputItems(request), history, upstreamModel, dropped);
    }

    /** {@link #parseRequest(JsonNode, List, String, Dropped)} of the request's {@link #inputItems}, made already. */
    public static ChatRequest parseRequest(JsonNode request, List<ObjectNode> input, List<ObjectNode> history, String upstreamModel,
                                           Dropped dropped) throws BadRequestException {
        ConversationReader conversation = new ConversationReader(dropped);
        instructions(request.get("instructions"), conversation.system());
        for (int i = 0; i < history.size(); i++) {
            conversation.read(normalized(history.get(i).deepCopy(), "history[" + i + "]"), "history[" + i + "]");
        }
        for (int i = 0; i < input.size(); i++) conversation.read(input.get(i), "input[" + i + "]");

        List<ChatRequest.Tool> tools = tools(request.get("tools"), dropped);
        ChatRequest.ToolChoice choice = toolChoice(request.get("tool_choice"), dropped);
        Boolean parallel = request.hasNonNull("parallel_tool_calls") ? request.get("parallel_tool_calls").asBoolean() : null;
        ChatRequest.Sampling sampling = new ChatRequest.Sampling(dbl(request.get("temperature")), dbl(request.get("top_p")),
                null, null, integer(request.get("max_output_tokens")), List.of(), null, null);

        JsonNode text = request.path("text");
        ChatRequest.ResponseFormat format = responseFormat(text.get("format"), dropped);
        JsonNode effort = request.path("reasoning").get("effort");
        // reasoning.summary asks OpenAI for summaries of its hidden reasoning; other providers show
        // their reasoning whole, so there is nothing to ask for.
        ChatRequest.Reasoning reasoning = effort != null && effort.isTextual() ? new ChatRequest.Reasoning(effort.asText(), null) : null;

        Map<String, JsonNode> extras = new LinkedHashMap<>();
        for (var e : request.properties()) {
            if (!KNOWN.contains(e.getKey()) && !SKIFF_SIDE.contains(e.getKey())) extras.put(e.getKey(), e.getValue());
        }
        // Chat completions has verbosity at the top level: a same-family target can still take it.
        if (text.hasNonNull("verbosity")) extras.put("verbosity", text.get("verbosity"));
        return new ChatRequest(upstreamModel, conversation.system(), conversation.turns(), tools, choice, parallel, sampling,
                format, reasoning, request.path("stream").asBoolean(false), extras);
    }

    /** A string, or (as the API also echoes them) message items whose text is system text. */
    private static void instructions(JsonNode instructions, List<Part> system) throws BadRequestException {
        if (instructions == null || instructions.isNull()) return;
        if (instructions.isTextual()) {
            if (!instructions.asText().isEmpty()) system.add(new Part.Text(instructions.asText()));
            return;
        }
        if (!instructions.isArray()) throw new BadRequestException("'instructions' must be a string.", "instructions");
        for (JsonNode item : instructions) {
            JsonNode content = item.get("content");
            if (content != null && content.isTextual()) system.add(new Part.Text(content.asText()));
            else if (content != null) for (JsonNode p : content) {
                if (p.path("text").isTextual()) system.add(new Part.Text(p.get("text").asText()));
            }
        }
    }

    private static List<ChatRequest.Tool> tools(JsonNode tools, Dropped dropped) throws BadRequestException {
        List<ChatRequest.Tool> out = new ArrayList<>();
        if (tools == null || tools.isNull()) return out;
        if (!tools.isArray()) throw new BadRequestException("'tools' must be an array.", "tools");
        for (int i = 0; i < tools.size(); i++) {
            JsonNode t = tools.get(i);
            String type = t.path("type").asText("");
            if (!type.equals("function")) {
                // Built-in tools run inside OpenAI; no other provider can run them for the client.
                dropped.add("tools[" + i + "] (" + type + ")");
                continue;
            }
            JsonNode name = t.get("name");
            if (name == null || !name.isTextual()) throw new BadRequestException("tools[" + i + "].name is required.", "tools[" + i + "].name");
            JsonNode description = t.get("description");
            out.add(new ChatRequest.Tool(name.asText(), description != null && description.isTextual() ? description.asText() : null,
                    t.get("parameters"), t.hasNonNull("strict") ? t.get("strict").asBoolean() : null, null));
        }
        return out;
    }

    private static ChatRequest.ToolChoice toolChoice(JsonNode n, Dropped dropped) throws BadRequestException {
        if (n == null || n.isNull()) return null;
        if (n.isTextual()) {
            return switch (n.asText()) {
                case "auto" -> new ChatRequest.ToolChoice.Auto();
                case "none" -> new ChatRequest.ToolChoice.None();
                case "required" -> new ChatRequest.ToolChoice.Required();
                default -> throw new BadRequestException("tool_choice '" + n.asText() + "' is not auto, none or required.", "tool_choice");
            };
        }
        String type = n.path("type").asText("");
        switch (type) {
            case "function" -> {
                JsonNode name = n.get("name");
                if (name == null || !name.isTextual()) throw new BadRequestException("tool_choice must name a function.", "tool_choice.name");
                return new ChatRequest.ToolChoice.Named(name.asText());
            }
            case "allowed_tools" -> {
                // The mode survives; the restriction to a subset of the tools does not.
                dropped.add("tool_choice(allowed_tools)");
                return "required".equals(n.path("mode").asText()) ? new ChatRequest.ToolChoice.Required() : new ChatRequest.ToolChoice.Auto();
            }
            default -> {
                dropped.add("tool_choice(" + type + ")");
                return null;
            }
        }
    }

    /** {@code text.format} (conformance 27); {@code text} is free text, the representation's null. */
    private static ChatRequest.ResponseFormat responseFormat(JsonNode f, Dropped dropped) throws BadRequestException {
        if (f == null || f.isNull()) return null;
        String type = f.path("type").asText("");
        return switch (type) {
            case "text" -> null;
            case "json_object" -> new ChatRequest.ResponseFormat("json_object", null, null, null);
            case "json_schema" -> {
                if (f.hasNonNull("description")) dropped.add("text.format.description");
                JsonNode name = f.get("name");
                yield new ChatRequest.ResponseFormat("json_schema", name != null && name.isTextual() ? name.asText() : null,
                        f.get("schema"), f.hasNonNull("strict") ? f.get("strict").asBoolean() : null);
            }
            default -> throw new BadRequestException("text.format.type '" + type + "' is not text, json_object or json_schema.",
                    "text.format.type");
        };
    }

    // ---- responses -------------------------------------------------------------------------

    /**
     * The Responses object for a complete answer, as a tree (what {@link #writeResponse} writes).
     */
    public static ObjectNode renderResponse(ChatResponse r, ResponseContext ctx) {
        return ResponseObject.tree(ctx, ending(r, ctx), ResponseObject.Item.nodes(output(r, ctx.responseId())));
    }

    /**
     * Writes the Responses object for a complete answer into {@code out} and hands its stored form
     * ({@link #expandStored}) to {@code store}, if any. Output items follow the answer's order: each
     * thinking part a reasoning item, each run of text one message item, each tool call a
     * function_call item. Reasoning is never part of a message's text (conformance 15). An answer
     * cut short is {@code incomplete} with its reason (conformance 19), its last item marked incomplete.
     */
    public static void writeResponse(ChatResponse r, ResponseContext ctx, ByteBuf out, ResponsesEgress.Stored store) {
        List<ResponseObject.Item> output = output(r, ctx.responseId());
        ResponseObject.Ending end = ending(r, ctx);
        // The stored form is the body less its defaults: cut out of the body's bytes, not written again.
        ResponseObject.Cuts cuts = store == null ? null : new ResponseObject.Cuts(out);
        try (JsonGenerator g = OpenAiChat.JSON.getFactory().createGenerator((OutputStream) new ByteBufOutputStream(out))) {
            ResponseObject.writeItems(g, ctx, end, output, cuts == null ? null : cuts.of(g));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (store == null) return;
        List<String> ids = new ArrayList<>(output.size());
        for (ResponseObject.Item item : output) ids.add(item.id());
        ResponseObject.Stored stored = cuts.stored();
        store.accept(stored.json(), stored.omitted(), ids);
    }

    /**
     * The Responses object a stored form stands for, as the client received it: the store keeps
     * objects without the members that hold the API's defaults (see {@link ResponsesEgress.Stored}).
     */
    public static String expandStored(String stored) throws IOException {
        JsonNode tree = OpenAiChat.JSON.readTree(stored);
        if (!(tree instanceof ObjectNode object)) throw new IOException("a stored response is not a JSON object");
        return ResponseObject.text(g -> ResponseObject.expand(g, object));
    }

    /**
     * Items as the store keeps them, a JSON array: the text {@code ArrayNode.toString()} gives. Items
     * of strings, objects, arrays, booleans and nulls only (the input items Skiff makes, and most a
     * client sends) are written straight into a builder, with Jackson's string escaping; any other
     * value (numbers) and very deep items go through Jackson's generator.
     */
    public static String itemsJson(List<ObjectNode> items) {
        StringBuilder text = new StringBuilder(64 + 160 * items.size());
        text.append('[');
        for (int i = 0; i < items.size(); i++) {
            if (i > 0) text.append(',');
            if (!plain(items.get(i), text, 0)) return generatedItemsJson(items);
        }
        return text.append(']').toString();
    }

    /**
     * {@link #itemsJson} of the one item {@link #inputItems} makes of a request whose {@code input} is
     * the string {@code text}, once given the id {@code id}: what the store keeps of most requests,
     * written without a tree walk.
     */
    public static String textInputJson(String text, String id) {
        StringBuilder json = new StringBuilder(96 + text.length() + id.length());
        json.append("[{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":");
        quoted(text, json);
        json.append("}],\"id\":");
        quoted(id, json);
        return json.append("}]").toString();
    }

    /** How deep {@link #plain} goes before leaving an item to Jackson's generator (and its nesting limit). */
    private static final int PLAIN_DEPTH = 64;

    /** Appends {@code node} as Jackson writes it; false (leaving {@code text} half written) for a value it leaves to Jackson. */
    private static boolean plain(JsonNode node, StringBuilder text, int depth) {
        switch (node.getNodeType()) {
            case STRING -> quoted(node.textValue(), text);
            case OBJECT -> {
                if (depth >= PLAIN_DEPTH) return false;
                text.append('{');
                boolean first = true;
                for (var e : node.properties()) {
                    if (!first) text.append(',');
                    first = false;
                    quoted(e.getKey(), text);
                    text.append(':');
                    if (!plain(e.getValue(), text, depth + 1)) return false;
                }
                text.append('}');
            }
            case ARRAY -> {
                if (depth >= PLAIN_DEPTH) return false;
                text.append('[');
                for (int i = 0; i < node.size(); i++) {
                    if (i > 0) text.append(',');
                    if (!plain(node.get(i), text, depth + 1)) return false;
                }
                text.append(']');
            }
            case BOOLEAN -> text.append(node.booleanValue() ? "true" : "false");
            case NULL -> text.append("null");
            default -> {
                return false;
            }
        }
        return true;
    }

    /** A JSON string as Jackson's generator writes it: only quotes, backslashes and control characters escaped. */
    private static void quoted(String s, StringBuilder text) {
        text.append('"');
        int n = s.length();
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == '"' || c == '\\') {
                JsonStringEncoder.getInstance().quoteAsString(s, text);
                text.append('"');
                return;
            }
        }
        text.append(s).append('"');
    }

    /** {@link #itemsJson} by Jackson's generator, with no array node and no serializer lookup. */
    static String generatedItemsJson(List<ObjectNode> items) {
        try {
            return ResponseObject.text(g -> {
                SerializerProvider sp = OpenAiChat.JSON.getSerializerProviderInstance();
                g.writeStartArray();
                for (ObjectNode item : items) item.serialize(g, sp);
                g.writeEndArray();
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static ResponseObject.Ending ending(ChatResponse r, ResponseContext ctx) {
        return ResponseObject.Ending.finished(r.finishReason(), r.usage(), Math.max(ctx.createdAt(), System.currentTimeMillis() / 1000));
    }

    /** The output items of a complete answer (see {@link #writeResponse}). */
    private static List<ResponseObject.Item> output(ChatResponse r, String responseId) {
        List<ResponseObject.Item> output = new ArrayList<>(2);
        StringBuilder text = null; // the open message's, once it has more than one part
        String first = null; // its first part's, while it has one
        String textId = null;
        for (Part p : r.content()) {
            switch (p) {
                case Part.Text t -> {
                    if (t.text() == null || t.text().isEmpty()) continue;
                    if (first == null) {
                        first = t.text();
                        textId = itemId("msg_", responseId, true, output.size());
                        output.add(null); // the message's place, filled once its text is whole
                    } else {
                        if (text == null) text = new StringBuilder(first);
                        text.append(t.text());
                    }
                }
                case Part.Thinking th -> {
                    first = endMessage(output, textId, first, text);
                    text = null;
                    output.add(new ResponseObject.Item.Node(ReasoningItems.item(itemId("rs_", responseId, true, output.size()), th)));
                }
                case Part.RedactedThinking rt -> {
                    first = endMessage(output, textId, first, text);
                    text = null;
                    output.add(new ResponseObject.Item.Node(ReasoningItems.item(itemId("rs_", responseId, true, output.size()), rt)));
                }
                case Part.ToolCall tc -> {
                    first = endMessage(output, textId, first, text);
                    text = null;
                    output.add(new ResponseObject.Item.Call(itemId("fc_", responseId, true, output.size()), "completed", tc.id(), tc.name(),
                            tc.arguments() == null ? "" : tc.arguments()));
                }
                default -> { /* images and tool results do not occur in answers */ }
            }
        }
        endMessage(output, textId, first, text);
        if (ResponseObject.incompleteReason(r.finishReason()) != null && !output.isEmpty()) {
            output.set(output.size() - 1, output.getLast().incomplete());
        }
        return output;
    }

    /**
     * Puts the open message, if any, with its text ({@code first}, or {@code text} once it had more
     * parts) in its place (the last one); returns null: no message is open now.
     */
    private static String endMessage(List<ResponseObject.Item> output, String id, String first, StringBuilder text) {
        if (first != null) output.set(output.size() - 1, new ResponseObject.Item.Message(id, "completed", text != null ? text.toString() : first));
        return null;
    }

    /**
     * The output items of a stored Responses object, as input items for the turn that continues it
     * (copies; the API takes output items back as they are).
     */
    public static List<ObjectNode> outputItems(JsonNode response) {
        List<ObjectNode> items = new ArrayList<>();
        for (JsonNode item : response.path("output")) {
            if (item.isObject()) items.add(item.deepCopy());
        }
        return items;
    }

    /**
     * A fresh id in OpenAI's style: the prefix ({@code resp_}, {@code msg_}, {@code fc_}, {@code rs_})
     * and hex digits, unguessable (see {@link Ids}): a stored response is read back by its id alone.
     * In order of creation ({@link Ids#ordered}), as the response store's indexes are cheapest to write.
     */
    public static String newId(String prefix) {
        return Ids.ordered(prefix);
    }

    /**
     * The id of an item Skiff makes for response {@code responseId} (its output items, and the input
     * items the client sent without an id): {@code prefix}, the response id's digits, then whether it
     * is an output item (1) or an input item (0) and its number among them in hex. Unguessable as the
     * response id is, and unique with it. The store finds such an item in the response it names, so
     * it keeps no index entry for it (see {@link #madeFor}): an index entry per item was one more
     * B-tree written by every save.
     */
    public static String itemId(String prefix, String responseId, boolean output, int number) {
        return prefix + responseId.substring(responseId.indexOf('_') + 1) + (output ? '1' : '0') + Integer.toHexString(number);
    }

    /** Whether {@code itemId} is one {@link #itemId} made for {@code responseId}. */
    public static boolean madeFor(String itemId, String responseId) {
        int digits = responseId.indexOf('_') + 1, at = itemId.indexOf('_') + 1;
        return digits > 0 && at > 0 && itemId.length() > at + responseId.length() - digits
                && itemId.regionMatches(at, responseId, digits, responseId.length() - digits);
    }

    /** Whether a finish makes the response incomplete rather than completed. */
    static boolean isIncomplete(FinishReason reason) {
        return ResponseObject.incompleteReason(reason) != null;
    }

    private static Double dbl(JsonNode n) {
        return n == null || !n.isNumber() ? null : n.asDouble();
    }

    private static Integer integer(JsonNode n) {
        return n == null || !n.isNumber() ? null : n.asInt();
    }
}
