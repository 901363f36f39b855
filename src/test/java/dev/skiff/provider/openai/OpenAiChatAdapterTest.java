package dev.skiff.provider.openai;

import dev.skiff.testing.Recorded;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skiff.config.ProviderConfig;
import dev.skiff.config.ProviderType;
import dev.skiff.dialect.BadRequestException;
import dev.skiff.dialect.ClientDialect;
import dev.skiff.dialect.Egress;
import dev.skiff.dialect.ir.ChatRequest;
import dev.skiff.dialect.ir.Message;
import dev.skiff.dialect.ir.Part;
import dev.skiff.dialect.openai.OpenAiChat;
import dev.skiff.dialect.openai.OpenAiChatEgress;
import dev.skiff.dialect.openai.OpenAiChatStreamWriter;
import dev.skiff.provider.ChatAdapter;
import dev.skiff.provider.Provider;
import dev.skiff.provider.ResponseTranslator;
import dev.skiff.provider.TranslatedResponses;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The adapter end to end without a network: the upstream request it writes, and what it makes of the answers. */
class OpenAiChatAdapterTest {
    static final ByteBufAllocator ALLOC = PooledByteBufAllocator.DEFAULT;

    static JsonNode json(String s) {
        try {
            return OpenAiChat.JSON.readTree(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String fixture(String name) {
        Path p = Recorded.path("openai", name);
        if (!Files.isRegularFile(p)) throw new AssertionError("fixture missing: " + p.toAbsolutePath().normalize());
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Provider provider(ProviderType type) {
        return switch (type) {
            case AZURE -> new Provider(new ProviderConfig("azure", type, URI.create("https://res.openai.azure.com"), "az-key", List.of(), "2024-10-21"));
            case VLLM -> new Provider(new ProviderConfig("vllm", type, URI.create("http://127.0.0.1:8000/v1"), null, List.of(), null));
            default -> new Provider(new ProviderConfig(type.id(), type, URI.create(type.defaultBaseUrl().orElseThrow()), "sk-test", List.of(), null));
        };
    }

    static ChatAdapter.Call call(ProviderType type, String model, boolean stream, Egress egress) {
        return new ChatAdapter.Call(provider(type), model, model, stream, egress, new DefaultHttpHeaders(), "req-1");
    }

    static ChatAdapter.Call call(ProviderType type, String model, boolean stream) {
        return call(type, model, stream, new OpenAiChatEgress(model, false));
    }

    /** The upstream body for a client's chat request read into the IR; releases the buffer. */
    static JsonNode body(ChatAdapter.Upstream up) {
        try {
            return OpenAiChat.read(up.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            up.body().release();
        }
    }

    static ChatAdapter.Upstream prepare(ChatAdapter.Call call, String clientRequest) throws BadRequestException {
        ByteBuf in = ALLOC.buffer().writeBytes(clientRequest.getBytes(StandardCharsets.UTF_8));
        try {
            return OpenAiChatAdapter.INSTANCE.prepare(call, OpenAiChat.parseRequest(in, call.upstreamModel()), ALLOC);
        } finally {
            in.release();
        }
    }

    // ---- the upstream request -----------------------------------------------------------------

    @Test
    void openAiRequestHead() throws Exception {
        ChatAdapter.Upstream up = prepare(call(ProviderType.OPENAI, "gpt-4o-mini", false),
                "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(up.head().method().name()).isEqualTo("POST");
        assertThat(up.head().uri()).isEqualTo("/v1/chat/completions");
        HttpHeaders h = up.head().headers();
        assertThat(h.get("host")).isEqualTo("api.openai.com");
        assertThat(h.get("authorization")).isEqualTo("Bearer sk-test");
        assertThat(h.get("content-type")).isEqualTo("application/json");
        assertThat(h.getInt("content-length")).isEqualTo(up.body().readableBytes());
        assertThat(h.get("accept")).isEqualTo("application/json");
        assertThat(h.get("x-request-id")).isEqualTo("req-1");
        assertThat(up.stream()).isNull();
        assertThat(up.headers()).isEmpty();
        assertThat(body(up).has("stream")).isFalse();
    }

    @Test
    void azureNamesTheDeploymentInThePathAndTakesAnApiKey() throws Exception {
        ChatAdapter.Upstream up = prepare(call(ProviderType.AZURE, "my gpt4o", false),
                "{\"model\":\"x\",\"max_tokens\":50,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(up.head().uri()).isEqualTo("/openai/deployments/my%20gpt4o/chat/completions?api-version=2024-10-21");
        assertThat(up.head().headers().get("api-key")).isEqualTo("az-key");
        assertThat(up.head().headers().get("authorization")).isNull();
        assertThat(body(up).get("max_completion_tokens").asInt()).isEqualTo(50);
    }

    @ParameterizedTest
    @CsvSource({"OPENAI, max_completion_tokens", "AZURE, max_completion_tokens", "GROQ, max_tokens", "DEEPSEEK, max_tokens",
            "MISTRAL, max_tokens", "VLLM, max_tokens"})
    @DisplayName("conformance 28: the output limit's name per provider type")
    void case28_maxTokensPerType(ProviderType type, String field) throws Exception {
        JsonNode b = body(prepare(call(type, "m", false), "{\"model\":\"m\",\"max_tokens\":77,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"));
        assertThat(b.get(field).asInt()).isEqualTo(77);
        assertThat(b.has(field.equals("max_tokens") ? "max_completion_tokens" : "max_tokens")).isFalse();
    }

    @Test
    @DisplayName("conformance 20: a stream asks for usage even when the client did not")
    void case20_streamRequest() throws Exception {
        ChatAdapter.Upstream up = prepare(call(ProviderType.GROQ, "llama", true),
                "{\"model\":\"llama\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(up.head().headers().get("accept")).isEqualTo("text/event-stream");
        assertThat(up.stream()).isInstanceOf(OpenAiChatStreamTranslator.class);
        JsonNode b = body(up);
        assertThat(b.get("stream").asBoolean()).isTrue();
        assertThat(b.at("/stream_options/include_usage").asBoolean()).isTrue();
        up.stream().release();
    }

    @Test
    void droppedFieldsAreNamedInAHeader() throws Exception {
        ChatAdapter.Upstream up = prepare(call(ProviderType.OPENAI, "gpt-4o-mini", false),
                "{\"model\":\"m\",\"top_k\":5,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\","
                        + "\"cache_control\":{\"type\":\"ephemeral\"}}]}]}");
        assertThat(up.headers()).containsEntry(ChatAdapter.DROPPED_HEADER, "cache_control, top_k");
        up.body().release();
    }

    @Test
    @DisplayName("conformance 12: DeepSeek gets its reasoning back on a tool-call turn; OpenAI does not")
    void case12_reasoningEchoPerType() {
        ChatRequest r = new ChatRequest("m", List.of(), List.of(
                new Message(Message.Role.USER, List.of(new Part.Text("weather?"))),
                new Message(Message.Role.ASSISTANT, List.of(new Part.Thinking("Need a tool.", null), new Part.ToolCall("c1", "w", "{}"))),
                new Message(Message.Role.USER, List.of(new Part.ToolResult("c1", List.of(new Part.Text("sunny")), false, null)))),
                List.of(), null, null, ChatRequest.Sampling.NONE, null, null, false, Map.of());
        JsonNode deepseek = body(OpenAiChatAdapter.INSTANCE.prepare(call(ProviderType.DEEPSEEK, "deepseek-chat", false), r, ALLOC));
        assertThat(deepseek.at("/messages/1/reasoning_content").asText()).isEqualTo("Need a tool.");
        ChatAdapter.Upstream openai = OpenAiChatAdapter.INSTANCE.prepare(call(ProviderType.OPENAI, "gpt-4o", false), r, ALLOC);
        assertThat(openai.headers()).containsEntry(ChatAdapter.DROPPED_HEADER, "reasoning_content");
        assertThat(body(openai).at("/messages/1").has("reasoning_content")).isFalse();
    }

    @Test
    void theClientsDialectDecidesWhatExtrasMean() {
        ChatRequest r = new ChatRequest("m", List.of(), List.of(new Message(Message.Role.USER, List.of(new Part.Text("hi")))),
                List.of(), null, null, ChatRequest.Sampling.NONE, null, null, false,
                Map.of("metadata", json("{\"user_id\":\"u-9\"}")));
        Egress anthropicClient = new Egress() {
            @Override
            public ClientDialect dialect() {
                return ClientDialect.ANTHROPIC_MESSAGES;
            }

            @Override
            public ByteBuf response(dev.skiff.dialect.ir.ChatResponse response, ByteBufAllocator alloc) {
                throw new UnsupportedOperationException();
            }

            @Override
            public dev.skiff.dialect.ChatStreamWriter stream() {
                return new RecordingWriter();
            }
        };
        JsonNode b = body(OpenAiChatAdapter.INSTANCE.prepare(call(ProviderType.OPENAI, "m", false, anthropicClient), r, ALLOC));
        assertThat(b.get("user").asText()).isEqualTo("u-9");
        assertThat(b.has("metadata")).isFalse();
        JsonNode chat = body(OpenAiChatAdapter.INSTANCE.prepare(call(ProviderType.OPENAI, "m", false), r, ALLOC));
        assertThat(chat.get("metadata")).isEqualTo(json("{\"user_id\":\"u-9\"}"));
    }

    // ---- chat -> IR -> chat is lossless for what chat expresses --------------------------------

    /** Client requests as they were sent for the recorded answers (and a tool loop, a stream). */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            chat_completion          | OPENAI | {"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say 'Hello, World!'"}]}
            chat_with_params         | GROQ   | {"model":"gpt-4o-mini","messages":[{"role":"system","content":"You count."},{"role":"user","content":"Count from 1 to 10."}],"temperature":0.7,"top_p":0.9,"max_tokens":13,"stop":["5"],"seed":42,"presence_penalty":0.1,"frequency_penalty":0.2}
            chat_with_tools          | OPENAI | {"model":"gpt-4o-mini","messages":[{"role":"user","content":"Weather in Paris?"}],"tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather","parameters":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]},"strict":false}}],"tool_choice":"auto","parallel_tool_calls":true}
            chat_json_mode           | OPENAI | {"model":"gpt-4o-mini","messages":[{"role":"system","content":"Answer in JSON."},{"role":"user","content":"List three colors."}],"response_format":{"type":"json_object"}}
            chat_multi_turn          | OPENAI | {"model":"gpt-4o-mini","messages":[{"role":"system","content":"You do sums."},{"role":"user","content":"What is 5 + 3?"},{"role":"assistant","content":"8"},{"role":"user","content":"And 2 more?"}]}
            chat_multimodal          | OPENAI | {"model":"gpt-4o-mini","messages":[{"role":"user","content":[{"type":"text","text":"Which colors?"},{"type":"image_url","image_url":{"url":"https://example.com/logo.png","detail":"low"}},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]}
            chat_completion_reasoning| OPENAI | {"model":"o3-mini","messages":[{"role":"user","content":"What is 2 + 2?"}],"reasoning_effort":"low","max_completion_tokens":500}
            chat_completion_stream   | OPENAI | {"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say 'Hello, World!'"}],"stream":true,"stream_options":{"include_usage":true}}
            tool_loop_structured     | OPENAI | {"model":"gpt-4o-mini","messages":[{"role":"user","content":"Weather in Paris?"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\\"location\\":\\"Paris\\"}"}}]},{"role":"tool","tool_call_id":"call_1","content":"18C"},{"role":"user","content":"Summarize."}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}],"tool_choice":{"type":"function","function":{"name":"get_weather"}},"response_format":{"type":"json_schema","json_schema":{"name":"summary","schema":{"type":"object","properties":{"t":{"type":"number","minimum":-40.5}}},"strict":true}},"user":"u-1","store":true,"metadata":{"k":"v"}}
            """)
    void chatToIrToChatIsLossless(String name, ProviderType type, String request) throws Exception {
        JsonNode original = json(request);
        ChatAdapter.Upstream up = prepare(call(type, original.get("model").asText(), original.path("stream").asBoolean()), request);
        assertThat(up.headers()).as("nothing dropped").isEmpty();
        if (up.stream() != null) up.stream().release();
        assertThat(body(up)).isEqualTo(original);
    }

    // ---- answers -------------------------------------------------------------------------------

    static String translate(ResponseTranslator t, int status, String body, int[] statusOut) {
        ResponseTranslator.Result r = t.translate(status, ALLOC.buffer().writeBytes(body.getBytes(StandardCharsets.UTF_8)), ALLOC);
        statusOut[0] = r.status();
        try {
            return r.body().toString(StandardCharsets.UTF_8);
        } finally {
            r.body().release();
        }
    }

    @Test
    void aRecordedToolCallAnswerReachesTheClient() {
        int[] status = new int[1];
        JsonNode out = json(translate(OpenAiChatAdapter.responses(new OpenAiChatEgress("gpt-4o-mini", false)), 200,
                fixture("chat_with_tools.json"), status));
        assertThat(status[0]).isEqualTo(200);
        assertThat(out.at("/choices/0/finish_reason").asText()).isEqualTo("tool_calls");
        assertThat(out.at("/choices/0/message/content").isNull()).isTrue();
        assertThat(out.at("/choices/0/message/tool_calls/0/id").asText()).isEqualTo("call_X8zi23yeE70r4qiZ2lhIuRNK");
        assertThat(out.at("/choices/0/message/tool_calls/0/function/arguments").asText()).isEqualTo("{\"location\":\"Paris\"}");
        assertThat(out.at("/usage/prompt_tokens").asInt()).isEqualTo(47);
        assertThat(out.at("/usage/completion_tokens").asInt()).isEqualTo(14);
    }

    @Test
    @DisplayName("conformance 32: the provider's status and message survive, in the client's shape")
    void case32_errorsKeepStatusAndMessage() {
        ResponseTranslator t = OpenAiChatAdapter.responses(new OpenAiChatEgress("m", false));
        int[] status = new int[1];
        JsonNode out = json(translate(t, 429, "{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\",\"param\":null,"
                + "\"code\":\"rate_limit_exceeded\"}}", status));
        assertThat(status[0]).isEqualTo(429);
        assertThat(out.at("/error/message").asText()).isEqualTo("Rate limit reached");
        assertThat(out.at("/error/code").asText()).isEqualTo("rate_limit_exceeded");

        out = json(translate(t, 502, "<html>bad gateway</html>", status));
        assertThat(status[0]).isEqualTo(502);
        assertThat(out.at("/error/message").asText()).isEqualTo("<html>bad gateway</html>");
    }

    @Test
    void compatibleServersErrorShapes() {
        assertThat(OpenAiChatAdapter.parseError(404, "{\"error\":\"model 'x' not found\"}"))
                .isEqualTo(new TranslatedResponses.ProviderError(null, "model 'x' not found"));
        assertThat(OpenAiChatAdapter.parseError(400, "{\"object\":\"error\",\"message\":\"too long\",\"type\":\"BadRequestError\",\"code\":400}"))
                .isEqualTo(new TranslatedResponses.ProviderError("400", "too long"));
        assertThat(OpenAiChatAdapter.parseError(400, "{\"error\":{\"message\":\"bad\",\"type\":\"invalid_request_error\",\"code\":null}}"))
                .isEqualTo(new TranslatedResponses.ProviderError("invalid_request_error", "bad"));
        assertThat(OpenAiChatAdapter.parseError(500, "")).extracting(TranslatedResponses.ProviderError::message).asString().contains("500");
    }

    @Test
    void anAnswerWithAnUnknownFinishReasonIsA502() {
        int[] status = new int[1];
        JsonNode out = json(translate(OpenAiChatAdapter.responses(new OpenAiChatEgress("m", false)), 200,
                "{\"id\":\"x\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"partial\"},\"finish_reason\":\"abort\"}]}",
                status));
        assertThat(status[0]).isEqualTo(502);
        assertThat(out.at("/error/message").asText()).contains("abort");
    }

    @Test
    void theRecordedStreamThroughTheAdaptersTranslator() throws Exception {
        ChatAdapter.Upstream up = prepare(call(ProviderType.OPENAI, "gpt-4o-mini", true, new OpenAiChatEgress("gpt-4o-mini", false)),
                "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        up.body().release();
        String out = OpenAiChatStreamTranslatorTest.run(up.stream(), fixture("chat_completion_stream.txt"), 11);
        OpenAiChatStreamTranslatorTest.Replayed r = OpenAiChatStreamTranslatorTest.Replayed.of(out);
        assertThat(r.content.toString()).isEqualTo("Hello, World!");
        assertThat(r.finishReasons).containsExactly("stop");
        assertThat(r.done).isTrue();
        assertThat(up.stream().error()).isNull();
        // sanity: the writer the egress made is OpenAI's
        assertThat(new OpenAiChatEgress("m", false).stream()).isInstanceOf(OpenAiChatStreamWriter.class);
    }
}
