package dev.skiff.compat;

import dev.skiff.testing.Recorded;
import static org.assertj.core.api.Assertions.assertThat;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.core.JsonValue;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.helpers.MessageAccumulator;
import com.anthropic.models.messages.ContentBlock;
import com.anthropic.models.messages.ContentBlockParam;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import com.anthropic.models.messages.StopReason;
import com.anthropic.models.messages.Tool;
import com.anthropic.models.messages.ToolResultBlockParam;
import com.anthropic.models.messages.ToolUseBlock;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The official anthropic-java SDK against Skiff's {@code /v1/messages}, with an OpenAI-compatible, an
 * Anthropic and a Gemini upstream (mocked): plain, streamed, a tool-use round trip, and thinking. What
 * the SDK parses without complaint is what a real Anthropic client accepts.
 */
class AnthropicSdkTest {
    static final ObjectMapper JSON = new ObjectMapper();

    MockUpstream openai;
    MockUpstream anthropic;
    MockUpstream gemini;
    TestGateway gw;
    AnthropicClient sdk;

    @BeforeEach
    void setUp() throws Exception {
        openai = new MockUpstream().models("gpt-4o-mini");
        anthropic = new MockUpstream().models("claude-sonnet-4-20250514");
        gemini = new MockUpstream();
        gemini.on("/v1/models", (req, reply) -> reply.json(200, "{\"models\":[{\"name\":\"models/gemini-2.5-flash\"}]}"));
        gw = TestGateway.start("SKIFF_MASTER_KEY", "sk-gateway",
                "OPENAI_API_KEY", "sk-openai", "OPENAI_BASE_URL", openai.baseUrl(),
                "ANTHROPIC_API_KEY", "sk-ant", "ANTHROPIC_BASE_URL", anthropic.baseUrl(),
                "GEMINI_API_KEY", "g-key", "GEMINI_BASE_URL", gemini.baseUrl()).awaitListings();
        sdk = AnthropicOkHttpClient.builder().baseUrl(gw.url("")).apiKey("sk-gateway").maxRetries(0)
                .timeout(Duration.ofSeconds(10)).build();
    }

    @AfterEach
    void tearDown() {
        gw.close();
        openai.close();
        anthropic.close();
        gemini.close();
    }

    static String fixture(String name) throws Exception {
        return Files.readString(Recorded.path("anthropic", name));
    }

    static Tool weatherTool() {
        return Tool.builder().name("get_weather").description("Current weather")
                .inputSchema(Tool.InputSchema.builder()
                        .properties(JsonValue.from(Map.of("location", Map.of("type", "string"))))
                        .required(List.of("location")).build())
                .build();
    }

    static String text(Message m) {
        StringBuilder sb = new StringBuilder();
        for (ContentBlock b : m.content()) if (b.isText()) sb.append(b.asText().text());
        return sb.toString();
    }

    static Message streamed(AnthropicClient sdk, MessageCreateParams params) {
        MessageAccumulator acc = MessageAccumulator.create();
        try (StreamResponse<RawMessageStreamEvent> s = sdk.messages().createStreaming(params)) {
            s.stream().forEach(acc::accumulate);
        }
        return acc.message();
    }

    static MessageCreateParams ask(String model, String question) {
        return MessageCreateParams.builder().model(model).maxTokens(256).addUserMessage(question).build();
    }

    // ---- OpenAI-compatible upstream ----------------------------------------------------------

    static String chatCompletion(String message, String finish) {
        return "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"gpt-4o-mini\","
                + "\"choices\":[{\"index\":0,\"message\":" + message + ",\"logprobs\":null,\"finish_reason\":\"" + finish + "\"}],"
                + "\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":5,\"total_tokens\":16}}";
    }

    @Test
    void openAiPlainAndStreamed() throws Exception {
        openai.on("/v1/chat/completions", (req, reply) -> {
            if (!req.body().contains("\"stream\":true")) {
                reply.json(200, chatCompletion("{\"role\":\"assistant\",\"content\":\"Hello from GPT.\"}", "stop"));
                return;
            }
            reply.startStream();
            String head = "data: {\"id\":\"chatcmpl-2\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",";
            reply.chunk(head + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n");
            reply.chunk(head + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Streamed \"},\"finish_reason\":null}]}\n\n");
            reply.chunk(head + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hello.\"},\"finish_reason\":null}]}\n\n");
            reply.chunk(head + "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n");
            reply.chunk(head + "\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3,\"total_tokens\":12}}\n\n");
            reply.chunk("data: [DONE]\n\n");
        });
        Message plain = sdk.messages().create(ask("gpt-4o-mini", "hi"));
        assertThat(text(plain)).isEqualTo("Hello from GPT.");
        assertThat(plain.stopReason()).contains(StopReason.END_TURN);
        assertThat(plain.usage().inputTokens()).isEqualTo(11);
        assertThat(plain.usage().outputTokens()).isEqualTo(5);

        Message streamed = streamed(sdk, ask("gpt-4o-mini", "hi"));
        assertThat(text(streamed)).isEqualTo("Streamed hello.");
        assertThat(streamed.stopReason()).contains(StopReason.END_TURN);
        assertThat(streamed.usage().outputTokens()).isEqualTo(3);
    }

    @Test
    void openAiToolUseRoundTrip() throws Exception {
        openai.on("/v1/chat/completions", (req, reply) -> {
            if (!req.body().contains("\"role\":\"tool\"")) {
                reply.json(200, chatCompletion("{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_w1\",\"type\":\"function\","
                        + "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"location\\\":\\\"Paris\\\"}\"}}]}", "tool_calls"));
            } else {
                reply.json(200, chatCompletion("{\"role\":\"assistant\",\"content\":\"It is sunny in Paris.\"}", "stop"));
            }
        });
        MessageCreateParams first = MessageCreateParams.builder().model("gpt-4o-mini").maxTokens(256)
                .addTool(weatherTool()).addUserMessage("Weather in Paris?").build();
        Message call = sdk.messages().create(first);
        assertThat(call.stopReason()).contains(StopReason.TOOL_USE);
        ToolUseBlock use = call.content().stream().filter(ContentBlock::isToolUse).findFirst().orElseThrow().asToolUse();
        assertThat(use.id()).isEqualTo("call_w1");
        assertThat(use.name()).isEqualTo("get_weather");
        assertThat(use._input().toString()).contains("Paris");

        MessageCreateParams second = first.toBuilder().addMessage(call.toParam())
                .addUserMessageOfContentBlockParams(List.of(ContentBlockParam.ofToolResult(
                        ToolResultBlockParam.builder().toolUseId(use.id()).content("sunny, 24C").build())))
                .build();
        Message answer = sdk.messages().create(second);
        assertThat(text(answer)).isEqualTo("It is sunny in Paris.");
        openai.take("/v1/chat/completions");
        JsonNode sent = JSON.readTree(openai.take("/v1/chat/completions").body());
        JsonNode messages = sent.get("messages");
        assertThat(messages.get(1).at("/tool_calls/0/id").asText()).isEqualTo("call_w1");
        assertThat(messages.get(2).get("role").asText()).isEqualTo("tool");
        assertThat(messages.get(2).get("tool_call_id").asText()).isEqualTo("call_w1");
        assertThat(messages.get(2).toString()).contains("sunny, 24C");
    }

    @Test
    void openAiReasoningArrivesAsThinking() throws Exception {
        openai.on("/v1/chat/completions", (req, reply) -> reply.json(200, chatCompletion(
                "{\"role\":\"assistant\",\"content\":\"42.\",\"reasoning_content\":\"Six times seven.\"}", "stop")));
        Message m = sdk.messages().create(MessageCreateParams.builder().model("gpt-4o-mini").maxTokens(2048)
                .enabledThinking(1024).addUserMessage("6*7?").build());
        assertThat(m.content().getFirst().isThinking()).isTrue();
        assertThat(m.content().getFirst().asThinking().thinking()).isEqualTo("Six times seven.");
        assertThat(text(m)).isEqualTo("42.");
        JsonNode sent = JSON.readTree(openai.take("/v1/chat/completions").body());
        assertThat(sent.get("reasoning_effort").asText()).isEqualTo("low"); // a 1024-token budget is the low effort
    }

    // ---- Anthropic upstream (same dialect: forwarded) -----------------------------------------

    @Test
    void anthropicPlainStreamedToolsAndThinkingAreForwarded() throws Exception {
        String plainAnswer = fixture("messages.json");
        String toolAnswer = fixture("messages_with_tools.json");
        String thinkingAnswer = fixture("messages_extended_thinking.json");
        String stream = fixture("messages_stream.txt");
        anthropic.on("/v1/messages", (req, reply) -> {
            if (req.body().contains("\"stream\":true")) {
                reply.startStream();
                reply.chunk(stream);
            } else if (req.body().contains("\"thinking\"")) {
                reply.json(200, thinkingAnswer);
            } else if (req.body().contains("\"tools\"")) {
                reply.json(200, toolAnswer);
            } else {
                reply.json(200, plainAnswer);
            }
        });
        String model = "anthropic/claude-sonnet-4-20250514";
        Message plain = sdk.messages().create(ask(model, "hi"));
        assertThat(text(plain)).isEqualTo(text(JSON.readTree(plainAnswer)));

        Message streamed = streamed(sdk, ask(model, "hi"));
        assertThat(text(streamed)).isNotEmpty();

        Message tool = sdk.messages().create(MessageCreateParams.builder().model(model).maxTokens(256)
                .addTool(weatherTool()).addUserMessage("Weather in Paris?").build());
        assertThat(tool.content().stream().anyMatch(ContentBlock::isToolUse)).isTrue();

        Message thinking = sdk.messages().create(MessageCreateParams.builder().model(model).maxTokens(4096)
                .enabledThinking(2048).addUserMessage("think").build());
        assertThat(thinking.content().getFirst().isThinking()).isTrue();
        assertThat(thinking.content().getFirst().asThinking().signature()).isNotEmpty();

        MockUpstream.Received sent = anthropic.take("/v1/messages");
        assertThat(sent.header("x-api-key")).isEqualTo("sk-ant");
        assertThat(JSON.readTree(sent.body()).get("model").asText()).isEqualTo("claude-sonnet-4-20250514");
    }

    static String text(JsonNode anthropicMessage) {
        StringBuilder sb = new StringBuilder();
        for (JsonNode b : anthropicMessage.get("content")) if (b.path("type").asText().equals("text")) sb.append(b.get("text").asText());
        return sb.toString();
    }

    // ---- Gemini upstream ------------------------------------------------------------------------

    @Test
    void geminiPlainStreamedToolRoundTripAndThinking() throws Exception {
        gemini.on("/v1/models/gemini-2.5-flash:generateContent", (req, reply) -> {
            if (req.body().contains("functionResponse")) {
                reply.json(200, "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Sunny in Paris.\"}]},\"finishReason\":\"STOP\"}],"
                        + "\"usageMetadata\":{\"promptTokenCount\":30,\"candidatesTokenCount\":4,\"totalTokenCount\":34}}");
            } else if (req.body().contains("functionDeclarations")) {
                reply.json(200, "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"get_weather\","
                        + "\"args\":{\"location\":\"Paris\"}},\"thoughtSignature\":\"Z2VtaW5pLXNpZw\"}]},\"finishReason\":\"STOP\"}],"
                        + "\"usageMetadata\":{\"promptTokenCount\":20,\"candidatesTokenCount\":6,\"totalTokenCount\":26}}");
            } else if (req.body().contains("thinkingConfig")) {
                reply.json(200, "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Let me add.\",\"thought\":true},"
                        + "{\"text\":\"4\"}]},\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":8,\"candidatesTokenCount\":1,"
                        + "\"thoughtsTokenCount\":5,\"totalTokenCount\":14}}");
            } else {
                reply.json(200, "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Hello from Gemini.\"}]},\"finishReason\":\"STOP\"}],"
                        + "\"usageMetadata\":{\"promptTokenCount\":5,\"candidatesTokenCount\":4,\"totalTokenCount\":9}}");
            }
        });
        gemini.on("/v1/models/gemini-2.5-flash:streamGenerateContent", (req, reply) -> {
            reply.startStream();
            reply.chunk("data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Streamed \"}]}}],\"responseId\":\"r1\"}\n\n");
            reply.chunk("data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Gemini.\"}]},\"finishReason\":\"STOP\"}],"
                    + "\"usageMetadata\":{\"promptTokenCount\":5,\"candidatesTokenCount\":3,\"totalTokenCount\":8}}\n\n");
        });
        String model = "gemini-2.5-flash";
        assertThat(text(sdk.messages().create(ask(model, "hi")))).isEqualTo("Hello from Gemini.");

        Message streamed = streamed(sdk, ask(model, "hi"));
        assertThat(text(streamed)).isEqualTo("Streamed Gemini.");
        assertThat(streamed.usage().outputTokens()).isEqualTo(3);

        MessageCreateParams first = MessageCreateParams.builder().model(model).maxTokens(256)
                .addTool(weatherTool()).addUserMessage("Weather in Paris?").build();
        Message call = sdk.messages().create(first);
        assertThat(call.stopReason()).contains(StopReason.TOOL_USE);
        ToolUseBlock use = call.content().stream().filter(ContentBlock::isToolUse).findFirst().orElseThrow().asToolUse();
        Message answer = sdk.messages().create(first.toBuilder().addMessage(call.toParam())
                .addUserMessageOfContentBlockParams(List.of(ContentBlockParam.ofToolResult(
                        ToolResultBlockParam.builder().toolUseId(use.id()).content("sunny").build())))
                .build());
        assertThat(text(answer)).isEqualTo("Sunny in Paris.");
        String followUp = null;
        for (int i = 0; i < 3; i++) { // plain, the call, the follow-up
            MockUpstream.Received r = gemini.take("/v1/models/gemini-2.5-flash:generateContent");
            if (r.body().contains("functionResponse")) followUp = r.body();
        }
        assertThat(followUp).contains("\"thoughtSignature\":\"Z2VtaW5pLXNpZw\"").contains("\"name\":\"get_weather\"");

        Message thinking = sdk.messages().create(MessageCreateParams.builder().model(model).maxTokens(2048)
                .enabledThinking(1024).addUserMessage("2+2?").build());
        assertThat(thinking.content().getFirst().isThinking()).isTrue();
        assertThat(thinking.content().getFirst().asThinking().thinking()).isEqualTo("Let me add.");
        assertThat(text(thinking)).isEqualTo("4");
    }
}
