package dev.skiff.dialect.openai;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.ClientDialect;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.ir.ChatRequest;
import dev.skiff.dialect.ir.ChatResponse;
import dev.skiff.dialect.ir.Dropped;
import dev.skiff.dialect.ir.FinishReason;
import dev.skiff.dialect.ir.Message;
import dev.skiff.dialect.ir.Part;
import dev.skiff.dialect.ir.UnknownFinishReasonException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * OpenAI chat completions as a provider's dialect: the request is written from the internal
 * representation (the inverse of {@link OpenAiChat#parseRequest}) and the provider's completion is
 * read back into it. Serves clients of other dialects (Anthropic Messages, Responses) in front of
 * OpenAI and the servers that copy its API.
 */
public final class OpenAiChatCodec {
    /** Which name the output limit goes under. */
    public enum MaxTokensField {
        /** OpenAI's current name; its reasoning models refuse the old one. */
        MAX_COMPLETION_TOKENS("max_completion_tokens"),
        /** The name most compatible servers (still) know. */
        MAX_TOKENS("max_tokens");

        private final String field;

        MaxTokensField(String field) {
            this.field = field;
        }

        public String field() {
            return field;
        }
    }

    /**
     * How far earlier reasoning goes back to the provider on an assistant message. OpenAI's own
     * schema has no such field and strict servers refuse unknown message members, whereas DeepSeek
     * refuses a tool-call turn whose {@code reasoning_content} is missing: so it depends on the target.
     */
    public enum ReasoningEcho {
        /** Not sent; recorded as dropped. */
        NONE,
        /** {@code reasoning_content} only (DeepSeek and the servers that read it back); signatures and encrypted reasoning are dropped. */
        TEXT,
        /** Everything {@link OpenAiChat#parseRequest} reads back: {@code reasoning_content}, {@code reasoning_signature}, {@code redacted_reasoning}. */
        FULL
    }

    /**
     * What the target accepts, and whose dialect the request's extras are in.
     *
     * @param extrasDialect the client's dialect: extras are copied as they are only when it is OpenAI chat
     */
    public record Target(MaxTokensField maxTokens, ReasoningEcho reasoning, ClientDialect extrasDialect) {
        /** Writes back exactly what {@link OpenAiChat#parseRequest} reads: the chat → IR → chat round trip. */
        public static final Target MIRROR = new Target(MaxTokensField.MAX_COMPLETION_TOKENS, ReasoningEcho.FULL, ClientDialect.OPENAI_CHAT);
    }

    /**
     * Request fields the Responses API shares with chat completions under the same name and meaning,
     * so that a Responses client's extras can be forwarded.
     */
    private static final Set<String> SHARED_WITH_RESPONSES = Set.of("user", "store", "metadata", "service_tier",
            "prompt_cache_key", "safety_identifier");

    private OpenAiChatCodec() {}

    // ---- requests ----------------------------------------------------------------------------

    /** {@link #renderRequest(ChatRequest, Target, Dropped)} for {@link Target#MIRROR}. */
    public static ObjectNode renderRequest(ChatRequest r, Dropped dropped) {
        return renderRequest(r, Target.MIRROR, dropped);
    }

    /** IR → chat completions request body. Every field the target cannot carry is recorded in {@code dropped}. */
    public static ObjectNode renderRequest(ChatRequest r, Target target, Dropped dropped) {
        ObjectNode out = OpenAiChat.JSON.createObjectNode();
        out.put("model", r.model());
        ArrayNode messages = out.putArray("messages");
        renderSystem(r.system(), messages, dropped);
        for (Message m : r.messages()) {
            switch (m.role()) {
                case USER -> renderUser(m.parts(), messages, dropped);
                case ASSISTANT -> renderAssistant(m.parts(), messages, target.reasoning(), dropped);
                case SYSTEM -> renderSystem(m.parts(), messages, dropped); // chat keeps it where it was said
            }
        }
        renderTools(r, out, dropped);
        renderSampling(r.sampling() == null ? ChatRequest.Sampling.NONE : r.sampling(), target.maxTokens(), out, dropped);
        renderResponseFormat(r.responseFormat(), out);
        String effort = reasoningEffort(r.reasoning());
        if (effort != null) out.put("reasoning_effort", effort);
        if (r.stream()) {
            out.put("stream", true);
            // Usage is asked for on every stream so it is always accounted (conformance 20); the
            // client's writer shows it only to clients that asked.
            out.putObject("stream_options").put("include_usage", true);
        }
        renderExtras(r.extras(), target.extrasDialect(), out, dropped);
        return out;
    }

    /** Each system part becomes a leading system message, in order (conformance 24). */
    private static void renderSystem(List<Part> system, ArrayNode messages, Dropped dropped) {
        if (system == null) return;
        for (Part p : system) {
            if (p instanceof Part.Text t) {
                noteCacheControl(t.cacheControl(), dropped);
                if (!t.text().isEmpty()) messages.addObject().put("role", "system").put("content", t.text());
            } else {
                dropped.add("system(non-text content)");
            }
        }
    }

    /**
     * A user turn. Tool results become {@code role:"tool"} messages placed before the rest of the turn,
     * right after the assistant's calls they answer (conformance 5).
     */
    private static void renderUser(List<Part> parts, ArrayNode messages, Dropped dropped) {
        ArrayNode content = OpenAiChat.JSON.createArrayNode();
        for (Part p : parts) {
            switch (p) {
                case Part.ToolResult tr -> renderToolResult(tr, messages, dropped);
                case Part.Text t -> {
                    noteCacheControl(t.cacheControl(), dropped);
                    content.addObject().put("type", "text").put("text", t.text());
                }
                case Part.Image img -> content.add(imagePart(img, dropped));
                default -> dropped.add("user(" + p.getClass().getSimpleName() + ")");
            }
        }
        if (content.isEmpty()) return; // an empty user message would be refused, and says nothing (conformance 25)
        ObjectNode m = messages.addObject().put("role", "user");
        // A lone text is sent as a plain string, the form every compatible server takes.
        if (content.size() == 1 && "text".equals(content.get(0).path("type").asText())) m.set("content", content.get(0).get("text"));
        else m.set("content", content);
    }

    /**
     * A tool message's content is text: a result's texts are joined; images have no place there in
     * chat completions and are dropped.
     */
    private static void renderToolResult(Part.ToolResult tr, ArrayNode messages, Dropped dropped) {
        StringBuilder text = new StringBuilder();
        if (tr.content() != null) {
            for (Part c : tr.content()) {
                if (c instanceof Part.Text t) {
                    noteCacheControl(t.cacheControl(), dropped);
                    text.append(t.text());
                } else {
                    dropped.add("tool_result(" + (c instanceof Part.Image ? "image" : c.getClass().getSimpleName()) + ")");
                }
            }
        }
        if (tr.isError()) dropped.add("tool_result.is_error");
        noteCacheControl(tr.cacheControl(), dropped);
        messages.addObject().put("role", "tool").put("tool_call_id", tr.callId()).put("content", text.toString());
    }

    private static void renderAssistant(List<Part> parts, ArrayNode messages, ReasoningEcho echo, Dropped dropped) {
        StringBuilder text = new StringBuilder();
        StringBuilder reasoning = new StringBuilder();
        String signature = null;
        ArrayNode redacted = OpenAiChat.JSON.createArrayNode();
        ArrayNode calls = OpenAiChat.JSON.createArrayNode();
        for (Part p : parts) {
            switch (p) {
                case Part.Text t -> {
                    noteCacheControl(t.cacheControl(), dropped);
                    text.append(t.text());
                }
                case Part.ToolCall tc -> {
                    ObjectNode c = calls.addObject().put("id", tc.id()).put("type", "function");
                    c.putObject("function").put("name", tc.name()).put("arguments", tc.arguments() == null ? "" : tc.arguments());
                }
                case Part.Thinking th -> {
                    if (th.text() != null) reasoning.append(th.text());
                    if (th.signature() != null) signature = th.signature();
                }
                case Part.RedactedThinking rt -> redacted.add(rt.data());
                default -> dropped.add("assistant(" + p.getClass().getSimpleName() + ")");
            }
        }
        boolean hasReasoning = !reasoning.isEmpty() && echo != ReasoningEcho.NONE;
        if (text.isEmpty() && calls.isEmpty() && !hasReasoning) {
            if (!reasoning.isEmpty()) dropped.add("reasoning_content");
            if (!redacted.isEmpty()) dropped.add("redacted_reasoning");
            return; // nothing the provider can be shown (conformance 25)
        }
        ObjectNode m = messages.addObject().put("role", "assistant");
        // A tool-call-only turn has content null, not "": the member is required (conformance 36).
        if (text.isEmpty() && !calls.isEmpty()) m.putNull("content");
        else m.put("content", text.toString());
        if (!reasoning.isEmpty()) {
            if (echo == ReasoningEcho.NONE) dropped.add("reasoning_content");
            else m.put("reasoning_content", reasoning.toString());
        }
        if (signature != null) {
            if (echo == ReasoningEcho.FULL) m.put("reasoning_signature", signature);
            else dropped.add("reasoning_signature");
        }
        if (!redacted.isEmpty()) {
            if (echo == ReasoningEcho.FULL) m.set("redacted_reasoning", redacted);
            else dropped.add("redacted_reasoning");
        }
        if (!calls.isEmpty()) m.set("tool_calls", calls);
    }

    /** Inline images become data URLs, the only inline form chat completions has. */
    private static ObjectNode imagePart(Part.Image img, Dropped dropped) {
        noteCacheControl(img.cacheControl(), dropped);
        String url = img.url() != null ? img.url() : "data:" + img.mediaType() + ";base64," + img.data();
        ObjectNode part = OpenAiChat.JSON.createObjectNode().put("type", "image_url");
        ObjectNode imageUrl = part.putObject("image_url").put("url", url);
        if (img.detail() != null) imageUrl.put("detail", img.detail());
        return part;
    }

    private static void renderTools(ChatRequest r, ObjectNode out, Dropped dropped) {
        // Without tools, OpenAI refuses tool_choice and parallel_tool_calls; they mean nothing then.
        if (r.tools() == null || r.tools().isEmpty()) return;
        ArrayNode tools = out.putArray("tools");
        for (ChatRequest.Tool t : r.tools()) {
            ObjectNode f = tools.addObject().put("type", "function").putObject("function");
            f.put("name", t.name());
            if (t.description() != null) f.put("description", t.description());
            if (t.parameters() != null && !t.parameters().isNull()) f.set("parameters", t.parameters());
            if (t.strict() != null) f.put("strict", t.strict());
            noteCacheControl(t.cacheControl(), dropped);
        }
        switch (r.toolChoice()) {
            case null -> {}
            case ChatRequest.ToolChoice.Auto a -> out.put("tool_choice", "auto");
            case ChatRequest.ToolChoice.None n -> out.put("tool_choice", "none");
            case ChatRequest.ToolChoice.Required q -> out.put("tool_choice", "required");
            case ChatRequest.ToolChoice.Named n -> out.putObject("tool_choice").put("type", "function")
                    .putObject("function").put("name", n.name());
        }
        if (r.parallelToolCalls() != null) out.put("parallel_tool_calls", r.parallelToolCalls());
    }

    private static void renderSampling(ChatRequest.Sampling s, MaxTokensField maxTokens, ObjectNode out, Dropped dropped) {
        if (s.temperature() != null) out.put("temperature", s.temperature());
        if (s.topP() != null) out.put("top_p", s.topP());
        // Chat completions has no top_k; a few servers take it, most refuse or ignore it.
        if (s.topK() != null) dropped.add("top_k");
        if (s.seed() != null) out.put("seed", s.seed());
        if (s.maxTokens() != null) out.put(maxTokens.field(), s.maxTokens());
        if (s.stop() != null && !s.stop().isEmpty()) {
            ArrayNode stop = out.putArray("stop");
            s.stop().forEach(stop::add);
        }
        if (s.presencePenalty() != null) out.put("presence_penalty", s.presencePenalty());
        if (s.frequencyPenalty() != null) out.put("frequency_penalty", s.frequencyPenalty());
    }

    /** Structured output (conformance 27); json_schema needs a name, which other dialects may not give. */
    private static void renderResponseFormat(ChatRequest.ResponseFormat rf, ObjectNode out) {
        if (rf == null || rf.type() == null || rf.type().equals("text")) return;
        ObjectNode f = out.putObject("response_format").put("type", rf.type());
        if (!rf.type().equals("json_schema")) return;
        ObjectNode js = f.putObject("json_schema").put("name", rf.name() != null ? rf.name() : "response");
        if (rf.schema() != null) js.set("schema", rf.schema());
        if (rf.strict() != null) js.put("strict", rf.strict());
    }

    /**
     * {@code reasoning_effort} for the request (conformance 14). An effort is OpenAI's own word and
     * goes as it is. A token budget alone (Anthropic's {@code thinking.budget_tokens}) maps to the
     * nearest effort:
     * <pre>
     *   budget          effort
     *   &lt;= 0            (none sent: thinking off)
     *   1 .. 1024       low
     *   1025 .. 8192    medium
     *   above 8192      high
     * </pre>
     */
    public static String reasoningEffort(ChatRequest.Reasoning reasoning) {
        if (reasoning == null) return null;
        if (reasoning.effort() != null) return reasoning.effort();
        Integer budget = reasoning.budgetTokens();
        if (budget == null || budget <= 0) return null;
        if (budget <= 1024) return "low";
        if (budget <= 8192) return "medium";
        return "high";
    }

    /**
     * The IR does not say which dialect its extras come from, but the client's dialect is the
     * request's, and the adapter knows it. A chat client's extras are chat fields: forwarded as they
     * are (conformance 29). A Responses client's extras go only when chat has the same field; an
     * Anthropic client's {@code metadata.user_id} becomes {@code user}. Everything else is dropped,
     * visibly.
     */
    private static void renderExtras(Map<String, JsonNode> extras, ClientDialect dialect, ObjectNode out, Dropped dropped) {
        if (extras == null) return;
        for (Map.Entry<String, JsonNode> e : extras.entrySet()) {
            String name = e.getKey();
            JsonNode v = e.getValue();
            if (out.has(name)) continue; // what the representation carried wins over a same-named leftover
            switch (dialect) {
                case OPENAI_CHAT -> out.set(name, v);
                case OPENAI_RESPONSES -> {
                    if (SHARED_WITH_RESPONSES.contains(name)) out.set(name, v);
                    else dropped.add(name);
                }
                case ANTHROPIC_MESSAGES -> {
                    JsonNode user = v == null ? null : v.get("user_id");
                    if (name.equals("metadata") && user != null && user.isTextual() && v.size() == 1) out.put("user", user.asText());
                    else if (v != null && !v.isNull()) dropped.add(name);
                }
            }
        }
    }

    /** Chat completions has no prompt-caching marker (OpenAI caches by itself): said once, then left out. */
    private static void noteCacheControl(JsonNode cacheControl, Dropped dropped) {
        if (cacheControl != null && !cacheControl.isNull() && !cacheControl.isMissingNode()) dropped.add("cache_control");
    }

    // ---- responses ---------------------------------------------------------------------------

    /**
     * A chat completion → IR. Reasoning ({@code reasoning_content} from DeepSeek, Cerebras and the
     * like, {@code reasoning} from Groq and OpenRouter) comes first, then text (a refusal is text too),
     * then tool calls. Only the first choice is read.
     */
    public static ChatResponse parseResponse(JsonNode body) {
        try (JsonParser p = body.traverse(OpenAiChat.JSON)) {
            return parseResponse(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a tree reads without I/O
        }
    }

    /**
     * {@link #parseResponse(JsonNode)} as the answer is parsed: no tree of the whole answer is made
     * (it cost most of reading one), only of the rare parts a tree serves (content arrays, tool
     * calls, usage, errors).
     */
    public static ChatResponse parseResponse(JsonParser p) throws IOException {
        if (p.nextToken() != JsonToken.START_OBJECT) throw new IOException("the answer is not a JSON object");
        String id = null, model = null, finish = null;
        JsonNode error = null;
        Usage usage = Usage.NONE;
        AnswerMessage m = null;
        boolean hasChoice = false;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            p.nextToken();
            switch (name) {
                case "id" -> id = text(p);
                case "model" -> model = text(p);
                case "error" -> error = p.readValueAsTree();
                case "usage" -> usage = usage(p);
                case "choices" -> {
                    if (p.currentToken() != JsonToken.START_ARRAY) {
                        p.skipChildren();
                        continue;
                    }
                    // Only the first choice is read, and only if it is an object.
                    if (p.nextToken() == JsonToken.START_OBJECT) {
                        hasChoice = true;
                        m = new AnswerMessage();
                        while (p.nextToken() == JsonToken.FIELD_NAME) {
                            String field = p.currentName();
                            p.nextToken();
                            if (field.equals("message") && p.currentToken() == JsonToken.START_OBJECT) m.read(p);
                            else if (field.equals("finish_reason")) finish = text(p);
                            else p.skipChildren();
                        }
                    } else {
                        hasChoice = false;
                        m = null;
                        p.skipChildren();
                    }
                    while (p.currentToken() != JsonToken.END_ARRAY && p.nextToken() != JsonToken.END_ARRAY) p.skipChildren();
                }
                default -> p.skipChildren();
            }
        }
        if (error != null && !error.isNull()) {
            throw new IllegalStateException("the provider answered with an error: " + errorMessage(error));
        }
        if (!hasChoice) throw new IllegalStateException("the answer has no choices");
        List<Part> parts = new ArrayList<>();
        String reasoning = m.reasoningContent != null ? m.reasoningContent : m.reasoning;
        if (reasoning != null && !reasoning.isEmpty()) parts.add(new Part.Thinking(reasoning, m.signature));
        if (m.redacted != null) for (JsonNode r : m.redacted) parts.add(new Part.RedactedThinking(r.asText()));
        if (m.text != null) {
            if (!m.text.isEmpty()) parts.add(new Part.Text(m.text));
        } else {
            contentParts(m.content, parts);
        }
        if (m.refusal != null && !m.refusal.isEmpty()) parts.add(new Part.Text(m.refusal));
        int calls = m.toolCalls == null ? 0 : m.toolCalls.size();
        for (int i = 0; i < calls; i++) {
            JsonNode c = m.toolCalls.get(i);
            JsonNode f = c.path("function");
            String callId = text(c.get("id"));
            parts.add(new Part.ToolCall(callId == null || callId.isEmpty() ? "call_" + i : callId, f.path("name").asText(""),
                    arguments(f.get("arguments"))));
        }
        return new ChatResponse(id, model, parts, finishReason(finish, calls > 0), finish, usage);
    }

    /** The members of an answer's message that the representation reads; strings as they are, the rest as trees. */
    private static final class AnswerMessage {
        String text, reasoningContent, reasoning, signature, refusal;
        JsonNode content, redacted, toolCalls;

        void read(JsonParser p) throws IOException {
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                p.nextToken();
                switch (name) {
                    case "content" -> {
                        if (p.currentToken() == JsonToken.VALUE_STRING) {
                            text = p.getText();
                            content = null;
                        } else {
                            text = null;
                            content = p.readValueAsTree();
                        }
                    }
                    case "reasoning_content" -> reasoningContent = text(p);
                    case "reasoning" -> reasoning = text(p);
                    case "reasoning_signature" -> signature = text(p);
                    case "refusal" -> refusal = text(p);
                    case "redacted_reasoning" -> redacted = p.readValueAsTree();
                    case "tool_calls" -> {
                        JsonNode calls = p.readValueAsTree();
                        toolCalls = calls != null && calls.isArray() ? calls : null;
                    }
                    default -> p.skipChildren();
                }
            }
        }
    }

    /** The current value if it is a string, else null (and the value is skipped). */
    private static String text(JsonParser p) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_STRING) return p.getText();
        p.skipChildren();
        return null;
    }

    /** Message content: a string, or (Mistral's reasoning models) an array of text and thinking chunks. */
    private static void contentParts(JsonNode content, List<Part> parts) {
        if (content == null || content.isNull()) return;
        if (content.isTextual()) {
            if (!content.asText().isEmpty()) parts.add(new Part.Text(content.asText()));
            return;
        }
        for (JsonNode c : content) {
            switch (c.path("type").asText("")) {
                case "text" -> {
                    String t = c.path("text").asText("");
                    if (!t.isEmpty()) parts.add(new Part.Text(t));
                }
                case "thinking" -> {
                    StringBuilder t = new StringBuilder();
                    JsonNode thinking = c.get("thinking");
                    if (thinking != null && thinking.isTextual()) t.append(thinking.asText());
                    else if (thinking != null) thinking.forEach(x -> t.append(x.path("text").asText("")));
                    if (!t.isEmpty()) parts.add(0, new Part.Thinking(t.toString(), null));
                }
                default -> { /* references, audio and other chunk types have no place in the IR */ }
            }
        }
    }

    /** The reasoning text of a message or delta under either of its names, or null. */
    public static String reasoningText(JsonNode messageOrDelta) {
        String r = text(messageOrDelta.get("reasoning_content"));
        return r != null ? r : text(messageOrDelta.get("reasoning"));
    }

    /** Arguments are JSON text; a server that sends an object instead gets it written out. */
    public static String arguments(JsonNode args) {
        if (args == null || args.isNull()) return "";
        if (args.isTextual()) return args.asText();
        try {
            return OpenAiChat.JSON.writeValueAsString(args);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write tool arguments", e);
        }
    }

    /**
     * The provider's finish_reason → normalized reason; the raw word stays with the answer.
     * <pre>
     *   stop, eos                     -> stop   (tool_calls when the turn holds calls: some servers say stop)
     *   length, model_length          -> length (model_length: Mistral's context is full)
     *   tool_calls, function_call     -> tool_calls
     *   content_filter                -> content_filter
     *   null                          -> stop, or tool_calls when the turn holds calls
     *   anything else                 -> an error to the client, never a silent stop
     * </pre>
     */
    public static FinishReason finishReason(String raw, boolean hasToolCalls) {
        if (raw == null) return hasToolCalls ? FinishReason.TOOL_CALLS : FinishReason.STOP;
        return switch (raw) {
            case "stop", "eos" -> hasToolCalls ? FinishReason.TOOL_CALLS : FinishReason.STOP;
            case "length", "model_length" -> FinishReason.LENGTH;
            case "tool_calls", "function_call" -> FinishReason.TOOL_CALLS;
            case "content_filter" -> FinishReason.CONTENT_FILTER;
            default -> throw new UnknownFinishReasonException("The OpenAI-compatible provider", raw);
        };
    }

    /**
     * OpenAI's usage object → {@link Usage}: {@code prompt_tokens_details.cached_tokens} (a part of the
     * prompt), {@code completion_tokens_details.reasoning_tokens} (a part of the completion).
     * DeepSeek reports its cache hits as {@code prompt_cache_hit_tokens} instead.
     */
    public static Usage usage(JsonNode u) {
        if (u == null || !u.isObject()) return Usage.NONE;
        try (JsonParser p = u.traverse(OpenAiChat.JSON)) {
            p.nextToken();
            return usage(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a tree reads without I/O
        }
    }

    /**
     * {@link #usage(JsonNode)} of the value the parser is at, read as it is parsed: a tree of it cost
     * a third of reading the whole answer (Jackson makes a context for each tree it reads).
     */
    public static Usage usage(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            p.skipChildren();
            return Usage.NONE;
        }
        long prompt = -1, completion = -1, total = -1, cached = -1, cacheHits = -1, reasoning = -1;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            p.nextToken();
            switch (name) {
                case "prompt_tokens" -> prompt = count(p);
                case "completion_tokens" -> completion = count(p);
                case "total_tokens" -> total = count(p);
                case "prompt_cache_hit_tokens" -> cacheHits = count(p);
                case "prompt_tokens_details" -> cached = member(p, "cached_tokens");
                case "completion_tokens_details" -> reasoning = member(p, "reasoning_tokens");
                default -> p.skipChildren();
            }
        }
        if (total < 0 && prompt >= 0 && completion >= 0) total = prompt + completion;
        if (cached < 0) cached = cacheHits;
        return new Usage(prompt, completion, total, cached, reasoning);
    }

    /** The count under {@code name} in the object the parser is at, or -1 (also when it is not an object). */
    private static long member(JsonParser p, String name) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            p.skipChildren();
            return -1;
        }
        long found = -1;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            p.nextToken();
            if (field.equals(name)) found = count(p);
            else p.skipChildren();
        }
        return found;
    }

    /** A number as a count (-1 for anything else, which is skipped). */
    private static long count(JsonParser p) throws IOException {
        if (p.currentToken().isNumeric()) return p.getValueAsLong();
        p.skipChildren();
        return -1;
    }

    /** The message of an error member: OpenAI's {@code {"message",...}} object, or a bare string. */
    public static String errorMessage(JsonNode error) {
        if (error.isTextual()) return error.asText();
        String m = text(error.get("message"));
        return m != null ? m : error.toString();
    }

    private static String text(JsonNode n) {
        return n == null || !n.isTextual() ? null : n.asText();
    }
}
