package dev.skiff.dialect.openai;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.BadRequestException;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.ir.ChatRequest;
import dev.skiff.dialect.ir.ChatResponse;
import dev.skiff.dialect.ir.Message;
import dev.skiff.dialect.ir.Part;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.ByteBufOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * OpenAI chat completions, to and from the internal representation: requests are read, responses
 * written. Used when the provider speaks another dialect; the same-dialect path never gets here.
 */
public final class OpenAiChat {
    /**
     * The one mapper for translation trees. Floats are read as exact decimals so that numbers in tool
     * arguments and schemas keep their written digits (1.50 stays 1.50) on their way through.
     * Depth and token count are bounded (see {@link dev.skiff.dialect.JsonLimits}): every tree Skiff
     * builds, of requests, answers and stream events, is read by this mapper.
     */
    public static final ObjectMapper JSON = new ObjectMapper(com.fasterxml.jackson.core.JsonFactory.builder()
            .streamReadConstraints(dev.skiff.dialect.JsonLimits.CONSTRAINTS).build())
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .setNodeFactory(JsonNodeFactory.withExactBigDecimals(true));

    /** Request fields the representation has a place for; every other field goes to {@code extras}. */
    private static final Set<String> KNOWN = Set.of("model", "messages", "tools", "tool_choice", "parallel_tool_calls",
            "temperature", "top_p", "top_k", "seed", "max_tokens", "max_completion_tokens", "stop", "presence_penalty",
            "frequency_penalty", "response_format", "reasoning_effort", "stream", "stream_options", "functions", "function_call");

    private OpenAiChat() {}

    /** Reads a JSON body into a tree. */
    public static JsonNode read(ByteBuf body) throws IOException {
        try (InputStream in = new ByteBufInputStream(body.duplicate())) {
            return JSON.readTree(in);
        }
    }

    /** Writes a tree into a new pooled buffer. */
    public static ByteBuf write(JsonNode node, ByteBufAllocator alloc) {
        ByteBuf buf = alloc.buffer(512);
        try {
            writeTo(node, buf);
        } catch (RuntimeException e) {
            buf.release();
            throw e;
        }
        return buf;
    }

    /**
     * Appends a tree to a buffer: the tree serializes itself with the mapper's shared provider, as
     * {@code JSON.writeValue} would after making a provider and looking up a serializer for it.
     */
    public static void writeTo(JsonNode node, ByteBuf buf) {
        try (JsonGenerator g = JSON.getFactory().createGenerator((OutputStream) new ByteBufOutputStream(buf))) {
            node.serialize(g, JSON.getSerializerProviderInstance());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---- requests --------------------------------------------------------------------------

    /** Reads a client's chat body into the representation. */
    public static ChatRequest parseRequest(ByteBuf body, String upstreamModel) throws BadRequestException {
        JsonNode tree;
        try {
            tree = read(body);
        } catch (IOException e) {
            throw new BadRequestException("The request body is not valid JSON.", null);
        }
        if (tree == null) throw new BadRequestException("The request body is empty.", null);
        return parseRequest(tree, upstreamModel);
    }

    public static ChatRequest parseRequest(JsonNode body, String upstreamModel) throws BadRequestException {
        if (!body.isObject()) throw new BadRequestException("The request body must be a JSON object.", null);
        JsonNode messages = body.get("messages");
        if (messages == null || !messages.isArray()) throw new BadRequestException("'messages' must be an array.", "messages");

        List<Part> system = new ArrayList<>();
        List<Message> turns = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            String where = "messages[" + i + "]";
            if (!m.isObject()) throw new BadRequestException(where + " must be an object.", where);
            String role = m.path("role").asText("");
            switch (role) {
                // Instructions before the first turn are the system prompt; later ones stay in their place
                // for targets that can keep them there.
                case "system", "developer" -> {
                    if (turns.isEmpty()) system.addAll(contentParts(m.get("content"), where));
                    else turns.add(new Message(Message.Role.SYSTEM, contentParts(m.get("content"), where)));
                }
                case "user" -> turns.add(new Message(Message.Role.USER, contentParts(m.get("content"), where)));
                case "assistant" -> turns.add(new Message(Message.Role.ASSISTANT, assistantParts(m, where)));
                case "tool" -> {
                    String id = m.path("tool_call_id").asText(null);
                    if (id == null) throw new BadRequestException(where + ".tool_call_id is required.", where + ".tool_call_id");
                    turns.add(new Message(Message.Role.USER,
                            List.of(new Part.ToolResult(id, contentParts(m.get("content"), where), false, null))));
                }
                default -> throw new BadRequestException(where + ".role '" + role + "' is not one of system, developer, user, assistant, tool.",
                        where + ".role");
            }
        }

        List<ChatRequest.Tool> tools = new ArrayList<>();
        for (JsonNode t : body.path("tools")) {
            JsonNode f = t.path("function");
            String name = f.path("name").asText(null);
            if (name == null) throw new BadRequestException("Each tool needs function.name.", "tools");
            tools.add(new ChatRequest.Tool(name, text(f.get("description")), f.get("parameters"),
                    f.has("strict") ? f.get("strict").asBoolean() : null, t.get("cache_control")));
        }

        ChatRequest.ToolChoice choice = toolChoice(body.get("tool_choice"));
        Boolean parallel = body.has("parallel_tool_calls") ? body.get("parallel_tool_calls").asBoolean() : null;

        JsonNode maxNode = body.has("max_completion_tokens") ? body.get("max_completion_tokens") : body.get("max_tokens");
        List<String> stop = new ArrayList<>();
        JsonNode stopNode = body.get("stop");
        if (stopNode != null && stopNode.isTextual()) stop.add(stopNode.asText());
        else if (stopNode != null) stopNode.forEach(s -> stop.add(s.asText()));
        ChatRequest.Sampling sampling = new ChatRequest.Sampling(dbl(body.get("temperature")), dbl(body.get("top_p")),
                integer(body.get("top_k")), body.has("seed") && body.get("seed").isNumber() ? body.get("seed").asLong() : null,
                integer(maxNode), List.copyOf(stop), dbl(body.get("presence_penalty")), dbl(body.get("frequency_penalty")));

        ChatRequest.ResponseFormat format = null;
        JsonNode rf = body.get("response_format");
        if (rf != null && rf.isObject() && !"text".equals(rf.path("type").asText())) {
            JsonNode js = rf.path("json_schema");
            format = new ChatRequest.ResponseFormat(rf.path("type").asText(), text(js.get("name")), js.get("schema"),
                    js.has("strict") ? js.get("strict").asBoolean() : null);
        }
        ChatRequest.Reasoning reasoning = body.hasNonNull("reasoning_effort")
                ? new ChatRequest.Reasoning(body.get("reasoning_effort").asText(), null) : null;

        Map<String, JsonNode> extras = new LinkedHashMap<>();
        body.properties().forEach(e -> {
            if (!KNOWN.contains(e.getKey())) extras.put(e.getKey(), e.getValue());
        });
        return new ChatRequest(upstreamModel, system, turns, tools, choice, parallel, sampling, format, reasoning,
                body.path("stream").asBoolean(false), extras);
    }

    private static ChatRequest.ToolChoice toolChoice(JsonNode n) throws BadRequestException {
        if (n == null || n.isNull()) return null;
        if (n.isTextual()) {
            return switch (n.asText()) {
                case "auto" -> new ChatRequest.ToolChoice.Auto();
                case "none" -> new ChatRequest.ToolChoice.None();
                case "required" -> new ChatRequest.ToolChoice.Required();
                default -> throw new BadRequestException("tool_choice '" + n.asText() + "' is not auto, none or required.", "tool_choice");
            };
        }
        String name = n.path("function").path("name").asText(null);
        if (name == null) throw new BadRequestException("tool_choice must name a function.", "tool_choice");
        return new ChatRequest.ToolChoice.Named(name);
    }

    /** User, system and tool content: a string or an array of parts. */
    private static List<Part> contentParts(JsonNode content, String where) throws BadRequestException {
        List<Part> parts = new ArrayList<>();
        if (content == null || content.isNull()) return parts;
        if (content.isTextual()) {
            if (!content.asText().isEmpty()) parts.add(new Part.Text(content.asText()));
            return parts;
        }
        if (!content.isArray()) throw new BadRequestException(where + ".content must be a string or an array.", where + ".content");
        for (JsonNode p : content) {
            String type = p.path("type").asText("");
            switch (type) {
                case "text" -> parts.add(new Part.Text(p.path("text").asText(""), p.get("cache_control")));
                case "image_url" -> parts.add(image(p.path("image_url"), p.get("cache_control"), where));
                default -> throw new BadRequestException(where + ": content part type '" + type + "' cannot be sent to this provider.",
                        where + ".content");
            }
        }
        return parts;
    }

    private static Part.Image image(JsonNode imageUrl, JsonNode cacheControl, String where) throws BadRequestException {
        String url = imageUrl.isTextual() ? imageUrl.asText() : imageUrl.path("url").asText("");
        String detail = imageUrl.isObject() ? text(imageUrl.get("detail")) : null;
        if (url.startsWith("data:")) {
            int comma = url.indexOf(',');
            int semi = url.indexOf(';');
            if (comma < 0 || semi < 0 || semi > comma || !url.substring(semi, comma).equals(";base64")) {
                throw new BadRequestException(where + ": an image data URL must be data:<type>;base64,<data>.", where + ".content");
            }
            return new Part.Image(null, url.substring(5, semi), url.substring(comma + 1), detail, cacheControl);
        }
        if (url.isEmpty()) throw new BadRequestException(where + ": image_url.url is required.", where + ".content");
        return new Part.Image(url, null, null, detail, cacheControl);
    }

    /** Assistant turns: reasoning (with its signature, when the client echoed it), text, then tool calls. */
    private static List<Part> assistantParts(JsonNode m, String where) throws BadRequestException {
        List<Part> parts = new ArrayList<>();
        String reasoning = text(m.get("reasoning_content"));
        String signature = text(m.get("reasoning_signature"));
        if (reasoning != null && !reasoning.isEmpty()) parts.add(new Part.Thinking(reasoning, signature));
        for (JsonNode r : m.path("redacted_reasoning")) parts.add(new Part.RedactedThinking(r.asText()));
        parts.addAll(contentParts(m.get("content"), where));
        for (JsonNode c : m.path("tool_calls")) {
            JsonNode f = c.path("function");
            parts.add(new Part.ToolCall(c.path("id").asText(""), f.path("name").asText(""), f.path("arguments").asText("")));
        }
        return parts;
    }

    // ---- responses -------------------------------------------------------------------------

    /**
     * The chat completion a client expects. Thinking goes to {@code reasoning_content}, with its
     * signature in {@code reasoning_signature} so that a client echoing the message back returns it
     * intact (Anthropic refuses a later turn whose thinking was altered).
     */
    public static ObjectNode renderResponse(ChatResponse r, String clientModel, long created) {
        ObjectNode out = JSON.createObjectNode();
        out.put("id", r.id());
        out.put("object", "chat.completion");
        out.put("created", created);
        out.put("model", clientModel);
        ArrayNode choices = out.putArray("choices");
        ObjectNode choice = choices.addObject();
        choice.put("index", 0);
        ObjectNode message = choice.putObject("message");
        message.put("role", "assistant");

        StringBuilder text = new StringBuilder();
        StringBuilder reasoning = new StringBuilder();
        String signature = null;
        ArrayNode toolCalls = JSON.createArrayNode();
        ArrayNode redacted = JSON.createArrayNode();
        for (Part p : r.content()) {
            switch (p) {
                case Part.Text t -> text.append(t.text());
                case Part.Thinking th -> {
                    reasoning.append(th.text());
                    if (th.signature() != null) signature = th.signature();
                }
                case Part.RedactedThinking rt -> redacted.add(rt.data());
                case Part.ToolCall tc -> {
                    ObjectNode call = toolCalls.addObject();
                    call.put("id", tc.id());
                    call.put("type", "function");
                    ObjectNode f = call.putObject("function");
                    f.put("name", tc.name());
                    f.put("arguments", tc.arguments());
                }
                default -> { /* images and tool results do not occur in answers */ }
            }
        }
        // content is null (not absent) on a tool-call-only turn: the spec requires the member.
        if (text.isEmpty() && !toolCalls.isEmpty()) message.putNull("content");
        else message.put("content", text.toString());
        if (!reasoning.isEmpty()) message.put("reasoning_content", reasoning.toString());
        if (signature != null) message.put("reasoning_signature", signature);
        if (!redacted.isEmpty()) message.set("redacted_reasoning", redacted);
        if (!toolCalls.isEmpty()) message.set("tool_calls", toolCalls);
        message.putNull("refusal");
        choice.putNull("logprobs");
        choice.put("finish_reason", r.finishReason().openAi());
        out.set("usage", usage(r.usage()));
        return out;
    }

    public static ObjectNode usage(Usage u) {
        ObjectNode n = JSON.createObjectNode();
        n.put("prompt_tokens", Math.max(0, u.promptTokens()));
        n.put("completion_tokens", Math.max(0, u.completionTokens()));
        n.put("total_tokens", Math.max(0, u.totalTokens()));
        ObjectNode pd = n.putObject("prompt_tokens_details");
        pd.put("cached_tokens", Math.max(0, u.cachedTokens()));
        if (u.cacheCreationTokens() >= 0) pd.put("cache_creation_tokens", u.cacheCreationTokens());
        n.putObject("completion_tokens_details").put("reasoning_tokens", Math.max(0, u.reasoningTokens()));
        return n;
    }

    private static String text(JsonNode n) {
        return n == null || n.isNull() ? null : n.asText();
    }

    private static Double dbl(JsonNode n) {
        return n == null || !n.isNumber() ? null : n.asDouble();
    }

    private static Integer integer(JsonNode n) {
        return n == null || !n.isNumber() ? null : n.asInt();
    }
}
