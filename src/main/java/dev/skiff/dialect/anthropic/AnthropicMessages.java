package dev.skiff.dialect.anthropic;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.BadRequestException;
import dev.skiff.dialect.Ids;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.ir.ChatRequest;
import dev.skiff.dialect.ir.ChatResponse;
import dev.skiff.dialect.ir.Dropped;
import dev.skiff.dialect.ir.FinishReason;
import dev.skiff.dialect.ir.Message;
import dev.skiff.dialect.ir.Part;
import dev.skiff.dialect.openai.OpenAiChat;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The Anthropic Messages API ({@code POST /v1/messages}) as the client's dialect: requests are read
 * into the internal representation, answers written back, whatever provider serves them. The provider
 * side of the same API is {@code provider.anthropic.AnthropicCodec}; the two meet in the IR, so that
 * {@code /v1/messages} in front of Anthropic loses nothing that matters.
 *
 * <p>Field names follow the Messages API reference, "Extended thinking", "Adaptive thinking",
 * "Structured outputs" and "Handling stop reasons" pages of Anthropic's documentation.
 */
public final class AnthropicMessages {
    private static final ObjectMapper JSON = OpenAiChat.JSON;
    /** Tool arguments from other providers must be one JSON value with nothing after it. */
    private static final ObjectReader STRICT_READER = JSON.reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** Top-level fields read into the representation; everything else is kept in {@code extras}. */
    private static final Set<String> KNOWN = Set.of("model", "messages", "system", "max_tokens", "temperature", "top_p",
            "top_k", "stop_sequences", "tools", "tool_choice", "stream", "thinking", "output_format", "output_config");

    /** stop_reason words of the Messages API, and the normalized reason each one goes with. */
    private static final Map<String, FinishReason> STOP_REASONS = Map.of(
            "end_turn", FinishReason.STOP,
            "stop_sequence", FinishReason.STOP,
            "pause_turn", FinishReason.STOP,
            "refusal", FinishReason.STOP,
            "max_tokens", FinishReason.LENGTH,
            "model_context_window_exceeded", FinishReason.LENGTH,
            "tool_use", FinishReason.TOOL_CALLS);

    /** Where the key for a tool_use input that was not a JSON object puts the text the model wrote. */
    static final String INVALID_ARGUMENTS_KEY = "_invalid_json_arguments";

    private AnthropicMessages() {}

    // ---- requests ------------------------------------------------------------------------------

    /**
     * Reads a Messages request into the representation; the body is not consumed. What the
     * representation cannot carry (documents, server tools, citations...) is recorded in
     * {@code dropped}; fields it has no place for at the top level go to {@code extras}.
     */
    public static ChatRequest parseRequest(ByteBuf body, String upstreamModel, Dropped dropped) throws BadRequestException {
        return parse(body, upstreamModel, dropped, true);
    }

    /**
     * Reads a {@code count_tokens} request: the same shape as a Messages request, but without
     * {@code max_tokens}, which counting does not need.
     */
    public static ChatRequest parseCountRequest(ByteBuf body, String upstreamModel, Dropped dropped) throws BadRequestException {
        return parse(body, upstreamModel, dropped, false);
    }

    private static ChatRequest parse(ByteBuf body, String upstreamModel, Dropped dropped, boolean needsMaxTokens)
            throws BadRequestException {
        JsonNode tree;
        try {
            tree = OpenAiChat.read(body);
        } catch (IOException e) {
            throw new BadRequestException("The request body is not valid JSON.", null);
        }
        if (tree == null || !tree.isObject()) throw new BadRequestException("The request body must be a JSON object.", null);
        return new RequestReader(dropped, needsMaxTokens).read((ObjectNode) tree, upstreamModel);
    }

    /** Reads one request; holds the drop list so every helper can report to it. */
    private record RequestReader(Dropped dropped, boolean needsMaxTokens) {
        ChatRequest read(ObjectNode body, String upstreamModel) throws BadRequestException {
            JsonNode maxTokens = body.get("max_tokens");
            // Anthropic requires it and refuses a request without it; so does its stand-in.
            boolean absent = maxTokens == null || maxTokens.isNull();
            if (absent && needsMaxTokens) throw new BadRequestException("max_tokens: Field required", "max_tokens");
            if (!absent && (!maxTokens.canConvertToInt() || !maxTokens.isIntegralNumber() || maxTokens.asInt() < 1)) {
                throw new BadRequestException("max_tokens: must be a positive integer", "max_tokens");
            }

            List<Part> system = system(body.get("system"));
            List<Message> messages = messages(body.get("messages"));
            List<ChatRequest.Tool> tools = tools(body.get("tools"));

            ChatRequest.ToolChoice choice = null;
            Boolean parallel = null;
            JsonNode tc = body.get("tool_choice");
            if (tc != null && !tc.isNull()) {
                if (!tc.isObject()) throw new BadRequestException("tool_choice: must be an object", "tool_choice");
                choice = switch (tc.path("type").asText("")) {
                    case "auto" -> new ChatRequest.ToolChoice.Auto();
                    case "any" -> new ChatRequest.ToolChoice.Required();
                    case "none" -> new ChatRequest.ToolChoice.None();
                    case "tool" -> {
                        String name = string(tc, "name", "tool_choice.name", true);
                        yield new ChatRequest.ToolChoice.Named(name);
                    }
                    default -> throw new BadRequestException("tool_choice.type: must be one of auto, any, tool, none",
                            "tool_choice.type");
                };
                if (tc.path("disable_parallel_tool_use").asBoolean(false)) parallel = false;
            }

            ChatRequest.Sampling sampling = new ChatRequest.Sampling(number(body, "temperature"), number(body, "top_p"),
                    integer(body, "top_k"), null, absent ? null : maxTokens.asInt(), stopSequences(body.get("stop_sequences")), null, null);

            Map<String, JsonNode> extras = new LinkedHashMap<>();
            body.properties().forEach(e -> {
                if (!KNOWN.contains(e.getKey())) extras.put(e.getKey(), e.getValue());
            });

            ObjectNode outputConfig = body.get("output_config") instanceof ObjectNode oc ? oc.deepCopy() : null;
            if (body.has("output_config") && outputConfig == null && !body.get("output_config").isNull()) {
                throw new BadRequestException("output_config: must be an object", "output_config");
            }
            ChatRequest.ResponseFormat format = responseFormat(body.get("output_format"), "output_format");
            if (outputConfig != null && outputConfig.has("format")) {
                ChatRequest.ResponseFormat f = responseFormat(outputConfig.get("format"), "output_config.format");
                if (f != null) format = f;
                outputConfig.remove("format"); // read or reported dropped: either way not an extra
            }
            ChatRequest.Reasoning reasoning = reasoning(body.get("thinking"), outputConfig, extras);
            if (outputConfig != null && !outputConfig.isEmpty()) extras.put("output_config", outputConfig);

            JsonNode stream = body.get("stream");
            return new ChatRequest(upstreamModel, system, messages, tools, choice, parallel, sampling, format, reasoning,
                    stream != null && stream.asBoolean(false), extras);
        }

        /** {@code system}: a string, or an array of text blocks (each may carry cache_control). */
        private List<Part> system(JsonNode system) throws BadRequestException {
            return system(system, "system");
        }

        private List<Part> system(JsonNode system, String at) throws BadRequestException {
            List<Part> parts = new ArrayList<>();
            if (system == null || system.isNull()) return parts;
            if (system.isTextual()) {
                if (!system.asText().isEmpty()) parts.add(new Part.Text(system.asText()));
                return parts;
            }
            if (!system.isArray()) throw new BadRequestException(at + ": must be a string or an array of text blocks", at);
            for (int i = 0; i < system.size(); i++) {
                JsonNode b = system.get(i);
                String where = at + "[" + i + "]";
                String type = blockType(b, where);
                if (!type.equals("text")) throw new BadRequestException(where + ".type: system blocks must be text", where + ".type");
                if (b.has("citations")) dropped.add(where + ".citations");
                parts.add(new Part.Text(string(b, "text", where + ".text", true), present(b.get("cache_control"))));
            }
            return parts;
        }

        private List<Message> messages(JsonNode messages) throws BadRequestException {
            if (messages == null || !messages.isArray()) throw new BadRequestException("messages: must be an array", "messages");
            List<Message> turns = new ArrayList<>(messages.size());
            for (int i = 0; i < messages.size(); i++) {
                JsonNode m = messages.get(i);
                String where = "messages[" + i + "]";
                if (!m.isObject()) throw new BadRequestException(where + ": must be an object", where);
                Message.Role role = switch (m.path("role").asText("")) {
                    case "user" -> Message.Role.USER;
                    case "assistant" -> Message.Role.ASSISTANT;
                    // Claude Code's mid-conversation instructions (beta mid-conversation-system-2026-04-07)
                    case "system" -> Message.Role.SYSTEM;
                    default -> throw new BadRequestException(where + ".role: must be user, assistant or system", where + ".role");
                };
                if (role == Message.Role.SYSTEM) {
                    turns.add(new Message(role, systemTurn(m, where)));
                    continue;
                }
                turns.add(new Message(role, content(m.get("content"), role, where)));
            }
            return turns;
        }

        /**
         * A system message in the conversation: text, as a string or text blocks. Its other members
         * (the beta's {@code clear_at}, {@code output_config}) have no place in any other dialect.
         */
        private List<Part> systemTurn(JsonNode m, String where) throws BadRequestException {
            if (m.get("content") == null || m.get("content").isNull()) {
                throw new BadRequestException(where + ".content: Field required", where + ".content");
            }
            List<Part> parts = system(m.get("content"), where + ".content");
            for (var e : m.properties()) {
                if (!e.getKey().equals("role") && !e.getKey().equals("content")) dropped.add(where + "." + e.getKey());
            }
            return parts;
        }

        private List<Part> content(JsonNode content, Message.Role role, String where) throws BadRequestException {
            List<Part> parts = new ArrayList<>();
            if (content == null || content.isNull()) throw new BadRequestException(where + ".content: Field required", where + ".content");
            if (content.isTextual()) {
                if (!content.asText().isEmpty()) parts.add(new Part.Text(content.asText()));
                return parts;
            }
            if (!content.isArray()) throw new BadRequestException(where + ".content: must be a string or an array", where + ".content");
            for (int j = 0; j < content.size(); j++) {
                JsonNode b = content.get(j);
                String at = where + ".content[" + j + "]";
                String type = blockType(b, at);
                switch (type) {
                    case "text" -> parts.add(text(b, at));
                    case "image" -> addIfPresent(parts, image(b, at));
                    case "tool_use" -> {
                        if (role != Message.Role.ASSISTANT) {
                            throw new BadRequestException(at + ": tool_use blocks belong in assistant messages", at + ".type");
                        }
                        String id = string(b, "id", at + ".id", true);
                        String name = string(b, "name", at + ".name", true);
                        JsonNode input = b.get("input");
                        if (input != null && !input.isNull() && !input.isObject()) {
                            throw new BadRequestException(at + ".input: must be an object", at + ".input");
                        }
                        uncacheable(b, at);
                        parts.add(new Part.ToolCall(id, name, compact(input)));
                    }
                    case "tool_result" -> {
                        if (role != Message.Role.USER) {
                            throw new BadRequestException(at + ": tool_result blocks belong in user messages", at + ".type");
                        }
                        parts.add(toolResult(b, at));
                    }
                    case "thinking" -> {
                        uncacheable(b, at);
                        parts.add(new Part.Thinking(b.path("thinking").asText(""), textOrNull(b.get("signature"))));
                    }
                    case "redacted_thinking" -> {
                        uncacheable(b, at);
                        parts.add(new Part.RedactedThinking(string(b, "data", at + ".data", true)));
                    }
                    // document (PDF, plain text), search_result, server_tool_use, web_search_tool_result,
                    // container_upload, mcp_tool_use...: the representation has no place for them.
                    default -> dropped.add(at + " (" + type + ")");
                }
            }
            return parts;
        }

        private Part.Text text(JsonNode b, String at) throws BadRequestException {
            if (b.has("citations") && !b.get("citations").isNull()) dropped.add(at + ".citations");
            return new Part.Text(string(b, "text", at + ".text", true), present(b.get("cache_control")));
        }

        /** An image by base64 data or by URL; other sources (Files API ids) are dropped. */
        private Part.Image image(JsonNode b, String at) throws BadRequestException {
            JsonNode source = b.get("source");
            if (source == null || !source.isObject()) throw new BadRequestException(at + ".source: Field required", at + ".source");
            JsonNode cache = present(b.get("cache_control"));
            return switch (source.path("type").asText("")) {
                case "base64" -> new Part.Image(null, string(source, "media_type", at + ".source.media_type", true),
                        string(source, "data", at + ".source.data", true), null, cache);
                case "url" -> new Part.Image(string(source, "url", at + ".source.url", true), null, null, null, cache);
                default -> {
                    dropped.add(at + " (image source " + source.path("type").asText("?") + ")");
                    yield null;
                }
            };
        }

        /** A tool result: content a string or text and image blocks; is_error; cache_control. */
        private Part.ToolResult toolResult(JsonNode b, String at) throws BadRequestException {
            String id = string(b, "tool_use_id", at + ".tool_use_id", true);
            List<Part> content = new ArrayList<>();
            JsonNode c = b.get("content");
            if (c != null && c.isTextual()) {
                if (!c.asText().isEmpty()) content.add(new Part.Text(c.asText()));
            } else if (c != null && c.isArray()) {
                for (int k = 0; k < c.size(); k++) {
                    JsonNode inner = c.get(k);
                    String innerAt = at + ".content[" + k + "]";
                    String type = blockType(inner, innerAt);
                    switch (type) {
                        case "text" -> content.add(text(inner, innerAt));
                        case "image" -> addIfPresent(content, image(inner, innerAt));
                        default -> dropped.add(innerAt + " (" + type + ")"); // document, search_result...
                    }
                }
            } else if (c != null && !c.isNull()) {
                throw new BadRequestException(at + ".content: must be a string or an array", at + ".content");
            }
            return new Part.ToolResult(id, content, b.path("is_error").asBoolean(false), present(b.get("cache_control")));
        }

        /** Custom tools; server tools (web search, bash, text editor...) run at Anthropic and nowhere else. */
        private List<ChatRequest.Tool> tools(JsonNode tools) throws BadRequestException {
            List<ChatRequest.Tool> out = new ArrayList<>();
            if (tools == null || tools.isNull()) return out;
            if (!tools.isArray()) throw new BadRequestException("tools: must be an array", "tools");
            for (int i = 0; i < tools.size(); i++) {
                JsonNode t = tools.get(i);
                String where = "tools[" + i + "]";
                if (!t.isObject()) throw new BadRequestException(where + ": must be an object", where);
                String type = textOrNull(t.get("type"));
                if (type != null && !type.equals("custom")) {
                    dropped.add(where + " (" + type + ")");
                    continue;
                }
                String name = string(t, "name", where + ".name", true);
                JsonNode schema = t.get("input_schema");
                if (schema == null || !schema.isObject()) {
                    throw new BadRequestException(where + ".input_schema: Field required", where + ".input_schema");
                }
                JsonNode strict = t.get("strict");
                out.add(new ChatRequest.Tool(name, textOrNull(t.get("description")), schema,
                        strict != null && strict.isBoolean() ? strict.asBoolean() : null, present(t.get("cache_control"))));
            }
            return out;
        }

        /**
         * Thinking, read into a reasoning request:
         * <pre>
         *   {type:"enabled", budget_tokens:n}  -> budget n (output_config.effort, if any, rides along)
         *   {type:"adaptive"}                  -> effort output_config.effort, else "high" (Anthropic's
         *                                         default effort); "max" is the IR's "xhigh"
         *   {type:"disabled"}, absent          -> none (output_config.effort alone stays in extras: it
         *                                         shapes all output, not reasoning)
         *   another type                       -> kept in extras as given
         * </pre>
         */
        private ChatRequest.Reasoning reasoning(JsonNode thinking, ObjectNode outputConfig, Map<String, JsonNode> extras)
                throws BadRequestException {
            if (thinking == null || thinking.isNull()) return null;
            if (!thinking.isObject()) throw new BadRequestException("thinking: must be an object", "thinking");
            String effort = outputConfig != null ? textOrNull(outputConfig.get("effort")) : null;
            String irEffort = "max".equals(effort) ? "xhigh" : effort;
            return switch (thinking.path("type").asText("")) {
                case "enabled" -> {
                    JsonNode budget = thinking.get("budget_tokens");
                    if (budget == null || !budget.isIntegralNumber() || !budget.canConvertToInt()) {
                        throw new BadRequestException("thinking.budget_tokens: Field required", "thinking.budget_tokens");
                    }
                    if (effort != null) outputConfig.remove("effort");
                    yield new ChatRequest.Reasoning(irEffort, budget.asInt());
                }
                case "adaptive" -> {
                    if (effort != null) outputConfig.remove("effort");
                    yield new ChatRequest.Reasoning(irEffort != null ? irEffort : "high", null);
                }
                case "disabled" -> null;
                case "" -> throw new BadRequestException("thinking.type: Field required", "thinking.type");
                default -> {
                    extras.put("thinking", thinking);
                    yield null;
                }
            };
        }

        /**
         * Structured output, as {@code output_config.format} (GA) or the beta's top-level
         * {@code output_format}: {@code {type:"json_schema", schema}}. Anthropic has no schema name;
         * OpenAI requires one, so the name is "response".
         */
        private ChatRequest.ResponseFormat responseFormat(JsonNode f, String where) throws BadRequestException {
            if (f == null || f.isNull()) return null;
            if (!f.isObject()) throw new BadRequestException(where + ": must be an object", where);
            if (!"json_schema".equals(f.path("type").asText())) {
                dropped.add(where + " (" + f.path("type").asText("?") + ")");
                return null;
            }
            JsonNode schema = f.get("schema");
            if (schema == null || !schema.isObject()) throw new BadRequestException(where + ".schema: Field required", where + ".schema");
            return new ChatRequest.ResponseFormat("json_schema", "response", schema, null);
        }

        /** cache_control on a block whose IR part cannot carry it. */
        private void uncacheable(JsonNode b, String at) {
            if (present(b.get("cache_control")) != null) dropped.add(at + ".cache_control");
        }
    }

    private static String blockType(JsonNode b, String at) throws BadRequestException {
        if (b == null || !b.isObject()) throw new BadRequestException(at + ": must be an object", at);
        JsonNode type = b.get("type");
        if (type == null || !type.isTextual() || type.asText().isEmpty()) throw new BadRequestException(at + ".type: Field required", at + ".type");
        return type.asText();
    }

    private static String string(JsonNode n, String field, String param, boolean required) throws BadRequestException {
        JsonNode v = n.get(field);
        if (v != null && v.isTextual()) return v.asText();
        if (v == null || v.isNull()) {
            if (required) throw new BadRequestException(param + ": Field required", param);
            return null;
        }
        throw new BadRequestException(param + ": must be a string", param);
    }

    private static List<String> stopSequences(JsonNode n) throws BadRequestException {
        if (n == null || n.isNull()) return List.of();
        if (!n.isArray()) throw new BadRequestException("stop_sequences: must be an array of strings", "stop_sequences");
        List<String> out = new ArrayList<>(n.size());
        for (JsonNode s : n) {
            if (!s.isTextual()) throw new BadRequestException("stop_sequences: must be an array of strings", "stop_sequences");
            out.add(s.asText());
        }
        return List.copyOf(out);
    }

    private static Double number(JsonNode body, String field) throws BadRequestException {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.isNumber()) throw new BadRequestException(field + ": must be a number", field);
        return v.asDouble();
    }

    private static Integer integer(JsonNode body, String field) throws BadRequestException {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.isIntegralNumber() || !v.canConvertToInt()) throw new BadRequestException(field + ": must be an integer", field);
        return v.asInt();
    }

    private static String textOrNull(JsonNode n) {
        return n != null && n.isTextual() ? n.asText() : null;
    }

    private static JsonNode present(JsonNode n) {
        return n == null || n.isNull() || n.isMissingNode() ? null : n;
    }

    private static <T> void addIfPresent(List<? super T> list, T item) {
        if (item != null) list.add(item);
    }

    /** tool_use input as the JSON text OpenAI-shaped arguments carry; exact decimals keep their digits. */
    private static String compact(JsonNode input) {
        if (input == null || input.isNull()) return "{}";
        try {
            return JSON.writeValueAsString(input);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize a JSON tree", e);
        }
    }

    // ---- responses -----------------------------------------------------------------------------

    /**
     * The Messages answer a client expects. Blocks go thinking first, then text, then tool_use
     * (conformance 3), each group in the order the provider gave it; empty text is left out, since a
     * client echoing it back would be refused. A tool call whose arguments are not a JSON object
     * (a truncated or malformed call) becomes {@code {"_invalid_json_arguments": "<text>"}}: the client
     * and its tool see the call was broken instead of running it with no arguments.
     * {@code stop_sequence} is always null: the representation does not keep which sequence matched.
     */
    public static ObjectNode renderResponse(ChatResponse r, String clientModel) {
        ObjectNode out = JSON.createObjectNode();
        out.put("id", messageId(r.id()));
        out.put("type", "message");
        out.put("role", "assistant");
        out.put("model", clientModel);
        ArrayNode content = out.putArray("content");
        for (Part p : r.content()) {
            if (p instanceof Part.Thinking th) {
                content.addObject().put("type", "thinking").put("thinking", th.text() == null ? "" : th.text())
                        .put("signature", th.signature() == null ? "" : th.signature());
            } else if (p instanceof Part.RedactedThinking rt) {
                content.addObject().put("type", "redacted_thinking").put("data", rt.data());
            }
        }
        for (Part p : r.content()) {
            if (p instanceof Part.Text t && t.text() != null && !t.text().isEmpty()) {
                content.addObject().put("type", "text").put("text", t.text());
            }
        }
        for (Part p : r.content()) {
            if (p instanceof Part.ToolCall tc) {
                ObjectNode b = content.addObject();
                b.put("type", "tool_use");
                b.put("id", tc.id());
                b.put("name", tc.name());
                b.set("input", toolInput(tc.arguments()));
            }
        }
        out.put("stop_reason", stopReason(r.finishReason(), r.rawFinishReason()));
        out.putNull("stop_sequence");
        out.set("usage", usage(r.usage()));
        return out;
    }

    /** The arguments as a tool_use input object; see {@link #renderResponse}. */
    static ObjectNode toolInput(String arguments) {
        if (arguments == null || arguments.isBlank()) return JSON.createObjectNode();
        try {
            if (STRICT_READER.readTree(arguments) instanceof ObjectNode obj) return obj;
        } catch (JsonProcessingException e) {
            // not JSON: wrapped below
        }
        return JSON.createObjectNode().put(INVALID_ARGUMENTS_KEY, arguments);
    }

    /**
     * The provider's own word when it is one of Anthropic's and agrees with the normalized reason
     * (an Anthropic or Bedrock upstream: {@code stop_sequence}, {@code pause_turn}, {@code refusal},
     * {@code model_context_window_exceeded} stay distinguishable); otherwise derived from the reason.
     */
    static String stopReason(FinishReason reason, String raw) {
        FinishReason r = reason == null ? FinishReason.STOP : reason;
        if (raw != null && (STOP_REASONS.get(raw) == r || (raw.equals("refusal") && r == FinishReason.CONTENT_FILTER))) return raw;
        return switch (r) {
            case STOP -> "end_turn";
            case LENGTH -> "max_tokens";
            case TOOL_CALLS -> "tool_use";
            case CONTENT_FILTER -> "refusal";
        };
    }

    /**
     * Anthropic's usage from normalized usage (conformance 23): its input_tokens exclude cache reads
     * and writes, which the normalized prompt count includes. Unreported counts are 0.
     */
    static ObjectNode usage(Usage u) {
        ObjectNode n = JSON.createObjectNode();
        n.put("input_tokens", uncachedInput(u));
        n.put("output_tokens", Math.max(0, u.completionTokens()));
        n.put("cache_creation_input_tokens", Math.max(0, u.cacheCreationTokens()));
        n.put("cache_read_input_tokens", Math.max(0, u.cachedTokens()));
        return n;
    }

    /** Prompt tokens neither read from nor written to the cache; never negative, 0 when unreported. */
    static long uncachedInput(Usage u) {
        if (u.promptTokens() < 0) return 0;
        return Math.max(0, u.promptTokens() - Math.max(0, u.cachedTokens()) - Math.max(0, u.cacheCreationTokens()));
    }

    /**
     * A message id: the provider's when it has one ({@code msg_}-prefixed when it is not already, so
     * clients that check the prefix are content), otherwise a fresh random one.
     */
    static String messageId(String providerId) {
        if (providerId == null || providerId.isEmpty()) return Ids.alphanumeric("msg_");
        return providerId.startsWith("msg_") ? providerId : "msg_" + providerId;
    }

    // ---- count_tokens --------------------------------------------------------------------------

    /** Characters per token of the estimate: the usual rule of thumb for English text and code. */
    static final int CHARS_PER_TOKEN = 4;
    /** Per message: role and turn framing. */
    static final int MESSAGE_OVERHEAD = 4;
    /** Per tool: the framing of its definition in the prompt. */
    static final int TOOL_OVERHEAD = 20;
    /**
     * Per image, whatever its size: Anthropic counts about width*height/750 tokens and scales images
     * down to roughly 1.15 megapixels, about 1,600 tokens, so this is the upper end.
     */
    static final int IMAGE_TOKENS = 1600;

    /**
     * A rough, deterministic token count for {@code count_tokens} when the provider cannot count:
     * UTF-8 bytes / 4 (rounded up) over the system text, message text, thinking text, tool call names
     * and arguments, tool results and tool definitions (name, description, schema JSON), plus
     * {@value #MESSAGE_OVERHEAD} per message, {@value #TOOL_OVERHEAD} per tool and
     * {@value #IMAGE_TOKENS} per image. Bytes rather than characters so that non-Latin text, which
     * tokenizes into more tokens per character, is not underestimated as badly. Signatures and
     * redacted thinking are opaque and not counted. It is an estimate, and the caller must say so.
     */
    public static long estimateTokens(ChatRequest r) {
        TokenTally tally = new TokenTally();
        if (r.system() != null) r.system().forEach(tally::part);
        if (r.messages() != null) {
            for (Message m : r.messages()) {
                tally.tokens += MESSAGE_OVERHEAD;
                m.parts().forEach(tally::part);
            }
        }
        if (r.tools() != null) {
            for (ChatRequest.Tool t : r.tools()) {
                tally.tokens += TOOL_OVERHEAD;
                tally.text(t.name());
                tally.text(t.description());
                if (t.parameters() != null) tally.text(t.parameters().toString());
            }
        }
        return tally.tokens + (tally.bytes + CHARS_PER_TOKEN - 1) / CHARS_PER_TOKEN;
    }

    private static final class TokenTally {
        long bytes;
        long tokens;

        void text(String s) {
            if (s != null) bytes += utf8Length(s);
        }

        void part(Part p) {
            switch (p) {
                case Part.Text t -> text(t.text());
                case Part.Image i -> tokens += IMAGE_TOKENS;
                case Part.ToolCall c -> {
                    text(c.name());
                    text(c.arguments());
                }
                case Part.ToolResult res -> {
                    if (res.content() != null) res.content().forEach(this::part);
                }
                case Part.Thinking th -> text(th.text());
                case Part.RedactedThinking rt -> { /* opaque */ }
            }
        }
    }

    private static long utf8Length(String s) {
        long n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) n += 1;
            else if (c < 0x800) n += 2;
            else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else n += 3;
        }
        return n;
    }
}
