package dev.skiff.compat;

import dev.skiff.testing.Recorded;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.core.JsonValue;
import com.openai.core.ObjectMappers;
import com.openai.core.http.StreamResponse;
import com.openai.errors.NotFoundException;
import com.openai.helpers.ResponseAccumulator;
import com.openai.models.Reasoning;
import com.openai.models.ReasoningEffort;
import com.openai.models.responses.FunctionTool;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCompletedEvent;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseError;
import com.openai.models.responses.ResponseFailedEvent;
import com.openai.models.responses.ResponseFunctionToolCall;
import com.openai.models.responses.ResponseInputItem;
import com.openai.models.responses.ResponseItem;
import com.openai.models.responses.ResponseOutputItem;
import com.openai.models.responses.ResponseOutputMessage;
import com.openai.models.responses.ResponseReasoningItem;
import com.openai.models.responses.ResponseStatus;
import com.openai.models.responses.ResponseStreamEvent;
import com.openai.models.responses.ResponseTextDeltaEvent;
import com.openai.models.responses.ResponseUsage;
import com.openai.models.responses.inputitems.InputItemListPage;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.Sdk;
import dev.skiff.testing.TestGateway;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The official openai-java SDK's Responses API ({@code client.responses()}) against Skiff with an
 * Anthropic upstream: Skiff translates each request to {@code /v1/messages}, translates the answer
 * (and the stream) back, and keeps the response so {@code previous_response_id}, retrieval, input
 * items and deletion work although Anthropic keeps no state.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenAiResponsesSdkTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final String MODEL = "claude-sonnet-4-20250514";
    private static final String MESSAGES = "/v1/messages";

    private MockUpstream mock;
    private TestGateway gw;
    private OpenAIClient client;

    private static String fixture(String name) {
        Path p = Recorded.path("anthropic", name);
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
        mock = new MockUpstream().models(MODEL);
        gw = TestGateway.start("ANTHROPIC_API_KEY", "sk-ant", "ANTHROPIC_BASE_URL", mock.baseUrl()).awaitListings();
        client = Sdk.client(gw);
    }

    @AfterAll
    void stop() {
        if (client != null) client.close();
        if (gw != null) gw.close();
        if (mock != null) mock.close();
    }

    /** The tests share the mock and run one at a time: each starts with an empty record of requests. */
    @BeforeEach
    void forgetEarlierRequests() {
        mock.clearReceived();
    }

    private JsonNode nextAnthropicRequest() throws Exception {
        return MAPPER.readTree(mock.take(MESSAGES).body());
    }

    /** What the Python and Node SDKs call {@code output_text}: every output_text part of every message, joined. */
    private static String outputText(Response r) {
        return r.output().stream().filter(ResponseOutputItem::isMessage).map(ResponseOutputItem::asMessage)
                .flatMap(m -> m.content().stream()).filter(ResponseOutputMessage.Content::isOutputText)
                .map(c -> c.asOutputText().text()).collect(Collectors.joining());
    }

    private static FunctionTool weatherTool() {
        return FunctionTool.builder().name("get_weather").description("Current weather").strict(false)
                .parameters(FunctionTool.Parameters.builder()
                        .putAdditionalProperty("type", JsonValue.from("object"))
                        .putAdditionalProperty("properties", JsonValue.from(Map.of("location", Map.of("type", "string"))))
                        .putAdditionalProperty("required", JsonValue.from(List.of("location")))
                        .build())
                .build();
    }

    // ---- 1. create -----------------------------------------------------------------------------

    @Test
    void createReturnsTheTextWithUsageAndSendsInstructionsAsSystem() throws Exception {
        String answer = fixture("messages.json");
        mock.on(MESSAGES, (req, reply) -> reply.json(200, answer));
        String question = "Say hello " + UUID.randomUUID();

        Response r = client.responses().create(ResponseCreateParams.builder().model(MODEL)
                .instructions("Answer in two words.").input(question).maxOutputTokens(64).build());

        r.validate(); // every member the SDK requires is there, with the type it expects
        assertThat(r.id()).startsWith("resp_");
        assertThat(r.status()).hasValue(ResponseStatus.COMPLETED);
        assertThat(r.model().asString()).isEqualTo(MODEL);
        assertThat(outputText(r)).isEqualTo("Hello World");
        assertThat(r.output()).hasSize(1);
        assertThat(r.instructions().map(i -> i.asString())).hasValue("Answer in two words.");
        assertThat(r.maxOutputTokens()).hasValue(64L);
        assertThat(r.error()).isEmpty();
        ResponseUsage usage = r.usage().orElseThrow(() -> new AssertionError("no usage parsed"));
        assertThat(usage.inputTokens()).isEqualTo(14);
        assertThat(usage.outputTokens()).isEqualTo(5);
        assertThat(usage.totalTokens()).isEqualTo(19);

        JsonNode sent = nextAnthropicRequest();
        assertThat(sent.get("model").asText()).isEqualTo(MODEL);
        assertThat(sent.at("/system/0/type").asText()).isEqualTo("text");
        assertThat(sent.at("/system/0/text").asText()).isEqualTo("Answer in two words.");
        assertThat(sent.get("max_tokens").asInt()).isEqualTo(64);
        assertThat(sent.get("messages")).hasSize(1);
        assertThat(sent.at("/messages/0/role").asText()).isEqualTo("user");
        assertThat(sent.at("/messages/0/content").toString()).contains(question);
        assertThat(sent.has("stream") && sent.get("stream").asBoolean()).isFalse();
    }

    // ---- 2. stream -----------------------------------------------------------------------------

    /** A real stream's message_start, then a signed thinking block and a text block in several deltas, cut at odd places. */
    private static final String SIGNATURE = "EoQDCkYICxgCKkD/7LGRV3nhFx7eDr0a8CqN9Q7VPNpcIwqMFQzxg6yM6cO8+q0blgDq+FxNpRMT";
    private static final List<String> PIECES = List.of("The answer", " is", " x = 7", ".");

    private static List<String> thinkingStream() {
        String recorded = fixture("messages_stream.txt");
        String messageStart = recorded.substring(0, recorded.indexOf("event: content_block_start"));
        List<String> events = new ArrayList<>();
        events.add(messageStart);
        events.add("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
                + "\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}\n\n");
        events.add("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
                + "\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"x + 5 = 12, \"}}\n\n");
        events.add("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
                + "\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"so x = 7.\"}}\n\n");
        events.add("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
                + "\"delta\":{\"type\":\"signature_delta\",\"signature\":\"" + SIGNATURE + "\"}}\n\n");
        events.add("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n");
        events.add("event: ping\ndata: {\"type\": \"ping\"}\n\n");
        events.add("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,"
                + "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n");
        for (String piece : PIECES) {
            events.add("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,"
                    + "\"delta\":{\"type\":\"text_delta\",\"text\":\"" + piece + "\"}}\n\n");
        }
        events.add("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n");
        events.add("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},"
                + "\"usage\":{\"output_tokens\":42}}\n\n");
        events.add("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
        return events;
    }

    /** Writes each event in two chunks, the cut falling inside the event. */
    private static void streamInPieces(MockUpstream.Reply reply, List<String> events) throws Exception {
        reply.startStream();
        for (String event : events) {
            int cut = event.length() / 2;
            reply.chunk(event.substring(0, cut));
            Thread.sleep(1);
            reply.chunk(event.substring(cut));
        }
    }

    private List<ResponseStreamEvent> stream(ResponseCreateParams params) {
        try (StreamResponse<ResponseStreamEvent> response = client.responses().createStreaming(params)) {
            return response.stream().toList();
        }
    }

    @Test
    void createStreamingParsesEveryEventAndEndsWithCompletedAndUsage() throws Exception {
        List<String> events = thinkingStream();
        mock.on(MESSAGES, (req, reply) -> streamInPieces(reply, events));
        String question = "Solve x + 5 = 12 " + UUID.randomUUID();
        ResponseCreateParams params = ResponseCreateParams.builder().model(MODEL).input(question)
                .reasoning(Reasoning.builder().effort(ReasoningEffort.LOW).build()).maxOutputTokens(2048).build();

        List<ResponseStreamEvent> got = stream(params);

        // every event is one the SDK knows and valid by its schema (validate() throws otherwise)
        assertThat(got).isNotEmpty();
        got.forEach(ResponseStreamEvent::validate);
        assertThat(got.getFirst().isCreated()).as("first event is response.created").isTrue();
        assertThat(got.get(1).isInProgress()).as("second event is response.in_progress").isTrue();
        assertThat(got.stream().filter(e -> e.isCompleted() || e.isFailed() || e.isIncomplete() || e.isError()).count())
                .as("exactly one terminal event").isEqualTo(1);
        assertThat(got.getLast().isCompleted()).isTrue();
        List<Long> sequence = got.stream().map(OpenAiResponsesSdkTest::sequenceNumber).toList();
        assertThat(sequence).as("sequence numbers count from 0 without gaps")
                .isEqualTo(java.util.stream.LongStream.range(0, got.size()).boxed().toList());

        String text = got.stream().filter(ResponseStreamEvent::isOutputTextDelta).map(ResponseStreamEvent::asOutputTextDelta)
                .map(ResponseTextDeltaEvent::delta).collect(Collectors.joining());
        assertThat(text).isEqualTo(String.join("", PIECES));
        assertThat(got.stream().filter(ResponseStreamEvent::isOutputTextDelta).count()).isEqualTo(PIECES.size());
        String reasoning = got.stream().filter(ResponseStreamEvent::isReasoningSummaryTextDelta)
                .map(e -> e.asReasoningSummaryTextDelta().delta()).collect(Collectors.joining());
        assertThat(reasoning).isEqualTo("x + 5 = 12, so x = 7.");

        ResponseCompletedEvent completed = got.getLast().asCompleted();
        Response done = completed.response();
        assertThat(done.status()).hasValue(ResponseStatus.COMPLETED);
        assertThat(outputText(done)).isEqualTo(String.join("", PIECES));
        ResponseUsage usage = done.usage().orElseThrow(() -> new AssertionError("response.completed carries no usage"));
        assertThat(usage.inputTokens()).isEqualTo(10); // from the recorded message_start
        assertThat(usage.outputTokens()).isEqualTo(42); // from message_delta
        assertThat(usage.totalTokens()).isEqualTo(52);
        assertThat(done.output()).hasSize(2);
        assertThat(done.output().get(0).isReasoning()).isTrue();
        ResponseReasoningItem rs = done.output().get(0).asReasoning();
        assertThat(rs.encryptedContent()).as("the signature travels as encrypted_content").hasValue("skiff-signature:" + SIGNATURE);
        assertThat(rs.summary()).hasSize(1);
        assertThat(rs.summary().getFirst().text()).isEqualTo("x + 5 = 12, so x = 7.");
        assertThat(done.output().get(1).isMessage()).isTrue();
        assertThat(done.id()).isEqualTo(got.getFirst().asCreated().response().id());

        // the SDK's accumulator, fed the same events, builds the same final response
        ResponseAccumulator acc = ResponseAccumulator.create();
        got.forEach(acc::accumulate);
        Response accumulated = acc.response();
        assertThat(accumulated.id()).isEqualTo(done.id());
        assertThat(accumulated.status()).hasValue(ResponseStatus.COMPLETED);
        assertThat(outputText(accumulated)).isEqualTo(String.join("", PIECES));
        assertThat(accumulated.usage().map(ResponseUsage::outputTokens)).hasValue(42L);

        JsonNode sent = nextAnthropicRequest();
        assertThat(sent.get("stream").asBoolean()).isTrue();
        assertThat(sent.at("/messages/0/content").toString()).contains(question);
        assertThat(sent.at("/thinking/type").asText()).as("reasoning.effort asks Anthropic for thinking").isEqualTo("enabled");
        assertThat(sent.at("/thinking/budget_tokens").asInt()).isPositive();
    }

    private static long sequenceNumber(ResponseStreamEvent e) {
        JsonNode json = ObjectMappers.jsonMapper().valueToTree(e);
        assertThat(json.has("sequence_number")).as("event has a sequence_number: " + json).isTrue();
        return json.get("sequence_number").asLong();
    }

    // ---- 3. function calling round trip --------------------------------------------------------

    @Test
    void functionCallRoundTripWithPreviousResponseId() throws Exception {
        String withTools = fixture("messages_with_tools.json");
        String plain = fixture("messages.json");
        AtomicInteger n = new AtomicInteger();
        mock.on(MESSAGES, (req, reply) -> reply.json(200, n.getAndIncrement() == 0 ? withTools : plain));
        String question = "Weather in Paris? " + UUID.randomUUID();

        Response first = client.responses().create(ResponseCreateParams.builder().model(MODEL).input(question)
                .addTool(weatherTool()).build());

        first.validate();
        assertThat(first.status()).hasValue(ResponseStatus.COMPLETED);
        List<ResponseFunctionToolCall> calls = first.output().stream().filter(ResponseOutputItem::isFunctionCall)
                .map(ResponseOutputItem::asFunctionCall).toList();
        assertThat(calls).hasSize(1);
        ResponseFunctionToolCall call = calls.getFirst();
        assertThat(call.callId()).isEqualTo("toolu_01Dq95J3WcnLmvSvBpAuaXwi");
        assertThat(call.name()).isEqualTo("get_weather");
        assertThat(MAPPER.readTree(call.arguments())).isEqualTo(MAPPER.readTree("{\"location\":\"Paris\"}"));
        assertThat(outputText(first)).isEqualTo("I'll check the current weather in Paris for you.");
        assertThat(first.output().getFirst().isMessage()).as("the text precedes the call, as Anthropic sent them").isTrue();

        JsonNode firstSent = nextAnthropicRequest();
        assertThat(firstSent.at("/tools/0/name").asText()).isEqualTo("get_weather");
        assertThat(firstSent.at("/tools/0/input_schema/properties/location/type").asText()).isEqualTo("string");

        String result = "{\"temperature_c\":18,\"condition\":\"sunny\"}";
        Response second = client.responses().create(ResponseCreateParams.builder().model(MODEL)
                .previousResponseId(first.id()).addTool(weatherTool())
                .inputOfResponse(List.of(ResponseInputItem.ofFunctionCallOutput(ResponseInputItem.FunctionCallOutput.builder()
                        .callId(call.callId()).output(result).build())))
                .build());

        second.validate();
        assertThat(outputText(second)).isEqualTo("Hello World");
        assertThat(second.previousResponseId()).hasValue(first.id());
        assertThat(second.id()).isNotEqualTo(first.id());

        JsonNode m = nextAnthropicRequest().get("messages");
        assertThat(m).hasSize(3);
        assertThat(m.get(0).get("role").asText()).isEqualTo("user");
        assertThat(m.get(0).toString()).contains(question);
        JsonNode assistant = m.get(1);
        assertThat(assistant.get("role").asText()).isEqualTo("assistant");
        JsonNode toolUse = null;
        for (JsonNode block : assistant.get("content")) if (block.get("type").asText().equals("tool_use")) toolUse = block;
        assertThat(toolUse).as("assistant turn has the tool_use: " + assistant).isNotNull();
        assertThat(toolUse.get("id").asText()).isEqualTo(call.callId());
        assertThat(toolUse.get("name").asText()).isEqualTo("get_weather");
        assertThat(toolUse.at("/input/location").asText()).isEqualTo("Paris");
        JsonNode user = m.get(2);
        assertThat(user.get("role").asText()).isEqualTo("user");
        assertThat(user.at("/content/0/type").asText()).isEqualTo("tool_result");
        assertThat(user.at("/content/0/tool_use_id").asText()).isEqualTo(toolUse.get("id").asText());
        assertThat(user.at("/content/0/content").toString()).contains("sunny");
        assertThat(n.get()).isEqualTo(2);
    }

    // ---- 4. previous_response_id on a plain conversation ---------------------------------------

    @Test
    void previousResponseIdCarriesTheFirstTurnToAnthropic() throws Exception {
        String question = "Capital of France? " + UUID.randomUUID();
        mock.on(MESSAGES, (req, reply) -> reply.json(200, anthropicText("msg_t1", "Paris.", 15, 2)));
        Response first = client.responses().create(ResponseCreateParams.builder().model(MODEL).input(question).build());
        assertThat(outputText(first)).isEqualTo("Paris.");
        nextAnthropicRequest();

        mock.on(MESSAGES, (req, reply) -> reply.json(200, anthropicText("msg_t2", "Berlin.", 30, 2)));
        Response second = client.responses().create(ResponseCreateParams.builder().model(MODEL)
                .input("And Germany?").previousResponseId(first.id()).build());
        assertThat(outputText(second)).isEqualTo("Berlin.");
        assertThat(second.previousResponseId()).hasValue(first.id());
        assertThat(second.usage().map(ResponseUsage::inputTokens)).hasValue(30L);

        JsonNode m = nextAnthropicRequest().get("messages");
        assertThat(m).hasSize(3);
        assertThat(m.get(0).get("role").asText()).isEqualTo("user");
        assertThat(m.get(0).toString()).contains(question);
        assertThat(m.get(1).get("role").asText()).isEqualTo("assistant");
        assertThat(m.get(1).toString()).contains("Paris.");
        assertThat(m.get(2).get("role").asText()).isEqualTo("user");
        assertThat(m.get(2).toString()).contains("And Germany?");
    }

    private static String anthropicText(String id, String text, int in, int out) {
        return "{\"id\":\"" + id + "\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"" + MODEL + "\","
                + "\"content\":[{\"type\":\"text\",\"text\":\"" + text + "\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
                + "\"usage\":{\"input_tokens\":" + in + ",\"output_tokens\":" + out + "}}";
    }

    // ---- 5. retrieve, input items, delete ------------------------------------------------------

    @Test
    void retrieveListInputItemsAndDeleteAStoredResponse() throws Exception {
        mock.on(MESSAGES, (req, reply) -> reply.json(200, fixture("messages.json")));
        String question = "Greet me " + UUID.randomUUID();
        Response created = client.responses().create(ResponseCreateParams.builder().model(MODEL)
                .instructions("Be brief.").input(question).build());
        nextAnthropicRequest();

        Response fetched = client.responses().retrieve(created.id());
        fetched.validate();
        assertThat(fetched.id()).isEqualTo(created.id());
        assertThat(fetched.status()).hasValue(ResponseStatus.COMPLETED);
        assertThat(outputText(fetched)).isEqualTo("Hello World");
        assertThat(fetched.usage()).isEqualTo(created.usage());
        assertThat(fetched.instructions().map(i -> i.asString())).hasValue("Be brief.");

        InputItemListPage page = client.responses().inputItems().list(created.id());
        List<ResponseItem> items = page.data();
        assertThat(items).hasSize(1);
        assertThat(page.hasMore()).as("has_more on the wire").hasValue(false);
        // The SDK's hasNextPage() ignores has_more (true whenever the page has items): its pager asks for
        // the page after the last id, which Skiff answers empty, so the pager yields each item once.
        assertThat(page.autoPager().stream().map(i -> i.asResponseInputMessageItem().id()).toList())
                .containsExactly(items.getFirst().asResponseInputMessageItem().id());
        ResponseItem item = items.getFirst();
        assertThat(item.isResponseInputMessageItem()).as("the input item is a message: " + item).isTrue();
        var message = item.asResponseInputMessageItem();
        assertThat(message.id()).isNotBlank();
        assertThat(message.role().asString()).isEqualTo("user");
        assertThat(message.content()).hasSize(1);
        assertThat(message.content().getFirst().asInputText().text()).isEqualTo(question);

        client.responses().delete(created.id());
        assertThatThrownBy(() -> client.responses().retrieve(created.id()))
                .isInstanceOf(NotFoundException.class)
                .satisfies(e -> assertThat(((NotFoundException) e).statusCode()).isEqualTo(404));
        assertThatThrownBy(() -> client.responses().inputItems().list(created.id())).isInstanceOf(NotFoundException.class);
        assertThatThrownBy(() -> client.responses().delete(created.id())).isInstanceOf(NotFoundException.class);
        assertThat(mock.brokenWrites.get()).isZero();
    }

    // ---- 6. an error mid-stream ----------------------------------------------------------------

    @Test
    void anAnthropicErrorMidStreamEndsTheSdkStreamWithResponseFailed() throws Exception {
        List<String> head = thinkingStream().subList(0, 1); // message_start
        mock.on(MESSAGES, (req, reply) -> {
            reply.startStream();
            for (String e : head) reply.chunk(e);
            reply.chunk("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
                    + "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n");
            reply.chunk("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
                    + "\"delta\":{\"type\":\"text_delta\",\"text\":\"Partial\"}}\n\n");
            reply.chunk("event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n");
            // Anthropic closes the stream after an error event; the mock returns, which ends the chunked body.
        });
        String question = "Fail please " + UUID.randomUUID();
        ResponseCreateParams params = ResponseCreateParams.builder().model(MODEL).input(question).build();

        List<ResponseStreamEvent> got = CompletableFuture.supplyAsync(() -> stream(params)).get(15, TimeUnit.SECONDS);

        got.forEach(ResponseStreamEvent::validate);
        assertThat(got.stream().map(e -> ObjectMappers.jsonMapper().valueToTree(e).get("type").asText()).toList())
                .as("the open message is left unfinished; response.failed ends the stream")
                .containsExactly("response.created", "response.in_progress", "response.output_item.added",
                        "response.content_part.added", "response.output_text.delta", "response.failed");
        assertThat(got.getFirst().isCreated()).isTrue();
        String text = got.stream().filter(ResponseStreamEvent::isOutputTextDelta)
                .map(e -> e.asOutputTextDelta().delta()).collect(Collectors.joining());
        assertThat(text).isEqualTo("Partial");
        assertThat(got.stream().filter(e -> e.isCompleted() || e.isIncomplete()).count()).as("no success is reported").isZero();
        assertThat(got.getLast().isFailed()).as("the last event is response.failed: " + got.getLast()).isTrue();
        ResponseFailedEvent failed = got.getLast().asFailed();
        Response r = failed.response();
        assertThat(r.status()).hasValue(ResponseStatus.FAILED);
        ResponseError error = r.error().orElseThrow(() -> new AssertionError("response.failed without error"));
        assertThat(error.code()).isEqualTo(ResponseError.Code.SERVER_ERROR);
        assertThat(error.message()).contains("Overloaded").contains("overloaded_error");
        assertThat(r.id()).isEqualTo(got.getFirst().asCreated().response().id());
        assertThat(nextAnthropicRequest().at("/messages/0/content").toString()).contains(question);
    }
}
