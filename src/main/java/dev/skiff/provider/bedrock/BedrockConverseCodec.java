package dev.skiff.provider.bedrock;

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
import dev.skiff.dialect.BadRequestException;
import dev.skiff.dialect.Ids;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.ir.ChatRequest;
import dev.skiff.dialect.ir.ChatResponse;
import dev.skiff.dialect.ir.Dropped;
import dev.skiff.dialect.ir.FinishReason;
import dev.skiff.dialect.ir.UnknownFinishReasonException;
import dev.skiff.provider.SignedCallIds;
import dev.skiff.provider.Turns;
import dev.skiff.provider.anthropic.AnthropicCodec;
import dev.skiff.dialect.ir.Message;
import dev.skiff.dialect.ir.Part;
import dev.skiff.dialect.ir.SystemTurns;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The Amazon Bedrock Converse API ({@code POST /model/{modelId}/converse} and
 * {@code /converse-stream}) codec: pure functions between the internal representation and Converse
 * JSON bodies.
 *
 * <p>Field names follow the Bedrock API reference (docs.aws.amazon.com/bedrock/latest/APIReference):
 * API_runtime_Converse, Message, ContentBlock, SystemContentBlock, ToolUseBlock, ToolResultBlock,
 * ImageBlock, ReasoningContentBlock / ReasoningTextBlock, CachePointBlock, ToolConfiguration,
 * ToolChoice, InferenceConfiguration, TokenUsage, and the user guide page "Prompt caching".
 *
 * <p>Decisions:
 * <ul>
 *   <li>Images: Converse takes inline bytes only ({@code image.source.bytes}, base64 in JSON) with
 *       {@code format} png, jpeg, gif or webp. An http(s) image URL cannot be sent and Skiff does not
 *       fetch it, so the request is refused with a 400 (a silently dropped image would change the
 *       question). An inline image of another type is refused the same way.</li>
 *   <li>{@code cache_control} (conformance 30) becomes a {@code {"cachePoint":{"type":"default"}}}
 *       block right after the marked system block, message block or tool.</li>
 *   <li>{@code tool_choice:"none"}: Converse has no "none". Without tool blocks in the conversation
 *       the tools are left out (recorded as dropped {@code tools(tool_choice none)}); with tool blocks
 *       Bedrock requires a toolConfig, so the tools are sent with Bedrock's default (auto) and
 *       {@code tool_choice(none)} is recorded as dropped.</li>
 *   <li>{@code top_k} goes to {@code additionalModelRequestFields.top_k} (the Anthropic-on-Bedrock
 *       name; other model families may name it differently).</li>
 *   <li>{@code reasoning_effort} becomes {@code additionalModelRequestFields.thinking} for Anthropic
 *       models (model id containing {@code anthropic.} or {@code claude}), with the same effort ->
 *       budget table as the Anthropic adapter (see {@link #thinkingBudget}); {@code maxTokens} is set
 *       or raised to budget + 4096 so that budget &lt; max tokens. For other models it is dropped.</li>
 *   <li>{@code seed}, {@code presence_penalty}, {@code frequency_penalty}, {@code response_format},
 *       {@code parallel_tool_calls:false}, {@code strict} tools and every unknown field are recorded
 *       as dropped.</li>
 * </ul>
 */
public final class BedrockConverseCodec {
    /** Output room left after a thinking budget when max tokens must be raised. */
    static final int DEFAULT_ANSWER_TOKENS = 4096;
    static final int MIN_THINKING_BUDGET = 1024;

    /** The shared translation mapper: exact decimals, so tool arguments keep their digits. */
    static final ObjectMapper MAPPER = dev.skiff.dialect.openai.OpenAiChat.JSON;
    private static final ObjectReader STRICT_READER = MAPPER.reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final JsonNodeFactory NODES = MAPPER.getNodeFactory();

    private BedrockConverseCodec() {}

    /** An upstream error: a type (Bedrock's exception name, or one derived from the status) and its message. */
    public record ErrorInfo(String type, String message) {}

    // ------------------------------------------------------------------------------------------------
    // Request
    // ------------------------------------------------------------------------------------------------

    /** IR request -> Converse request body (the model id goes in the URL, not the body). */
    public static ObjectNode renderRequest(ChatRequest request, Dropped dropped) throws BadRequestException {
        request = SystemTurns.fold(request, dropped); // Converse has no system turns
        // Chat clients echo call ids, not always reasoning: Claude's signed reasoning rides in the ids
        // (and an id Skiff extended never reaches Bedrock, whose ids are at most 64 characters).
        List<Message> messages = SignedCallIds.restore(request.messages(), SignedCallIds.Origin.BEDROCK);
        ObjectNode out = NODES.objectNode();
        // a cachePoint right after a toolResult marks that result: it moves with it
        out.set("messages", Turns.render(messages, (p, blocks) -> renderPart(p, blocks, dropped),
                b -> b.has("toolResult"), b -> b.has("cachePoint")));
        ArrayNode system = renderSystem(request.system(), dropped);
        if (!system.isEmpty()) out.set("system", system);

        ChatRequest.Sampling s = request.sampling() != null ? request.sampling() : ChatRequest.Sampling.NONE;
        ObjectNode inference = NODES.objectNode();
        ObjectNode additional = NODES.objectNode();
        Integer maxTokens = s.maxTokens();

        Integer budget = thinkingBudget(request.reasoning());
        if (budget != null) {
            if (isAnthropicModel(request.model()) && AnthropicCodec.toolTurnLacksThinking(messages)) {
                // As on Anthropic's API, Claude refuses a last tool-calling turn without the signed
                // reasoning it began with; that reasoning is gone, so this request goes without thinking.
                dropped.add(AnthropicCodec.THINKING_OFF);
            } else if (isAnthropicModel(request.model())) {
                if (maxTokens == null || maxTokens <= budget) maxTokens = budget + DEFAULT_ANSWER_TOKENS;
                additional.putObject("thinking").put("type", "enabled").put("budget_tokens", budget);
            } else {
                dropped.add("reasoning_effort");
            }
        }
        if (maxTokens != null) inference.put("maxTokens", maxTokens);
        if (s.temperature() != null) inference.put("temperature", s.temperature());
        if (s.topP() != null) inference.put("topP", s.topP());
        if (s.stop() != null && !s.stop().isEmpty()) {
            ArrayNode stops = inference.putArray("stopSequences");
            s.stop().forEach(stops::add);
        }
        if (s.topK() != null) additional.put("top_k", s.topK());
        if (s.seed() != null) dropped.add("seed");
        if (s.presencePenalty() != null) dropped.add("presence_penalty");
        if (s.frequencyPenalty() != null) dropped.add("frequency_penalty");
        if (!inference.isEmpty()) out.set("inferenceConfig", inference);
        if (!additional.isEmpty()) out.set("additionalModelRequestFields", additional);

        renderTools(request, out, dropped);
        if (additional.has("thinking")) fitToThinking(out, dropped);

        ChatRequest.ResponseFormat rf = request.responseFormat();
        if (rf != null && rf.type() != null && !rf.type().equals("text")) dropped.add("response_format");
        if (request.extras() != null) {
            for (Map.Entry<String, JsonNode> e : request.extras().entrySet()) {
                if (e.getValue() != null && !e.getValue().isNull()) dropped.add(e.getKey());
            }
        }
        return out;
    }

    /**
     * Claude's thinking refuses a temperature other than 1, top_k, a top_p below 0.95 and a forced tool
     * choice, on Bedrock as on Anthropic's API: such settings are left out (forced choice becomes auto)
     * and reported, instead of a request Bedrock would refuse.
     */
    private static void fitToThinking(ObjectNode out, Dropped dropped) {
        JsonNode inference = out.get("inferenceConfig");
        if (inference instanceof ObjectNode inf) {
            if (inf.has("temperature") && inf.get("temperature").asDouble() != 1.0) {
                inf.remove("temperature");
                dropped.add("temperature(with thinking)");
            }
            if (inf.has("topP") && inf.get("topP").asDouble() < 0.95) {
                inf.remove("topP");
                dropped.add("top_p(with thinking)");
            }
            if (inf.isEmpty()) out.remove("inferenceConfig");
        }
        if (out.get("additionalModelRequestFields") instanceof ObjectNode add && add.remove("top_k") != null) {
            dropped.add("top_k(with thinking)");
        }
        if (out.get("toolConfig") instanceof ObjectNode config && config.get("toolChoice") instanceof ObjectNode choice
                && (choice.has("any") || choice.has("tool"))) {
            config.putObject("toolChoice").putObject("auto");
            dropped.add("tool_choice(forced, with thinking)");
        }
    }

    /** Whether the model (id, inference profile or ARN) is an Anthropic one, which takes {@code thinking}. */
    static boolean isAnthropicModel(String model) {
        if (model == null) return false;
        String m = model.toLowerCase(Locale.ROOT);
        return m.contains("anthropic.") || m.contains("claude");
    }

    /**
     * OpenAI {@code reasoning_effort} -> Anthropic thinking budget (conformance 14), as the Anthropic
     * adapter maps it: none -> no thinking, minimal/low 1024, medium 4096, high 16384, xhigh 32768,
     * unknown words 4096. An explicit budget wins (at least 1024; 0 or less means none).
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

    private static ObjectNode cachePoint() {
        ObjectNode b = NODES.objectNode();
        b.putObject("cachePoint").put("type", "default");
        return b;
    }

    private static ArrayNode renderSystem(List<Part> parts, Dropped dropped) {
        ArrayNode system = NODES.arrayNode();
        if (parts == null) return system;
        for (Part p : parts) {
            if (p instanceof Part.Text t) {
                if (isBlank(t.text())) continue;
                system.addObject().put("text", t.text());
                if (present(t.cacheControl())) system.add(cachePoint());
            } else {
                dropped.add("system(non-text content)");
            }
        }
        return system;
    }

    private static void renderPart(Part part, ArrayNode blocks, Dropped dropped) throws BadRequestException {
        switch (part) {
            case Part.Text t -> {
                if (isBlank(t.text())) return;
                blocks.addObject().put("text", t.text());
                if (present(t.cacheControl())) blocks.add(cachePoint());
            }
            case Part.Image img -> {
                blocks.add(imageBlock(img, dropped));
                if (present(img.cacheControl())) blocks.add(cachePoint());
            }
            case Part.ToolCall call -> {
                ObjectNode use = blocks.addObject().putObject("toolUse");
                use.put("toolUseId", call.id());
                use.put("name", call.name());
                use.set("input", toolInput(call.arguments(), dropped));
            }
            case Part.ToolResult r -> {
                blocks.add(toolResultBlock(r, dropped));
                if (present(r.cacheControl())) blocks.add(cachePoint());
            }
            case Part.Thinking th -> {
                if (th.signature() == null) {
                    // Unsigned reasoning (e.g. from another provider) cannot be sent back to Claude.
                    dropped.add("reasoning_content(unsigned)");
                    return;
                }
                ObjectNode text = blocks.addObject().putObject("reasoningContent").putObject("reasoningText");
                text.put("text", th.text() == null ? "" : th.text());
                text.put("signature", th.signature());
            }
            case Part.RedactedThinking rt -> blocks.addObject().putObject("reasoningContent").put("redactedContent", rt.data());
        }
    }

    /** An inline image block; a URL image (not a data URL) or an unsupported type is refused. */
    private static ObjectNode imageBlock(Part.Image img, Dropped dropped) throws BadRequestException {
        String mediaType = img.mediaType();
        String data = img.data();
        if ((data == null || data.isEmpty()) && img.url() != null && img.url().startsWith("data:")) {
            int comma = img.url().indexOf(',');
            String meta = comma < 0 ? "" : img.url().substring(5, comma);
            if (comma > 0 && meta.endsWith(";base64")) {
                mediaType = meta.substring(0, meta.length() - ";base64".length());
                data = img.url().substring(comma + 1);
            }
        }
        if (data == null || data.isEmpty()) {
            throw new BadRequestException("Bedrock Converse takes images inline only: send the image as a data URL "
                    + "(data:image/png;base64,...) instead of an http(s) URL.", "messages");
        }
        String format = switch (mediaType == null ? "" : mediaType.toLowerCase(Locale.ROOT)) {
            case "image/png" -> "png";
            case "image/jpeg", "image/jpg" -> "jpeg";
            case "image/gif" -> "gif";
            case "image/webp" -> "webp";
            default -> throw new BadRequestException("Bedrock Converse takes png, jpeg, gif or webp images, not '" + mediaType + "'.",
                    "messages");
        };
        if (img.detail() != null) dropped.add("image_url.detail");
        ObjectNode b = NODES.objectNode();
        ObjectNode image = b.putObject("image");
        image.put("format", format);
        image.putObject("source").put("bytes", data);
        return b;
    }

    /** The toolUse input: the arguments parsed as a JSON object; {} for none or for invalid JSON (recorded). */
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

    /**
     * A toolResult block. Text stays text (a tool's output is data, conformance 9: it is not parsed
     * into a {@code json} block); images become image blocks. {@code status:"error"} when isError.
     */
    private static ObjectNode toolResultBlock(Part.ToolResult r, Dropped dropped) throws BadRequestException {
        ObjectNode b = NODES.objectNode();
        ObjectNode result = b.putObject("toolResult");
        result.put("toolUseId", r.callId());
        ArrayNode content = result.putArray("content");
        if (r.content() != null) {
            for (Part p : r.content()) {
                switch (p) {
                    case Part.Text t -> {
                        if (!isBlank(t.text())) content.addObject().put("text", t.text());
                    }
                    case Part.Image img -> content.add(imageBlock(img, dropped));
                    default -> dropped.add("tool_result.content(" + p.getClass().getSimpleName() + ")");
                }
            }
        }
        if (r.isError()) result.put("status", "error");
        return b;
    }

    private static boolean hasToolBlocks(List<Message> messages) {
        if (messages == null) return false;
        for (Message m : messages) {
            for (Part p : m.parts()) {
                if (p instanceof Part.ToolCall || p instanceof Part.ToolResult) return true;
            }
        }
        return false;
    }

    private static void renderTools(ChatRequest request, ObjectNode out, Dropped dropped) {
        List<ChatRequest.Tool> tools = request.tools();
        if (tools == null || tools.isEmpty()) return;
        ChatRequest.ToolChoice choice = request.toolChoice();
        if (choice instanceof ChatRequest.ToolChoice.None) {
            if (!hasToolBlocks(request.messages())) {
                dropped.add("tools(tool_choice none)");
                return;
            }
            dropped.add("tool_choice(none)");
            choice = null;
        }
        ObjectNode config = out.putObject("toolConfig");
        ArrayNode arr = config.putArray("tools");
        for (ChatRequest.Tool t : tools) {
            ObjectNode spec = arr.addObject().putObject("toolSpec");
            spec.put("name", t.name());
            if (t.description() != null && !t.description().isEmpty()) spec.put("description", t.description());
            JsonNode schema = t.parameters();
            if (!present(schema) || (schema.isObject() && schema.isEmpty())) schema = NODES.objectNode().put("type", "object");
            spec.putObject("inputSchema").set("json", schema);
            if (Boolean.TRUE.equals(t.strict())) dropped.add("tools.strict");
            if (present(t.cacheControl())) arr.add(cachePoint());
        }
        switch (choice) {
            case null -> { }
            case ChatRequest.ToolChoice.Auto a -> config.putObject("toolChoice").putObject("auto");
            case ChatRequest.ToolChoice.Required r -> config.putObject("toolChoice").putObject("any");
            case ChatRequest.ToolChoice.Named n -> config.putObject("toolChoice").putObject("tool").put("name", n.name());
            case ChatRequest.ToolChoice.None n -> { }
        }
        if (Boolean.FALSE.equals(request.parallelToolCalls())) dropped.add("parallel_tool_calls");
    }

    // ------------------------------------------------------------------------------------------------
    // Response
    // ------------------------------------------------------------------------------------------------

    /** Converse response body -> IR. Converse answers carry no id: one is made up. */
    public static ChatResponse parseResponse(JsonNode body) {
        List<Part> parts = new ArrayList<>();
        for (JsonNode block : body.path("output").path("message").path("content")) {
            if (block.has("text")) {
                parts.add(new Part.Text(block.path("text").asText("")));
            } else if (block.has("toolUse")) {
                JsonNode u = block.get("toolUse");
                parts.add(new Part.ToolCall(textOrNull(u, "toolUseId"), textOrNull(u, "name"), compact(u.get("input"))));
            } else if (block.has("reasoningContent")) {
                JsonNode rc = block.get("reasoningContent");
                if (rc.has("reasoningText")) {
                    JsonNode rt = rc.get("reasoningText");
                    parts.add(new Part.Thinking(rt.path("text").asText(""), textOrNull(rt, "signature")));
                } else if (rc.has("redactedContent")) {
                    parts.add(new Part.RedactedThinking(rc.get("redactedContent").asText()));
                }
            }
            // image, document, citationsContent, guardContent...: no place in a chat answer, skipped.
        }
        String raw = textOrNull(body, "stopReason");
        return new ChatResponse(newId(), null, parts, finishReason(raw), raw, usage(body.get("usage")));
    }

    static String newId() {
        return Ids.hex("chatcmpl-");
    }

    /**
     * Converse stopReason -> normalized reason; the raw word is kept alongside.
     * <pre>
     *   end_turn, stop_sequence                    -> stop
     *   max_tokens, model_context_window_exceeded  -> length
     *   tool_use                                   -> tool_calls
     *   guardrail_intervened, content_filtered     -> content_filter
     *   malformed_model_output, malformed_tool_use,
     *   null, unknown                              -> stop (raw kept)
     * </pre>
     */
    static FinishReason finishReason(String raw) {
        if (raw == null) return FinishReason.STOP;
        return switch (raw) {
            case "max_tokens", "model_context_window_exceeded" -> FinishReason.LENGTH;
            case "tool_use" -> FinishReason.TOOL_CALLS;
            case "guardrail_intervened", "content_filtered" -> FinishReason.CONTENT_FILTER;
            case "end_turn", "stop_sequence" -> FinishReason.STOP;
            default -> throw new UnknownFinishReasonException("Bedrock", raw);
        };
    }

    /**
     * Converse TokenUsage -> Usage. With prompt caching, Bedrock's {@code inputTokens} counts only the
     * tokens neither read from nor written to the cache ("Prompt caching" user guide: cache reads and
     * writes are reported in {@code cacheReadInputTokens} / {@code cacheWriteInputTokens}, as
     * Anthropic does), whereas OpenAI's prompt_tokens include cached ones (conformance 23): prompt =
     * input + cacheRead + cacheWrite, total = prompt + output (not Bedrock's totalTokens).
     */
    static Usage usage(JsonNode u) {
        if (u == null || !u.isObject()) return Usage.NONE;
        long input = count(u, "inputTokens");
        long cacheRead = count(u, "cacheReadInputTokens");
        long cacheWrite = count(u, "cacheWriteInputTokens");
        long output = count(u, "outputTokens");
        return Usage.fromUncachedInput(input, cacheRead, cacheWrite, output);
    }

    // ------------------------------------------------------------------------------------------------
    // Errors
    // ------------------------------------------------------------------------------------------------

    /**
     * A Bedrock error body ({@code {"message":"..."}}, sometimes {@code "Message"}) -> message and
     * type. The exception name travels in the {@code x-amzn-errortype} header, which the response
     * translator does not see; a {@code __type} in the body is used when present, otherwise the name
     * Bedrock documents for the status (API_runtime_Converse, Errors).
     */
    public static ErrorInfo parseError(int status, String body) {
        String type = typeForStatus(status);
        if (isBlank(body)) return new ErrorInfo(type, "upstream returned HTTP " + status + " with no body");
        JsonNode root;
        try {
            root = STRICT_READER.readTree(body);
        } catch (JsonProcessingException e) {
            return new ErrorInfo(type, body);
        }
        if (root != null && root.isObject()) {
            String t = textOrNull(root, "__type");
            if (t != null) type = t.substring(t.lastIndexOf('#') + 1);
            String message = textOrNull(root, "message");
            if (message == null) message = textOrNull(root, "Message");
            if (message != null) return new ErrorInfo(type, message);
        }
        return new ErrorInfo(type, body);
    }

    static String typeForStatus(int status) {
        return switch (status) {
            case 400 -> "ValidationException";
            case 403 -> "AccessDeniedException";
            case 404 -> "ResourceNotFoundException";
            case 408 -> "ModelTimeoutException";
            case 424 -> "ModelErrorException";
            case 429 -> "ThrottlingException";
            case 503 -> "ServiceUnavailableException";
            default -> status >= 500 ? "InternalServerException" : "upstream_error";
        };
    }

    // ------------------------------------------------------------------------------------------------

    private static boolean present(JsonNode n) {
        return n != null && !n.isNull() && !n.isMissingNode();
    }

    static String compact(JsonNode input) {
        if (!present(input)) return "{}";
        try {
            return MAPPER.writeValueAsString(input);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize a JSON tree", e);
        }
    }
}
