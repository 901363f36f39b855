package dev.skiff.provider.bedrock;

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

/** The official openai-java SDK against Skiff with a Bedrock Converse upstream (mocked). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenAiSdkBedrockTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final String MODEL = BedrockAdapterEndToEndTest.MODEL;
    private static final String CONVERSE = BedrockAdapterEndToEndTest.CONVERSE;
    private MockUpstream mock;
    private TestGateway gw;
    private OpenAIClient client;

    @BeforeAll
    void start() throws Exception {
        mock = new MockUpstream();
        gw = TestGateway.start("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY", "secret", "AWS_REGION", "us-east-1",
                "BEDROCK_BASE_URL", BedrockAdapterEndToEndTest.base(mock), "BEDROCK_MODELS", MODEL).awaitListings();
        client = Sdk.client(gw);
    }

    @AfterAll
    void stop() {
        client.close();
        gw.close();
        mock.close();
    }

    @Test
    void plainChat() {
        mock.on(CONVERSE, (req, reply) -> reply.json(200, BedrockFrames.fixture("converse.json")));
        ChatCompletion c = client.chat().completions().create(ChatCompletionCreateParams.builder()
                .model(MODEL).addUserMessage("Hello").build());
        assertThat(c.choices().getFirst().message().content()).hasValue("Hello! How can I help you today?");
        assertThat(c.choices().getFirst().finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
        assertThat(c.usage().orElseThrow().completionTokens()).isEqualTo(11);
    }

    @Test
    void streamedChat() {
        mock.on(BedrockAdapterEndToEndTest.CONVERSE_STREAM, (req, reply) -> {
            reply.header("Content-Type", "application/vnd.amazon.eventstream");
            reply.raw(200, BedrockFrames.textStream());
        });
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model(MODEL).addUserMessage("Hello").build();
        List<ChatCompletionChunk> chunks;
        try (StreamResponse<ChatCompletionChunk> response = client.chat().completions().createStreaming(params)) {
            chunks = response.stream().toList();
        }
        String text = chunks.stream().flatMap(c -> c.choices().stream()).map(ch -> ch.delta().content().orElse(""))
                .collect(Collectors.joining());
        assertThat(text).isEqualTo("Hello World");
        assertThat(chunks.getLast().choices().getFirst().finishReason()).hasValue(ChatCompletionChunk.Choice.FinishReason.STOP);
    }

    @Test
    void toolCallRoundTrip() throws Exception {
        mock.clearReceived();
        AtomicInteger n = new AtomicInteger();
        String withTools = BedrockFrames.fixture("converse_with_tools.json");
        String plain = BedrockFrames.fixture("converse.json");
        mock.on(CONVERSE, (req, reply) -> reply.json(200, n.getAndIncrement() == 0 ? withTools : plain));
        FunctionDefinition weather = Sdk.weatherFunction();
        ChatCompletionCreateParams first = ChatCompletionCreateParams.builder().model(MODEL)
                .addUserMessage("Weather in Paris?").addTool(ChatCompletionFunctionTool.builder().function(weather).build()).build();
        ChatCompletion c1 = client.chat().completions().create(first);
        assertThat(c1.choices().getFirst().finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
        ChatCompletionMessage assistant = c1.choices().getFirst().message();
        ChatCompletionMessageFunctionToolCall call = assistant.toolCalls().orElseThrow().getFirst().asFunction();
        assertThat(call.id()).isEqualTo("tooluse_kZJMlvQmRJ6eAyJE5GIl7Q");
        assertThat(MAPPER.readTree(call.function().arguments()).get("location").asText()).isEqualTo("Paris");
        mock.take(CONVERSE);

        ChatCompletion c2 = client.chat().completions().create(first.toBuilder().addMessage(assistant)
                .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id()).content("{\"c\":18}").build()).build());
        assertThat(c2.choices().getFirst().message().content()).isPresent();
        JsonNode sent = MAPPER.readTree(mock.take(CONVERSE).body());
        assertThat(sent.at("/messages/1/role").asText()).isEqualTo("assistant");
        assertThat(sent.at("/messages/1/content/1/toolUse/toolUseId").asText()).isEqualTo(call.id());
        assertThat(sent.at("/messages/1/content/1/toolUse/input/location").asText()).isEqualTo("Paris");
        assertThat(sent.at("/messages/2/content/0/toolResult/toolUseId").asText()).isEqualTo(call.id());
        assertThat(sent.at("/messages/2/content/0/toolResult/content/0/text").asText()).isEqualTo("{\"c\":18}");
        assertThat(sent.at("/toolConfig/tools/0/toolSpec/name").asText()).isEqualTo("get_weather");
    }
}
