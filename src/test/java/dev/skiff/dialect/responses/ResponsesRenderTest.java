package dev.skiff.dialect.responses;

import dev.skiff.testing.Recorded;
import static dev.skiff.dialect.responses.ResponsesRequestTest.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.openai.core.ObjectMappers;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseStatus;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.ir.ChatRequest;
import dev.skiff.dialect.ir.ChatResponse;
import dev.skiff.dialect.ir.Dropped;
import dev.skiff.dialect.ir.FinishReason;
import dev.skiff.dialect.ir.Message;
import dev.skiff.dialect.ir.Part;
import dev.skiff.dialect.openai.OpenAiChat;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class ResponsesRenderTest {
    static final Path FIXTURES = Recorded.dir("openai");
    static final Usage USAGE = new Usage(17, 5, 22, 3, 0);

    static ResponseContext ctx(String request) {
        return new ResponseContext("resp_test1", "claude-sonnet-4-5", 1772295217L, request == null ? null : json(request));
    }

    static JsonNode fixture(String name) throws Exception {
        return OpenAiChat.JSON.readTree(Files.readAllBytes(FIXTURES.resolve(name)));
    }

    /** The openai-java SDK reads and validates the object: every required member present and well-typed. */
    static Response viaSdk(JsonNode response) throws Exception {
        Response r = ObjectMappers.jsonMapper().readValue(response.toString(), Response.class);
        r.validate();
        return r;
    }

    /** What the SDKs call output_text: the text of the message items' output_text parts, as the SDK types read them. */
    static String outputText(Response r) {
        StringBuilder text = new StringBuilder();
        r.output().forEach(item -> item.message().ifPresent(m -> m.content().forEach(c -> c.outputText().ifPresent(t -> text.append(t.text())))));
        return text.toString();
    }

    /** The tree as a client reads it off the wire (numbers typed by their text, not by how they were put). */
    static JsonNode wire(JsonNode n) {
        try {
            return OpenAiChat.JSON.readTree(n.toString());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    static Set<String> keys(JsonNode n) {
        Set<String> keys = new HashSet<>();
        n.fieldNames().forEachRemaining(keys::add);
        return keys;
    }

    private static ChatResponse answer(FinishReason reason, Part... parts) {
        return new ChatResponse("msg_provider", "claude-sonnet-4-5-20250929", List.of(parts), reason, "end_turn", USAGE);
    }

    @Test
    void textAnswerHasTheFixturesTopLevelMembersAndShape() throws Exception {
        JsonNode recorded = fixture("responses.json");
        ObjectNode r = ResponsesApi.renderResponse(answer(FinishReason.STOP, new Part.Text("Hello, "), new Part.Text("World!")), ctx("{'input':'hi'}"));

        Set<String> expected = keys(recorded);
        expected.remove("billing"); // OpenAI's own billing note: nothing true to say for another provider
        assertThat(keys(r)).isEqualTo(expected);
        assertThat(r.get("id").asText()).isEqualTo("resp_test1");
        assertThat(r.get("object").asText()).isEqualTo("response");
        assertThat(r.get("status").asText()).isEqualTo("completed");
        assertThat(r.get("model").asText()).isEqualTo("claude-sonnet-4-5");
        assertThat(r.get("completed_at").asLong()).isGreaterThanOrEqualTo(1772295217L);
        assertThat(r.get("error").isNull()).isTrue();
        assertThat(r.get("incomplete_details").isNull()).isTrue();

        JsonNode item = r.get("output").get(0);
        JsonNode recordedItem = recorded.get("output").get(0);
        assertThat(r.get("output")).hasSize(1);
        assertThat(keys(item)).isEqualTo(keys(recordedItem));
        assertThat(item.get("id").asText()).startsWith("msg_");
        assertThat(keys(item.get("content").get(0))).isEqualTo(keys(recordedItem.get("content").get(0)));
        assertThat(item.get("content").get(0).get("text").asText()).isEqualTo("Hello, World!");
        // echoed defaults have the recorded values and types
        for (String k : List.of("background", "frequency_penalty", "parallel_tool_calls", "presence_penalty", "reasoning", "store",
                "temperature", "text", "tool_choice", "tools", "top_logprobs", "top_p", "truncation", "metadata", "instructions",
                "max_output_tokens", "previous_response_id", "user", "service_tier")) {
            assertThat(r.get(k)).as(k).isEqualTo(recorded.get(k));
        }
        assertThat(wire(r.get("usage"))).isEqualTo(json("{'input_tokens':17,'input_tokens_details':{'cached_tokens':3},"
                + "'output_tokens':5,'output_tokens_details':{'reasoning_tokens':0},'total_tokens':22}"));

        Response sdk = viaSdk(r);
        assertThat(outputText(sdk)).isEqualTo("Hello, World!");
        assertThat(sdk.status()).contains(ResponseStatus.COMPLETED);
    }

    @Test
    void requestParametersAreEchoed() throws Exception {
        ObjectNode r = ResponsesApi.renderResponse(answer(FinishReason.STOP, new Part.Text("ok")), ctx("{'input':'hi','instructions':'Be brief.',"
                + "'max_output_tokens':100,'temperature':0.3,'top_p':0.8,'store':false,'previous_response_id':'resp_prev',"
                + "'metadata':{'k':'v'},'user':'u1','tool_choice':'required','parallel_tool_calls':false,"
                + "'reasoning':{'effort':'low'},'text':{'format':{'type':'json_object'}},"
                + "'tools':[{'type':'function','name':'f','parameters':{'type':'object'}}]}"));
        assertThat(r.get("instructions").asText()).isEqualTo("Be brief.");
        assertThat(r.get("max_output_tokens").asInt()).isEqualTo(100);
        assertThat(r.get("temperature").toString()).isEqualTo("0.3");
        assertThat(r.get("store").asBoolean()).isFalse();
        assertThat(r.get("previous_response_id").asText()).isEqualTo("resp_prev");
        assertThat(r.get("metadata")).isEqualTo(json("{'k':'v'}"));
        assertThat(r.get("tool_choice").asText()).isEqualTo("required");
        assertThat(r.get("parallel_tool_calls").asBoolean()).isFalse();
        assertThat(r.get("reasoning")).isEqualTo(json("{'effort':'low','summary':null}"));
        assertThat(r.get("text")).isEqualTo(json("{'format':{'type':'json_object'},'verbosity':'medium'}"));
        assertThat(r.get("tools").get(0).get("name").asText()).isEqualTo("f");
        viaSdk(r);
    }

    @Test
    void toolCallsBecomeFunctionCallItemsAfterTheMessage() throws Exception {
        ObjectNode r = ResponsesApi.renderResponse(answer(FinishReason.TOOL_CALLS, new Part.Text("Checking."),
                new Part.ToolCall("toolu_1", "weather", "{\"city\":\"Paris\"}"), new Part.ToolCall("toolu_2", "weather", "{\"city\":\"Rome\"}")),
                ctx(null));
        JsonNode out = r.get("output");
        assertThat(out).hasSize(3);
        assertThat(out.get(0).get("type").asText()).isEqualTo("message");
        JsonNode call = out.get(1);
        assertThat(call.get("id").asText()).startsWith("fc_");
        assertThat(call).isEqualTo(json("{'id':'" + call.get("id").asText() + "','type':'function_call','status':'completed',"
                + "'arguments':'{\\'city\\':\\'Paris\\'}','call_id':'toolu_1','name':'weather'}"));
        assertThat(out.get(2).get("call_id").asText()).isEqualTo("toolu_2");
        assertThat(out.get(1).get("id").asText()).isNotEqualTo(out.get(2).get("id").asText());
        assertThat(r.get("status").asText()).isEqualTo("completed");
        Response sdk = viaSdk(r);
        assertThat(sdk.output().get(1).asFunctionCall().callId()).isEqualTo("toolu_1");
    }

    @Test
    @DisplayName("conformance 15: reasoning becomes reasoning items and never leaks into output_text")
    void case15_reasoningItemsNotInOutputText() throws Exception {
        ObjectNode r = ResponsesApi.renderResponse(answer(FinishReason.STOP, new Part.Thinking("The user wants JSON.", "EqQBCkYIBxgCKkA="),
                new Part.RedactedThinking("EmwKAhgBEgy3va3pzix/LafPsn4a"), new Part.Text("{\"a\":1}")),
                ctx("{'input':'x','text':{'format':{'type':'json_object'}}}"));
        JsonNode out = r.get("output");
        assertThat(out).hasSize(3);
        assertThat(out.get(0).get("id").asText()).startsWith("rs_");
        assertThat(out.get(0)).isEqualTo(json("{'id':'" + out.get(0).get("id").asText() + "','type':'reasoning',"
                + "'summary':[{'type':'summary_text','text':'The user wants JSON.'}],'encrypted_content':'skiff-signature:EqQBCkYIBxgCKkA='}"));
        assertThat(out.get(1).get("summary")).isEmpty();
        assertThat(out.get(1).get("encrypted_content").asText()).isEqualTo("skiff-redacted:EmwKAhgBEgy3va3pzix/LafPsn4a");
        Response sdk = viaSdk(r);
        assertThat(outputText(sdk)).isEqualTo("{\"a\":1}");
        assertThat(sdk.output().get(0).asReasoning().encryptedContent()).contains("skiff-signature:EqQBCkYIBxgCKkA=");
    }

    @Test
    @DisplayName("conformance 19: a length finish is an incomplete response with reason max_output_tokens")
    void case19_lengthIsIncomplete() throws Exception {
        ObjectNode r = ResponsesApi.renderResponse(answer(FinishReason.LENGTH, new Part.Text("The story beg")), ctx("{'input':'x','max_output_tokens':4}"));
        assertThat(r.get("status").asText()).isEqualTo("incomplete");
        assertThat(r.get("incomplete_details")).isEqualTo(json("{'reason':'max_output_tokens'}"));
        assertThat(r.get("completed_at").isNull()).isTrue();
        assertThat(r.get("output").get(0).get("status").asText()).isEqualTo("incomplete");
        assertThat(viaSdk(r).status()).contains(ResponseStatus.INCOMPLETE);

        ObjectNode filtered = ResponsesApi.renderResponse(answer(FinishReason.CONTENT_FILTER), ctx(null));
        assertThat(filtered.get("incomplete_details")).isEqualTo(json("{'reason':'content_filter'}"));
        assertThat(filtered.get("output")).isEmpty();
    }

    @Test
    @DisplayName("conformance 23: usage classes; unknown counts are 0, total computed when missing, cache writes kept")
    void case23_usage() throws Exception {
        ObjectNode r = ResponsesApi.renderResponse(new ChatResponse("x", "m", List.of(new Part.Text("hi")), FinishReason.STOP, null,
                Usage.fromUncachedInput(10, 100, 20, 7)), ctx(null));
        assertThat(wire(r.get("usage"))).isEqualTo(json("{'input_tokens':130,'input_tokens_details':{'cached_tokens':100,'cache_creation_tokens':20},"
                + "'output_tokens':7,'output_tokens_details':{'reasoning_tokens':0},'total_tokens':137}"));
        ObjectNode none = ResponsesApi.renderResponse(new ChatResponse("x", "m", List.of(), FinishReason.STOP, null, Usage.NONE), ctx(null));
        assertThat(none.get("usage").get("total_tokens").asLong()).isZero();
    }

    @Test
    void egressRendersHandsTheObjectToTheStoreAndWritesIt() throws Exception {
        List<String> texts = new ArrayList<>();
        List<Integer> omitted = new ArrayList<>();
        List<List<String>> ids = new ArrayList<>();
        ResponsesEgress egress = new ResponsesEgress(ctx(null), (json, left, outputIds) -> {
            texts.add(json);
            omitted.add(left);
            ids.add(outputIds);
        });
        assertThat(egress.dialect()).isEqualTo(dev.skiff.dialect.ClientDialect.OPENAI_RESPONSES);
        ByteBuf body = egress.response(answer(FinishReason.STOP, new Part.Thinking("why", "sig"), new Part.Text("hi"),
                new Part.ToolCall("call_1", "f", "{}")), UnpooledByteBufAllocator.DEFAULT);
        try {
            // the store gets the object without its defaults, which rebuilt is the body's text as it
            // is, how much that leaves out, and the ids of its output items in order
            assertThat(texts).hasSize(1);
            String whole = body.toString(StandardCharsets.UTF_8);
            assertThat(ResponsesApi.expandStored(texts.get(0))).isEqualTo(whole);
            assertThat(omitted).containsExactly(whole.length() - texts.get(0).length());
            assertThat(texts.get(0)).doesNotContain("\"service_tier\"").contains("\"output\":[");
            JsonNode written = OpenAiChat.JSON.readTree(whole);
            assertThat(ids).containsExactly(written.get("output").findValuesAsText("id"));
            assertThat(ids.get(0)).hasSize(3);
            assertThat(viaSdk(written).id()).isEqualTo("resp_test1");
        } finally {
            body.release();
        }
        assertThat(egress.stream()).isInstanceOf(ResponsesStreamWriter.class);
    }

    @Test
    void itemIdsAreMadeForTheirResponse() {
        String resp = ResponsesApi.newId("resp_");
        String out = ResponsesApi.itemId("msg_", resp, true, 0), in = ResponsesApi.itemId("fco_", resp, false, 17);
        assertThat(out).isEqualTo("msg_" + resp.substring(5) + "10");
        assertThat(in).isEqualTo("fco_" + resp.substring(5) + "011");
        assertThat(ResponsesApi.madeFor(out, resp)).isTrue();
        assertThat(ResponsesApi.madeFor(in, resp)).isTrue();
        assertThat(ResponsesApi.madeFor(out, ResponsesApi.newId("resp_"))).isFalse();
        assertThat(ResponsesApi.madeFor("msg_" + resp.substring(5), resp)).as("the response's digits alone").isFalse();
        assertThat(ResponsesApi.madeFor("msg_x", resp)).isFalse();
        assertThat(ResponsesApi.madeFor("nounderscore", resp)).isFalse();
        ObjectNode r = ResponsesApi.renderResponse(answer(FinishReason.STOP, new Part.Thinking("why", "sig"), new Part.Text("hi"),
                new Part.ToolCall("call_1", "f", "{}")), ctx(null));
        assertThat(r.get("output").findValuesAsText("id")).containsExactly("rs_test110", "msg_test111", "fc_test112");
    }

    @Test
    void storedFormRebuildsTheObjectByteForByte() throws Exception {
        String[] requests = {
            null,
            "{\"input\":\"hi\"}",
            // echoed values of every kind, some equal to the defaults, explicit nulls, odd numbers and text
            "{\"input\":\"hi\",\"temperature\":0.70,\"top_p\":1.0,\"frequency_penalty\":-1.5e-3,\"presence_penalty\":0,"
                    + "\"max_output_tokens\":12345678901,\"store\":true,\"background\":null,\"instructions\":\"be \\u00e9 \\\"terse\\\"\\n\","
                    + "\"reasoning\":{\"effort\":\"high\"},\"text\":{\"verbosity\":\"low\"},\"metadata\":{\"b\":\"2\",\"a\":\"\u2603\"},"
                    + "\"tools\":[{\"type\":\"function\",\"name\":\"f\",\"parameters\":{\"type\":\"object\"}}],\"tool_choice\":{\"type\":\"function\",\"name\":\"f\"},"
                    + "\"previous_response_id\":\"resp_x\",\"user\":\"u\",\"top_logprobs\":0,\"truncation\":\"auto\",\"prompt_cache_key\":null}",
            "{\"reasoning\":{\"summary\":\"auto\",\"effort\":null},\"text\":{\"format\":{\"type\":\"json_schema\",\"name\":\"x\",\"schema\":{}}},"
                    + "\"reasoning_x\":1,\"parallel_tool_calls\":false,\"safety_identifier\":\"s\",\"max_tool_calls\":3}",
            "{\"text\":\"not an object\",\"reasoning\":[],\"metadata\":{}}",
        };
        for (String request : requests) {
            ResponseContext ctx = new ResponseContext("resp_test1", "m\u00e9", 1772295217L,
                    request == null ? null : OpenAiChat.JSON.readTree(request));
            for (FinishReason reason : FinishReason.values()) {
                List<String> stored = new ArrayList<>();
                List<Integer> omitted = new ArrayList<>();
                ResponsesEgress egress = new ResponsesEgress(ctx, (json, left, ids) -> {
                    stored.add(json);
                    omitted.add(left);
                });
                ByteBuf body = egress.response(answer(reason, new Part.Thinking("why", "sig"), new Part.Text("h\u00e9llo \"x\""),
                        new Part.ToolCall("call_1", "f", "{\"a\":1.50}")), UnpooledByteBufAllocator.DEFAULT);
                try {
                    String whole = body.toString(StandardCharsets.UTF_8);
                    assertThat(ResponsesApi.expandStored(stored.get(0))).as(request + " " + reason).isEqualTo(whole);
                    assertThat(omitted.get(0)).as(request + " " + reason).isEqualTo(whole.length() - stored.get(0).length());
                    // cut out of the body's bytes, it is what the stored form's own writer writes
                    JsonNode tree = OpenAiChat.JSON.readTree(whole);
                    // the body, written with its items and defaults as they are, is the object the tree writer makes
                    ObjectNode rendered = ResponsesApi.renderResponse(answer(reason, new Part.Thinking("why", "sig"),
                            new Part.Text("h\u00e9llo \"x\""), new Part.ToolCall("call_1", "f", "{\"a\":1.50}")), ctx);
                    if (tree.get("completed_at").isNumber()) rendered.set("completed_at", tree.get("completed_at"));
                    assertThat(OpenAiChat.JSON.writeValueAsString(rendered)).as(request + " " + reason).isEqualTo(whole);
                    List<ObjectNode> items = new ArrayList<>();
                    tree.get("output").forEach(i -> items.add((ObjectNode) i));
                    ResponseObject.Ending end = new ResponseObject.Ending(tree.get("status").asText(),
                            tree.get("completed_at").isNull() ? -1 : tree.get("completed_at").asLong(),
                            tree.path("incomplete_details").path("reason").asText(null), null, null, USAGE);
                    ResponseObject.Stored written = ResponseObject.stored(ctx, end, items);
                    assertThat(stored.get(0)).as(request + " " + reason).isEqualTo(written.json());
                    assertThat(omitted.get(0)).as(request + " " + reason).isEqualTo(written.omitted());
                    // a request that gives nothing to echo stores none of the defaults
                    if (request == null || request.length() < 20) assertThat(stored.get(0).length()).isLessThan(whole.length() - 500);
                } finally {
                    body.release();
                }
            }
            // the stream's failed object, whose error and usage are its own members
            List<String> stored = new ArrayList<>();
            ResponsesStreamWriter w = new ResponsesStreamWriter(ctx, (json, left, ids) -> stored.add(json));
            ByteBuf failed = w.error(UnpooledByteBufAllocator.DEFAULT, "boom", "rate_limit_exceeded");
            try {
                String wire = failed.toString(StandardCharsets.UTF_8);
                String data = wire.substring(wire.lastIndexOf("data: ") + 6).strip();
                JsonNode event = OpenAiChat.JSON.readTree(data);
                assertThat(ResponsesApi.expandStored(stored.get(0))).isEqualTo(event.get("response").toString());
            } finally {
                failed.release();
            }
        }
    }

    @Test
    @DisplayName("conformance 10 and 11: thinking signature and redacted data survive render -> outputItems -> parseRequest byte-identical")
    void case10_reasoningRoundTripsByteIdentical() throws Exception {
        String signature = "EqQBCkYIBxgCKkDx/+Zq==\u00e9\"quoted\"\\slash";
        String thinking = "Step 1: \"quote\"\n\nStep 2: unicode \u2603 and trailing space ";
        String redacted = "EmwKAhgBEgy3va3pzix/LafPsn4a+0==";
        ObjectNode first = ResponsesApi.renderResponse(answer(FinishReason.TOOL_CALLS, new Part.Thinking(thinking, signature),
                new Part.RedactedThinking(redacted), new Part.ToolCall("toolu_9", "lookup", "{\"q\":1.50}")), ctx("{'input':'q'}"));
        // as the store would keep it and the client would send it: through bytes
        JsonNode stored = OpenAiChat.JSON.readTree(first.toString().getBytes(StandardCharsets.UTF_8));

        List<ObjectNode> history = new ArrayList<>(ResponsesApi.inputItems(json("{'input':'q'}")));
        history.addAll(ResponsesApi.outputItems(stored));
        ChatRequest next = ResponsesApi.parseRequest(json("{'input':[{'type':'function_call_output','call_id':'toolu_9','output':'42'}]}"),
                history, "claude", new Dropped());
        Message assistant = next.messages().get(1);
        assertThat(assistant.role()).isEqualTo(Message.Role.ASSISTANT);
        assertThat(assistant.parts()).containsExactly(new Part.Thinking(thinking, signature), new Part.RedactedThinking(redacted),
                new Part.ToolCall("toolu_9", "lookup", "{\"q\":1.50}"));
        Part.Thinking th = (Part.Thinking) assistant.parts().get(0);
        assertThat(th.signature().getBytes(StandardCharsets.UTF_8)).isEqualTo(signature.getBytes(StandardCharsets.UTF_8));
        assertThat(th.text().getBytes(StandardCharsets.UTF_8)).isEqualTo(thinking.getBytes(StandardCharsets.UTF_8));

        // The same items sent back by a stateless client (no previous_response_id) read the same.
        ObjectNode stateless = OpenAiChat.JSON.createObjectNode();
        var input = stateless.putArray("input");
        history.forEach(input::add);
        assertThat(ResponsesApi.parseRequest(stateless, List.of(), "claude", new Dropped()).messages().get(1)).isEqualTo(assistant);
    }
}
