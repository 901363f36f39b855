package dev.skiff.contract;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.provider.SignedCallIds;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.Recorded;
import dev.skiff.testing.TestGateway;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Three-turn conversations with tools and thinking, per provider, driven the way an OpenAI SDK user
 * drives them: each turn the client appends the assistant message it received, exactly as received
 * (including {@code reasoning_content} and {@code reasoning_signature}), then one {@code role:"tool"}
 * message per tool call, and sends the whole history again. The mock answers turn 1 with thinking + a
 * tool call, turn 2 with thinking + another tool call, turn 3 with text. Each upstream request must
 * carry every earlier turn's tool ids, thinking signatures (byte-identical) and tool results, in the
 * provider's shape and order (conformance 5, 6, 10, 11, 13).
 */
class MultiTurnRoundTripTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String CHAT = "/v1/chat/completions";
    static final String TOOLS = """
            [{"type":"function","function":{"name":"get_weather","description":"Current weather",
              "parameters":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}}}]""";
    static final String QUESTION = "Weather in Paris and London?";
    static final String PARIS_RESULT = "{\"temp\":18,\"sky\":\"clear\"}";
    static final String LONDON_RESULT = "12C, rain";

    /** An OpenAI chat client keeping its history. */
    static final class Client {
        final TestGateway gw;
        final String model;
        final ArrayNode messages = JSON.createArrayNode();
        final List<JsonNode> answers = new ArrayList<>();

        Client(TestGateway gw, String model) {
            this.gw = gw;
            this.model = model;
            messages.addObject().put("role", "user").put("content", QUESTION);
        }

        /** Sends the history; appends the assistant message as received and returns it. */
        JsonNode send() throws Exception {
            ObjectNode req = JSON.createObjectNode().put("model", model).put("reasoning_effort", "low");
            req.set("messages", messages);
            req.set("tools", JSON.readTree(TOOLS));
            HttpResponse<String> r = gw.post(CHAT, JSON.writeValueAsString(req));
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode message = JSON.readTree(r.body()).at("/choices/0/message");
            messages.add(message.deepCopy());
            answers.add(JSON.readTree(r.body()));
            return message;
        }

        void toolResult(String callId, String content) {
            messages.addObject().put("role", "tool").put("tool_call_id", callId).put("content", content);
        }
    }

    /** Serves the given bodies in order, one per request to {@code path}. */
    static void script(MockUpstream mock, String path, String... bodies) {
        AtomicInteger turn = new AtomicInteger();
        mock.on(path, (req, reply) -> reply.json(200, bodies[Math.min(turn.getAndIncrement(), bodies.length - 1)]));
    }

    // ---- Anthropic ---------------------------------------------------------------------------

    @Test
    void conformance10_anthropicThinkingSignaturesAndToolResultsSurviveThreeTurns() throws Exception {
        // The first signature is a recorded one; the second has every base64 character JSON could mangle.
        String sig1 = JSON.readTree(Recorded.read("anthropic", "messages_extended_thinking.json")).at("/content/0/signature").asText();
        String sig2 = "ErUBCkYIBRgCIkB+/+/==\\u003c/sig>";
        String think1 = "The user wants two cities. Paris first.\n\nCall get_weather ✓";
        String think2 = "Paris is done; now London.";
        String turn1 = anthropicAnswer("msg_t1", "tool_use", thinking(think1, sig1),
                "{\"type\":\"tool_use\",\"id\":\"toolu_01Paris\",\"name\":\"get_weather\",\"input\":{\"location\":\"Paris\"}}");
        String turn2 = anthropicAnswer("msg_t2", "tool_use", thinking(think2, sig2),
                "{\"type\":\"text\",\"text\":\"Now London.\"}",
                "{\"type\":\"tool_use\",\"id\":\"toolu_02London\",\"name\":\"get_weather\",\"input\":{\"location\":\"London\"}}");
        String turn3 = anthropicAnswer("msg_t3", "end_turn", "{\"type\":\"text\",\"text\":\"Paris 18C and clear, London 12C with rain.\"}");
        String sig2Decoded = JSON.readTree(thinking(think2, sig2)).get("signature").asText();

        try (MockUpstream mock = new MockUpstream().models("claude-sonnet-4-20250514");
             TestGateway gw = TestGateway.start("ANTHROPIC_API_KEY", "sk-ant", "ANTHROPIC_BASE_URL", mock.baseUrl()).awaitListings()) {
            script(mock, "/v1/messages", turn1, turn2, turn3);
            Client client = new Client(gw, "claude-sonnet-4-20250514");

            JsonNode m1 = client.send();
            assertThat(m1.get("reasoning_content").asText()).isEqualTo(think1);
            assertThat(m1.get("reasoning_signature").asText()).isEqualTo(sig1);
            // Anthropic's id, carrying the thinking for clients that send back ids but not reasoning
            String id1 = m1.at("/tool_calls/0/id").asText();
            assertThat(SignedCallIds.base(id1)).isEqualTo("toolu_01Paris");
            assertThat(m1.get("content").isNull()).isTrue(); // tool-call-only turn: content null, thinking not leaked
            mock.take("/v1/messages");
            client.toolResult(id1, PARIS_RESULT);

            JsonNode m2 = client.send();
            assertThat(m2.get("reasoning_signature").asText()).isEqualTo(sig2Decoded);
            assertThat(m2.get("content").asText()).isEqualTo("Now London.");
            JsonNode sent2 = JSON.readTree(mock.take("/v1/messages").body());
            assertThat(sent2.get("messages")).hasSize(3);
            assertAnthropicUser(sent2.at("/messages/0"), QUESTION);
            assertAnthropicAssistant(sent2.at("/messages/1"), think1, sig1, null, "toolu_01Paris", "Paris");
            assertAnthropicResults(sent2.at("/messages/2"), "toolu_01Paris", PARIS_RESULT);
            client.toolResult(m2.at("/tool_calls/0/id").asText(), LONDON_RESULT);

            JsonNode m3 = client.send();
            assertThat(m3.get("content").asText()).startsWith("Paris 18C");
            JsonNode sent3 = JSON.readTree(mock.take("/v1/messages").body());
            assertThat(sent3.get("messages")).hasSize(5);
            assertAnthropicUser(sent3.at("/messages/0"), QUESTION);
            assertAnthropicAssistant(sent3.at("/messages/1"), think1, sig1, null, "toolu_01Paris", "Paris");
            assertAnthropicResults(sent3.at("/messages/2"), "toolu_01Paris", PARIS_RESULT);
            assertAnthropicAssistant(sent3.at("/messages/3"), think2, sig2Decoded, "Now London.", "toolu_02London", "London");
            assertAnthropicResults(sent3.at("/messages/4"), "toolu_02London", LONDON_RESULT);
        }
    }

    static String thinking(String text, String signatureJsonEscaped) throws Exception {
        return "{\"type\":\"thinking\",\"thinking\":" + JSON.writeValueAsString(text) + ",\"signature\":\"" + signatureJsonEscaped + "\"}";
    }

    static String anthropicAnswer(String id, String stop, String... blocks) {
        return "{\"id\":\"" + id + "\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-20250514\",\"content\":["
                + String.join(",", blocks) + "],\"stop_reason\":\"" + stop + "\",\"stop_sequence\":null,"
                + "\"usage\":{\"input_tokens\":100,\"output_tokens\":40}}";
    }

    static void assertAnthropicUser(JsonNode m, String text) {
        assertThat(m.get("role").asText()).isEqualTo("user");
        JsonNode c = m.get("content");
        assertThat(c.isTextual() ? c.asText() : c.at("/0/text").asText()).isEqualTo(text);
    }

    static void assertAnthropicAssistant(JsonNode m, String thinking, String signature, String text, String toolId, String location) {
        assertThat(m.get("role").asText()).isEqualTo("assistant");
        JsonNode c = m.get("content");
        List<String> types = new ArrayList<>();
        c.forEach(b -> types.add(b.get("type").asText()));
        assertThat(types).containsExactlyElementsOf(text == null ? List.of("thinking", "tool_use") : List.of("thinking", "text", "tool_use"));
        assertThat(c.at("/0/thinking").asText()).isEqualTo(thinking);
        assertThat(c.at("/0/signature").asText()).isEqualTo(signature);
        if (text != null) assertThat(c.at("/1/text").asText()).isEqualTo(text);
        JsonNode use = c.get(c.size() - 1);
        assertThat(use.get("id").asText()).isEqualTo(toolId);
        assertThat(use.get("name").asText()).isEqualTo("get_weather");
        assertThat(use.at("/input/location").asText()).isEqualTo(location);
    }

    static void assertAnthropicResults(JsonNode m, String toolId, String result) {
        assertThat(m.get("role").asText()).isEqualTo("user");
        assertThat(m.get("content")).hasSize(1);
        JsonNode r = m.at("/content/0");
        assertThat(r.get("type").asText()).isEqualTo("tool_result");
        assertThat(r.get("tool_use_id").asText()).isEqualTo(toolId);
        JsonNode c = r.get("content");
        assertThat(c.isTextual() ? c.asText() : c.at("/0/text").asText()).isEqualTo(result);
    }

    // ---- Gemini ------------------------------------------------------------------------------

    static final String GEMINI = "gemini-2.5-flash";
    static final String GENERATE = "/v1/models/" + GEMINI + ":generateContent";

    @Test
    void conformance13_geminiThoughtSignaturesAndCallIdsSurviveThreeTurns() throws Exception {
        String gsig1 = "CiQB0e2Kb+0Hzqf3QmJ1c2lnbmF0dXJlLWJ5dGVzLWZvci10ZXN0cw/abc+def==";
        String gsig2 = "EiYKJGUyNDgzMGE3LTVjZDYtNDJmZS05OTA0LWM0ZGQ1ZWI2YjM1Mg==";
        // Turn 1: no id from Gemini (Skiff synthesizes one); turn 2: a native id (Gemini 3 style) that must go back.
        String turn1 = geminiAnswer("resp-t1", "{\"text\":\"**Planning**\\nParis first.\",\"thought\":true}",
                "{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"location\":\"Paris\"}},\"thoughtSignature\":\"" + gsig1 + "\"}");
        String turn2 = geminiAnswer("resp-t2", "{\"text\":\"**Next**\\nLondon.\",\"thought\":true}",
                "{\"functionCall\":{\"id\":\"fc-london-1\",\"name\":\"get_weather\",\"args\":{\"location\":\"London\"}},\"thoughtSignature\":\"" + gsig2 + "\"}");
        String turn3 = geminiAnswer("resp-t3", "{\"text\":\"Paris 18C and clear, London 12C with rain.\"}");

        try (MockUpstream mock = new MockUpstream()) {
            mock.on("/v1/models", (req, reply) -> reply.json(200, "{\"models\":[{\"name\":\"models/" + GEMINI + "\"}]}"));
            try (TestGateway gw = TestGateway.start("GEMINI_API_KEY", "g-key", "GEMINI_BASE_URL", mock.baseUrl()).awaitListings()) {
                script(mock, GENERATE, turn1, turn2, turn3);
                Client client = new Client(gw, GEMINI);

                JsonNode m1 = client.send();
                assertThat(m1.get("reasoning_content").asText()).contains("Paris first.");
                assertThat(m1.get("content").isNull()).isTrue();
                String id1 = m1.at("/tool_calls/0/id").asText();
                assertThat(id1).startsWith("call_");
                mock.take(GENERATE);
                client.toolResult(id1, PARIS_RESULT);

                JsonNode m2 = client.send();
                String id2 = m2.at("/tool_calls/0/id").asText();
                assertThat(id2).isNotEqualTo(id1);
                JsonNode sent2 = JSON.readTree(mock.take(GENERATE).body());
                assertThat(sent2.get("contents")).hasSize(3);
                assertGeminiUserText(sent2.at("/contents/0"), QUESTION);
                assertGeminiCall(sent2.at("/contents/1"), null, "Paris", gsig1);
                assertGeminiResult(sent2.at("/contents/2"), null, true);
                client.toolResult(id2, LONDON_RESULT);

                JsonNode m3 = client.send();
                assertThat(m3.get("content").asText()).startsWith("Paris 18C");
                JsonNode sent3 = JSON.readTree(mock.take(GENERATE).body());
                assertThat(sent3.get("contents")).hasSize(5);
                assertGeminiUserText(sent3.at("/contents/0"), QUESTION);
                assertGeminiCall(sent3.at("/contents/1"), null, "Paris", gsig1);
                assertGeminiResult(sent3.at("/contents/2"), null, true);
                assertGeminiCall(sent3.at("/contents/3"), "fc-london-1", "London", gsig2);
                assertGeminiResult(sent3.at("/contents/4"), "fc-london-1", false);
            }
        }
    }

    static String geminiAnswer(String responseId, String... parts) {
        return "{\"candidates\":[{\"content\":{\"parts\":[" + String.join(",", parts) + "],\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],"
                + "\"usageMetadata\":{\"promptTokenCount\":50,\"candidatesTokenCount\":10,\"totalTokenCount\":90,\"thoughtsTokenCount\":30},"
                + "\"modelVersion\":\"" + GEMINI + "\",\"responseId\":\"" + responseId + "\"}";
    }

    static void assertGeminiUserText(JsonNode c, String text) {
        assertThat(c.get("role").asText()).isEqualTo("user");
        assertThat(c.get("parts")).hasSize(1);
        assertThat(c.at("/parts/0/text").asText()).isEqualTo(text);
    }

    /** A model turn: the functionCall part with its signature restored; thought summaries are output only. */
    static void assertGeminiCall(JsonNode c, String nativeId, String location, String signature) {
        assertThat(c.get("role").asText()).isEqualTo("model");
        assertThat(c.get("parts")).hasSize(1);
        JsonNode part = c.at("/parts/0");
        assertThat(part.at("/functionCall/name").asText()).isEqualTo("get_weather");
        assertThat(part.at("/functionCall/args/location").asText()).isEqualTo(location);
        assertThat(part.get("thoughtSignature").asText()).isEqualTo(signature);
        if (nativeId == null) assertThat(part.get("functionCall").has("id")).isFalse();
        else assertThat(part.at("/functionCall/id").asText()).isEqualTo(nativeId);
        assertThat(part.has("thought")).isFalse();
    }

    static void assertGeminiResult(JsonNode c, String nativeId, boolean paris) {
        assertThat(c.get("role").asText()).isEqualTo("user");
        assertThat(c.get("parts")).hasSize(1);
        JsonNode fr = c.at("/parts/0/functionResponse");
        assertThat(fr.get("name").asText()).isEqualTo("get_weather");
        if (nativeId == null) assertThat(fr.has("id")).isFalse();
        else assertThat(fr.get("id").asText()).isEqualTo(nativeId);
        if (paris) {
            assertThat(fr.at("/response/temp").asInt()).isEqualTo(18);
            assertThat(fr.at("/response/sky").asText()).isEqualTo("clear");
        } else {
            assertThat(fr.at("/response/output").asText()).isEqualTo(LONDON_RESULT);
        }
    }

    // ---- Bedrock -----------------------------------------------------------------------------

    static final String BEDROCK = "anthropic.claude-3-5-sonnet-20240620-v1:0";
    static final String CONVERSE = "/model/" + BEDROCK + "/converse";

    @Test
    void conformance10_bedrockReasoningSignaturesAndToolResultsSurviveThreeTurns() throws Exception {
        String bsig1 = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds";
        String bsig2 = "ErUBCkYIBRgCIkB+/+/0Zm9vYmFy==";
        String turn1 = bedrockAnswer("tool_use", reasoning("Paris first.", bsig1),
                "{\"toolUse\":{\"toolUseId\":\"tooluse_Paris01\",\"name\":\"get_weather\",\"input\":{\"location\":\"Paris\"}}}");
        String turn2 = bedrockAnswer("tool_use", reasoning("Now London.", bsig2), "{\"text\":\"Checking London.\"}",
                "{\"toolUse\":{\"toolUseId\":\"tooluse_London02\",\"name\":\"get_weather\",\"input\":{\"location\":\"London\"}}}");
        String turn3 = bedrockAnswer("end_turn", "{\"text\":\"Paris 18C and clear, London 12C with rain.\"}");

        try (MockUpstream mock = new MockUpstream()) {
            String base = mock.baseUrl().substring(0, mock.baseUrl().length() - "/v1".length());
            try (TestGateway gw = TestGateway.start("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY", "secret", "AWS_REGION", "us-east-1",
                    "BEDROCK_BASE_URL", base, "BEDROCK_MODELS", BEDROCK).awaitListings()) {
                script(mock, CONVERSE, turn1, turn2, turn3);
                Client client = new Client(gw, BEDROCK);

                JsonNode m1 = client.send();
                assertThat(m1.get("reasoning_content").asText()).isEqualTo("Paris first.");
                assertThat(m1.get("reasoning_signature").asText()).isEqualTo(bsig1);
                assertThat(m1.get("content").isNull()).isTrue();
                mock.take(CONVERSE);
                client.toolResult("tooluse_Paris01", PARIS_RESULT);

                JsonNode m2 = client.send();
                assertThat(m2.get("reasoning_signature").asText()).isEqualTo(bsig2);
                JsonNode sent2 = JSON.readTree(mock.take(CONVERSE).body());
                assertThat(sent2.get("messages")).hasSize(3);
                assertBedrockUserText(sent2.at("/messages/0"), QUESTION);
                assertBedrockAssistant(sent2.at("/messages/1"), "Paris first.", bsig1, null, "tooluse_Paris01", "Paris");
                assertBedrockResult(sent2.at("/messages/2"), "tooluse_Paris01", PARIS_RESULT);
                client.toolResult("tooluse_London02", LONDON_RESULT);

                JsonNode m3 = client.send();
                assertThat(m3.get("content").asText()).startsWith("Paris 18C");
                JsonNode sent3 = JSON.readTree(mock.take(CONVERSE).body());
                assertThat(sent3.get("messages")).hasSize(5);
                assertBedrockUserText(sent3.at("/messages/0"), QUESTION);
                assertBedrockAssistant(sent3.at("/messages/1"), "Paris first.", bsig1, null, "tooluse_Paris01", "Paris");
                assertBedrockResult(sent3.at("/messages/2"), "tooluse_Paris01", PARIS_RESULT);
                assertBedrockAssistant(sent3.at("/messages/3"), "Now London.", bsig2, "Checking London.", "tooluse_London02", "London");
                assertBedrockResult(sent3.at("/messages/4"), "tooluse_London02", LONDON_RESULT);
            }
        }
    }

    static String reasoning(String text, String signature) {
        return "{\"reasoningContent\":{\"reasoningText\":{\"text\":\"" + text + "\",\"signature\":\"" + signature + "\"}}}";
    }

    static String bedrockAnswer(String stop, String... blocks) {
        return "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[" + String.join(",", blocks) + "]}},"
                + "\"stopReason\":\"" + stop + "\",\"usage\":{\"inputTokens\":100,\"outputTokens\":40,\"totalTokens\":140},\"metrics\":{\"latencyMs\":300}}";
    }

    static void assertBedrockUserText(JsonNode m, String text) {
        assertThat(m.get("role").asText()).isEqualTo("user");
        assertThat(m.get("content")).hasSize(1);
        assertThat(m.at("/content/0/text").asText()).isEqualTo(text);
    }

    static void assertBedrockAssistant(JsonNode m, String reasoning, String signature, String text, String toolId, String location) {
        assertThat(m.get("role").asText()).isEqualTo("assistant");
        JsonNode c = m.get("content");
        assertThat(c).hasSize(text == null ? 2 : 3);
        assertThat(c.at("/0/reasoningContent/reasoningText/text").asText()).isEqualTo(reasoning);
        assertThat(c.at("/0/reasoningContent/reasoningText/signature").asText()).isEqualTo(signature);
        if (text != null) assertThat(c.at("/1/text").asText()).isEqualTo(text);
        JsonNode use = c.get(c.size() - 1).get("toolUse");
        assertThat(use.get("toolUseId").asText()).isEqualTo(toolId);
        assertThat(use.get("name").asText()).isEqualTo("get_weather");
        assertThat(use.at("/input/location").asText()).isEqualTo(location);
    }

    static void assertBedrockResult(JsonNode m, String toolId, String result) {
        assertThat(m.get("role").asText()).isEqualTo("user");
        assertThat(m.get("content")).hasSize(1);
        JsonNode r = m.at("/content/0/toolResult");
        assertThat(r.get("toolUseId").asText()).isEqualTo(toolId);
        assertThat(r.at("/content/0/text").asText()).isEqualTo(result);
    }
}
