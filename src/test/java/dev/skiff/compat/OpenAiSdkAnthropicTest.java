package dev.skiff.compat;

import dev.skiff.testing.Recorded;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.models.FunctionDefinition;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionFunctionTool;
import com.openai.models.chat.completions.ChatCompletionMessage;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.Sdk;
import dev.skiff.testing.TestGateway;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The official openai-java SDK against Skiff with an Anthropic upstream (mocked with recorded answers). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenAiSdkAnthropicTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private MockUpstream mock;
    private TestGateway gw;
    private OpenAIClient client;

    private static String fixture(String name) throws Exception {
        return Files.readString(Recorded.path("anthropic", name));
    }

    @BeforeAll
    void start() throws Exception {
        mock = new MockUpstream().models("claude-sonnet-4-20250514");
        gw = TestGateway.start("ANTHROPIC_API_KEY", "sk-ant", "ANTHROPIC_BASE_URL", mock.baseUrl()).awaitListings();
        client = Sdk.client(gw);
    }

    @AfterAll
    void stop() {
        client.close();
        gw.close();
        mock.close();
    }

    @Test
    void plainChat() throws Exception {
        String answer = fixture("messages.json");
        mock.on("/v1/messages", (req, reply) -> reply.json(200, answer));
        ChatCompletion c = client.chat().completions().create(ChatCompletionCreateParams.builder()
                .model("claude-sonnet-4-20250514").addUserMessage("Hello").build());
        String expected = MAPPER.readTree(answer).at("/content/0/text").asText();
        assertThat(c.choices().getFirst().message().content()).hasValue(expected);
        assertThat(c.choices().getFirst().finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
        JsonNode usage = MAPPER.readTree(answer).get("usage");
        assertThat(c.usage().orElseThrow().completionTokens()).isEqualTo(usage.get("output_tokens").asLong());
    }

    @Test
    void streamedChat() throws Exception {
        String recorded = fixture("messages_stream.txt");
        mock.on("/v1/messages", (req, reply) -> {
            reply.startStream();
            reply.chunk(recorded);
        });
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model("claude-sonnet-4-20250514")
                .addUserMessage("Hello").build();
        List<ChatCompletionChunk> chunks;
        try (StreamResponse<ChatCompletionChunk> response = client.chat().completions().createStreaming(params)) {
            chunks = response.stream().toList();
        }
        String text = chunks.stream().flatMap(c -> c.choices().stream()).map(ch -> ch.delta().content().orElse(""))
                .collect(Collectors.joining());
        assertThat(text).isEqualTo("Hello World");
        assertThat(chunks.getLast().choices().getFirst().finishReason())
                .hasValue(ChatCompletionChunk.Choice.FinishReason.STOP);
    }

    @Test
    void toolCallRoundTrip() throws Exception {
        mock.clearReceived(); // other tests of this class share the mock
        AtomicInteger n = new AtomicInteger();
        String withTools = fixture("messages_with_tools.json");
        String plain = fixture("messages.json");
        mock.on("/v1/messages", (req, reply) -> reply.json(200, n.getAndIncrement() == 0 ? withTools : plain));
        FunctionDefinition weather = Sdk.weatherFunction();
        ChatCompletionCreateParams first = ChatCompletionCreateParams.builder().model("claude-sonnet-4-20250514")
                .addUserMessage("Weather in Paris?").addTool(ChatCompletionFunctionTool.builder().function(weather).build()).build();
        ChatCompletion c1 = client.chat().completions().create(first);
        assertThat(c1.choices().getFirst().finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
        ChatCompletionMessage assistant = c1.choices().getFirst().message();
        ChatCompletionMessageFunctionToolCall call = assistant.toolCalls().orElseThrow().getFirst().asFunction();
        assertThat(call.id()).isEqualTo("toolu_01Dq95J3WcnLmvSvBpAuaXwi");
        assertThat(MAPPER.readTree(call.function().arguments()).get("location").asText()).isEqualTo("Paris");
        mock.take("/v1/messages");

        ChatCompletion c2 = client.chat().completions().create(first.toBuilder().addMessage(assistant)
                .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id()).content("{\"c\":18}").build()).build());
        assertThat(c2.choices().getFirst().message().content()).isPresent();
        JsonNode sent = MAPPER.readTree(mock.take("/v1/messages").body());
        assertThat(sent.at("/messages/1/content/1/type").asText()).isEqualTo("tool_use");
        assertThat(sent.at("/messages/1/content/1/id").asText()).isEqualTo(call.id());
        assertThat(sent.at("/messages/2/content/0/type").asText()).isEqualTo("tool_result");
        assertThat(sent.at("/messages/2/content/0/tool_use_id").asText()).isEqualTo(call.id());
    }
}
