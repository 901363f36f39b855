package dev.skiff.provider.gemini;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.FunctionDefinition;
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
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The official openai-java SDK against Skiff with a Gemini upstream (mocked with Gemini-shaped answers). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GeminiOpenAiSdkTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final String GENERATE = GeminiAdapterEndToEndTest.GENERATE;
    private MockUpstream mock;
    private TestGateway gw;
    private OpenAIClient client;

    @BeforeAll
    void start() throws Exception {
        mock = GeminiAdapterEndToEndTest.geminiMock();
        gw = TestGateway.start("GEMINI_API_KEY", "g-key", "GEMINI_BASE_URL", mock.baseUrl()).awaitListings();
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
        String answer = GeminiCodecTest.fixture("generate_content.json");
        mock.on(GENERATE, (req, reply) -> reply.json(200, answer));
        ChatCompletion c = client.chat().completions().create(ChatCompletionCreateParams.builder()
                .model("gemini-2.5-flash").addUserMessage("Hello").build());
        assertThat(c.choices().getFirst().message().content()).hasValue("Hello! How can I help you today?");
        assertThat(c.choices().getFirst().finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
        assertThat(c.usage().orElseThrow().completionTokens()).isEqualTo(9);
        assertThat(c.usage().orElseThrow().promptTokens()).isEqualTo(5);
    }

    @Test
    void streamedChat() throws Exception {
        String recorded = GeminiCodecTest.fixture("stream.txt");
        mock.on(GeminiAdapterEndToEndTest.STREAM, (req, reply) -> {
            reply.startStream();
            reply.chunk(recorded);
        });
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model("gemini-2.5-flash")
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
        String withTools = GeminiCodecTest.fixture("generate_content_tools.json");
        String plain = GeminiCodecTest.fixture("generate_content.json");
        mock.on(GENERATE, (req, reply) -> reply.json(200, n.getAndIncrement() == 0 ? withTools : plain));
        FunctionDefinition weather = Sdk.weatherFunction();
        ChatCompletionCreateParams first = ChatCompletionCreateParams.builder().model("gemini-2.5-flash")
                .addUserMessage("Weather in Paris?").addTool(ChatCompletionFunctionTool.builder().function(weather).build()).build();
        ChatCompletion c1 = client.chat().completions().create(first);
        assertThat(c1.choices().getFirst().finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
        ChatCompletionMessage assistant = c1.choices().getFirst().message();
        List<ChatCompletionMessageFunctionToolCall> calls = assistant.toolCalls().orElseThrow().stream().map(t -> t.asFunction()).toList();
        assertThat(calls).hasSize(2);
        ChatCompletionMessageFunctionToolCall call = calls.getFirst();
        assertThat(call.id()).startsWith("call_");
        assertThat(MAPPER.readTree(call.function().arguments()).get("location").asText()).isEqualTo("Paris");
        mock.take(GENERATE);

        ChatCompletionCreateParams.Builder next = first.toBuilder().addMessage(assistant);
        for (ChatCompletionMessageFunctionToolCall c : calls) {
            next.addMessage(ChatCompletionToolMessageParam.builder().toolCallId(c.id()).content("{\"c\":18}").build());
        }
        ChatCompletion c2 = client.chat().completions().create(next.build());
        assertThat(c2.choices().getFirst().message().content()).isPresent();
        JsonNode sent = MAPPER.readTree(mock.take(GENERATE).body());
        assertThat(sent.at("/contents/1/parts/0/functionCall/name").asText()).isEqualTo("get_weather");
        assertThat(sent.at("/contents/1/parts/0/thoughtSignature").asText())
                .isEqualTo(MAPPER.readTree(withTools).at("/candidates/0/content/parts/0/thoughtSignature").asText());
        assertThat(sent.at("/contents/2/role").asText()).isEqualTo("user");
        assertThat(sent.at("/contents/2/parts/0/functionResponse/name").asText()).isEqualTo("get_weather");
        assertThat(sent.at("/contents/2/parts/0/functionResponse/response/c").asInt()).isEqualTo(18);
        assertThat(sent.at("/contents/2/parts/1/functionResponse/name").asText()).isEqualTo("get_weather");
    }
}
