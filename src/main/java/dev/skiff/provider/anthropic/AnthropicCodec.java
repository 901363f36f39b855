package dev.skiff.provider.anthropic;

import static dev.skiff.provider.JsonFields.count;
import static dev.skiff.provider.JsonFields.isBlank;
import static dev.skiff.provider.JsonFields.textOrNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.ir.ChatRequest;
import dev.skiff.dialect.ir.ChatResponse;
import dev.skiff.dialect.ir.Dropped;
import dev.skiff.dialect.ir.FinishReason;
import dev.skiff.dialect.ir.UnknownFinishReasonException;
import dev.skiff.provider.SignedCallIds;
import dev.skiff.provider.Turns;
import dev.skiff.dialect.BadRequestException;
import dev.skiff.dialect.ir.Message;
import dev.skiff.dialect.ir.Part;
import dev.skiff.dialect.ir.SystemTurns;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The Anthropic Messages API ({@code POST /v1/messages}) codec for non-streaming chat: pure functions
 * between the internal representation and Anthropic's JSON bodies.
 *
 * <p>Field names follow the Messages API reference (platform.claude.com/docs/en/api/messages),
 * "Extended thinking", "Structured outputs", "Handling stop reasons" and "Errors" pages.
 */
public final class AnthropicCodec {
    /** Default max_tokens when the client gave none (Anthropic requires it). */
    public static final int DEFAULT_MAX_TOKENS = 4096;

    /** Anthropic's minimum for {@code thinking.budget_tokens}. */
    static final int MIN_THINKING_BUDGET = 1024;

    /** The shared translation mapper: exact decimals, so tool arguments keep their digits. */
    private static final ObjectMapper MAPPER = dev.skiff.dialect.openai.OpenAiChat.JSON;
    /** Rejects trailing garbage such as {@code {"a":1} x}, which the default reader ignores. */
    private static final ObjectReader STRICT_READER = MAPPER.reader()
            .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final JsonNodeFactory NODES = MAPPER.getNodeFactory();

    private AnthropicCodec() {}

    /** An upstream error: Anthropic's {@code error.type} and {@code error.message}. */
    public record ErrorInfo(String type, String message) {}

    // ------------------------------------------------------------------------------------------------
    // Request
    // ------------------------------------------------------------------------------------------------

    /** IR request -> Anthropic Messages request body. Records in {@code dropped} every field it cannot express. */
    public static ObjectNode renderRequest(ChatRequest request, Dropped dropped) {
        request = SystemTurns.fold(request, dropped);
        // Chat clients echo call ids, not always reasoning: the signed thinking rides in the ids.
        List<Message> messages = SignedCallIds.restore(request.messages(), SignedCallIds.Origin.ANTHROPIC);
        ObjectNode out = NODES.objectNode();
        out.put("model", request.model());

        ChatRequest.Sampling sampling = request.sampling() != null ? request.sampling() : ChatRequest.Sampling.NONE;
        int maxTokens = sampling.maxTokens() != null ? sampling.maxTokens() : DEFAULT_MAX_TOKENS;

        // Thinking is computed before max_tokens is written because it may have to raise it.
        Integer budget = thinkingBudget(request.reasoning());
        if (budget != null && toolTurnLacksThinking(messages)) {
            // With thinking on, Anthropic refuses a last assistant turn that calls tools without the
            // signed thinking it began with; that thinking is gone (the client sent neither it nor
            // ids that carry it), so this request goes without thinking rather than fail.
            budget = null;
            dropped.add(THINKING_OFF);
        }
        if (budget != null && budget >= maxTokens) {
            // Anthropic requires budget_tokens < max_tokens (the budget is part of the output limit).
            // Rather than shrink the budget the client asked for, raise max_tokens so that a full
            // DEFAULT_MAX_TOKENS of answer still fits after the thinking.
            maxTokens = budget + DEFAULT_MAX_TOKENS;
        }
        out.put("max_tokens", maxTokens);

        ArrayNode system = renderSystem(request.system(), dropped);
        if (!system.isEmpty()) out.set("system", system);

        try {
            out.set("messages", Turns.render(messages, (p, blocks) -> renderPart(p, blocks, dropped),
                    b -> "tool_result".equals(b.path("type").asText()), b -> false));
        } catch (BadRequestException e) {
            throw new IllegalStateException(e); // Anthropic's part renderer never refuses
        }

        if (budget != null) {
            ObjectNode thinking = out.putObject("thinking");
            thinking.put("type", "enabled");
            thinking.put("budget_tokens", budget);
        }

        renderTools(request, out, dropped);
        renderSampling(sampling, out, dropped);
        if (budget != null) fitToThinking(out, dropped);
        renderResponseFormat(request.responseFormat(), out, dropped);
        renderExtras(request.extras(), out, dropped);

        // This codec parses only complete responses, but the flag is part of the request body.
        if (request.stream()) out.put("stream", true);
        return out;
    }

    /** Named in {@code x-skiff-dropped-fields} when thinking had to be turned off (see {@link #toolTurnLacksThinking}). */
    public static final String THINKING_OFF = "thinking(off: the last tool-calling turn came back without its signed thinking)";

    /**
     * Whether the last assistant turn calls tools but does not open with a signed thinking or a
     * redacted thinking block, which Anthropic requires of it while thinking is enabled (and so does
     * Claude on Bedrock).
     */
    public static boolean toolTurnLacksThinking(List<Message> messages) {
        if (messages == null) return false;
        for (int i = messages.size() - 1; i >= 0; i--) {
            Message m = messages.get(i);
            if (m.role() != Message.Role.ASSISTANT) continue;
            if (m.parts().stream().noneMatch(p -> p instanceof Part.ToolCall)) return false;
            for (Part p : m.parts()) {
                if (p instanceof Part.Text t && isBlank(t.text())) continue; // not rendered (conformance 25)
                if (p instanceof Part.Thinking t && t.signature() == null) continue; // dropped as unsigned
                return !(p instanceof Part.Thinking || p instanceof Part.RedactedThinking);
            }
            return true;
        }
        return false;
    }

    /**
     * The thinking budget for a reasoning request, or null for no thinking.
     *
     * <p>OpenAI's {@code reasoning_effort} has no Anthropic equivalent, so it maps to a token budget
     * (conformance 14: nearest expressible value, documented here):
     * <pre>
     *   effort    budget_tokens
     *   none      (thinking not enabled)
     *   minimal   1024   (Anthropic's minimum)
     *   low       1024
     *   medium    4096
     *   high      16384
     *   xhigh     32768
     *   other     4096   (unknown words are treated as medium)
     * </pre>
     * An explicit {@code budgetTokens} wins over the effort; it is raised to the 1024 minimum, and a
     * budget of 0 or less means "no thinking".
     */
    static Integer thinkingBudget(ChatRequest.Reasoning reasoning) {
        if (reasoning == null) return null;
        if (reasoning.budgetTokens() != null) {
            int b = reasoning.budgetTokens();
            return b <= 0 ? null : Math.max(b, MIN_THINKING_BUDGET);
        }
        if (reasoning.effort() == null) return null;
        return switch (reasoning.effort().toLowerCase(Locale.ROOT)) {
            case "none" -> null;
            case "minimal", "low" -> 1024;
            case "medium" -> 4096;
            case "high" -> 16384;
            case "xhigh" -> 32768;
            default -> 4096;
        };
    }

    private static ArrayNode renderSystem(List<Part> parts, Dropped dropped) {
        ArrayNode system = NODES.arrayNode();
        if (parts == null) return system;
        for (Part p : parts) {
            if (p instanceof Part.Text t) {
                if (isBlank(t.text())) continue; // conformance 25
                system.add(textBlock(t.text(), t.cacheControl()));
            } else {
                dropped.add("system(non-text content)");
            }
        }
        return system;
    }

    private static void renderPart(Part part, ArrayNode blocks, Dropped dropped) {
        switch (part) {
            case Part.Text t -> {
                if (!isBlank(t.text())) blocks.add(textBlock(t.text(), t.cacheControl()));
            }
            case Part.Image img -> {
                ObjectNode b = imageBlock(img, dropped);
                if (b != null) blocks.add(b);
            }
            case Part.ToolCall call -> {
                ObjectNode b = blocks.addObject();
                b.put("type", "tool_use");
                b.put("id", call.id());
                b.put("name", call.name());
                b.set("input", toolInput(call.arguments(), dropped));
            }
            case Part.ToolResult r -> blocks.add(toolResultBlock(r, dropped));
            case Part.Thinking th -> {
                if (th.signature() == null) {
                    // Reasoning from another provider (e.g. DeepSeek reasoning_content) has no
                    // signature; Anthropic rejects an unsigned thinking block, so it cannot go back.
                    dropped.add("reasoning_content(unsigned)");
                    return;
                }
                ObjectNode b = blocks.addObject();
                b.put("type", "thinking");
                b.put("thinking", th.text() == null ? "" : th.text());
                b.put("signature", th.signature());
            }
            case Part.RedactedThinking rt -> {
                ObjectNode b = blocks.addObject();
                b.put("type", "redacted_thinking");
                b.put("data", rt.data());
            }
        }
    }

    private static ObjectNode textBlock(String text, JsonNode cacheControl) {
        ObjectNode b = NODES.objectNode();
        b.put("type", "text");
        b.put("text", text);
        if (present(cacheControl)) b.set("cache_control", cacheControl);
        return b;
    }

    /** An image block, or null when the part has no usable source (recorded as dropped). */
    private static ObjectNode imageBlock(Part.Image img, Dropped dropped) {
        ObjectNode source = NODES.objectNode();
        if (img.data() != null && !img.data().isEmpty()) {
            source.put("type", "base64");
            source.put("media_type", img.mediaType());
            source.put("data", img.data());
        } else if (img.url() != null && img.url().startsWith("data:")) {
            // A data URL the client codec left as a URL: data:<media type>;base64,<data>
            int comma = img.url().indexOf(',');
            String meta = comma < 0 ? "" : img.url().substring(5, comma);
            if (comma < 0 || !meta.endsWith(";base64")) {
                dropped.add("image_url(unsupported data URL)");
                return null;
            }
            source.put("type", "base64");
            source.put("media_type", meta.substring(0, meta.length() - ";base64".length()));
            source.put("data", img.url().substring(comma + 1));
        } else if (img.url() != null && !img.url().isEmpty()) {
            source.put("type", "url");
            source.put("url", img.url());
        } else {
            dropped.add("image_url(empty)");
            return null;
        }
        if (img.detail() != null) dropped.add("image_url.detail");
        ObjectNode b = NODES.objectNode();
        b.put("type", "image");
        b.set("source", source);
        if (present(img.cacheControl())) b.set("cache_control", img.cacheControl());
        return b;
    }

    /** The tool_use input: the arguments parsed as a JSON object; {} for none or for invalid JSON. */
    private static ObjectNode toolInput(String arguments, Dropped dropped) {
        if (isBlank(arguments)) return NODES.objectNode();
        try {
            JsonNode parsed = STRICT_READER.readTree(arguments);
            if (parsed instanceof ObjectNode obj) return obj;
        } catch (JsonProcessingException e) {
            // fall through
        }
        dropped.add("tool_calls.arguments(invalid JSON)");
        return NODES.objectNode();
    }

    private static ObjectNode toolResultBlock(Part.ToolResult r, Dropped dropped) {
        ObjectNode b = NODES.objectNode();
        b.put("type", "tool_result");
        b.put("tool_use_id", r.callId());
        ArrayNode content = NODES.arrayNode();
        if (r.content() != null) {
            for (Part p : r.content()) {
                switch (p) {
                    case Part.Text t -> {
                        if (!isBlank(t.text())) content.add(textBlock(t.text(), t.cacheControl()));
                    }
                    case Part.Image img -> {
                        ObjectNode ib = imageBlock(img, dropped);
                        if (ib != null) content.add(ib);
                    }
                    default -> dropped.add("tool_result.content(" + p.getClass().getSimpleName() + ")");
                }
            }
        }
        if (content.size() == 1 && content.get(0).size() == 2 && "text".equals(content.get(0).path("type").asText())) {
            b.put("content", content.get(0).get("text").asText()); // a lone plain text may be a string
        } else if (!content.isEmpty()) {
            b.set("content", content);
        }
        if (r.isError()) b.put("is_error", true);
        if (present(r.cacheControl())) b.set("cache_control", r.cacheControl());
        return b;
    }

    private static void renderTools(ChatRequest request, ObjectNode out, Dropped dropped) {
        List<ChatRequest.Tool> tools = request.tools();
        if (tools == null || tools.isEmpty()) {
            // Nothing to choose from: tool_choice / parallel_tool_calls have no effect and are not sent.
            return;
        }
        ArrayNode arr = out.putArray("tools");
        for (ChatRequest.Tool t : tools) {
            ObjectNode o = arr.addObject();
            o.put("name", t.name());
            if (t.description() != null) o.put("description", t.description());
            JsonNode schema = t.parameters();
            // Schemas go unchanged (conformance 8); only a missing or empty one needs a type.
            if (!present(schema) || (schema.isObject() && schema.isEmpty())) {
                schema = NODES.objectNode().put("type", "object");
            }
            o.set("input_schema", schema);
            // Strict tool use is GA on the Claude API ("Structured outputs" page: tools[].strict).
            if (Boolean.TRUE.equals(t.strict())) o.put("strict", true);
            if (present(t.cacheControl())) o.set("cache_control", t.cacheControl());
        }

        ObjectNode choice = switch (request.toolChoice()) {
            case null -> null;
            case ChatRequest.ToolChoice.Auto a -> NODES.objectNode().put("type", "auto");
            case ChatRequest.ToolChoice.Required r -> NODES.objectNode().put("type", "any");
            case ChatRequest.ToolChoice.None n -> NODES.objectNode().put("type", "none");
            case ChatRequest.ToolChoice.Named n -> NODES.objectNode().put("type", "tool").put("name", n.name());
        };
        if (Boolean.FALSE.equals(request.parallelToolCalls())) {
            if (choice == null) choice = NODES.objectNode().put("type", "auto");
            // With "none" no tool is called, so there is nothing to parallelize.
            if (!"none".equals(choice.path("type").asText())) choice.put("disable_parallel_tool_use", true);
        }
        if (choice != null) out.set("tool_choice", choice);
    }

    /**
     * Extended thinking refuses a temperature other than 1, any top_k, a top_p below 0.95 and a
     * forced tool choice ("Extended thinking" page). Rather than send a request Anthropic answers
     * with 400, those settings are left out (forced choice becomes auto) and reported as dropped.
     */
    private static void fitToThinking(ObjectNode out, Dropped dropped) {
        JsonNode t = out.get("temperature");
        if (t != null && t.asDouble() != 1.0) {
            out.remove("temperature");
            dropped.add("temperature(with thinking)");
        }
        if (out.remove("top_k") != null) dropped.add("top_k(with thinking)");
        JsonNode p = out.get("top_p");
        if (p != null && p.asDouble() < 0.95) {
            out.remove("top_p");
            dropped.add("top_p(with thinking)");
        }
        JsonNode choice = out.get("tool_choice");
        if (choice != null && ("any".equals(choice.path("type").asText()) || "tool".equals(choice.path("type").asText()))) {
            ObjectNode auto = NODES.objectNode().put("type", "auto");
            if (choice.has("disable_parallel_tool_use")) auto.set("disable_parallel_tool_use", choice.get("disable_parallel_tool_use"));
            out.set("tool_choice", auto);
            dropped.add("tool_choice(forced, with thinking)");
        }
    }

    private static void renderSampling(ChatRequest.Sampling s, ObjectNode out, Dropped dropped) {
        if (s.temperature() != null) out.put("temperature", s.temperature());
        if (s.topP() != null) out.put("top_p", s.topP());
        if (s.topK() != null) out.put("top_k", s.topK());
        if (s.stop() != null && !s.stop().isEmpty()) {
            ArrayNode stops = out.putArray("stop_sequences");
            s.stop().forEach(stops::add);
        }
        if (s.seed() != null) dropped.add("seed");
        if (s.presencePenalty() != null) dropped.add("presence_penalty");
        if (s.frequencyPenalty() != null) dropped.add("frequency_penalty");
    }

    /**
     * Structured output. The Claude API has a GA field ("Structured outputs" page):
     * {@code output_config: {format: {type: "json_schema", schema}}} — no beta header needed. (The
     * earlier beta spelling was a top-level {@code output_format} with header
     * {@code anthropic-beta: structured-outputs-2025-11-13}; it is not used here.) It takes a schema
     * only, so {@code json_schema} maps onto it (its name and strict flag have no place: strict is the
     * field's only mode), while {@code json_object} (JSON without a schema) cannot be expressed and is
     * dropped.
     */
    private static void renderResponseFormat(ChatRequest.ResponseFormat rf, ObjectNode out, Dropped dropped) {
        if (rf == null || rf.type() == null || rf.type().equals("text")) return;
        if (rf.type().equals("json_schema") && present(rf.schema())) {
            ObjectNode format = out.putObject("output_config").putObject("format");
            format.put("type", "json_schema");
            format.set("schema", rf.schema());
        } else {
            dropped.add("response_format");
        }
    }

    /**
     * Extras are fields of the client's (OpenAI) dialect; Anthropic has another dialect, so none is
     * forwarded as is. {@code user} and {@code metadata.user_id} become Anthropic's
     * {@code metadata.user_id} (metadata wins); everything else is recorded as dropped.
     */
    private static void renderExtras(Map<String, JsonNode> extras, ObjectNode out, Dropped dropped) {
        if (extras == null || extras.isEmpty()) return;
        String userId = null;
        for (Map.Entry<String, JsonNode> e : extras.entrySet()) {
            JsonNode v = e.getValue();
            if (v == null || v.isNull()) continue; // an explicit null asks for nothing
            switch (e.getKey()) {
                case "user" -> {
                    if (userId == null && v.isTextual()) userId = v.asText();
                    else if (!v.isTextual()) dropped.add("user");
                }
                case "metadata" -> {
                    JsonNode uid = v.path("user_id");
                    if (uid.isTextual()) userId = uid.asText();
                    if (v.isObject() && v.size() > (uid.isTextual() ? 1 : 0)) dropped.add("metadata");
                    else if (!v.isObject()) dropped.add("metadata");
                }
                default -> dropped.add(e.getKey());
            }
        }
        if (userId != null && !userId.isEmpty()) out.putObject("metadata").put("user_id", userId);
    }

    // ------------------------------------------------------------------------------------------------
    // Response
    // ------------------------------------------------------------------------------------------------

    /** Anthropic Messages response body -> IR. */
    public static ChatResponse parseResponse(JsonNode body) {
        List<Part> parts = new ArrayList<>();
        for (JsonNode block : body.path("content")) {
            switch (block.path("type").asText("")) {
                case "text" -> parts.add(new Part.Text(block.path("text").asText("")));
                case "tool_use" -> parts.add(new Part.ToolCall(textOrNull(block, "id"), textOrNull(block, "name"),
                        compact(block.get("input"))));
                case "thinking" -> parts.add(new Part.Thinking(block.path("thinking").asText(""),
                        textOrNull(block, "signature")));
                case "redacted_thinking" -> parts.add(new Part.RedactedThinking(textOrNull(block, "data")));
                default -> {
                    // server_tool_use, web_search_tool_result, etc.: no place in the IR, skipped.
                }
            }
        }
        String raw = textOrNull(body, "stop_reason");
        return new ChatResponse(textOrNull(body, "id"), textOrNull(body, "model"), parts, finishReason(raw), raw,
                usage(body.get("usage")));
    }

    /**
     * Anthropic stop_reason -> normalized reason (conformance 16); the raw word is kept alongside.
     * <pre>
     *   end_turn, stop_sequence        -> stop
     *   max_tokens                     -> length
     *   model_context_window_exceeded  -> length   (raw kept: distinguishable from max_tokens)
     *   tool_use                       -> tool_calls
     *   refusal                        -> stop     (raw "refusal" lets the client side fill message.refusal)
     *   pause_turn, null               -> stop     (raw kept)
     *   anything else                  -> an error to the client, never a silent stop
     * </pre>
     */
    static FinishReason finishReason(String raw) {
        if (raw == null) return FinishReason.STOP;
        return switch (raw) {
            case "max_tokens", "model_context_window_exceeded" -> FinishReason.LENGTH;
            case "tool_use" -> FinishReason.TOOL_CALLS;
            case "end_turn", "stop_sequence", "refusal", "pause_turn" -> FinishReason.STOP;
            default -> throw new UnknownFinishReasonException("Anthropic", raw);
        };
    }

    /**
     * Anthropic's input_tokens exclude cache reads and writes (conformance 23), whereas OpenAI's
     * prompt_tokens include cached tokens: prompt = input + cache_read + cache_creation. A count the
     * body does not carry is -1; absent cache counts add nothing to the prompt.
     */
    static Usage usage(JsonNode u) {
        if (u == null || !u.isObject()) return Usage.NONE;
        long input = count(u, "input_tokens");
        long cacheRead = count(u, "cache_read_input_tokens");
        long cacheCreation = count(u, "cache_creation_input_tokens");
        long output = count(u, "output_tokens");
        return Usage.fromUncachedInput(input, cacheRead, cacheCreation, output);
    }

    // ------------------------------------------------------------------------------------------------
    // Errors
    // ------------------------------------------------------------------------------------------------

    /**
     * An Anthropic error body ({@code {"type":"error","error":{"type","message"}}}) -> its message and
     * type. Other shapes are tolerated: a JSON {@code message} or {@code error} string is used when
     * present, otherwise the raw text is the message. Without a type in the body, the type is the one
     * Anthropic documents for the status (Errors page).
     */
    public static ErrorInfo parseError(int status, String body) {
        String fallbackType = typeForStatus(status);
        if (isBlank(body)) return new ErrorInfo(fallbackType, "upstream returned HTTP " + status + " with no body");
        JsonNode root;
        try {
            root = STRICT_READER.readTree(body);
        } catch (JsonProcessingException e) {
            return new ErrorInfo(fallbackType, body);
        }
        if (root != null && root.isObject()) {
            JsonNode err = root.get("error");
            if (err != null && err.isObject()) {
                String message = textOrNull(err, "message");
                String type = textOrNull(err, "type");
                return new ErrorInfo(type != null ? type : fallbackType, message != null ? message : body);
            }
            if (err != null && err.isTextual()) return new ErrorInfo(fallbackType, err.asText());
            String message = textOrNull(root, "message");
            if (message != null) return new ErrorInfo(fallbackType, message);
        }
        return new ErrorInfo(fallbackType, body);
    }

    private static String typeForStatus(int status) {
        return switch (status) {
            case 400 -> "invalid_request_error";
            case 401 -> "authentication_error";
            case 403 -> "permission_error";
            case 404 -> "not_found_error";
            case 413 -> "request_too_large";
            case 429 -> "rate_limit_error";
            case 529 -> "overloaded_error";
            default -> status >= 500 ? "api_error" : "invalid_request_error";
        };
    }

    // ------------------------------------------------------------------------------------------------

    private static boolean present(JsonNode n) {
        return n != null && !n.isNull() && !n.isMissingNode();
    }

    private static String compact(JsonNode input) {
        if (!present(input)) return "{}";
        try {
            return MAPPER.writeValueAsString(input);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize a JSON tree", e);
        }
    }
}
