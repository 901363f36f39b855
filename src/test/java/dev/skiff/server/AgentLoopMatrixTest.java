package dev.skiff.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.provider.bedrock.EventStreamEncoder;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.Sse;
import dev.skiff.testing.TestGateway;
import java.io.ByteArrayOutputStream;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 10's loops, one matrix: each client shape runs two turns (tool call, then final text) through
 * Skiff to each upstream type. Every mock refuses a second turn whose tool result does not name the
 * call of the first, or that lacks the assistant turn holding that call, so a loop that completes
 * proves the translation carried the conversation. Conformance 40 (every loop to every provider
 * type) and 39 ({@code item_reference} in {@link #aiSdkStoredLoop}).
 */
class AgentLoopMatrixTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String BEDROCK_MODEL = "anthropic.claude-sonnet-4-5-v1:0";
    static final String MID_BETA = "mid-conversation-system-2026-04-07";
    static final String TOOL_OUTPUT = "a.txt b.txt";
    static final String GROQ_MODEL = "openai/gpt-oss-120b";
    static final String VLLM_MODEL = "Qwen/Qwen3-8B";
    static final String COMPAT_REASONING = "Listing needs ls.";

    MockUpstream openai;
    MockUpstream anthropic;
    MockUpstream gemini;
    MockUpstream bedrock;
    MockUpstream groq;
    MockUpstream vllm;
    TestGateway gw;

    @BeforeEach
    void setUp() throws Exception {
        openai = new MockUpstream().models("gpt-4o-mini");
        anthropic = new MockUpstream().models("claude-sonnet-4-5");
        gemini = new MockUpstream();
        gemini.on("/v1/models", (req, reply) -> reply.json(200, "{\"models\":[{\"name\":\"models/gemini-2.5-flash\"}]}"));
        bedrock = new MockUpstream();
        String bedrockBase = bedrock.baseUrl().substring(0, bedrock.baseUrl().length() - "/v1".length());
        strictOpenAi();
        strictOpenAiResponses();
        strictAnthropic();
        strictGemini();
        strictBedrock();
        groq = new MockUpstream().models(GROQ_MODEL);
        vllm = new MockUpstream().models(VLLM_MODEL);
        strictCompatible(groq, true);
        strictCompatible(vllm, false);
        gw = TestGateway.start(
                "GROQ_API_KEY", "gsk-groq", "GROQ_BASE_URL", groq.baseUrl(),
                "VLLM_BASE_URL", vllm.baseUrl(),
                "OPENAI_API_KEY", "sk-openai", "OPENAI_BASE_URL", openai.baseUrl(),
                "ANTHROPIC_API_KEY", "sk-ant", "ANTHROPIC_BASE_URL", anthropic.baseUrl(),
                "GEMINI_API_KEY", "g-key", "GEMINI_BASE_URL", gemini.baseUrl(),
                "BEDROCK_API_KEY", "br-key", "BEDROCK_BASE_URL", bedrockBase, "BEDROCK_MODELS", BEDROCK_MODEL).awaitListings();
    }

    @AfterEach
    void tearDown() {
        gw.close();
        openai.close();
        anthropic.close();
        gemini.close();
        bedrock.close();
        groq.close();
        vllm.close();
    }

    static String model(String upstream) {
        return switch (upstream) {
            case "openai" -> "openai/gpt-4o-mini";
            case "anthropic" -> "anthropic/claude-sonnet-4-5";
            case "gemini" -> "gemini-2.5-flash";
            case "bedrock" -> "bedrock/" + BEDROCK_MODEL;
            case "groq" -> "groq/" + GROQ_MODEL;
            case "vllm" -> "vllm/" + VLLM_MODEL;
            default -> throw new IllegalArgumentException(upstream);
        };
    }

    MockUpstream mock(String upstream) {
        return switch (upstream) {
            case "openai" -> openai;
            case "anthropic" -> anthropic;
            case "gemini" -> gemini;
            case "groq" -> groq;
            case "vllm" -> vllm;
            default -> bedrock;
        };
    }

    /** What the mock of {@code upstream} received last, as JSON. */
    JsonNode lastSent(String upstream) {
        List<MockUpstream.Received> all = mock(upstream).receivedSoFar();
        for (int i = all.size() - 1; i >= 0; i--) {
            MockUpstream.Received r = all.get(i);
            if (r.method().equals("POST")) {
                try {
                    return JSON.readTree(r.body());
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            }
        }
        throw new AssertionError("nothing posted to " + upstream);
    }

    static void refuse(MockUpstream.Reply reply, String why) throws java.io.IOException {
        reply.json(400, JSON.createObjectNode().set("error", JSON.createObjectNode().put("message", "mock: " + why)).toString());
    }

    // ---- strict mocks ----

    void strictOpenAi() {
        openai.on("/v1/chat/completions", (req, reply) -> {
            JsonNode body = JSON.readTree(req.body());
            JsonNode msgs = body.get("messages");
            JsonNode tool = null;
            JsonNode assistant = null;
            for (JsonNode m : msgs) {
                if (m.path("role").asText().equals("tool")) tool = m;
                if (m.path("role").asText().equals("assistant") && m.has("tool_calls")) assistant = m;
            }
            if (tool != null) {
                if (assistant == null) { refuse(reply, "tool message without the assistant turn that called it"); return; }
                if (!tool.path("tool_call_id").asText().equals(assistant.at("/tool_calls/0/id").asText())
                        || !assistant.at("/tool_calls/0/id").asText().equals("call_1")) {
                    refuse(reply, "tool_call_id does not match the call"); return;
                }
            }
            boolean stream = body.path("stream").asBoolean(false);
            String head = "{\"id\":\"c1\",\"object\":\"chat.completion%s\",\"created\":1,\"model\":\"gpt-4o-mini-2024-07-18\",";
            if (stream) {
                reply.startStream();
                String h = "data: " + head.formatted(".chunk");
                if (tool == null) {
                    reply.chunk(h + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"Bash\",\"arguments\":\"{\\\"command\\\":\\\"ls\\\"}\"}}]},\"finish_reason\":null}]}\n\n");
                    reply.chunk(h + "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n");
                } else {
                    reply.chunk(h + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Two files.\"},\"finish_reason\":null}]}\n\n");
                    reply.chunk(h + "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n");
                }
                reply.chunk(h + "\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}\n\n");
                reply.chunk("data: [DONE]\n\n");
            } else if (tool == null) {
                reply.json(200, head.formatted("") + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,"
                        + "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"Bash\",\"arguments\":\"{\\\"command\\\":\\\"ls\\\"}\"}}]},"
                        + "\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}");
            } else {
                reply.json(200, head.formatted("") + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Two files.\"},"
                        + "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}");
            }
        });
    }

    static final String OPENAI_SEALED = "gAAAAABopenai-sealed-reasoning==";

    /**
     * OpenAI's Responses API, which Skiff relays as it is: like OpenAI it keeps what it answered (and
     * the input items it was given with ids) unless told {@code store:false}, resolves
     * {@code item_reference} inputs and {@code previous_response_id} against that, and refuses an
     * unknown one, or a {@code function_call_output} whose call is not in the conversation, or
     * sealed reasoning it did not issue.
     */
    void strictOpenAiResponses() {
        java.util.Map<String, JsonNode> items = new java.util.concurrent.ConcurrentHashMap<>();
        java.util.Map<String, List<JsonNode>> conversations = new java.util.concurrent.ConcurrentHashMap<>();
        java.util.concurrent.atomic.AtomicInteger ids = new java.util.concurrent.atomic.AtomicInteger();
        openai.on("/v1/responses", (req, reply) -> {
            JsonNode body = JSON.readTree(req.body());
            List<JsonNode> conversation = new ArrayList<>();
            if (body.hasNonNull("previous_response_id")) {
                List<JsonNode> before = conversations.get(body.get("previous_response_id").asText());
                if (before == null) { refuse(reply, "Previous response with id '" + body.get("previous_response_id").asText() + "' not found."); return; }
                conversation.addAll(before);
            }
            JsonNode input = body.get("input");
            if (input.isTextual()) input = JSON.createArrayNode().add(JSON.createObjectNode().put("role", "user").put("content", input.asText()));
            for (JsonNode item : input) {
                if (item.path("type").asText().equals("item_reference")) {
                    JsonNode found = items.get(item.path("id").asText());
                    if (found == null) { refuse(reply, "Item with id '" + item.path("id").asText() + "' not found."); return; }
                    item = found;
                }
                if (item.path("type").asText().equals("reasoning") && !item.path("encrypted_content").asText().equals(OPENAI_SEALED)) {
                    refuse(reply, "The encrypted content for item " + item.path("id").asText() + " could not be verified."); return;
                }
                if (item.path("type").asText().equals("function_call_output")) {
                    String callId = item.path("call_id").asText();
                    if (conversation.stream().noneMatch(c -> c.path("type").asText().equals("function_call") && c.path("call_id").asText().equals(callId))) {
                        refuse(reply, "No tool call found for function call output with call_id " + callId + "."); return;
                    }
                    if (!item.path("output").asText().contains(TOOL_OUTPUT)) { refuse(reply, "mock: the tool output was altered"); return; }
                }
                conversation.add(item);
            }
            boolean answered = conversation.stream().anyMatch(c -> c.path("type").asText().equals("function_call_output"));
            boolean store = body.path("store").asBoolean(true);
            int n = ids.incrementAndGet();
            ArrayNode output = JSON.createArrayNode();
            if (!answered) {
                if (body.has("reasoning")) {
                    ObjectNode r = output.addObject().put("type", "reasoning").put("id", "rs_o" + n);
                    r.putArray("summary").addObject().put("type", "summary_text").put("text", "Listing needs ls.");
                    if (body.path("include").toString().contains("reasoning.encrypted_content")) r.put("encrypted_content", OPENAI_SEALED);
                }
                output.addObject().put("type", "function_call").put("id", "fc_o" + n).put("call_id", "call_o" + n).put("name", "Bash")
                        .put("arguments", "{\"command\":\"ls\"}").put("status", "completed");
            } else {
                ObjectNode m = output.addObject().put("type", "message").put("id", "msg_o" + n).put("role", "assistant").put("status", "completed");
                m.putArray("content").addObject().put("type", "output_text").put("text", "Two files.").putArray("annotations");
            }
            String id = "resp_o" + n;
            ObjectNode response = JSON.createObjectNode().put("id", id).put("object", "response").put("created_at", 1).put("status", "completed")
                    .put("model", "gpt-4o-mini-2024-07-18");
            response.set("output", output);
            response.set("usage", JSON.readTree("{\"input_tokens\":9,\"input_tokens_details\":{\"cached_tokens\":0},\"output_tokens\":3,"
                    + "\"output_tokens_details\":{\"reasoning_tokens\":0},\"total_tokens\":12}"));
            if (store) {
                for (JsonNode item : input) if (item.hasNonNull("id") && !item.path("type").asText().equals("item_reference")) items.put(item.get("id").asText(), item);
                for (JsonNode item : output) items.put(item.get("id").asText(), item);
                List<JsonNode> all = new ArrayList<>(conversation);
                output.forEach(all::add);
                conversations.put(id, all);
            }
            if (!body.path("stream").asBoolean(false)) {
                reply.json(200, response.toString());
                return;
            }
            reply.startStream();
            ObjectNode created = response.deepCopy().put("status", "in_progress");
            created.putArray("output");
            int seq = 0;
            reply.chunk("event: response.created\ndata: " + JSON.createObjectNode().put("type", "response.created").put("sequence_number", seq++)
                    .set("response", created) + "\n\n");
            for (int i = 0; i < output.size(); i++) {
                for (String type : List.of("response.output_item.added", "response.output_text.delta", "response.output_item.done")) {
                    ObjectNode e = JSON.createObjectNode().put("type", type).put("sequence_number", seq++).put("output_index", i);
                    if (type.endsWith("delta")) {
                        if (!output.get(i).path("type").asText().equals("message")) continue;
                        e.put("item_id", output.get(i).get("id").asText()).put("content_index", 0).put("delta", "Two files.");
                    } else {
                        e.set("item", output.get(i));
                    }
                    reply.chunk("event: " + type + "\ndata: " + e + "\n\n");
                }
            }
            reply.chunk("event: response.completed\ndata: " + JSON.createObjectNode().put("type", "response.completed").put("sequence_number", seq)
                    .set("response", response) + "\n\n");
        });
    }

    /** What an OpenAI-compatible server accepts at the top of a chat request (Groq's documented set; vLLM takes more). */
    static final java.util.Set<String> COMPAT_TOP = java.util.Set.of("model", "messages", "tools", "tool_choice", "parallel_tool_calls",
            "stream", "stream_options", "max_tokens", "max_completion_tokens", "temperature", "top_p", "stop", "seed",
            "response_format", "reasoning_effort", "reasoning_format", "include_reasoning", "user", "frequency_penalty",
            "presence_penalty", "n", "service_tier", "metadata");
    static final java.util.Set<String> ASSISTANT_KEYS = java.util.Set.of("role", "content", "tool_calls");

    /**
     * A chat-only OpenAI-compatible server. {@code groq}: as strict as Groq, which refuses any member
     * it does not know ("property 'reasoning_content' is unsupported", and {@code messages[].name})
     * and answers its reasoning in {@code reasoning}; otherwise as vLLM, which answers in
     * {@code reasoning_content} and reads it back into its chat template (the tests check it came
     * back where the client gave it; the mock refuses it altered).
     */
    void strictCompatible(MockUpstream server, boolean groqFlavour) {
        server.on("/v1/chat/completions", (req, reply) -> {
            JsonNode body = JSON.readTree(req.body());
            for (var it = body.fieldNames(); it.hasNext(); ) {
                String f = it.next();
                if (groqFlavour && !COMPAT_TOP.contains(f)) { refuse(reply, "property '" + f + "' is unsupported"); return; }
            }
            // Groq documents 400s for logprobs, logit_bias, top_logprobs, messages[].name (refused above as unknown) and n other than 1
            if (groqFlavour && body.has("n") && body.get("n").asInt() != 1) { refuse(reply, "'n' : value must be at most 1"); return; }
            if (!body.path("messages").isArray() || body.get("messages").isEmpty()) { refuse(reply, "messages: required"); return; }
            JsonNode tool = null;
            JsonNode assistant = null;
            int i = 0;
            for (JsonNode m : body.get("messages")) {
                String role = m.path("role").asText();
                if (!java.util.Set.of("system", "user", "assistant", "tool", "developer").contains(role)) {
                    refuse(reply, "messages." + i + ".role: unknown role " + role); return;
                }
                for (var it = m.fieldNames(); it.hasNext(); ) {
                    String f = it.next();
                    boolean known = switch (role) {
                        case "assistant" -> ASSISTANT_KEYS.contains(f) || (!groqFlavour && f.equals("reasoning_content"));
                        case "tool" -> f.equals("role") || f.equals("content") || f.equals("tool_call_id");
                        default -> f.equals("role") || f.equals("content");
                    };
                    if (!known && groqFlavour) {
                        refuse(reply, "'messages." + i + "' : for 'role:" + role + "' the following must be satisfied[('messages." + i
                                + "' : property '" + f + "' is unsupported)]"); return;
                    }
                }
                if (role.equals("assistant") && m.has("tool_calls")) {
                    assistant = m;
                    for (JsonNode c : m.get("tool_calls")) {
                        if (!c.path("type").asText().equals("function") || !c.at("/function/arguments").isTextual()) {
                            refuse(reply, "messages." + i + ".tool_calls: function with string arguments required"); return;
                        }
                    }
                    if (!groqFlavour && m.has("reasoning_content") && !m.path("reasoning_content").asText().equals(COMPAT_REASONING)) {
                        refuse(reply, "mock vLLM: the tool-call turn came back with reasoning_content that is not the one answered"); return;
                    }
                }
                if (role.equals("tool")) {
                    if (assistant == null) { refuse(reply, "messages." + i + ": tool message without a preceding tool_calls turn"); return; }
                    tool = m;
                }
                i++;
            }
            if (tool != null && (!tool.path("tool_call_id").asText().equals("call_1")
                    || !assistant.at("/tool_calls/0/id").asText().equals("call_1") || !tool.path("content").asText().contains(TOOL_OUTPUT))) {
                refuse(reply, "tool_call_id does not match the call"); return;
            }
            String reasoningField = groqFlavour ? "reasoning" : "reasoning_content";
            String model = groqFlavour ? GROQ_MODEL : VLLM_MODEL;
            String head = "{\"id\":\"chatcmpl-c\",\"object\":\"chat.completion%s\",\"created\":1,\"model\":\"" + model + "\",";
            String usage = "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}";
            if (body.path("stream").asBoolean(false)) {
                reply.startStream();
                String h = "data: " + head.formatted(".chunk");
                if (tool == null) {
                    reply.chunk(h + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"" + reasoningField + "\":\"Listing \"},\"finish_reason\":null}]}\n\n");
                    reply.chunk(h + "\"choices\":[{\"index\":0,\"delta\":{\"" + reasoningField + "\":\"needs ls.\"},\"finish_reason\":null}]}\n\n");
                    reply.chunk(h + "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"Bash\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n");
                    reply.chunk(h + "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"command\\\":\\\"ls\\\"}\"}}]},\"finish_reason\":null}]}\n\n");
                    reply.chunk(h + "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n");
                } else {
                    reply.chunk(h + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Two files.\"},\"finish_reason\":null}]}\n\n");
                    reply.chunk(h + "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n");
                }
                reply.chunk(h + "\"choices\":[]," + usage + "}\n\n");
                reply.chunk("data: [DONE]\n\n");
            } else if (tool == null) {
                reply.json(200, head.formatted("") + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,\""
                        + reasoningField + "\":\"" + COMPAT_REASONING + "\","
                        + "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"Bash\",\"arguments\":\"{\\\"command\\\":\\\"ls\\\"}\"}}]},"
                        + "\"finish_reason\":\"tool_calls\"}]," + usage + "}");
            } else {
                reply.json(200, head.formatted("") + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Two files.\"},"
                        + "\"finish_reason\":\"stop\"}]," + usage + "}");
            }
        });
    }

    void strictAnthropic() {
        anthropic.on("/v1/messages", (req, reply) -> {
            JsonNode body = JSON.readTree(req.body());
            // The assistant turn right before the tool result answers it; a later user turn may follow (a second question).
            JsonNode lastAssistant = null;
            JsonNode callingTurn = null;
            JsonNode result = null;
            boolean resultLast = false;
            for (JsonNode m : body.get("messages")) {
                if (m.path("role").asText().equals("assistant")) lastAssistant = m;
                resultLast = false;
                for (JsonNode c : m.path("content")) {
                    if (c.path("type").asText().equals("tool_result")) {
                        result = c;
                        callingTurn = lastAssistant;
                        resultLast = true;
                    }
                }
            }
            boolean thinkingOn = body.at("/thinking/type").asText().equals("enabled");
            if (result != null) {
                if (callingTurn == null || !callingTurn.get("content").findValuesAsText("id").contains("toolu_01A")) {
                    refuse(reply, "tool_result without the assistant tool_use"); return;
                }
                if (!result.path("tool_use_id").asText().equals("toolu_01A")) { refuse(reply, "tool_use_id mismatch"); return; }
                // Anthropic asks for the signed thinking on the turn a tool loop continues (the final assistant turn)
                if (thinkingOn && resultLast && !(callingTurn.at("/content/0/type").asText().equals("thinking")
                        && callingTurn.at("/content/0/signature").asText().equals("EqQBCkYIBxgCKkBsig=="))) {
                    refuse(reply, "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`."); return;
                }
            }
            if (body.path("stream").asBoolean(false)) {
                reply.startStream();
                reply.chunk(result == null ? AgentLoopEndToEndTest.THINK_THEN_TOOL : AgentLoopEndToEndTest.TEXT_ANSWER);
            } else if (result == null) {
                reply.json(200, "{\"id\":\"msg_u\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":["
                        + (thinkingOn ? "{\"type\":\"thinking\",\"thinking\":\"The user wants a listing.\",\"signature\":\"EqQBCkYIBxgCKkBsig==\"}," : "")
                        + "{\"type\":\"tool_use\",\"id\":\"toolu_01A\",\"name\":\"Bash\",\"input\":{\"command\":\"ls\"}}],"
                        + "\"stop_reason\":\"tool_use\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":9,\"output_tokens\":30}}");
            } else {
                reply.json(200, "{\"id\":\"msg_t\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\","
                        + "\"content\":[{\"type\":\"text\",\"text\":\"Two files.\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
                        + "\"usage\":{\"input_tokens\":9,\"output_tokens\":3}}");
            }
        });
    }

    void strictGemini() {
        MockUpstream.Handler h = (req, reply) -> {
            JsonNode body = JSON.readTree(req.body());
            JsonNode call = null;
            JsonNode response = null;
            for (JsonNode c : body.get("contents")) {
                for (JsonNode p : c.path("parts")) {
                    if (p.has("functionCall") && c.path("role").asText().equals("model")) call = p.get("functionCall");
                    if (p.has("functionResponse")) response = p.get("functionResponse");
                }
            }
            if (response != null) {
                if (call == null) { refuse(reply, "functionResponse without the model turn that called it"); return; }
                if (!response.path("name").asText().equals("Bash") || !call.path("name").asText().equals("Bash")
                        || !response.toString().contains(TOOL_OUTPUT)) {
                    refuse(reply, "functionResponse does not answer the call"); return;
                }
            }
            String parts = response == null
                    ? "{\"functionCall\":{\"name\":\"Bash\",\"args\":{\"command\":\"ls\"}}}"
                    : "{\"text\":\"Two files.\"}";
            String answer = "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[" + parts + "]},\"finishReason\":\"STOP\"}],"
                    + "\"usageMetadata\":{\"promptTokenCount\":5,\"candidatesTokenCount\":1,\"totalTokenCount\":6}}";
            if (req.path().contains("stream")) {
                reply.startStream();
                reply.chunk("data: " + answer + "\n\n");
            } else {
                reply.json(200, answer);
            }
        };
        gemini.on("/v1/models/gemini-2.5-flash:generateContent", h);
        gemini.on("/v1/models/gemini-2.5-flash:streamGenerateContent", h);
    }

    static byte[] frames(String... typeAndJson) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < typeAndJson.length; i += 2) {
            out.writeBytes(EventStreamEncoder.encode(EventStreamEncoder.event(typeAndJson[i], typeAndJson[i + 1])));
        }
        return out.toByteArray();
    }

    static final String BEDROCK_THOUGHT = "Claude on Bedrock wants a listing.";
    static final String BEDROCK_SIGNATURE = "BrQBCkYIBxgCKkBsig==";

    /**
     * Converse for a Claude model. With {@code additionalModelRequestFields.thinking} enabled it
     * answers signed reasoning before the tool call, and, as Claude on Bedrock does, refuses a
     * next turn whose tool-calling assistant message does not open with that reasoning (text and
     * signature, unchanged).
     */
    void strictBedrock() {
        MockUpstream.Handler h = (req, reply) -> {
            JsonNode body = JSON.readTree(req.body());
            JsonNode use = null;
            JsonNode result = null;
            JsonNode lastAssistant = null;
            JsonNode callingTurn = null;
            boolean resultLast = false;
            for (JsonNode m : body.get("messages")) {
                if (m.path("role").asText().equals("assistant")) lastAssistant = m;
                resultLast = false;
                for (JsonNode c : m.path("content")) {
                    if (c.has("toolUse") && m.path("role").asText().equals("assistant")) use = c.get("toolUse");
                    if (c.has("toolResult")) {
                        result = c.get("toolResult");
                        callingTurn = lastAssistant;
                        resultLast = true;
                    }
                }
            }
            boolean thinkingOn = body.at("/additionalModelRequestFields/thinking/type").asText().equals("enabled");
            if (result != null) {
                if (use == null) { refuse(reply, "toolResult without the assistant toolUse"); return; }
                if (!result.path("toolUseId").asText().equals("tooluse_1") || !use.path("toolUseId").asText().equals("tooluse_1")) {
                    refuse(reply, "toolUseId mismatch"); return;
                }
                JsonNode opening = callingTurn.at("/content/0/reasoningContent/reasoningText");
                if (thinkingOn && resultLast && !(opening.path("signature").asText().equals(BEDROCK_SIGNATURE)
                        && opening.path("text").asText().equals(BEDROCK_THOUGHT))) {
                    refuse(reply, "The model returned the following errors: messages.1.content.0.type: Expected `thinking` or "
                            + "`redacted_thinking`, but found `tool_use`. When `thinking` is enabled, a final `assistant` message "
                            + "must start with a thinking block"); return;
                }
            }
            boolean think = thinkingOn && result == null;
            if (req.path().endsWith("converse-stream")) {
                reply.startStream("application/vnd.amazon.eventstream");
                List<String> events = new ArrayList<>(List.of("messageStart", "{\"role\":\"assistant\"}"));
                int block = 0;
                if (think) {
                    events.addAll(List.of(
                            "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"reasoningContent\":{\"text\":\"Claude on Bedrock \"}}}",
                            "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"reasoningContent\":{\"text\":\"wants a listing.\"}}}",
                            "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"reasoningContent\":{\"signature\":\"" + BEDROCK_SIGNATURE + "\"}}}",
                            "contentBlockStop", "{\"contentBlockIndex\":0}"));
                    block = 1;
                }
                if (result == null) {
                    events.addAll(List.of(
                            "contentBlockStart", "{\"contentBlockIndex\":" + block + ",\"start\":{\"toolUse\":{\"toolUseId\":\"tooluse_1\",\"name\":\"Bash\"}}}",
                            "contentBlockDelta", "{\"contentBlockIndex\":" + block + ",\"delta\":{\"toolUse\":{\"input\":\"{\\\"command\\\":\\\"ls\\\"}\"}}}",
                            "contentBlockStop", "{\"contentBlockIndex\":" + block + "}",
                            "messageStop", "{\"stopReason\":\"tool_use\"}"));
                } else {
                    events.addAll(List.of(
                            "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Two files.\"}}",
                            "contentBlockStop", "{\"contentBlockIndex\":0}",
                            "messageStop", "{\"stopReason\":\"end_turn\"}"));
                }
                events.addAll(List.of("metadata", "{\"usage\":{\"inputTokens\":10,\"outputTokens\":5,\"totalTokens\":15},\"metrics\":{\"latencyMs\":3}}"));
                reply.chunk(frames(events.toArray(String[]::new)));
            } else {
                String content = result == null
                        ? (think ? "{\"reasoningContent\":{\"reasoningText\":{\"text\":\"" + BEDROCK_THOUGHT + "\",\"signature\":\""
                                + BEDROCK_SIGNATURE + "\"}}}," : "")
                                + "{\"toolUse\":{\"toolUseId\":\"tooluse_1\",\"name\":\"Bash\",\"input\":{\"command\":\"ls\"}}}"
                        : "{\"text\":\"Two files.\"}";
                reply.json(200, "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[" + content + "]}},\"stopReason\":\""
                        + (result == null ? "tool_use" : "end_turn") + "\",\"usage\":{\"inputTokens\":10,\"outputTokens\":5,\"totalTokens\":15},"
                        + "\"metrics\":{\"latencyMs\":3}}");
            }
        };
        bedrock.on("/model/" + BEDROCK_MODEL + "/converse", h);
        bedrock.on("/model/" + BEDROCK_MODEL + "/converse-stream", h);
    }

    // ---- (a) Claude Code ----

    static final String TOOLS_MESSAGES = "[{\"name\":\"Bash\",\"description\":\"Run a command\",\"input_schema\":{\"type\":\"object\","
            + "\"properties\":{\"command\":{\"type\":\"string\"}},\"required\":[\"command\"]}}]";

    /** The assistant content a Messages stream carried, rebuilt as Claude Code rebuilds it to echo. */
    static ArrayNode contentOf(String sse) throws Exception {
        ArrayNode content = JSON.createArrayNode();
        List<StringBuilder> partial = new ArrayList<>();
        for (Sse.Event e : Sse.parse(sse)) {
            JsonNode d = e.data();
            if (d == null) continue;
            switch (d.path("type").asText()) {
                case "content_block_start" -> { content.add(d.get("content_block").deepCopy()); partial.add(new StringBuilder()); }
                case "content_block_delta" -> {
                    int i = d.get("index").asInt();
                    ObjectNode block = (ObjectNode) content.get(i);
                    JsonNode delta = d.get("delta");
                    switch (delta.path("type").asText()) {
                        case "thinking_delta" -> block.put("thinking", block.path("thinking").asText() + delta.get("thinking").asText());
                        case "signature_delta" -> block.put("signature", block.path("signature").asText() + delta.get("signature").asText());
                        case "text_delta" -> block.put("text", block.path("text").asText() + delta.get("text").asText());
                        case "input_json_delta" -> partial.get(i).append(delta.get("partial_json").asText());
                        default -> { }
                    }
                }
                case "content_block_stop" -> {
                    int i = d.get("index").asInt();
                    ObjectNode block = (ObjectNode) content.get(i);
                    if (block.path("type").asText().equals("tool_use") && !partial.get(i).isEmpty()) {
                        block.set("input", JSON.readTree(partial.get(i).toString()));
                    }
                }
                default -> { }
            }
        }
        return content;
    }

    @ParameterizedTest(name = "Claude Code loop to {0}")
    @ValueSource(strings = {"openai", "anthropic", "gemini", "bedrock", "groq", "vllm"})
    void claudeCodeLoop(String upstream) throws Exception {
        String model = model(upstream);
        ObjectNode req = (ObjectNode) JSON.readTree("{\"max_tokens\":4096,\"stream\":true,"
                + "\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":1024},\"tools\":" + TOOLS_MESSAGES + ","
                + "\"system\":[{\"type\":\"text\",\"text\":\"You are Claude Code.\"}],"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"Hello.\"},"
                + "{\"role\":\"system\",\"content\":\"Act mode: commands allowed.\"},"
                + "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"list files\"}]}]}");
        req.put("model", model);
        String[] headers = {"anthropic-version", "2023-06-01", "anthropic-beta", "claude-code-20250219,interleaved-thinking-2025-05-14," + MID_BETA};
        HttpResponse<String> first = gw.post("/v1/messages", req.toString(), headers);
        assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
        ArrayNode content = contentOf(first.body());
        JsonNode toolUse = null;
        for (JsonNode c : content) if (c.path("type").asText().equals("tool_use")) toolUse = c;
        assertThat(toolUse).as("a tool call in %s", first.body()).isNotNull();
        assertThat(toolUse.at("/input/command").asText()).isEqualTo("ls");

        ArrayNode messages = (ArrayNode) req.get("messages");
        messages.addObject().put("role", "assistant").set("content", content);
        messages.addObject().put("role", "user").set("content", JSON.createArrayNode().add(JSON.createObjectNode()
                .put("type", "tool_result").put("tool_use_id", toolUse.get("id").asText()).put("content", TOOL_OUTPUT)));
        HttpResponse<String> second = gw.post("/v1/messages", req.toString(), headers);
        assertThat(second.statusCode()).as(second.body()).isEqualTo(200);
        List<Sse.Event> events = Sse.parse(second.body());
        assertThat(events.getFirst().data().at("/message/model").asText()).isEqualTo(model);
        assertThat(events.getLast().data().path("type").asText()).isEqualTo("message_stop");
        assertThat(second.body()).contains("Two files");

        JsonNode sent = lastSent(upstream);
        assertThat(sent.toString()).contains(TOOL_OUTPUT).contains("list files").contains("Hello.");
        if (upstream.equals("anthropic")) {
            // the signed thinking went back first in the assistant turn (the mock refuses it otherwise)
            assertThat(sent.at("/thinking/type").asText()).isEqualTo("enabled");
            assertThat(sent.toString()).contains("EqQBCkYIBxgCKkBsig==");
        } else if (upstream.equals("gemini") || upstream.equals("bedrock")) {
            // Gemini and Converse have no system role between turns: the mid-conversation system message is folded, and named
            assertThat(second.headers().firstValue("x-skiff-dropped-fields").orElse("")).contains("role:system");
        }
        if (upstream.equals("bedrock")) {
            // Claude on Bedrock: thinking stayed on, its signed reasoning went back ahead of the toolUse
            assertThat(sent.at("/additionalModelRequestFields/thinking/type").asText()).isEqualTo("enabled");
            assertThat(sent.toString()).contains(BEDROCK_SIGNATURE);
        }
        if (upstream.equals("vllm")) assertThat(sent.toString()).contains("\"reasoning_content\":\"" + COMPAT_REASONING + "\"");
    }

    // ---- (b) Codex ----

    static final String TOOLS_RESPONSES = "[{\"type\":\"function\",\"name\":\"Bash\",\"description\":\"Run a command\",\"strict\":false,"
            + "\"parameters\":{\"type\":\"object\",\"properties\":{\"command\":{\"type\":\"string\"}},\"required\":[\"command\"]}}]";

    static JsonNode completed(String sse) throws Exception {
        for (Sse.Event e : Sse.parse(sse)) {
            if (e.data() != null && e.data().path("type").asText().equals("response.completed")) return e.data().get("response");
        }
        throw new AssertionError("no response.completed in " + sse);
    }

    @ParameterizedTest(name = "Codex loop to {0}")
    @ValueSource(strings = {"openai", "anthropic", "gemini", "bedrock", "groq", "vllm"})
    void codexLoop(String upstream) throws Exception {
        ObjectNode req = (ObjectNode) JSON.readTree("{\"stream\":true,\"store\":false,\"instructions\":\"You are Codex.\","
                + "\"reasoning\":{\"effort\":\"medium\",\"summary\":\"auto\"},\"include\":[\"reasoning.encrypted_content\"],"
                + "\"tools\":" + TOOLS_RESPONSES + ",\"tool_choice\":\"auto\",\"parallel_tool_calls\":false,"
                + "\"input\":[{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"list files\"}]}]}");
        req.put("model", model(upstream));
        HttpResponse<String> first = gw.post("/v1/responses", req.toString());
        assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
        JsonNode out = completed(first.body()).get("output");
        ArrayNode input = (ArrayNode) req.get("input");
        String callId = null;
        for (JsonNode item : out) {
            if (item.path("type").asText().equals("function_call")) callId = item.get("call_id").asText();
            if (item.path("type").asText().equals("reasoning") || item.path("type").asText().equals("function_call")) input.add(item);
        }
        assertThat(callId).as("a function_call in %s", out).isNotNull();
        input.addObject().put("type", "function_call_output").put("call_id", callId).put("output", TOOL_OUTPUT);
        HttpResponse<String> second = gw.post("/v1/responses", req.toString());
        assertThat(second.statusCode()).as(second.body()).isEqualTo(200);
        assertThat(completed(second.body()).toString()).contains("Two files");
        JsonNode sent = lastSent(upstream);
        assertThat(sent.toString()).contains(TOOL_OUTPUT).contains("list files");
        if (upstream.equals("anthropic") && sent.at("/thinking/type").asText().equals("enabled")) {
            // thinking on with a tool turn: the strict mock already refused it unless the signed block came back
            assertThat(sent.toString()).contains("EqQBCkYIBxgCKkBsig==");
        }
        if (upstream.equals("openai")) {
            // relayed as it was: OpenAI got its own sealed reasoning back (the mock refuses any other) and named the model
            assertThat(sent.path("model").asText()).isEqualTo("gpt-4o-mini");
            assertThat(sent.toString()).contains(OPENAI_SEALED);
            assertThat(completed(second.body()).path("model").asText()).isEqualTo(model(upstream));
        }
        if (upstream.equals("groq") || upstream.equals("vllm")) {
            // the server's reasoning reached the client as a reasoning item, and the effort went up as chat's own member
            assertThat(out.toString()).contains(COMPAT_REASONING);
            assertThat(sent.path("reasoning_effort").asText()).isEqualTo("medium");
            String dropped = second.headers().firstValue("x-skiff-dropped-fields").orElse("");
            if (upstream.equals("groq")) assertThat(dropped).contains("reasoning_content");
            else assertThat(dropped).doesNotContain("reasoning_content");
        }
    }

    // ---- (c) AI SDK, store on ----

    /** Conformance 39 and 40: the AI SDK's Responses model with store on, later steps by reference or by previous_response_id. */
    @ParameterizedTest(name = "AI SDK stored loop to {0}")
    @ValueSource(strings = {"openai", "anthropic", "gemini", "bedrock", "groq", "vllm"})
    void aiSdkStoredLoop(String upstream) throws Exception {
        for (boolean references : List.of(false, true)) {
            for (boolean stream : List.of(false, true)) {
                ObjectNode req = (ObjectNode) JSON.readTree("{\"store\":true,\"tools\":" + TOOLS_RESPONSES + ","
                        + "\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"list files\"}]}]}");
                req.put("model", model(upstream)).put("stream", stream);
                HttpResponse<String> first = gw.post("/v1/responses", req.toString());
                assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
                JsonNode response = stream ? completed(first.body()) : JSON.readTree(first.body());
                String callId = null;
                ArrayNode input = JSON.createArrayNode();
                for (JsonNode item : response.get("output")) {
                    if (item.path("type").asText().equals("function_call")) callId = item.get("call_id").asText();
                    if (references) input.addObject().put("type", "item_reference").put("id", item.get("id").asText());
                }
                assertThat(callId).isNotNull();
                input.addObject().put("type", "function_call_output").put("call_id", callId).put("output", TOOL_OUTPUT);
                ObjectNode next = JSON.createObjectNode().put("model", model(upstream)).put("store", true).put("stream", stream);
                next.set("tools", JSON.readTree(TOOLS_RESPONSES));
                if (!references) next.put("previous_response_id", response.get("id").asText());
                else input.insert(0, JSON.readTree("{\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"list files\"}]}"));
                next.set("input", input);
                HttpResponse<String> second = gw.post("/v1/responses", next.toString());
                assertThat(second.statusCode()).as("refs=%s stream=%s: %s", references, stream, second.body()).isEqualTo(200);
                assertThat(second.body()).contains("Two files");
                if (upstream.equals("openai")) {
                    // OpenAI keeps its own: the references or previous_response_id went to it as they were (the mock resolves them)
                    assertThat(lastSent(upstream).toString()).contains(TOOL_OUTPUT)
                            .contains(references ? "item_reference" : response.get("id").asText());
                } else {
                    assertThat(lastSent(upstream).toString()).contains(TOOL_OUTPUT).contains("list files");
                }
            }
        }
        HttpResponse<String> unknown = gw.post("/v1/responses", "{\"model\":\"" + model(upstream) + "\",\"store\":true,\"input\":["
                + "{\"type\":\"item_reference\",\"id\":\"fc_does_not_exist\"},"
                + "{\"type\":\"function_call_output\",\"call_id\":\"call_x\",\"output\":\"x\"}]}");
        assertThat(unknown.statusCode()).as(unknown.body()).isEqualTo(400);
    }

    /** The first item of {@code type} in a Responses answer's output, or null. */
    static JsonNode outputItem(JsonNode response, String type) {
        for (JsonNode item : response.path("output")) if (item.path("type").asText().equals(type)) return item;
        return null;
    }

    /**
     * The AI SDK's Responses model as it really sends (bodies recorded from {@code NpmClientLoopTest}'s
     * run of {@code ai} 6 + {@code @ai-sdk/openai} 3 in {@code src/test/resources/clients/}), for
     * machines without Node: a reasoning item and the assistant message go back by
     * {@code item_reference}, the function call inline; then a second user turn. Conformance 39, 40.
     */
    @ParameterizedTest(name = "AI SDK recorded Responses loop to {0}")
    @ValueSource(strings = {"openai", "anthropic", "gemini", "bedrock", "groq", "vllm"})
    void aiSdkRecordedResponsesLoop(String upstream) throws Exception {
        for (boolean stream : List.of(false, true)) {
            String model = model(upstream);
            ObjectNode step1 = (ObjectNode) JSON.readTree(AgentLoopEndToEndTest.client("ai_sdk_responses_step1.json").replace("%MODEL%", model));
            step1.put("stream", stream);
            HttpResponse<String> first = gw.post("/v1/responses", step1.toString());
            assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
            JsonNode answer1 = stream ? completed(first.body()) : JSON.readTree(first.body());
            JsonNode call = outputItem(answer1, "function_call");
            JsonNode reasoning = outputItem(answer1, "reasoning");
            assertThat(call).as("a function call in %s", answer1).isNotNull();

            HttpResponse<String> second = gw.post("/v1/responses", recorded("ai_sdk_responses_step2.json", model, stream, call, reasoning, null));
            assertThat(second.statusCode()).as("stream=%s: %s", stream, second.body()).isEqualTo(200);
            JsonNode answer2 = stream ? completed(second.body()) : JSON.readTree(second.body());
            JsonNode message = outputItem(answer2, "message");
            assertThat(message).as("an answer in %s", answer2).isNotNull();
            assertThat(message.toString()).contains("Two files");

            HttpResponse<String> third = gw.post("/v1/responses", recorded("ai_sdk_responses_turn2.json", model, stream, call, reasoning, message));
            assertThat(third.statusCode()).as("stream=%s: %s", stream, third.body()).isEqualTo(200);
            assertThat(third.body()).contains("Two files");
            assertThat(third.headers().firstValue("x-skiff-dropped-fields").orElse("")).doesNotContain("item_reference");
            JsonNode sent = lastSent(upstream);
            if (upstream.equals("openai")) {
                assertThat(sent.toString()).contains(message.get("id").asText()).contains(TOOL_OUTPUT);
            } else {
                // the referenced answer of the first turn reached the provider, between the tool result and the new question
                assertThat(sent.toString()).contains(TOOL_OUTPUT).contains("list files").contains("Two files").contains("in one word");
            }
        }
    }

    /** A recorded AI SDK body with this run's ids; its reference to a reasoning item goes when there was none. */
    static String recorded(String name, String model, boolean stream, JsonNode call, JsonNode reasoning, JsonNode message) throws Exception {
        String text = AgentLoopEndToEndTest.client(name).replace("%MODEL%", model).replace("%CALL_ID%", call.get("call_id").asText());
        if (message != null) text = text.replace("%MESSAGE_ID%", message.get("id").asText());
        ObjectNode body = (ObjectNode) JSON.readTree(text);
        body.put("stream", stream);
        ArrayNode input = (ArrayNode) body.get("input");
        for (int i = input.size() - 1; i >= 0; i--) {
            if (!input.get(i).path("id").asText().equals("%REASONING_ID%")) continue;
            if (reasoning == null) input.remove(i);
            else ((ObjectNode) input.get(i)).put("id", reasoning.get("id").asText());
        }
        return body.toString();
    }

    // ---- (d) chat clients: the AI SDK's openai.chat (echoes ids only) and @ai-sdk/openai-compatible ----

    /** The call id and the reasoning text of a chat answer, streamed or not. */
    static String[] callAndReasoning(String answer, boolean stream) throws Exception {
        if (!stream) {
            JsonNode m = JSON.readTree(answer).at("/choices/0/message");
            return new String[] {m.at("/tool_calls/0/id").asText(null), m.path("reasoning_content").asText(m.path("reasoning").asText(""))};
        }
        String id = null;
        StringBuilder reasoning = new StringBuilder();
        for (Sse.Event e : Sse.parse(answer)) {
            if (e.data() == null) continue;
            JsonNode d = e.data().at("/choices/0/delta");
            if (d.at("/tool_calls/0/id").isTextual()) id = d.at("/tool_calls/0/id").asText();
            reasoning.append(d.path("reasoning_content").asText(d.path("reasoning").asText("")));
        }
        return new String[] {id, reasoning.toString()};
    }

    @ParameterizedTest(name = "AI SDK {0} loop with thinking to {1}")
    @CsvSource({"openai.chat,openai", "openai.chat,anthropic", "openai.chat,gemini", "openai.chat,bedrock", "openai.chat,groq",
            "openai.chat,vllm", "openai-compatible,openai", "openai-compatible,anthropic", "openai-compatible,gemini",
            "openai-compatible,bedrock", "openai-compatible,groq", "openai-compatible,vllm"})
    void chatLoop(String shape, String upstream) throws Exception {
        for (boolean stream : List.of(false, true)) {
            mock(upstream).clearReceived();
            ObjectNode turn1 = (ObjectNode) JSON.readTree(AgentLoopEndToEndTest.client("ai_sdk_chat_turn1.json"));
            turn1.put("model", model(upstream)).put("stream", stream);
            if (!stream) turn1.remove("stream_options");
            HttpResponse<String> first = gw.post("/v1/chat/completions", turn1.toString());
            assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
            String[] callAndReasoning = callAndReasoning(first.body(), stream);
            String id = callAndReasoning[0];
            assertThat(id).as("a tool call in %s", first.body()).isNotNull().matches("[A-Za-z0-9_-]+");
            if (!upstream.equals("openai") && !upstream.equals("gemini")) assertThat(callAndReasoning[1]).as(first.body()).isNotEmpty();

            ObjectNode turn2 = (ObjectNode) JSON.readTree(AgentLoopEndToEndTest.client("ai_sdk_chat_turn2.json").replace("%CALL_ID%", id)
                    .replace("a.txt\\nb.txt", TOOL_OUTPUT));
            turn2.put("model", model(upstream)).put("stream", stream);
            if (!stream) turn2.remove("stream_options");
            if (shape.equals("openai-compatible") && !callAndReasoning[1].isEmpty()) {
                // openai-compatible sends the reasoning text back, never a signature (it knows none)
                ((ObjectNode) turn2.at("/messages/2")).put("reasoning_content", callAndReasoning[1]);
            }
            assertThat(turn2.toString()).doesNotContain("reasoning_signature");
            HttpResponse<String> second = gw.post("/v1/chat/completions", turn2.toString());
            assertThat(second.statusCode()).as("stream=%s: %s", stream, second.body()).isEqualTo(200);
            assertThat(second.body()).contains("Two files");
            String dropped = second.headers().firstValue("x-skiff-dropped-fields").orElse("");
            JsonNode sent = lastSent(upstream);
            assertThat(sent.toString()).contains(TOOL_OUTPUT).contains("list files");
            switch (upstream) {
                case "anthropic" -> {
                    // the signed thinking came back from the call id: thinking stays on (the mock refuses it otherwise)
                    assertThat(sent.at("/thinking/type").asText()).isEqualTo("enabled");
                    assertThat(dropped).doesNotContain("thinking(off");
                }
                case "bedrock" -> {
                    assertThat(sent.at("/additionalModelRequestFields/thinking/type").asText()).isEqualTo("enabled");
                    assertThat(sent.at("/messages/1/content/0/reasoningContent/reasoningText/signature").asText()).isEqualTo(BEDROCK_SIGNATURE);
                    assertThat(sent.at("/messages/1/content/1/toolUse/toolUseId").asText()).as("Bedrock gets its own id back").isEqualTo("tooluse_1");
                    assertThat(dropped).doesNotContain("thinking(off");
                }
                case "vllm" -> {
                    if (shape.equals("openai-compatible")) assertThat(sent.at("/messages/2/reasoning_content").asText()).isEqualTo(COMPAT_REASONING);
                }
                case "groq" -> {
                    // Groq refuses the member the client echoed: the request was translated without it, and says so
                    assertThat(sent.at("/messages/2").has("reasoning_content")).isFalse();
                    if (shape.equals("openai-compatible")) assertThat(dropped).contains("reasoning_content");
                    else assertThat(dropped).isEmpty();
                }
                default -> { }
            }
        }
    }
}
