package dev.skiff.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.Sse;
import dev.skiff.testing.TestGateway;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * {@code /v1/responses} on a real socket: OpenAI gets the client's bytes; an Anthropic upstream gets a
 * translated request, and Skiff keeps the answer so {@code previous_response_id} and the retrieval
 * endpoints work against it.
 */
class ResponsesEndToEndTest {
    static final ObjectMapper JSON = new ObjectMapper();

    MockUpstream openai;
    MockUpstream anthropic;
    TestGateway gw;
    final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void setUp() throws Exception {
        openai = new MockUpstream().models("gpt-4o-mini");
        anthropic = new MockUpstream().models("claude-sonnet-4");
        gw = TestGateway.start("OPENAI_API_KEY", "sk-openai", "OPENAI_BASE_URL", openai.baseUrl(),
                "ANTHROPIC_API_KEY", "sk-ant", "ANTHROPIC_BASE_URL", anthropic.baseUrl()).awaitListings();
    }

    @AfterEach
    void tearDown() {
        gw.close();
        openai.close();
        anthropic.close();
    }

    static String anthropicText(String id, String text, int in, int out) {
        return "{\"id\":\"" + id + "\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4\","
                + "\"content\":[{\"type\":\"text\",\"text\":\"" + text + "\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
                + "\"usage\":{\"input_tokens\":" + in + ",\"output_tokens\":" + out + "}}";
    }

    HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(gw.url(path))).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    @DisplayName("conformance 29: OpenAI gets the client's Responses bytes; unknown fields survive both ways; unknown ids go to OpenAI")
    void openAiGetsTheClientsBytesAndUnknownFieldsSurviveBothWays() throws Exception {
        String answer = "{\"id\":\"resp_openai_1\",\"object\":\"response\",\"status\":\"completed\",\"model\":\"gpt-4o-mini\","
                + "\"output\":[{\"type\":\"message\",\"id\":\"msg_1\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"hi\",\"annotations\":[]}]}],"
                + "\"usage\":{\"input_tokens\":9,\"input_tokens_details\":{\"cached_tokens\":0},\"output_tokens\":2,\"output_tokens_details\":{\"reasoning_tokens\":0},\"total_tokens\":11},"
                + "\"brand_new_field\":[1,2]}";
        openai.on("/v1/responses", (req, reply) -> reply.json(200, answer));
        String request = "{\"model\":\"openai/gpt-4o-mini\",\"input\":\"hi\",\"experimental_knob\":3}";
        HttpResponse<String> r = gw.post("/v1/responses", request, "X-Request-ID", "r-native");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(answer.replace("\"gpt-4o-mini\"", "\"openai/gpt-4o-mini\""));
        MockUpstream.Received sent = openai.take("/v1/responses");
        assertThat(sent.body()).isEqualTo(request.replace("openai/gpt-4o-mini", "gpt-4o-mini"));
        JsonNode usage = JSON.readTree(gw.usageLine("r-native"));
        assertThat(usage.get("endpoint").asText()).isEqualTo("responses");
        assertThat(usage.get("prompt_tokens").asInt()).isEqualTo(9);
        assertThat(usage.get("completion_tokens").asInt()).isEqualTo(2);

        // An id Skiff did not store belongs to OpenAI: the follow-up and the retrieval go there as they are.
        openai.on("/v1/responses/resp_openai_1", (req, reply) -> reply.json(200, answer));
        HttpResponse<String> fetched = get("/v1/responses/resp_openai_1");
        assertThat(fetched.statusCode()).isEqualTo(200);
        assertThat(fetched.body()).isEqualTo(answer);
        String followUp = "{\"model\":\"gpt-4o-mini\",\"input\":\"more\",\"previous_response_id\":\"resp_openai_1\"}";
        HttpResponse<String> next = gw.post("/v1/responses", followUp);
        assertThat(next.statusCode()).isEqualTo(200);
        openai.take("/v1/responses/resp_openai_1");
        assertThat(openai.take("/v1/responses").body()).isEqualTo(followUp);
    }

    @Test
    @DisplayName("conformance 24, 28: instructions and max_output_tokens to Anthropic; stored, retrieved, continued, deleted")
    void anAnthropicAnswerComesBackAsAResponseAndIsStoredForTheNextTurn() throws Exception {
        anthropic.on("/v1/messages", (req, reply) -> reply.json(200, anthropicText("msg_a1", "Paris.", 15, 2)));
        HttpResponse<String> r = gw.post("/v1/responses", """
                {"model":"claude-sonnet-4","instructions":"Answer in one word.","input":"Capital of France?","max_output_tokens":50,
                 "metadata":{"ticket":"42"}}""", "X-Request-ID", "r-ant");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode resp = JSON.readTree(r.body());
        String id = resp.get("id").asText();
        assertThat(id).startsWith("resp_");
        assertThat(resp.get("object").asText()).isEqualTo("response");
        assertThat(resp.get("status").asText()).isEqualTo("completed");
        assertThat(resp.get("model").asText()).isEqualTo("claude-sonnet-4");
        assertThat(resp.at("/output/0/type").asText()).isEqualTo("message");
        assertThat(resp.at("/output/0/content/0/type").asText()).isEqualTo("output_text");
        assertThat(resp.at("/output/0/content/0/text").asText()).isEqualTo("Paris.");
        assertThat(resp.at("/usage/input_tokens").asInt()).isEqualTo(15);
        assertThat(resp.at("/usage/output_tokens").asInt()).isEqualTo(2);
        JsonNode sent = JSON.readTree(anthropic.take("/v1/messages").body());
        assertThat(sent.at("/system/0/text").asText()).isEqualTo("Answer in one word.");
        assertThat(sent.get("max_tokens").asInt()).isEqualTo(50);
        assertThat(sent.at("/messages/0/content/0/text").asText()).isEqualTo("Capital of France?");

        // retrieval
        HttpResponse<String> fetched = get("/v1/responses/" + id);
        assertThat(fetched.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(fetched.body())).isEqualTo(resp);
        HttpResponse<String> items = get("/v1/responses/" + id + "/input_items");
        assertThat(items.statusCode()).isEqualTo(200);
        JsonNode list = JSON.readTree(items.body());
        assertThat(list.get("object").asText()).isEqualTo("list");
        assertThat(list.at("/data/0/type").asText()).isEqualTo("message");
        assertThat(list.at("/data/0/content/0/text").asText()).isEqualTo("Capital of France?");
        assertThat(list.at("/data/0/id").asText()).isNotBlank();

        // the next turn carries the conversation so far, although Anthropic keeps no state
        anthropic.on("/v1/messages", (req, reply) -> reply.json(200, anthropicText("msg_a2", "Berlin.", 30, 2)));
        HttpResponse<String> second = gw.post("/v1/responses",
                "{\"model\":\"claude-sonnet-4\",\"input\":\"And Germany?\",\"previous_response_id\":\"" + id + "\"}");
        assertThat(second.statusCode()).as(second.body()).isEqualTo(200);
        assertThat(JSON.readTree(second.body()).get("previous_response_id").asText()).isEqualTo(id);
        JsonNode turn2 = JSON.readTree(anthropic.take("/v1/messages").body());
        JsonNode m = turn2.get("messages");
        assertThat(m).hasSize(3);
        assertThat(m.get(0).toString()).contains("Capital of France?");
        assertThat(m.get(1).get("role").asText()).isEqualTo("assistant");
        assertThat(m.get(1).toString()).contains("Paris.");
        assertThat(m.get(2).toString()).contains("And Germany?");
        assertThat(turn2.has("system")).as("instructions do not carry over").isFalse();

        // delete, then it is gone
        HttpResponse<String> deleted = http.send(HttpRequest.newBuilder(URI.create(gw.url("/v1/responses/" + id))).DELETE().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(deleted.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(deleted.body()).get("deleted").asBoolean()).isTrue();
        // Skiff no longer knows the id; OpenAI is the sole provider with its own store, so it is asked and says 404
        assertThat(get("/v1/responses/" + id).statusCode()).isEqualTo(404);
    }

    @Test
    void storeFalseKeepsNothingAndAnUnknownPreviousIdIsAClearError() throws Exception {
        anthropic.on("/v1/messages", (req, reply) -> reply.json(200, anthropicText("msg_b", "ok", 5, 1)));
        HttpResponse<String> r = gw.post("/v1/responses", "{\"model\":\"claude-sonnet-4\",\"input\":\"hi\",\"store\":false}");
        assertThat(r.statusCode()).isEqualTo(200);
        String id = JSON.readTree(r.body()).get("id").asText();
        HttpResponse<String> followUp = gw.post("/v1/responses",
                "{\"model\":\"claude-sonnet-4\",\"input\":\"again\",\"previous_response_id\":\"" + id + "\"}");
        assertThat(followUp.statusCode()).isEqualTo(400);
        JsonNode e = JSON.readTree(followUp.body());
        assertThat(e.at("/error/code").asText()).isEqualTo("previous_response_not_found");
        assertThat(e.at("/error/param").asText()).isEqualTo("previous_response_id");
    }

    @Test
    @DisplayName("conformance 5: a function call round trip through Anthropic with previous_response_id")
    void aFunctionCallRoundTripThroughAnthropic() throws Exception {
        anthropic.on("/v1/messages", (req, reply) -> reply.json(200, """
                {"id":"msg_t","type":"message","role":"assistant","model":"claude-sonnet-4",
                 "content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris","unit":"c"}}],
                 "stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":50,"output_tokens":20}}"""));
        String tools = "[{\"type\":\"function\",\"name\":\"get_weather\",\"description\":\"Weather\","
                + "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"},\"unit\":{\"type\":\"string\"}}}}]";
        HttpResponse<String> r = gw.post("/v1/responses", "{\"model\":\"claude-sonnet-4\",\"input\":\"Weather in Paris?\",\"tools\":" + tools + "}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode resp = JSON.readTree(r.body());
        JsonNode call = resp.at("/output/0");
        assertThat(call.get("type").asText()).isEqualTo("function_call");
        assertThat(call.get("call_id").asText()).isEqualTo("toolu_1");
        assertThat(call.get("name").asText()).isEqualTo("get_weather");
        assertThat(JSON.readTree(call.get("arguments").asText()).get("city").asText()).isEqualTo("Paris");
        assertThat(JSON.readTree(anthropic.take("/v1/messages").body()).at("/tools/0/name").asText()).isEqualTo("get_weather");

        anthropic.on("/v1/messages", (req, reply) -> reply.json(200, anthropicText("msg_t2", "It is 21C in Paris.", 80, 9)));
        HttpResponse<String> second = gw.post("/v1/responses", "{\"model\":\"claude-sonnet-4\",\"previous_response_id\":\""
                + resp.get("id").asText() + "\",\"tools\":" + tools
                + ",\"input\":[{\"type\":\"function_call_output\",\"call_id\":\"toolu_1\",\"output\":\"{\\\"temp\\\":21}\"}]}");
        assertThat(second.statusCode()).as(second.body()).isEqualTo(200);
        assertThat(JSON.readTree(second.body()).at("/output/0/content/0/text").asText()).isEqualTo("It is 21C in Paris.");
        JsonNode m = JSON.readTree(anthropic.take("/v1/messages").body()).get("messages");
        assertThat(m.get(1).at("/content/0/type").asText()).isEqualTo("tool_use");
        assertThat(m.get(1).at("/content/0/id").asText()).isEqualTo("toolu_1");
        assertThat(m.get(2).at("/content/0/type").asText()).isEqualTo("tool_result");
        assertThat(m.get(2).at("/content/0/tool_use_id").asText()).isEqualTo("toolu_1");
    }

    @Test
    @DisplayName("conformance 39: item_reference inputs naming items Skiff stored are resolved from the store; unknown ones are a clear 400")
    void itemReferencesToStoredItemsAreResolved() throws Exception {
        anthropic.on("/v1/messages", (req, reply) -> reply.json(200, """
                {"id":"msg_r","type":"message","role":"assistant","model":"claude-sonnet-4",
                 "content":[{"type":"tool_use","id":"toolu_9","name":"get_weather","input":{"city":"Oslo"}}],
                 "stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":50,"output_tokens":20}}"""));
        String tools = "[{\"type\":\"function\",\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\"}}]";
        HttpResponse<String> r = gw.post("/v1/responses", "{\"model\":\"claude-sonnet-4\",\"input\":\"Weather in Oslo?\",\"tools\":" + tools + "}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        String callItem = JSON.readTree(r.body()).at("/output/0/id").asText();
        String inputItem = JSON.readTree(get("/v1/responses/" + JSON.readTree(r.body()).get("id").asText() + "/input_items").body())
                .at("/data/0/id").asText();
        anthropic.take("/v1/messages");

        // A client that keeps the conversation itself but refers to items by id (no previous_response_id)
        anthropic.on("/v1/messages", (req, reply) -> reply.json(200, anthropicText("msg_r2", "Snowing in Oslo.", 80, 9)));
        HttpResponse<String> second = gw.post("/v1/responses", "{\"model\":\"claude-sonnet-4\",\"tools\":" + tools + ",\"input\":["
                + "{\"type\":\"item_reference\",\"id\":\"" + inputItem + "\"},{\"type\":\"item_reference\",\"id\":\"" + callItem + "\"},"
                + "{\"type\":\"function_call_output\",\"call_id\":\"toolu_9\",\"output\":\"snow\"}]}");
        assertThat(second.statusCode()).as(second.body()).isEqualTo(200);
        assertThat(second.headers().firstValue("x-skiff-dropped-fields").orElse("")).doesNotContain("item_reference");
        JsonNode m = JSON.readTree(anthropic.take("/v1/messages").body()).get("messages");
        assertThat(m.get(0).toString()).contains("Weather in Oslo?");
        assertThat(m.get(1).at("/content/0/type").asText()).isEqualTo("tool_use");
        assertThat(m.get(1).at("/content/0/id").asText()).isEqualTo("toolu_9");
        assertThat(m.get(2).at("/content/0/tool_use_id").asText()).isEqualTo("toolu_9");

        HttpResponse<String> unknown = gw.post("/v1/responses", "{\"model\":\"claude-sonnet-4\",\"input\":["
                + "{\"type\":\"item_reference\",\"id\":\"msg_nobody_stored\"},{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(unknown.statusCode()).isEqualTo(400);
        JsonNode error = JSON.readTree(unknown.body()).get("error");
        assertThat(error.get("message").asText()).startsWith("Item with id 'msg_nobody_stored' not found.")
                .contains("store: true").contains("SKIFF_RESPONSES_TTL");
        assertThat(error.get("param").asText()).isEqualTo("input");
    }

    @Test
    @DisplayName("conformance 39: item_reference to a stored message, function call and signed reasoning item resolves from the store")
    void itemReferencesToAMessageACallAndReasoningAreResolved() throws Exception {
        anthropic.on("/v1/messages", (req, reply) -> {
            JsonNode body = JSON.readTree(req.body());
            boolean thinking = body.at("/thinking/type").asText().equals("enabled");
            reply.json(200, "{\"id\":\"msg_r\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4\",\"content\":["
                    + (thinking ? "{\"type\":\"thinking\",\"thinking\":\"Need the weather.\",\"signature\":\"EqQBsig==\"}," : "")
                    + "{\"type\":\"text\",\"text\":\"Checking.\"},"
                    + "{\"type\":\"tool_use\",\"id\":\"toolu_7\",\"name\":\"get_weather\",\"input\":{\"city\":\"Oslo\"}}],"
                    + "\"stop_reason\":\"tool_use\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":50,\"output_tokens\":20}}");
        });
        String tools = "[{\"type\":\"function\",\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\"}}]";
        HttpResponse<String> r = gw.post("/v1/responses", "{\"model\":\"claude-sonnet-4\",\"input\":\"Weather in Oslo?\",\"tools\":" + tools
                + ",\"reasoning\":{\"effort\":\"medium\"},\"include\":[\"reasoning.encrypted_content\"]}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode output = JSON.readTree(r.body()).get("output");
        List<String> types = new java.util.ArrayList<>();
        StringBuilder refs = new StringBuilder();
        for (JsonNode item : output) {
            types.add(item.get("type").asText());
            refs.append("{\"type\":\"item_reference\",\"id\":\"").append(item.get("id").asText()).append("\"},");
        }
        assertThat(types).containsExactly("reasoning", "message", "function_call");
        anthropic.take("/v1/messages");

        HttpResponse<String> second = gw.post("/v1/responses", "{\"model\":\"claude-sonnet-4\",\"tools\":" + tools
                + ",\"reasoning\":{\"effort\":\"medium\"},\"input\":[{\"role\":\"user\",\"content\":\"Weather in Oslo?\"}," + refs
                + "{\"type\":\"function_call_output\",\"call_id\":\"toolu_7\",\"output\":\"snow\"}]}");
        assertThat(second.statusCode()).as(second.body()).isEqualTo(200);
        assertThat(second.headers().firstValue("x-skiff-dropped-fields").orElse("")).doesNotContain("item_reference");
        JsonNode sent = JSON.readTree(anthropic.take("/v1/messages").body());
        assertThat(sent.at("/thinking/type").asText()).isEqualTo("enabled");
        JsonNode assistant = sent.at("/messages/1/content");
        assertThat(assistant.get(0).get("type").asText()).isEqualTo("thinking");
        assertThat(assistant.get(0).get("signature").asText()).isEqualTo("EqQBsig==");
        assertThat(assistant.get(1).get("text").asText()).isEqualTo("Checking.");
        assertThat(assistant.get(2).get("id").asText()).isEqualTo("toolu_7");
        assertThat(sent.at("/messages/2/content/0/tool_use_id").asText()).isEqualTo("toolu_7");

        // What was stored for the second turn lists the items the references named, not the references.
        String secondId = JSON.readTree(second.body()).get("id").asText();
        JsonNode items = JSON.readTree(get("/v1/responses/" + secondId + "/input_items?order=asc").body()).get("data");
        assertThat(items).hasSize(5);
        assertThat(items.get(1).get("type").asText()).isEqualTo("reasoning");
        assertThat(items.get(3).get("type").asText()).isEqualTo("function_call");
    }

    @Test
    @DisplayName("conformance 10, 15, 21: Anthropic stream to Responses events; reasoning stays out of the text and goes back signed")
    void anAnthropicStreamBecomesTheResponsesEventSequence() throws Exception {
        anthropic.on("/v1/messages", (req, reply) -> {
            reply.startStream();
            reply.chunk("""
                    event: message_start
                    data: {"type":"message_start","message":{"id":"msg_s","type":"message","role":"assistant","model":"claude-sonnet-4","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}}

                    event: content_block_start
                    data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}

                    event: content_block_delta
                    data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Simple."}}

                    event: content_block_delta
                    data: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"sig-123"}}

                    event: content_block_stop
                    data: {"type":"content_block_stop","index":0}

                    event: content_block_start
                    data: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}

                    event: content_block_delta
                    data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Hello"}}

                    event: content_block_delta
                    data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":" there"}}

                    event: content_block_stop
                    data: {"type":"content_block_stop","index":1}

                    event: message_delta
                    data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":12}}

                    event: message_stop
                    data: {"type":"message_stop"}

                    """);
        });
        HttpResponse<String> r = gw.post("/v1/responses", "{\"model\":\"claude-sonnet-4\",\"input\":\"hi\",\"stream\":true,"
                + "\"reasoning\":{\"effort\":\"low\"}}", "X-Request-ID", "r-stream");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        List<Sse.Event> events = Sse.parse(r.body());
        List<String> names = Sse.names(events);
        assertThat(names.subList(0, 2)).containsExactly("response.created", "response.in_progress");
        assertThat(names.getLast()).isEqualTo("response.completed");
        assertThat(names).contains("response.output_item.added", "response.content_part.added", "response.output_text.delta",
                "response.output_text.done", "response.content_part.done", "response.output_item.done",
                "response.reasoning_summary_text.delta");
        long seq = -1;
        for (Sse.Event e : events) {
            assertThat(e.data().get("type").asText()).isEqualTo(e.name());
            assertThat(e.data().get("sequence_number").asLong()).isGreaterThan(seq);
            seq = e.data().get("sequence_number").asLong();
        }
        StringBuilder text = new StringBuilder();
        events.stream().filter(e -> e.name().equals("response.output_text.delta")).forEach(e -> text.append(e.data().get("delta").asText()));
        assertThat(text.toString()).isEqualTo("Hello there");
        JsonNode done = events.getLast().data().get("response");
        assertThat(done.get("status").asText()).isEqualTo("completed");
        assertThat(done.at("/usage/input_tokens").asInt()).isEqualTo(25);
        assertThat(done.at("/usage/output_tokens").asInt()).isEqualTo(12);
        assertThat(done.toString()).doesNotContain("\"text\":\"Simple.Hello"); // reasoning never leaks into text (conformance 15)
        JsonNode message = null;
        for (JsonNode item : done.get("output")) if (item.get("type").asText().equals("message")) message = item;
        assertThat(message).isNotNull();
        assertThat(message.at("/content/0/text").asText()).isEqualTo("Hello there");

        // the streamed answer was stored too, and its thinking goes back to Anthropic with its signature (conformance 10)
        anthropic.on("/v1/messages", (req, reply) -> reply.json(200, anthropicText("msg_n", "ok", 5, 1)));
        HttpResponse<String> next = gw.post("/v1/responses", "{\"model\":\"claude-sonnet-4\",\"input\":\"more\",\"previous_response_id\":\""
                + done.get("id").asText() + "\"}");
        assertThat(next.statusCode()).as(next.body()).isEqualTo(200);
        anthropic.take("/v1/messages");
        JsonNode sent = JSON.readTree(anthropic.take("/v1/messages").body());
        JsonNode assistant = sent.at("/messages/1");
        assertThat(assistant.at("/content/0/type").asText()).isEqualTo("thinking");
        assertThat(assistant.at("/content/0/thinking").asText()).isEqualTo("Simple.");
        assertThat(assistant.at("/content/0/signature").asText()).isEqualTo("sig-123");
    }
}
