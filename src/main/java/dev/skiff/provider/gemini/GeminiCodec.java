package dev.skiff.provider.gemini;

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
import dev.skiff.dialect.ir.Message;
import dev.skiff.dialect.ir.Part;
import dev.skiff.provider.SignedCallIds;
import dev.skiff.dialect.ir.SystemTurns;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The Gemini API ({@code models/{model}:generateContent}) codec: pure functions between the internal
 * representation and Gemini's JSON bodies ({@code GenerateContentRequest} / {@code GenerateContentResponse}).
 *
 * <p>Sources: ai.google.dev/api/generate-content (request, Candidate, FinishReason, UsageMetadata),
 * ai.google.dev/api/caching#Content (Part, FunctionCall, FunctionResponse, Schema),
 * ai.google.dev/gemini-api/docs/function-calling (functionCallingConfig modes),
 * ai.google.dev/gemini-api/docs/thinking (thinkingConfig) and .../docs/thought-signatures.
 *
 * <h2>Tool-call ids and thought signatures</h2>
 * The Gemini Developer API usually returns {@code functionCall} parts without an {@code id}, and a
 * function result is matched by function <em>name</em>. OpenAI clients need an id per call, and
 * Gemini 3 requires the {@code thoughtSignature} a call came with to be sent back in the same part on
 * the next turn. The IR's tool call has no place for a signature, so both travel in the id the client
 * receives (clients echo ids verbatim), keeping Skiff stateless; the signature is packed by
 * {@link SignedCallIds}, as Anthropic's thinking is for chat clients:
 * <pre>
 *   id   = base [ SignedCallIds payload (origin Gemini, the signature) ]
 *   base = "call_" + 12 hex of SHA-256(responseId | index | name | arguments)   (Gemini gave no id)
 *        | "gid_"  + Gemini's own id                                            (Gemini gave one)
 * </pre>
 * Rendering the next request splits the id again: the signature goes back byte-identical on the
 * {@code functionCall} part, a {@code gid_} id goes back as {@code functionCall.id} /
 * {@code functionResponse.id}, and a result's function name is found by looking back for the call
 * with the same id. Ids of other origins (another provider earlier in the conversation) pass no id
 * and no signature. Signatures are a few hundred to a few thousand characters: ids get long but stay
 * opaque strings, which OpenAI's API and SDKs accept. Ids issued before {@link SignedCallIds}
 * ({@code base "_ts_" base64url(signature)}) are still read, for conversations in flight.
 */
public final class GeminiCodec {
    /** Between an id's base and its encoded thought signature, in ids made before {@link SignedCallIds}. */
    static final String LEGACY_SIGNATURE_MARK = "_ts_";
    static final String NATIVE_ID_PREFIX = "gid_";
    static final String SYNTHETIC_ID_PREFIX = "call_";

    /** The shared translation mapper: exact decimals, so tool arguments keep their digits. */
    private static final ObjectMapper MAPPER = dev.skiff.dialect.openai.OpenAiChat.JSON;
    private static final ObjectReader STRICT_READER = MAPPER.reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final JsonNodeFactory NODES = MAPPER.getNodeFactory();

    private GeminiCodec() {}

    /** An upstream error: Gemini's {@code error.status} (e.g. INVALID_ARGUMENT) and {@code error.message}. */
    public record ErrorInfo(String status, String message) {}

    // ------------------------------------------------------------------------------------------------
    // Tool-call ids
    // ------------------------------------------------------------------------------------------------

    /** An id as the client sees it, split into what Gemini needs. */
    record CallId(String nativeId, String signature) {}

    /** The client-facing id of a call Gemini returned (see the class comment). */
    static String toolCallId(String responseId, int index, String name, String args, String nativeId, String signature) {
        String base;
        if (nativeId != null && !nativeId.isEmpty()) {
            base = NATIVE_ID_PREFIX + nativeId;
        } else {
            String key = (responseId == null ? "" : responseId) + "|" + index + "|" + name + "|" + args;
            base = SYNTHETIC_ID_PREFIX + HexFormat.of().formatHex(sha256(key), 0, 6);
        }
        return withSignature(base, signature);
    }

    /** {@code id} carrying a thought signature (none: the id as it is). */
    static String withSignature(String id, String signature) {
        if (signature == null || signature.isEmpty()) return id;
        return SignedCallIds.attach(id, SignedCallIds.Origin.GEMINI, List.of(new Part.Thinking(null, signature)));
    }

    /** Reads an id back; ids Skiff did not make for Gemini yield neither a native id nor a signature. */
    static CallId parseCallId(String id) {
        if (id == null) return new CallId(null, null);
        SignedCallIds.Split split = SignedCallIds.split(id);
        String base = split.base();
        String signature = null;
        if (split.origin() == SignedCallIds.Origin.GEMINI && split.reasoning().getFirst() instanceof Part.Thinking t) {
            signature = t.signature();
        }
        int mark = signature != null || split.carries() ? -1 : id.indexOf(LEGACY_SIGNATURE_MARK);
        if (mark >= 0) {
            try {
                signature = new String(Base64.getUrlDecoder().decode(id.substring(mark + LEGACY_SIGNATURE_MARK.length())), StandardCharsets.UTF_8);
                base = id.substring(0, mark);
            } catch (IllegalArgumentException e) {
                signature = null; // not ours: an id that merely contains the mark
            }
        }
        String nativeId = base.startsWith(NATIVE_ID_PREFIX) && base.length() > NATIVE_ID_PREFIX.length()
                ? base.substring(NATIVE_ID_PREFIX.length()) : null;
        return new CallId(nativeId, signature);
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Request
    // ------------------------------------------------------------------------------------------------

    /** IR request -> GenerateContentRequest body (the model and the stream flag live in the URL). */
    public static ObjectNode renderRequest(ChatRequest request, Dropped dropped) throws BadRequestException {
        request = SystemTurns.fold(request, dropped); // contents are user and model turns only
        ObjectNode out = NODES.objectNode();
        ArrayNode system = NODES.arrayNode();
        if (request.system() != null) {
            for (Part p : request.system()) {
                if (p instanceof Part.Text t) {
                    if (!isBlank(t.text())) system.addObject().put("text", t.text());
                } else {
                    dropped.add("system(non-text content)");
                }
            }
        }
        out.set("contents", renderContents(request.messages(), dropped));
        if (!system.isEmpty()) out.putObject("systemInstruction").set("parts", system);
        renderTools(request, out, dropped);

        ObjectNode gen = NODES.objectNode();
        renderSampling(request.sampling() != null ? request.sampling() : ChatRequest.Sampling.NONE, gen);
        renderResponseFormat(request.responseFormat(), gen, dropped);
        ObjectNode thinking = thinkingConfig(request.reasoning(), request.model());
        if (thinking != null) gen.set("thinkingConfig", thinking);
        if (!gen.isEmpty()) out.set("generationConfig", gen);

        if (request.extras() != null) {
            request.extras().forEach((k, v) -> {
                if (v != null && !v.isNull()) dropped.add(k); // OpenAI fields Gemini has no place for
            });
        }
        return out;
    }

    private static ArrayNode renderContents(List<Message> messages, Dropped dropped) throws BadRequestException {
        // Function names by call id, collected in order: a result names the function of an earlier call.
        Map<String, String> namesById = new HashMap<>();
        List<String> roles = new ArrayList<>();
        List<ArrayNode> partsByTurn = new ArrayList<>();
        int index = 0;
        for (Message m : messages == null ? List.<Message>of() : messages) {
            ArrayNode results = NODES.arrayNode();
            ArrayNode others = NODES.arrayNode();
            for (Part p : m.parts()) {
                switch (p) {
                    case Part.Text t -> {
                        if (!isBlank(t.text())) others.addObject().put("text", t.text());
                    }
                    case Part.Image img -> {
                        ObjectNode n = imagePart(img, dropped);
                        if (n != null) others.add(n);
                    }
                    case Part.ToolCall call -> {
                        namesById.put(call.id(), call.name());
                        CallId id = parseCallId(call.id());
                        ObjectNode part = others.addObject();
                        ObjectNode fc = part.putObject("functionCall");
                        if (id.nativeId() != null) fc.put("id", id.nativeId());
                        fc.put("name", call.name());
                        fc.set("args", toolArgs(call.arguments(), dropped));
                        if (id.signature() != null) part.put("thoughtSignature", id.signature());
                    }
                    case Part.ToolResult r -> {
                        String name = namesById.get(r.callId());
                        if (name == null) {
                            throw new BadRequestException("messages[" + index + "]: tool_call_id '" + r.callId()
                                    + "' matches no earlier assistant tool call; Gemini needs the function's name.",
                                    "messages[" + index + "].tool_call_id");
                        }
                        results.add(functionResponse(r, name, parseCallId(r.callId()).nativeId(), dropped));
                    }
                    case Part.Thinking th -> {
                        // Thought summaries are output only; Gemini carries reasoning state in signatures.
                    }
                    case Part.RedactedThinking rt -> dropped.add("redacted_reasoning");
                }
            }
            index++;
            results.addAll(others); // function responses first, then anything else of the turn
            if (results.isEmpty()) continue; // Gemini rejects empty parts
            String role = m.role() == Message.Role.ASSISTANT ? "model" : "user";
            int last = roles.size() - 1;
            if (last >= 0 && roles.get(last).equals(role)) {
                ArrayNode prev = partsByTurn.get(last);
                if (role.equals("user")) { // keep the turn's function responses ahead of its text
                    ArrayNode merged = NODES.arrayNode();
                    for (JsonNode n : prev) if (n.has("functionResponse")) merged.add(n);
                    for (JsonNode n : results) if (n.has("functionResponse")) merged.add(n);
                    for (JsonNode n : prev) if (!n.has("functionResponse")) merged.add(n);
                    for (JsonNode n : results) if (!n.has("functionResponse")) merged.add(n);
                    partsByTurn.set(last, merged);
                } else {
                    prev.addAll(results);
                }
            } else {
                roles.add(role);
                partsByTurn.add(results);
            }
        }
        ArrayNode contents = NODES.arrayNode();
        for (int i = 0; i < roles.size(); i++) {
            ObjectNode c = contents.addObject();
            c.put("role", roles.get(i));
            c.set("parts", partsByTurn.get(i));
        }
        return contents;
    }

    /**
     * A function result. Gemini wants {@code response} to be a JSON object: a result whose text is a
     * JSON object is sent as that object (as data, untouched); any other text goes under
     * {@code output}, or {@code error} for a failed call (the keys the FunctionResponse reference names).
     */
    private static ObjectNode functionResponse(Part.ToolResult r, String name, String nativeId, Dropped dropped) {
        StringBuilder text = new StringBuilder();
        if (r.content() != null) {
            for (Part p : r.content()) {
                if (p instanceof Part.Text t) text.append(t.text());
                else dropped.add("tool_result.content(" + p.getClass().getSimpleName() + ")");
            }
        }
        ObjectNode response = null;
        String s = text.toString().strip();
        if (s.startsWith("{")) {
            try {
                if (STRICT_READER.readTree(s) instanceof ObjectNode obj) response = obj;
            } catch (JsonProcessingException e) {
                // plain text after all
            }
        }
        if (response == null || r.isError()) {
            ObjectNode wrapped = NODES.objectNode();
            if (response != null) wrapped.set("error", response);
            else wrapped.put(r.isError() ? "error" : "output", text.toString());
            response = wrapped;
        }
        ObjectNode part = NODES.objectNode();
        ObjectNode fr = part.putObject("functionResponse");
        if (nativeId != null) fr.put("id", nativeId);
        fr.put("name", name);
        fr.set("response", response);
        return part;
    }

    private static ObjectNode toolArgs(String arguments, Dropped dropped) {
        if (isBlank(arguments)) return NODES.objectNode();
        try {
            if (STRICT_READER.readTree(arguments) instanceof ObjectNode obj) return obj;
        } catch (JsonProcessingException e) {
            // fall through
        }
        dropped.add("tool_calls.arguments(invalid JSON)");
        return NODES.objectNode();
    }

    /**
     * An image: inline data as {@code inlineData}, a URL as {@code fileData.fileUri}. Gemini reads
     * {@code fileUri} for files uploaded through its Files API and for some public URLs; a URL it cannot
     * fetch fails upstream with its own error (Skiff does not fetch and inline images here).
     */
    private static ObjectNode imagePart(Part.Image img, Dropped dropped) {
        ObjectNode part = NODES.objectNode();
        if (img.detail() != null) dropped.add("image_url.detail");
        if (img.data() != null && !img.data().isEmpty()) {
            part.putObject("inlineData").put("mimeType", img.mediaType()).put("data", img.data());
            return part;
        }
        String url = img.url();
        if (url == null || url.isEmpty()) {
            dropped.add("image_url(empty)");
            return null;
        }
        if (url.startsWith("data:")) {
            int comma = url.indexOf(',');
            String meta = comma < 0 ? "" : url.substring(5, comma);
            if (comma < 0 || !meta.endsWith(";base64")) {
                dropped.add("image_url(unsupported data URL)");
                return null;
            }
            part.putObject("inlineData").put("mimeType", meta.substring(0, meta.length() - 7)).put("data", url.substring(comma + 1));
            return part;
        }
        ObjectNode fd = part.putObject("fileData");
        String mime = mimeFromUrl(url);
        if (mime != null) fd.put("mimeType", mime);
        fd.put("fileUri", url);
        return part;
    }

    private static String mimeFromUrl(String url) {
        String path = url.toLowerCase(Locale.ROOT);
        int q = path.indexOf('?');
        if (q >= 0) path = path.substring(0, q);
        if (path.endsWith(".png")) return "image/png";
        if (path.endsWith(".jpg") || path.endsWith(".jpeg")) return "image/jpeg";
        if (path.endsWith(".webp")) return "image/webp";
        if (path.endsWith(".gif")) return "image/gif";
        if (path.endsWith(".heic")) return "image/heic";
        if (path.endsWith(".heif")) return "image/heif";
        return null;
    }

    /**
     * Tools and tool choice (conformance 7): auto -> AUTO, none -> NONE, required -> ANY, a named
     * function -> ANY with {@code allowedFunctionNames}. Gemini has no switch for parallel calls, so
     * {@code parallel_tool_calls:false} is reported as dropped.
     */
    private static void renderTools(ChatRequest request, ObjectNode out, Dropped dropped) {
        List<ChatRequest.Tool> tools = request.tools();
        if (tools == null || tools.isEmpty()) return;
        ArrayNode decls = out.putArray("tools").addObject().putArray("functionDeclarations");
        for (ChatRequest.Tool t : tools) {
            ObjectNode d = decls.addObject();
            d.put("name", t.name());
            if (t.description() != null) d.put("description", t.description());
            JsonNode params = t.parameters() == null ? null : cleanSchema(t.parameters());
            // An empty or property-less object schema is left out: the function takes no parameters.
            if (params != null && params.isObject() && !params.isEmpty()
                    && !("object".equals(params.path("type").asText()) && params.path("properties").isEmpty() && !params.has("anyOf"))) {
                d.set("parameters", params);
            }
            if (t.strict() != null) dropped.add("tools.function.strict");
            if (t.cacheControl() != null && !t.cacheControl().isNull()) dropped.add("tools.cache_control");
        }
        if (Boolean.FALSE.equals(request.parallelToolCalls())) dropped.add("parallel_tool_calls");
        ObjectNode config = switch (request.toolChoice()) {
            case null -> null;
            case ChatRequest.ToolChoice.Auto a -> NODES.objectNode().put("mode", "AUTO");
            case ChatRequest.ToolChoice.None n -> NODES.objectNode().put("mode", "NONE");
            case ChatRequest.ToolChoice.Required r -> NODES.objectNode().put("mode", "ANY");
            case ChatRequest.ToolChoice.Named n -> {
                ObjectNode c = NODES.objectNode().put("mode", "ANY");
                c.putArray("allowedFunctionNames").add(n.name());
                yield c;
            }
        };
        if (config != null) out.putObject("toolConfig").set("functionCallingConfig", config);
    }

    private static void renderSampling(ChatRequest.Sampling s, ObjectNode gen) {
        if (s.temperature() != null) gen.put("temperature", s.temperature());
        if (s.topP() != null) gen.put("topP", s.topP());
        if (s.topK() != null) gen.put("topK", s.topK());
        if (s.seed() != null) gen.put("seed", (int) (long) s.seed()); // int32 in Gemini
        if (s.maxTokens() != null) gen.put("maxOutputTokens", s.maxTokens());
        if (s.stop() != null && !s.stop().isEmpty()) {
            ArrayNode stops = gen.putArray("stopSequences");
            s.stop().forEach(stops::add);
        }
        if (s.presencePenalty() != null) gen.put("presencePenalty", s.presencePenalty());
        if (s.frequencyPenalty() != null) gen.put("frequencyPenalty", s.frequencyPenalty());
    }

    /** Structured output (conformance 27): JSON mode via {@code responseMimeType}, a schema via {@code responseSchema}. */
    private static void renderResponseFormat(ChatRequest.ResponseFormat rf, ObjectNode gen, Dropped dropped) {
        if (rf == null || rf.type() == null || rf.type().equals("text")) return;
        switch (rf.type()) {
            case "json_object" -> gen.put("responseMimeType", "application/json");
            case "json_schema" -> {
                gen.put("responseMimeType", "application/json");
                if (rf.schema() != null && !rf.schema().isNull()) gen.set("responseSchema", cleanSchema(rf.schema()));
            }
            default -> dropped.add("response_format");
        }
    }

    /**
     * Reasoning (conformance 14). Gemini 2.5 takes a token budget, Gemini 3 a level (docs: "Gemini
     * thinking"); both come with {@code includeThoughts:true} so thought summaries come back as
     * reasoning. Nearest values, valid for every model of the family (2.5 Pro 128..32768, 2.5 Flash
     * 0..24576, 2.5 Flash-Lite 512..24576; Gemini 3 Pro takes only low and high):
     * <pre>
     *   effort     thinkingBudget (2.5, others)   thinkingLevel (gemini-3*)
     *   none       0  (no thinking; 2.5 Pro refuses 0)   low  (cannot be turned off)
     *   minimal    512                                   low
     *   low        1024                                  low
     *   medium     8192                                  high
     *   high       24576                                 high
     *   xhigh      24576 (Flash's maximum)               high
     *   other      -1 (dynamic)                          (level left to the model)
     * </pre>
     * An explicit budget wins (sent as is). With no budget and no thinking ("none" on 2.5),
     * includeThoughts is not sent.
     */
    static ObjectNode thinkingConfig(ChatRequest.Reasoning reasoning, String model) {
        if (reasoning == null) return null;
        ObjectNode tc = NODES.objectNode();
        if (reasoning.budgetTokens() != null) {
            tc.put("thinkingBudget", reasoning.budgetTokens());
            if (reasoning.budgetTokens() != 0) tc.put("includeThoughts", true);
            return tc;
        }
        if (reasoning.effort() == null) return null;
        String effort = reasoning.effort().toLowerCase(Locale.ROOT);
        boolean gemini3 = model != null && model.toLowerCase(Locale.ROOT).replace("models/", "").startsWith("gemini-3");
        if (gemini3) {
            String level = switch (effort) {
                case "none", "minimal", "low" -> "low";
                case "medium", "high", "xhigh" -> "high";
                default -> null;
            };
            if (level != null) tc.put("thinkingLevel", level);
            tc.put("includeThoughts", true);
            return tc;
        }
        int budget = switch (effort) {
            case "none" -> 0;
            case "minimal" -> 512;
            case "low" -> 1024;
            case "medium" -> 8192;
            case "high", "xhigh" -> 24576;
            default -> -1;
        };
        tc.put("thinkingBudget", budget);
        if (budget != 0) tc.put("includeThoughts", true);
        return tc;
    }

    // ------------------------------------------------------------------------------------------------
    // Schemas (conformance 8)
    // ------------------------------------------------------------------------------------------------

    /** Schema keywords Gemini's Schema object (an OpenAPI 3.0 subset) takes; every other keyword is removed. */
    private static final Set<String> SCHEMA_KEYS = Set.of("type", "format", "description", "nullable", "enum", "items",
            "properties", "required", "minItems", "maxItems", "minimum", "maximum", "minLength", "maxLength", "pattern",
            "anyOf", "propertyOrdering", "minProperties", "maxProperties");
    private static final int MAX_REF_DEPTH = 16;

    /**
     * A JSON schema as Gemini takes it: {@code $ref}s to {@code $defs}/{@code definitions} inlined (a
     * recursive reference ends as a bare {@code {type:object}} after a few levels), {@code const} ->
     * {@code enum:[v]}, {@code type:[X,"null"]} and {@code anyOf:[X,{type:null}]} -> X with
     * {@code nullable:true}, and unsupported keywords ({@code additionalProperties}, {@code $schema},
     * {@code title}, {@code examples}, {@code default}, ...) removed. Property names are data and kept.
     */
    public static JsonNode cleanSchema(JsonNode schema) {
        JsonNode defs = NODES.objectNode();
        if (schema.isObject()) {
            ObjectNode all = NODES.objectNode();
            if (schema.path("definitions").isObject()) all.setAll((ObjectNode) schema.get("definitions"));
            if (schema.path("$defs").isObject()) all.setAll((ObjectNode) schema.get("$defs"));
            defs = all;
        }
        return clean(schema, defs, 0);
    }

    private static JsonNode clean(JsonNode s, JsonNode defs, int depth) {
        if (!s.isObject()) return s.isBoolean() ? NODES.objectNode() : s;
        if (s.has("$ref")) {
            String ref = s.get("$ref").asText("");
            int slash = ref.lastIndexOf('/');
            JsonNode target = slash >= 0 ? defs.get(ref.substring(slash + 1)) : null;
            if (target == null || depth >= MAX_REF_DEPTH) return NODES.objectNode().put("type", "object");
            ObjectNode merged = ((ObjectNode) target).deepCopy();
            s.properties().forEach(e -> { // sibling keywords (e.g. description) next to the $ref
                if (!e.getKey().equals("$ref")) merged.set(e.getKey(), e.getValue());
            });
            return clean(merged, defs, depth + 1);
        }
        ObjectNode out = NODES.objectNode();
        boolean nullable = false;
        JsonNode type = s.get("type");
        if (type != null && type.isArray()) {
            List<String> types = new ArrayList<>();
            for (JsonNode t : type) {
                if ("null".equals(t.asText())) nullable = true;
                else types.add(t.asText());
            }
            if (types.size() == 1) {
                out.put("type", types.getFirst());
            } else if (types.size() > 1) {
                ArrayNode any = out.putArray("anyOf");
                for (String t : types) any.addObject().put("type", t);
            }
        } else if (type != null && "null".equals(type.asText())) {
            nullable = true;
        } else if (type != null) {
            out.set("type", type);
        }
        JsonNode anyOf = s.has("anyOf") ? s.get("anyOf") : s.get("oneOf");
        if (anyOf != null && anyOf.isArray()) {
            List<JsonNode> members = new ArrayList<>();
            for (JsonNode m : anyOf) {
                if ("null".equals(m.path("type").asText()) && m.size() == 1) nullable = true;
                else members.add(clean(m, defs, depth));
            }
            if (members.size() == 1 && members.getFirst().isObject()) {
                ((ObjectNode) members.getFirst()).properties().forEach(e -> {
                    if (!out.has(e.getKey())) out.set(e.getKey(), e.getValue());
                });
            } else if (!members.isEmpty()) {
                out.putArray("anyOf").addAll(members);
            }
        }
        if (s.has("const") && !s.has("enum")) {
            JsonNode c = s.get("const");
            out.putArray("enum").add(c.isTextual() ? c.asText() : c.toString());
            if (!out.has("type") && c.isTextual()) out.put("type", "string");
        }
        for (var e : s.properties()) {
            String key = e.getKey();
            JsonNode v = e.getValue();
            if (!SCHEMA_KEYS.contains(key) || key.equals("type") || key.equals("anyOf")) continue;
            switch (key) {
                case "properties" -> {
                    ObjectNode props = out.putObject("properties");
                    v.properties().forEach(p -> props.set(p.getKey(), clean(p.getValue(), defs, depth)));
                }
                case "items" -> out.set("items", clean(v, defs, depth));
                case "enum" -> {
                    ArrayNode values = out.putArray("enum");
                    for (JsonNode x : v) if (!x.isNull()) values.add(x.isTextual() ? x.asText() : x.toString());
                    if (v.size() != values.size()) nullable = true;
                }
                default -> out.set(key, v);
            }
        }
        if (nullable || s.path("nullable").asBoolean(false)) out.put("nullable", true);
        return out;
    }

    // ------------------------------------------------------------------------------------------------
    // Response
    // ------------------------------------------------------------------------------------------------

    /** GenerateContentResponse -> IR. Tool-call ids are made as the class comment describes. */
    public static ChatResponse parseResponse(JsonNode body) {
        String responseId = textOrNull(body, "responseId");
        JsonNode candidate = body.path("candidates").path(0);
        List<Part> parts = new ArrayList<>();
        boolean calls = parseParts(candidate.path("content").path("parts"), responseId, 0, parts) > 0;
        String raw = textOrNull(candidate, "finishReason");
        if (raw == null && candidate.isMissingNode()) raw = textOrNull(body.path("promptFeedback"), "blockReason");
        String id = responseId != null ? "chatcmpl-" + responseId : Ids.hex("chatcmpl-");
        boolean promptBlocked = candidate.isMissingNode() && raw != null;
        FinishReason reason = promptBlocked ? FinishReason.CONTENT_FILTER : finishReason(raw, calls);
        return new ChatResponse(id, textOrNull(body, "modelVersion"), parts, reason, raw, usage(body.get("usageMetadata")));
    }

    /**
     * Adds the IR parts of Gemini {@code parts}; returns how many tool calls it added. {@code firstCall}
     * is the index of the response's first call here (ids hash it). A signature on a part that carries
     * nothing else (an empty text) belongs to the call before it, if that call came without one.
     */
    static int parseParts(JsonNode geminiParts, String responseId, int firstCall, List<Part> out) {
        int calls = 0;
        for (JsonNode p : geminiParts) {
            String sig = textOrNull(p, "thoughtSignature");
            if (p.has("functionCall")) {
                JsonNode fc = p.get("functionCall");
                String name = fc.path("name").asText("");
                String args = compact(fc.get("args"));
                out.add(new Part.ToolCall(toolCallId(responseId, firstCall + calls, name, args, textOrNull(fc, "id"), sig), name, args));
                calls++;
            } else if (p.has("text")) {
                String text = p.get("text").asText("");
                if (p.path("thought").asBoolean(false)) {
                    if (!text.isEmpty()) out.add(new Part.Thinking(text, null));
                } else if (!text.isEmpty()) {
                    out.add(new Part.Text(text));
                } else if (sig != null && !out.isEmpty() && out.getLast() instanceof Part.ToolCall tc
                           && parseCallId(tc.id()).signature() == null) {
                    out.set(out.size() - 1, new Part.ToolCall(withSignature(tc.id(), sig), tc.name(), tc.arguments()));
                }
            }
            // inlineData, executableCode, codeExecutionResult: no place in an OpenAI chat answer
        }
        return calls;
    }

    /**
     * Gemini finishReason -> normalized reason (conformance 17); the raw word is kept alongside.
     * <pre>
     *   STOP                                   -> stop, or tool_calls when the answer holds function calls
     *   MAX_TOKENS                             -> length
     *   SAFETY, RECITATION, BLOCKLIST, PROHIBITED_CONTENT, SPII, IMAGE_SAFETY,
     *   IMAGE_PROHIBITED_CONTENT, IMAGE_RECITATION                 -> content_filter
     *   MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL, TOO_MANY_TOOL_CALLS, LANGUAGE,
     *   OTHER, FINISH_REASON_UNSPECIFIED, null, unknown            -> stop (raw kept)
     * </pre>
     */
    static FinishReason finishReason(String raw, boolean hasToolCalls) {
        if (raw == null) return hasToolCalls ? FinishReason.TOOL_CALLS : FinishReason.STOP;
        return switch (raw) {
            case "STOP" -> hasToolCalls ? FinishReason.TOOL_CALLS : FinishReason.STOP;
            case "MAX_TOKENS" -> FinishReason.LENGTH;
            case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT",
                 "IMAGE_RECITATION", "IMAGE_OTHER" -> FinishReason.CONTENT_FILTER;
            // Documented reasons with no closer OpenAI equivalent; the raw reason stays available.
            case "OTHER", "FINISH_REASON_UNSPECIFIED", "LANGUAGE", "MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL",
                 "TOO_MANY_TOOL_CALLS", "NO_IMAGE" -> FinishReason.STOP;
            default -> throw new UnknownFinishReasonException("Gemini", raw);
        };
    }

    /**
     * usageMetadata -> usage (conformance 22, 23). {@code promptTokenCount} already includes cached
     * tokens ({@code cachedContentTokenCount} is a subset, like OpenAI's cached_tokens); tool-use prompt
     * tokens are input too. Thoughts are billed as output but not counted in
     * {@code candidatesTokenCount}: completion = candidates + thoughts, reasoning = thoughts.
     */
    static Usage usage(JsonNode u) {
        if (u == null || !u.isObject()) return Usage.NONE;
        long prompt = count(u, "promptTokenCount");
        long toolPrompt = count(u, "toolUsePromptTokenCount");
        long candidates = count(u, "candidatesTokenCount");
        long thoughts = count(u, "thoughtsTokenCount");
        long cached = count(u, "cachedContentTokenCount");
        long total = count(u, "totalTokenCount");
        long promptAll = prompt < 0 && toolPrompt < 0 ? -1 : Math.max(prompt, 0) + Math.max(toolPrompt, 0);
        long completion = candidates < 0 && thoughts < 0 ? (promptAll >= 0 ? 0 : -1) : Math.max(candidates, 0) + Math.max(thoughts, 0);
        if (total < 0 && promptAll >= 0) total = promptAll + Math.max(completion, 0);
        return new Usage(promptAll, completion, total, cached, thoughts);
    }

    // ------------------------------------------------------------------------------------------------
    // Errors
    // ------------------------------------------------------------------------------------------------

    /**
     * A Gemini error body ({@code {"error":{"code","message","status"}}}, sometimes wrapped in an
     * array) -> its status word and message; other shapes give the raw text.
     */
    public static ErrorInfo parseError(int status, String body) {
        if (isBlank(body)) return new ErrorInfo("upstream_error", "upstream returned HTTP " + status + " with no body");
        JsonNode root;
        try {
            root = STRICT_READER.readTree(body);
        } catch (JsonProcessingException e) {
            return new ErrorInfo("upstream_error", body.length() > 2000 ? body.substring(0, 2000) + "..." : body);
        }
        if (root != null && root.isArray() && !root.isEmpty()) root = root.get(0);
        JsonNode err = root == null ? null : root.get("error");
        if (err != null && err.isObject()) {
            String message = textOrNull(err, "message");
            String code = textOrNull(err, "status");
            return new ErrorInfo(code != null ? code : "upstream_error", message != null ? message : body);
        }
        return new ErrorInfo("upstream_error", body);
    }

    // ------------------------------------------------------------------------------------------------

    static String compact(JsonNode input) {
        if (input == null || input.isNull() || input.isMissingNode()) return "{}";
        try {
            return MAPPER.writeValueAsString(input);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize a JSON tree", e);
        }
    }
}
