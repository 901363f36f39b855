package dev.skiff.compat;

import dev.skiff.testing.Recorded;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
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
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import com.openai.models.completions.CompletionUsage;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The official openai-java SDK, pointed at Skiff in front of a mock provider. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenAiSdkTest {
    private static final Path FIXTURES = Recorded.dir("openai");
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final String CHAT = "/v1/chat/completions";

    private MockUpstream mock;
    private TestGateway gw;
    private OpenAIClient client;

    private static String fixture(String name) {
        Path p = FIXTURES.resolve(name);
        if (!Files.isRegularFile(p)) {
            throw new AssertionError("fixture missing: " + p.toAbsolutePath().normalize()
                    + "");
        }
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new AssertionError("cannot read fixture " + p.toAbsolutePath(), e);
        }
    }

    @BeforeAll
    void start() throws Exception {
        mock = new MockUpstream();
        gw = TestGateway.start("OPENAI_API_KEY", "sk-upstream", "OPENAI_BASE_URL", mock.baseUrl());
        gw.awaitListings();
        client = OpenAIOkHttpClient.builder()
                .baseUrl(gw.url("/v1"))
                .apiKey("sk-client")
                .maxRetries(0)
                .timeout(Duration.ofSeconds(10))
                .build();
    }

    @AfterAll
    void stop() {
        if (client != null) client.close();
        if (gw != null) gw.close();
        if (mock != null) mock.close();
    }

    /** The upstream chat request carrying {@code marker}, skipping anything else. */
    private MockUpstream.Received upstreamRequest(String marker) throws InterruptedException {
        for (int i = 0; i < 20; i++) {
            MockUpstream.Received r = mock.take(CHAT);
            if (r.body().contains(marker)) return r;
        }
        throw new AssertionError("no upstream request carrying " + marker);
    }

    // ---- (a) a plain call -----------------------------------------------------------------------

    @Test
    void plainChatCall() throws Exception {
        mock.on(CHAT, (req, reply) -> reply.json(200, fixture("chat_completion.json")));
        String marker = "Say hello " + UUID.randomUUID();
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder()
                .model("gpt-4o-mini")
                .addUserMessage(marker)
                .build();

        ChatCompletion completion = client.chat().completions().create(params);

        assertThat(completion.id()).isEqualTo("chatcmpl-D0q7lRI0Z2q8190Q0ue3JnnWtqLrd");
        assertThat(completion.model()).as("the name the client asked for, not the snapshot that served it").isEqualTo("gpt-4o-mini");
        assertThat(completion.created()).isEqualTo(1769092737L);
        assertThat(completion.choices()).hasSize(1);
        ChatCompletion.Choice choice = completion.choices().getFirst();
        assertThat(choice.message().content()).hasValue("Hello, World!");
        assertThat(choice.finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
        assertThat(completion.systemFingerprint()).hasValue("fp_29330a9688");

        CompletionUsage usage = completion.usage().orElseThrow(() -> new AssertionError("no usage parsed"));
        assertThat(usage.promptTokens()).isEqualTo(17);
        assertThat(usage.completionTokens()).isEqualTo(4);
        assertThat(usage.totalTokens()).isEqualTo(21);
        assertThat(usage.promptTokensDetails().flatMap(CompletionUsage.PromptTokensDetails::cachedTokens)).hasValue(0L);
        assertThat(usage.completionTokensDetails().flatMap(CompletionUsage.CompletionTokensDetails::reasoningTokens)).hasValue(0L);

        MockUpstream.Received up = upstreamRequest(marker);
        assertThat(up.header("Authorization")).as("the provider key replaces the client's").isEqualTo("Bearer sk-upstream");
        JsonNode sent = MAPPER.readTree(up.body());
        assertThat(sent.get("model").asText()).isEqualTo("gpt-4o-mini");
        assertThat(sent.at("/messages/0/role").asText()).isEqualTo("user");
        assertThat(sent.at("/messages/0/content").asText()).isEqualTo(marker);
        assertThat(sent.has("stream_options")).isFalse();
    }

    // ---- (b) a streamed call --------------------------------------------------------------------

    private static final List<String> PIECES = List.of("Hel", "lo", " from", " Skiff", "!");

    /**
     * Answers a stream the way OpenAI does: with include_usage, every chunk carries "usage":null
     * and a usage-only chunk (empty choices) precedes [DONE]. One event is cut in two writes.
     */
    private static void streamLikeOpenAi(MockUpstream.Received req, MockUpstream.Reply reply) throws Exception {
        JsonNode body = MAPPER.readTree(req.body());
        boolean usage = body.at("/stream_options/include_usage").asBoolean(false);
        String head = "{\"id\":\"chatcmpl-sdk\",\"object\":\"chat.completion.chunk\",\"created\":1769092764,\"model\":\"gpt-4o-mini-2024-07-18\","
                + "\"system_fingerprint\":\"fp_1\",\"choices\":[";
        String tail = "]" + (usage ? ",\"usage\":null" : "") + "}";
        reply.startStream();
        reply.chunk("data: " + head + "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}" + tail + "\n\n");
        for (String piece : PIECES) {
            String event = "data: " + head + "{\"index\":0,\"delta\":{\"content\":\"" + piece + "\"},\"finish_reason\":null}" + tail + "\n\n";
            int cut = event.length() / 2;
            reply.chunk(event.substring(0, cut));
            Thread.sleep(2);
            reply.chunk(event.substring(cut));
        }
        reply.chunk("data: " + head + "{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}" + tail + "\n\n");
        if (usage) {
            reply.chunk("data: " + head + "],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":5,\"total_tokens\":16,"
                    + "\"prompt_tokens_details\":{\"cached_tokens\":2},\"completion_tokens_details\":{\"reasoning_tokens\":0}}}\n\n");
        }
        reply.chunk("data: [DONE]\n\n");
    }

    private List<ChatCompletionChunk> stream(ChatCompletionCreateParams params) {
        try (StreamResponse<ChatCompletionChunk> response = client.chat().completions().createStreaming(params)) {
            return response.stream().toList();
        }
    }

    private static String content(List<ChatCompletionChunk> chunks) {
        return chunks.stream().flatMap(c -> c.choices().stream())
                .map(ch -> ch.delta().content().orElse(""))
                .collect(Collectors.joining());
    }

    @Test
    void streamedCallWithoutIncludeUsageGetsNoUsageChunk() throws Exception {
        mock.on(CHAT, OpenAiSdkTest::streamLikeOpenAi);
        String marker = "stream " + UUID.randomUUID();
        String requestId = "sdk-stream-" + UUID.randomUUID();
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder()
                .model("gpt-4o-mini")
                .addUserMessage(marker)
                .putAdditionalHeader("x-request-id", requestId)
                .build();

        List<ChatCompletionChunk> chunks = stream(params);

        assertThat(content(chunks)).isEqualTo("Hello from Skiff!");
        assertThat(chunks).as("role chunk, five pieces, finish chunk and nothing else").hasSize(PIECES.size() + 2);
        assertThat(chunks).allSatisfy(c -> {
            assertThat(c.choices()).as("no usage-only chunk").isNotEmpty();
            assertThat(c.usage()).isEmpty();
            assertThat(c._usage().isMissing()).as("the injected \"usage\":null is removed").isTrue();
            assertThat(c.model()).isEqualTo("gpt-4o-mini");
        });
        assertThat(chunks.getLast().choices().getFirst().finishReason()).hasValue(ChatCompletionChunk.Choice.FinishReason.STOP);

        JsonNode sent = MAPPER.readTree(upstreamRequest(marker).body());
        assertThat(sent.get("stream").asBoolean()).isTrue();
        assertThat(sent.at("/stream_options/include_usage").asBoolean())
                .as("Skiff asks upstream for usage on the client's behalf").isTrue();

        JsonNode line = MAPPER.readTree(gw.usageLine(requestId));
        assertThat(line.get("stream").asBoolean()).isTrue();
        assertThat(line.get("prompt_tokens").asLong()).isEqualTo(11);
        assertThat(line.get("completion_tokens").asLong()).isEqualTo(5);
        assertThat(line.get("total_tokens").asLong()).isEqualTo(16);
        assertThat(line.get("cached_tokens").asLong()).isEqualTo(2);
    }

    @Test
    void streamedCallWithIncludeUsageGetsTheUsageChunk() throws Exception {
        mock.on(CHAT, OpenAiSdkTest::streamLikeOpenAi);
        String marker = "stream usage " + UUID.randomUUID();
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder()
                .model("gpt-4o-mini")
                .addUserMessage(marker)
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build())
                .build();

        List<ChatCompletionChunk> chunks = stream(params);

        assertThat(content(chunks)).isEqualTo("Hello from Skiff!");
        assertThat(chunks).hasSize(PIECES.size() + 3);
        ChatCompletionChunk last = chunks.getLast();
        assertThat(last.choices()).isEmpty();
        CompletionUsage usage = last.usage().orElseThrow(() -> new AssertionError("usage chunk missing"));
        assertThat(usage.promptTokens()).isEqualTo(11);
        assertThat(usage.completionTokens()).isEqualTo(5);
        assertThat(usage.totalTokens()).isEqualTo(16);
        assertThat(chunks.subList(0, chunks.size() - 1)).allSatisfy(c -> assertThat(c.usage()).isEmpty());

        JsonNode sent = MAPPER.readTree(upstreamRequest(marker).body());
        assertThat(sent.at("/stream_options/include_usage").asBoolean()).isTrue();
    }

    // ---- (c) a tool-call round trip -------------------------------------------------------------

    @Test
    void toolCallRoundTrip() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        mock.on(CHAT, (req, reply) -> reply.json(200,
                fixture(calls.getAndIncrement() == 0 ? "chat_with_tools.json" : "chat_completion.json")));
        String marker = "What is the weather in Paris? " + UUID.randomUUID();
        FunctionDefinition weather = FunctionDefinition.builder()
                .name("get_weather")
                .description("Current weather for a city")
                .parameters(FunctionParameters.builder()
                        .putAdditionalProperty("type", JsonValue.from("object"))
                        .putAdditionalProperty("properties", JsonValue.from(Map.of("location", Map.of("type", "string"))))
                        .putAdditionalProperty("required", JsonValue.from(List.of("location")))
                        .build())
                .build();
        ChatCompletionCreateParams first = ChatCompletionCreateParams.builder()
                .model("gpt-4o-mini")
                .addUserMessage(marker)
                .addTool(ChatCompletionFunctionTool.builder().function(weather).build())
                .build();

        ChatCompletion c1 = client.chat().completions().create(first);
        ChatCompletion.Choice choice = c1.choices().getFirst();
        assertThat(choice.finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
        ChatCompletionMessage assistant = choice.message();
        assertThat(assistant.content()).isEmpty();
        assertThat(assistant.toolCalls()).hasValueSatisfying(tc -> assertThat(tc).hasSize(1));
        ChatCompletionMessageFunctionToolCall call = assistant.toolCalls().orElseThrow().getFirst().asFunction();
        assertThat(call.id()).isEqualTo("call_X8zi23yeE70r4qiZ2lhIuRNK");
        assertThat(call.function().name()).isEqualTo("get_weather");
        assertThat(call.function().arguments()).isEqualTo("{\"location\":\"Paris\"}");

        JsonNode firstSent = MAPPER.readTree(upstreamRequest(marker).body());
        assertThat(firstSent.at("/tools/0/type").asText()).isEqualTo("function");
        assertThat(firstSent.at("/tools/0/function/name").asText()).isEqualTo("get_weather");
        assertThat(firstSent.at("/tools/0/function/parameters/properties/location/type").asText()).isEqualTo("string");

        String result = "{\"temperature_c\":18,\"condition\":\"sunny\"}";
        ChatCompletionCreateParams second = first.toBuilder()
                .addMessage(assistant)
                .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id()).content(result).build())
                .build();
        ChatCompletion c2 = client.chat().completions().create(second);
        assertThat(c2.choices().getFirst().message().content()).hasValue("Hello, World!");

        JsonNode sent = MAPPER.readTree(upstreamRequest(marker).body());
        JsonNode messages = sent.get("messages");
        assertThat(messages).hasSize(3);
        assertThat(messages.get(0).get("role").asText()).isEqualTo("user");
        assertThat(messages.get(0).get("content").asText()).isEqualTo(marker);

        JsonNode asst = messages.get(1);
        assertThat(asst.get("role").asText()).isEqualTo("assistant");
        assertThat(asst.get("tool_calls")).hasSize(1);
        JsonNode tc = asst.get("tool_calls").get(0);
        assertThat(tc.get("id").asText()).isEqualTo("call_X8zi23yeE70r4qiZ2lhIuRNK");
        assertThat(tc.get("type").asText()).isEqualTo("function");
        assertThat(tc.at("/function/name").asText()).isEqualTo("get_weather");
        assertThat(tc.at("/function/arguments").asText()).isEqualTo("{\"location\":\"Paris\"}");

        JsonNode tool = messages.get(2);
        assertThat(tool.get("role").asText()).isEqualTo("tool");
        assertThat(tool.get("tool_call_id").asText()).isEqualTo(tc.get("id").asText());
        assertThat(tool.get("content").asText()).isEqualTo(result);
        assertThat(sent.at("/tools/0/function/name").asText()).isEqualTo("get_weather");
        assertThat(calls.get()).isEqualTo(2);
    }
}
