package dev.skiff.compat;

import dev.skiff.testing.Recorded;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
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
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The official openai-java SDK against Skiff with an Azure OpenAI deployment behind it (mocked). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenAiSdkAzureTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final String CHAT = "/openai/deployments/gpt4o-prod/chat/completions";
    private MockUpstream azure;
    private TestGateway gw;
    private OpenAIClient client;

    private static String fixture(String name) throws Exception {
        return Files.readString(Recorded.path("openai", name));
    }

    @BeforeAll
    void start() throws Exception {
        azure = new MockUpstream();
        gw = TestGateway.start("AZURE_API_KEY", "az", "AZURE_BASE_URL", azure.baseUrl().replace("/v1", ""),
                "AZURE_MODELS", "gpt4o-prod").awaitListings();
        client = Sdk.client(gw);
    }

    @AfterAll
    void stop() {
        client.close();
        gw.close();
        azure.close();
    }

    @Test
    void plainAndStreamedChat() throws Exception {
        String answer = fixture("chat_completion.json");
        String stream = fixture("chat_completion_stream.txt");
        azure.on(CHAT, (req, reply) -> {
            if (req.body().contains("\"stream\":true")) {
                reply.startStream();
                reply.chunk(stream);
            } else {
                reply.json(200, answer);
            }
        });
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model("gpt4o-prod").addUserMessage("Hello").build();
        ChatCompletion c = client.chat().completions().create(params);
        assertThat(c.choices().getFirst().message().content()).hasValue(MAPPER.readTree(answer).at("/choices/0/message/content").asText());
        assertThat(azure.take(CHAT).header("api-key")).isEqualTo("az");

        List<ChatCompletionChunk> chunks;
        try (StreamResponse<ChatCompletionChunk> r = client.chat().completions().createStreaming(params)) {
            chunks = r.stream().toList();
        }
        String text = chunks.stream().flatMap(ch -> ch.choices().stream()).map(ch -> ch.delta().content().orElse(""))
                .collect(Collectors.joining());
        assertThat(text).isNotEmpty();
        assertThat(azure.take(CHAT).query()).isEqualTo("api-version=2024-10-21");
    }

    @Test
    void toolCallRoundTrip() throws Exception {
        azure.clearReceived();
        AtomicInteger n = new AtomicInteger();
        String withTools = fixture("chat_with_tools.json");
        String plain = fixture("chat_completion.json");
        azure.on(CHAT, (req, reply) -> reply.json(200, n.getAndIncrement() == 0 ? withTools : plain));
        FunctionDefinition weather = FunctionDefinition.builder().name("get_weather")
                .parameters(FunctionParameters.builder().putAdditionalProperty("type", JsonValue.from("object"))
                        .putAdditionalProperty("properties", JsonValue.from(Map.of("location", Map.of("type", "string")))).build())
                .build();
        ChatCompletionCreateParams first = ChatCompletionCreateParams.builder().model("azure/gpt4o-prod")
                .addUserMessage("Weather in Paris?").addTool(ChatCompletionFunctionTool.builder().function(weather).build()).build();
        ChatCompletionMessage assistant = client.chat().completions().create(first).choices().getFirst().message();
        ChatCompletionMessageFunctionToolCall call = assistant.toolCalls().orElseThrow().getFirst().asFunction();
        azure.take(CHAT);
        client.chat().completions().create(first.toBuilder().addMessage(assistant)
                .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id()).content("{\"c\":18}").build()).build());
        JsonNode sent = MAPPER.readTree(azure.take(CHAT).body());
        assertThat(sent.get("model").asText()).isEqualTo("gpt4o-prod"); // the qualified name, rewritten for Azure
        assertThat(sent.at("/messages/1/tool_calls/0/id").asText()).isEqualTo(call.id());
        assertThat(sent.at("/messages/2/tool_call_id").asText()).isEqualTo(call.id());
    }
}
