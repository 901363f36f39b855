package dev.skiff.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.Recorded;
import dev.skiff.testing.Sse;
import dev.skiff.testing.TestGateway;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Agents' request loops through Skiff, on real sockets: the shapes Claude Code and OpenAI-style SDKs
 * send (kept in {@code src/test/resources/clients/}), turn after turn, with every answer naming the
 * model the client asked for whichever path served it.
 */
class AgentLoopEndToEndTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static final String BEDROCK_MODEL = "anthropic.claude-sonnet-4-5-v1:0";
    static final String CONVERSE = "/model/" + BEDROCK_MODEL + "/converse";
    static final String GEMINI_STREAM = "/v1/models/gemini-2.5-flash:streamGenerateContent";
    static final String MOVED = "messages(role:system; moved into the system instruction)";

    MockUpstream openai;
    MockUpstream anthropic;
    MockUpstream gemini;
    MockUpstream bedrock;
    TestGateway gw;

    @BeforeEach
    void setUp() throws Exception {
        openai = new MockUpstream().models("gpt-4o-mini");
        anthropic = new MockUpstream().models("claude-sonnet-4-5");
        gemini = new MockUpstream();
        gemini.on("/v1/models", (req, reply) -> reply.json(200, "{\"models\":[{\"name\":\"models/gemini-2.5-flash\"}]}"));
        bedrock = new MockUpstream();
        String bedrockBase = bedrock.baseUrl().substring(0, bedrock.baseUrl().length() - "/v1".length());
        gw = TestGateway.start(
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
    }

    static String client(String name) {
        return Recorded.read("clients", name);
    }

    HttpResponse<String> messages(String body, String... headers) throws Exception {
        String[] all = new String[headers.length + 2];
        all[0] = "anthropic-version";
        all[1] = "2023-06-01";
        System.arraycopy(headers, 0, all, 2, headers.length);
        return gw.post("/v1/messages", body, all);
    }

    /** Anthropic's answer to the first turn: thinking with its signature, then a tool call; the snapshot's name. */
    static final String THINK_THEN_TOOL = """
            event: message_start
            data: {"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":900,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}

            event: content_block_start
            data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"The user wants a listing."}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCkYIBxgCKkBsig=="}}

            event: content_block_stop
            data: {"type":"content_block_stop","index":0}

            event: content_block_start
            data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01A","name":"Bash","input":{}}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"command\\":\\"ls\\"}"}}

            event: content_block_stop
            data: {"type":"content_block_stop","index":1}

            event: message_delta
            data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":40}}

            event: message_stop
            data: {"type":"message_stop"}

            """;

    static final String TEXT_ANSWER = """
            event: message_start
            data: {"type":"message_start","message":{"id":"msg_02","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":950,"output_tokens":1}}}

            event: content_block_start
            data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Two files: a.txt and b.txt."}}

            event: content_block_stop
            data: {"type":"content_block_stop","index":0}

            event: message_delta
            data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":9}}

            event: message_stop
            data: {"type":"message_stop"}

            """;

    @Test
    @DisplayName("conformance 10, 31: Claude Code's loop to Anthropic (stream, thinking, tool_use, signed thinking echoed) answers with the client's model")
    void claudeCodeLoopToAnthropicNamesTheClientsModel() throws Exception {
        anthropic.on("/v1/messages", (req, reply) -> {
            reply.startStream();
            reply.chunk(req.body().contains("tool_result") ? TEXT_ANSWER : THINK_THEN_TOOL);
        });
        String beta = "claude-code-20250219,interleaved-thinking-2025-05-14";
        HttpResponse<String> first = messages(client("claude_code_turn1.json"), "anthropic-beta", beta);
        assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
        // the provider's events as sent, but for the model: the name the client asked for
        assertThat(first.body()).isEqualTo(THINK_THEN_TOOL.replace("\"claude-sonnet-4-5-20250929\"", "\"anthropic/claude-sonnet-4-5\""));
        MockUpstream.Received sent = anthropic.take("/v1/messages");
        assertThat(JSON.readTree(sent.body()).get("model").asText()).isEqualTo("claude-sonnet-4-5");
        assertThat(sent.header("anthropic-beta")).isEqualTo(beta);

        String turn2 = client("claude_code_turn2.json");
        HttpResponse<String> second = messages(turn2, "anthropic-beta", beta);
        assertThat(second.statusCode()).as(second.body()).isEqualTo(200);
        List<Sse.Event> events = Sse.parse(second.body());
        assertThat(events.getFirst().data().at("/message/model").asText()).isEqualTo("anthropic/claude-sonnet-4-5");
        assertThat(second.body()).contains("Two files");
        // the signed thinking block goes back exactly as the client echoed it (conformance 10)
        String sent2 = anthropic.take("/v1/messages").body();
        assertThat(sent2).isEqualTo(turn2.replace("\"anthropic/claude-sonnet-4-5\"", "\"claude-sonnet-4-5\""));
        assertThat(sent2).contains("{\"type\":\"thinking\",\"thinking\":\"The user wants a listing.\",\"signature\":\"EqQBCkYIBxgCKkBsig==\"}");
    }

    @Test
    @DisplayName("every path answers with the client's model name: forwarded and translated, whole and streamed")
    void everyPathNamesTheClientsModel() throws Exception {
        openai.on("/v1/chat/completions", (req, reply) -> {
            if (req.body().contains("\"stream\":true")) {
                reply.startStream();
                String head = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini-2024-07-18\",";
                reply.chunk(head + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"hi\"},\"finish_reason\":null}]}\n\n");
                reply.chunk(head + "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n");
                reply.chunk(head + "\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}\n\n");
                reply.chunk("data: [DONE]\n\n");
            } else {
                reply.json(200, "{\"id\":\"c2\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"gpt-4o-mini-2024-07-18\","
                        + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"hi\"},\"finish_reason\":\"stop\"}],"
                        + "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}");
            }
        });
        openai.on("/v1/responses", (req, reply) -> {
            reply.startStream();
            String response = "{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"%s\",\"model\":\"gpt-4o-mini-2024-07-18\",\"output\":[]}";
            reply.chunk("event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":"
                    + response.formatted("in_progress") + "}\n\n");
            reply.chunk("event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":1,\"response\":"
                    + response.formatted("completed") + "}\n\n");
        });
        anthropic.on("/v1/messages", (req, reply) -> {
            if (req.body().contains("\"stream\":true")) {
                reply.startStream();
                reply.chunk(TEXT_ANSWER);
            } else {
                reply.json(200, "{\"id\":\"msg_3\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\","
                        + "\"content\":[{\"type\":\"text\",\"text\":\"hi\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
                        + "\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}");
            }
        });
        String chat = "{\"model\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]%s}";
        String msgs = "{\"model\":\"%s\",\"max_tokens\":20,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]%s}";
        for (String model : List.of("openai/gpt-4o-mini", "gpt-4o-mini", "anthropic/claude-sonnet-4-5")) {
            JsonNode whole = JSON.readTree(gw.post("/v1/chat/completions", chat.formatted(model, "")).body());
            assertThat(whole.get("model").asText()).as("chat to %s", model).isEqualTo(model);
            for (Sse.Event e : Sse.parse(gw.post("/v1/chat/completions", chat.formatted(model, ",\"stream\":true")).body())) {
                if (e.data() != null) assertThat(e.data().get("model").asText()).as("chat chunk from %s", model).isEqualTo(model);
            }
            JsonNode message = JSON.readTree(messages(msgs.formatted(model, "")).body());
            assertThat(message.get("model").asText()).as("messages to %s", model).isEqualTo(model);
            Sse.Event start = Sse.parse(messages(msgs.formatted(model, ",\"stream\":true")).body()).getFirst();
            assertThat(start.data().at("/message/model").asText()).as("message_start from %s", model).isEqualTo(model);
            List<Sse.Event> responses = Sse.parse(gw.post("/v1/responses",
                    "{\"model\":\"" + model + "\",\"input\":\"hi\",\"stream\":true,\"store\":false}").body());
            List<String> named = responses.stream().filter(e -> e.data() != null && e.data().has("response"))
                    .map(e -> e.data().at("/response/model").asText()).toList();
            assertThat(named).as("Responses events from %s", model).isNotEmpty().containsOnly(model);
        }
    }

    // ---- system messages in the middle of the conversation --------------------------------------

    static String midSystem(String model, boolean stream) {
        return client("claude_code_mid_system.json").replace("\"anthropic/claude-sonnet-4-5\"", "\"" + model + "\"")
                .replace("\"stream\":true", "\"stream\":" + stream);
    }

    static final String MID_BETA = "mid-conversation-system-2026-04-07";

    @Test
    @DisplayName("conformance 24: Claude Code's mid-conversation system message to an OpenAI model stays in its place")
    void midConversationSystemStaysInPlaceForOpenAi() throws Exception {
        openai.on("/v1/chat/completions", (req, reply) -> reply.json(200, "{\"id\":\"c\",\"object\":\"chat.completion\",\"created\":1,"
                + "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Plan: ...\"},"
                + "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}"));
        HttpResponse<String> r = messages(midSystem("gpt-4o-mini", false), "anthropic-beta", MID_BETA);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode sent = JSON.readTree(openai.take("/v1/chat/completions").body());
        assertThat(sent.get("messages").findValuesAsText("role")).containsExactly("system", "user", "system", "user");
        assertThat(sent.at("/messages/2/content").asText()).isEqualTo("The user switched to plan mode: do not run commands.");
        assertThat(r.headers().firstValue("x-skiff-dropped-fields").orElse("")).doesNotContain("role:system");
    }

    @Test
    @DisplayName("conformance 24: to Gemini and Bedrock a mid-conversation system message joins the system instruction, and says so")
    void midConversationSystemIsFoldedForGeminiAndBedrock() throws Exception {
        gemini.on(GEMINI_STREAM, (req, reply) -> {
            reply.startStream();
            reply.chunk("data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Plan.\"}]},\"finishReason\":\"STOP\"}],"
                    + "\"usageMetadata\":{\"promptTokenCount\":5,\"candidatesTokenCount\":1,\"totalTokenCount\":6}}\n\n");
        });
        HttpResponse<String> r = messages(midSystem("gemini-2.5-flash", true), "anthropic-beta", MID_BETA);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-skiff-dropped-fields").orElse("")).contains(MOVED);
        JsonNode g = JSON.readTree(gemini.take(GEMINI_STREAM).body());
        assertThat(g.at("/systemInstruction/parts").findValuesAsText("text"))
                .containsExactly("You are Claude Code, Anthropic's official CLI for Claude.", "The user switched to plan mode: do not run commands.");
        assertThat(g.get("contents").findValuesAsText("role")).doesNotContain("system");
        assertThat(g.toString()).contains("list files").contains("then plan it");

        bedrock.on(CONVERSE, (req, reply) -> reply.json(200, Recorded.read("bedrock", "converse.json")));
        HttpResponse<String> b = messages(midSystem("bedrock/" + BEDROCK_MODEL, false));
        assertThat(b.statusCode()).as(b.body()).isEqualTo(200);
        assertThat(b.headers().firstValue("x-skiff-dropped-fields").orElse("")).contains(MOVED);
        JsonNode c = JSON.readTree(bedrock.take(CONVERSE).body());
        assertThat(c.get("system").findValuesAsText("text")).containsExactly(
                "You are Claude Code, Anthropic's official CLI for Claude.", "The user switched to plan mode: do not run commands.");
        // the two user turns either side of it are one turn now: Converse wants roles to alternate
        assertThat(c.get("messages").findValuesAsText("role")).containsExactly("user");
    }

    @Test
    @DisplayName("conformance 24, 31: to Anthropic a mid-conversation system message goes as sent under its beta, else joins system")
    void midConversationSystemToAnthropicFollowsTheBeta() throws Exception {
        anthropic.on("/v1/messages", (req, reply) -> reply.json(200, "{\"id\":\"msg_s\",\"type\":\"message\",\"role\":\"assistant\","
                + "\"model\":\"claude-sonnet-4-5\",\"content\":[{\"type\":\"text\",\"text\":\"Plan.\"}],\"stop_reason\":\"end_turn\","
                + "\"stop_sequence\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}"));
        String request = midSystem("anthropic/claude-sonnet-4-5", false);

        HttpResponse<String> withBeta = messages(request, "anthropic-beta", "claude-code-20250219," + MID_BETA);
        assertThat(withBeta.statusCode()).as(withBeta.body()).isEqualTo(200);
        assertThat(anthropic.take("/v1/messages").body()).isEqualTo(request.replace("\"anthropic/claude-sonnet-4-5\"", "\"claude-sonnet-4-5\""));
        assertThat(withBeta.headers().firstValue("x-skiff-dropped-fields")).isEmpty();

        HttpResponse<String> without = messages(request, "anthropic-beta", "claude-code-20250219");
        assertThat(without.statusCode()).as(without.body()).isEqualTo(200);
        assertThat(without.headers().firstValue("x-skiff-dropped-fields").orElse("")).isEqualTo(MOVED);
        JsonNode sent = JSON.readTree(anthropic.take("/v1/messages").body());
        assertThat(sent.get("model").asText()).isEqualTo("claude-sonnet-4-5");
        assertThat(sent.get("messages").findValuesAsText("role")).containsExactly("user", "user");
        assertThat(sent.get("system").findValuesAsText("text")).containsExactly(
                "You are Claude Code, Anthropic's official CLI for Claude.", "The user switched to plan mode: do not run commands.");
        assertThat(sent.get("tools").get(0).get("name").asText()).isEqualTo("Bash"); // the rest as the client wrote it
        assertThat(JSON.readTree(without.body()).get("model").asText()).isEqualTo("anthropic/claude-sonnet-4-5");
    }

    @Test
    @DisplayName("conformance 24: chat completions with a system message mid-conversation reach Anthropic and Gemini, folded and named")
    void chatMidConversationSystemIsFoldedAndNamed() throws Exception {
        anthropic.on("/v1/messages", (req, reply) -> reply.json(200, "{\"id\":\"msg_c\",\"type\":\"message\",\"role\":\"assistant\","
                + "\"model\":\"claude-sonnet-4-5\",\"content\":[{\"type\":\"text\",\"text\":\"ok\"}],\"stop_reason\":\"end_turn\","
                + "\"stop_sequence\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}"));
        String chat = "{\"model\":\"anthropic/claude-sonnet-4-5\",\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                + "{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"hello\"},"
                + "{\"role\":\"developer\",\"content\":\"Answer in French now.\"},{\"role\":\"user\",\"content\":\"bye\"}]}";
        HttpResponse<String> r = gw.post("/v1/chat/completions", chat);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-skiff-dropped-fields").orElse("")).contains(MOVED);
        JsonNode sent = JSON.readTree(anthropic.take("/v1/messages").body());
        assertThat(sent.get("system").findValuesAsText("text")).containsExactly("Be brief.", "Answer in French now.");
        assertThat(sent.get("messages").findValuesAsText("role")).containsExactly("user", "assistant", "user");

        // a system message only at the start is the system prompt as ever: nothing moved, nothing said
        HttpResponse<String> plain = gw.post("/v1/chat/completions", "{\"model\":\"anthropic/claude-sonnet-4-5\",\"messages\":["
                + "{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(plain.statusCode()).isEqualTo(200);
        assertThat(plain.headers().firstValue("x-skiff-dropped-fields").orElse("")).doesNotContain("role:system");
    }

    // ---- chat clients, thinking and tools to Anthropic -------------------------------------------

    static final String SIGNATURE = "EqQBCkYIBxgCKkBsig==";
    static final String THOUGHT = "The user wants a listing.";

    /**
     * Anthropic as strict as it documents itself: with thinking enabled, the last assistant turn that
     * calls tools must open with the signed thinking it was given, unmodified.
     */
    void strictAnthropic() {
        anthropic.on("/v1/messages", (req, reply) -> {
            JsonNode body = JSON.readTree(req.body());
            JsonNode messages = body.get("messages");
            JsonNode lastAssistant = null;
            for (JsonNode m : messages) if (m.get("role").asText().equals("assistant")) lastAssistant = m;
            boolean thinkingOn = body.at("/thinking/type").asText().equals("enabled");
            if (thinkingOn && lastAssistant != null && lastAssistant.get("content").findValuesAsText("type").contains("tool_use")) {
                JsonNode first = lastAssistant.at("/content/0");
                if (!first.path("type").asText().equals("thinking")) {
                    reply.json(400, "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":"
                            + "\"messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`.\"}}");
                    return;
                }
                if (!first.path("signature").asText().equals(SIGNATURE) || !first.path("thinking").asText().equals(THOUGHT)) {
                    reply.json(400, "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":"
                            + "\"Invalid `signature` in `thinking` block\"}}");
                    return;
                }
            }
            boolean stream = body.path("stream").asBoolean(false);
            boolean answered = lastAssistant != null;
            if (stream) {
                reply.startStream();
                reply.chunk(answered ? TEXT_ANSWER : THINK_THEN_TOOL);
            } else if (answered) {
                reply.json(200, "{\"id\":\"msg_t\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\","
                        + "\"content\":[{\"type\":\"text\",\"text\":\"Two files.\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
                        + "\"usage\":{\"input_tokens\":9,\"output_tokens\":3}}");
            } else {
                reply.json(200, "{\"id\":\"msg_u\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\","
                        + "\"content\":[{\"type\":\"thinking\",\"thinking\":\"" + THOUGHT + "\",\"signature\":\"" + SIGNATURE + "\"},"
                        + "{\"type\":\"tool_use\",\"id\":\"toolu_01A\",\"name\":\"Bash\",\"input\":{\"command\":\"ls\"}}],"
                        + "\"stop_reason\":\"tool_use\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":9,\"output_tokens\":30}}");
            }
        });
    }

    /** The id of the tool call in a chat answer, streamed or whole. */
    static String callId(String chatAnswer, boolean stream) throws Exception {
        if (!stream) return JSON.readTree(chatAnswer).at("/choices/0/message/tool_calls/0/id").asText();
        for (Sse.Event e : Sse.parse(chatAnswer)) {
            if (e.data() == null) continue;
            JsonNode id = e.data().at("/choices/0/delta/tool_calls/0/id");
            if (id.isTextual()) return id.asText();
        }
        throw new AssertionError("no tool call in " + chatAnswer);
    }

    @Test
    @DisplayName("conformance 10, 11: a chat client's tool loop with thinking to Anthropic works without echoing reasoning_signature")
    void chatToolLoopWithThinkingSurvivesAClientThatEchoesOnlyIds() throws Exception {
        strictAnthropic();
        for (boolean stream : List.of(true, false)) {
            String turn1 = client("ai_sdk_chat_turn1.json").replace("\"stream\":true,\"stream_options\":{\"include_usage\":true}",
                    "\"stream\":" + stream);
            HttpResponse<String> first = gw.post("/v1/chat/completions", turn1);
            assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
            JsonNode sent1 = JSON.readTree(anthropic.take("/v1/messages").body());
            assertThat(sent1.at("/thinking/type").asText()).isEqualTo("enabled");
            String id = callId(first.body(), stream);
            assertThat(id).as("compact and safe as any id").startsWith("toolu_01A").matches("[A-Za-z0-9_-]+").hasSizeLessThan(200);

            // The AI SDK's openai.chat sends back the call and its id, not reasoning_content or its signature.
            String turn2 = client("ai_sdk_chat_turn2.json").replace("%CALL_ID%", id)
                    .replace("\"stream\":true,\"stream_options\":{\"include_usage\":true}", "\"stream\":" + stream);
            assertThat(turn2).doesNotContain("reasoning_content").doesNotContain("reasoning_signature").doesNotContain(THOUGHT);
            HttpResponse<String> second = gw.post("/v1/chat/completions", turn2);
            assertThat(second.statusCode()).as("stream=%s: %s", stream, second.body()).isEqualTo(200);
            assertThat(second.body()).contains("Two files");
            assertThat(second.headers().firstValue("x-skiff-dropped-fields").orElse("")).doesNotContain("thinking");
            JsonNode sent2 = JSON.readTree(anthropic.take("/v1/messages").body());
            assertThat(sent2.at("/thinking/type").asText()).isEqualTo("enabled");
            JsonNode assistant = sent2.at("/messages/1");
            assertThat(assistant.at("/content/0")).isEqualTo(JSON.readTree(
                    "{\"type\":\"thinking\",\"thinking\":\"" + THOUGHT + "\",\"signature\":\"" + SIGNATURE + "\"}"));
            assertThat(assistant.at("/content/1/id").asText()).as("Anthropic gets its own id back").isEqualTo("toolu_01A");
            assertThat(sent2.at("/messages/2/content/0/tool_use_id").asText()).isEqualTo("toolu_01A");
        }
    }

    @Test
    @DisplayName("conformance 10, 29: a tool turn whose thinking cannot be restored is sent with thinking off, and the header says so")
    void aToolTurnWithoutItsThinkingTurnsThinkingOffVisibly() throws Exception {
        strictAnthropic();
        // ids this Anthropic never saw through Skiff (another gateway, another provider earlier on)
        String turn2 = client("ai_sdk_chat_turn2.json").replace("%CALL_ID%", "call_from_elsewhere")
                .replace("\"stream\":true,\"stream_options\":{\"include_usage\":true}", "\"stream\":false");
        HttpResponse<String> r = gw.post("/v1/chat/completions", turn2);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-skiff-dropped-fields").orElse(""))
                .contains("thinking(off: the last tool-calling turn came back without its signed thinking)");
        JsonNode sent = JSON.readTree(anthropic.take("/v1/messages").body());
        assertThat(sent.has("thinking")).isFalse();
        assertThat(sent.at("/messages/1/content/0/id").asText()).isEqualTo("call_from_elsewhere");
    }
}
