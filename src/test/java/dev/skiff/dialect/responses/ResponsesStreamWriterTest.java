package dev.skiff.dialect.responses;

import static dev.skiff.dialect.responses.ResponsesRenderTest.FIXTURES;
import static dev.skiff.dialect.responses.ResponsesRenderTest.keys;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.openai.core.ObjectMappers;
import com.openai.helpers.ResponseAccumulator;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseStreamEvent;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.ir.FinishReason;
import dev.skiff.dialect.openai.OpenAiChat;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class ResponsesStreamWriterTest {
    private final ByteBufAllocator alloc = new UnpooledByteBufAllocator(false, true);
    private final List<ObjectNode> finals = new ArrayList<>();
    private final ResponsesStreamWriter w = new ResponsesStreamWriter(ResponsesRenderTest.ctx("{'input':'hi'}"), (json, omitted, outputIds) -> {
        ObjectNode r;
        try {
            // the store keeps the object without its defaults: rebuilt, it is the object whole
            String whole = ResponsesApi.expandStored(json);
            assertThat(omitted).isEqualTo(whole.length() - json.length());
            r = (ObjectNode) OpenAiChat.JSON.readTree(whole);
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
        // the store indexes the output items by the ids it is given: exactly those of the object
        assertThat(outputIds).isEqualTo(r.path("output").findValuesAsText("id"));
        finals.add(r);
    });
    private final StringBuilder wire = new StringBuilder();

    record Event(String name, JsonNode data) {
        String type() {
            return data.get("type").asText();
        }
    }

    /** Appends what one writer call returned to the wire, releasing it. */
    private ByteBuf feed(ByteBuf b) {
        if (b != null) {
            wire.append(b.toString(StandardCharsets.UTF_8));
            assertThat(b.release()).isTrue();
        }
        return b;
    }

    private void write(Function<ResponsesStreamWriter, ByteBuf> call) {
        feed(call.apply(w));
    }

    static List<Event> parse(String wire) throws Exception {
        List<Event> events = new ArrayList<>();
        for (String block : wire.split("\n\n")) {
            if (block.isEmpty() || block.startsWith(":")) continue;
            String[] lines = block.split("\n");
            assertThat(lines).hasSize(2);
            assertThat(lines[0]).startsWith("event: ");
            assertThat(lines[1]).startsWith("data: ");
            Event e = new Event(lines[0].substring(7), OpenAiChat.JSON.readTree(lines[1].substring(6)));
            assertThat(e.type()).isEqualTo(e.name());
            events.add(e);
        }
        return events;
    }

    private List<Event> events() throws Exception {
        List<Event> events = parse(wire.toString());
        assertWellFormed(events);
        return events;
    }

    private static List<String> types(List<Event> events) {
        return events.stream().map(Event::type).toList();
    }

    /**
     * What any Responses client may rely on: numbering from 0 without gaps, created/in_progress first,
     * one terminal event last, items one at a time in output_index order, every delta aimed at the open
     * item, each event readable by the openai-java SDK, and the terminal object's output equal to the
     * items as they were done.
     */
    private void assertWellFormed(List<Event> events) throws Exception {
        for (int i = 0; i < events.size(); i++) {
            assertThat(events.get(i).data().get("sequence_number").asInt()).as("sequence of event %d", i).isEqualTo(i);
            ResponseStreamEvent sdk = ObjectMappers.jsonMapper().readValue(events.get(i).data().toString(), ResponseStreamEvent.class);
            sdk.validate();
        }
        assertThat(types(events).subList(0, 2)).containsExactly("response.created", "response.in_progress");
        String terminal = events.getLast().type();
        assertThat(terminal).isIn("response.completed", "response.incomplete", "response.failed");
        for (Event e : events.subList(0, events.size() - 1)) {
            assertThat(e.type()).isNotIn("response.completed", "response.incomplete", "response.failed");
        }
        List<JsonNode> doneItems = new ArrayList<>();
        String openId = null;
        int openIndex = -1;
        for (Event e : events) {
            JsonNode d = e.data();
            switch (e.type()) {
                case "response.output_item.added" -> {
                    assertThat(openId).as("an item was added while another is open").isNull();
                    openId = d.get("item").get("id").asText();
                    openIndex = d.get("output_index").asInt();
                    assertThat(openIndex).isEqualTo(doneItems.size());
                }
                case "response.output_item.done" -> {
                    assertThat(d.get("item").get("id").asText()).isEqualTo(openId);
                    assertThat(d.get("output_index").asInt()).isEqualTo(openIndex);
                    doneItems.add(d.get("item"));
                    openId = null;
                }
                case "response.created", "response.in_progress", "response.completed", "response.incomplete", "response.failed" -> {}
                default -> {
                    assertThat(d.get("item_id").asText()).as(e.type() + " aims at the open item").isEqualTo(openId);
                    assertThat(d.get("output_index").asInt()).isEqualTo(openIndex);
                }
            }
        }
        JsonNode last = events.getLast().data().get("response");
        if (!terminal.equals("response.failed")) {
            assertThat(openId).as("an item left open at the end").isNull();
            assertThat(last.get("output")).containsExactlyElementsOf(doneItems);
        }
        assertThat(finals).hasSize(1);
        assertThat(ResponsesRenderTest.wire(finals.getFirst())).isEqualTo(last);
    }

    /** The SDK's own accumulator, fed the stream, ends with the final response. */
    private static Response accumulated(List<Event> events) throws Exception {
        ResponseAccumulator acc = ResponseAccumulator.create();
        for (Event e : events) acc.accumulate(ObjectMappers.jsonMapper().readValue(e.data().toString(), ResponseStreamEvent.class));
        return acc.response();
    }

    @Test
    @DisplayName("contract: a text answer has the recorded stream's event types, in order, with the recorded members")
    void textAnswerMatchesTheRecordedStream() throws Exception {
        List<Event> recorded = parse(Files.readString(FIXTURES.resolve("responses_stream.txt")));
        write(x -> x.start(alloc, "msg_01", new Usage(17, -1, -1, -1, -1)));
        for (String piece : List.of("Hello", ",", " World", "!")) write(x -> x.text(alloc, piece));
        write(x -> x.finish(alloc, FinishReason.STOP, "end_turn", new Usage(17, 5, 22, 0, 0)));
        List<Event> events = events();

        assertThat(types(events)).isEqualTo(types(recorded));
        for (int i = 0; i < events.size(); i++) {
            JsonNode mine = events.get(i).data(), theirs = recorded.get(i).data();
            var expected = keys(theirs);
            expected.remove("obfuscation"); // OpenAI pads deltas against length side channels; nothing to hide here
            assertThat(keys(mine)).as(mine.get("type").asText()).isEqualTo(expected);
            for (String nested : List.of("response", "item", "part")) {
                if (theirs.has(nested)) assertThat(keys(mine.get(nested))).as(nested + " of " + mine.get("type")).isEqualTo(keys(theirs.get(nested)));
            }
        }
        assertThat(events.get(8).data().get("text").asText()).isEqualTo("Hello, World!");
        JsonNode completed = events.getLast().data().get("response");
        assertThat(completed.get("status").asText()).isEqualTo("completed");
        assertThat(completed.get("id").asText()).isEqualTo("resp_test1");
        assertThat(completed.get("usage").get("output_tokens").asInt()).isEqualTo(5);
        assertThat(events.getFirst().data().get("response").get("usage").isNull()).isTrue();
        assertThat(ResponsesRenderTest.outputText(accumulated(events))).isEqualTo("Hello, World!");
    }

    @Test
    @DisplayName("conformance 10, 15: reasoning streams as a summary; its done item carries the signature; text stays separate")
    void case15_reasoningThenText() throws Exception {
        write(x -> x.start(alloc, null, Usage.NONE));
        write(x -> x.thinking(alloc, "Let me"));
        write(x -> x.thinking(alloc, " think."));
        write(x -> x.thinkingSignature(alloc, "EqQBCkYIBxgC=="));
        write(x -> x.redactedThinking(alloc, "EmwKAhgB"));
        write(x -> x.text(alloc, "42"));
        write(x -> x.finish(alloc, FinishReason.STOP, null, Usage.NONE));
        List<Event> events = events();
        assertThat(types(events)).containsExactly("response.created", "response.in_progress",
                "response.output_item.added", "response.reasoning_summary_part.added",
                "response.reasoning_summary_text.delta", "response.reasoning_summary_text.delta",
                "response.reasoning_summary_text.done", "response.reasoning_summary_part.done", "response.output_item.done",
                "response.output_item.added", "response.output_item.done",
                "response.output_item.added", "response.content_part.added", "response.output_text.delta",
                "response.output_text.done", "response.content_part.done", "response.output_item.done",
                "response.completed");
        assertThat(events.get(4).data().get("delta").asText()).isEqualTo("Let me");
        assertThat(events.get(4).data().get("summary_index").asInt()).isZero();
        assertThat(events.get(6).data().get("text").asText()).isEqualTo("Let me think.");
        JsonNode reasoning = events.get(8).data().get("item");
        assertThat(reasoning.get("summary")).isEqualTo(ResponsesRequestTest.json("[{'type':'summary_text','text':'Let me think.'}]"));
        assertThat(reasoning.get("encrypted_content").asText()).isEqualTo("skiff-signature:EqQBCkYIBxgC==");
        assertThat(events.get(10).data().get("item").get("encrypted_content").asText()).isEqualTo("skiff-redacted:EmwKAhgB");

        Response sdk = accumulated(events);
        assertThat(ResponsesRenderTest.outputText(sdk)).isEqualTo("42");
        assertThat(sdk.output()).hasSize(3);
    }

    @Test
    @DisplayName("conformance 1: two tool calls with interleaved fragments become two whole items, each .done with full arguments")
    void case1_interleavedToolCalls() throws Exception {
        write(x -> x.start(alloc, null, Usage.NONE));
        write(x -> x.text(alloc, "Checking both."));
        write(x -> x.toolCall(alloc, 0, "call_a", "weather", ""));
        write(x -> x.toolArguments(alloc, 0, "{\"city\""));
        write(x -> x.toolCall(alloc, 1, "call_b", "time", ""));
        write(x -> x.toolArguments(alloc, 1, "{\"tz\":"));
        write(x -> x.toolArguments(alloc, 0, ":\"Paris\"}"));
        write(x -> x.toolArguments(alloc, 1, "\"CET\"}"));
        write(x -> x.finish(alloc, FinishReason.TOOL_CALLS, "tool_use", Usage.NONE));
        List<Event> events = events();
        assertThat(types(events).subList(2, types(events).size())).containsExactly(
                "response.output_item.added", "response.content_part.added", "response.output_text.delta",
                "response.output_text.done", "response.content_part.done", "response.output_item.done",
                "response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.delta",
                "response.function_call_arguments.done", "response.output_item.done",
                "response.output_item.added", "response.function_call_arguments.delta",
                "response.function_call_arguments.done", "response.output_item.done",
                "response.completed");
        JsonNode addedA = events.get(8).data().get("item");
        assertThat(addedA.get("status").asText()).isEqualTo("in_progress");
        assertThat(addedA.get("arguments").asText()).isEmpty();
        assertThat(addedA.get("call_id").asText()).isEqualTo("call_a");
        assertThat(events.get(11).data().get("arguments").asText()).isEqualTo("{\"city\":\"Paris\"}");
        assertThat(events.get(11).data().get("name").asText()).isEqualTo("weather");
        assertThat(events.get(14).data().get("delta").asText()).isEqualTo("{\"tz\":\"CET\"}");
        assertThat(events.get(15).data().get("arguments").asText()).isEqualTo("{\"tz\":\"CET\"}");
        JsonNode output = events.getLast().data().get("response").get("output");
        assertThat(output).hasSize(3);
        assertThat(output.get(1).get("call_id").asText()).isEqualTo("call_a");
        assertThat(output.get(2).get("call_id").asText()).isEqualTo("call_b");
        assertThat(output.get(2).get("status").asText()).isEqualTo("completed");
        assertThat(accumulated(events).output().get(2).asFunctionCall().arguments()).isEqualTo("{\"tz\":\"CET\"}");
    }

    @Test
    void aFragmentAfterItsCallWasClosedStillReachesTheStoredResponse() throws Exception {
        write(x -> x.toolCall(alloc, 0, "call_a", "f", ""));
        write(x -> x.toolArguments(alloc, 0, "{\"a\""));
        write(x -> x.text(alloc, "odd provider"));
        assertThat(w.toolArguments(alloc, 0, ":1}")).isNull();
        write(x -> x.finish(alloc, FinishReason.TOOL_CALLS, null, Usage.NONE));
        List<Event> events = parse(wire.toString());
        assertThat(events.getLast().data().get("response").get("output").get(0).get("arguments").asText()).isEqualTo("{\"a\":1}");
        assertThat(finals.getFirst().get("output").get(0).get("arguments").asText()).isEqualTo("{\"a\":1}");
    }

    @Test
    @DisplayName("conformance 2: a call whose arguments come whole, with no fragments after, still has them in its delta and .done")
    void case2_wholeArgumentsAtStart() throws Exception {
        write(x -> x.toolCall(alloc, 0, "call_g", "lookup", "{\"q\":1.50}"));
        write(x -> x.finish(alloc, FinishReason.TOOL_CALLS, "STOP", Usage.NONE));
        List<Event> events = events();
        assertThat(types(events)).containsExactly("response.created", "response.in_progress", "response.output_item.added",
                "response.function_call_arguments.delta", "response.function_call_arguments.done", "response.output_item.done",
                "response.completed");
        assertThat(events.get(4).data().get("arguments").asText()).isEqualTo("{\"q\":1.50}");
    }

    @Test
    @DisplayName("conformance 19: a length finish ends with response.incomplete, reason max_output_tokens")
    void case19_lengthIsIncomplete() throws Exception {
        write(x -> x.start(alloc, null, Usage.NONE));
        write(x -> x.text(alloc, "Once upon a"));
        write(x -> x.finish(alloc, FinishReason.LENGTH, "max_tokens", new Usage(10, 4, 14, 0, 0)));
        List<Event> events = events();
        assertThat(events.getLast().type()).isEqualTo("response.incomplete");
        JsonNode response = events.getLast().data().get("response");
        assertThat(response.get("status").asText()).isEqualTo("incomplete");
        assertThat(response.get("incomplete_details").get("reason").asText()).isEqualTo("max_output_tokens");
        assertThat(response.get("output").get(0).get("status").asText()).isEqualTo("incomplete");
        assertThat(finals.getFirst().get("status").asText()).isEqualTo("incomplete");
    }

    @Test
    @DisplayName("conformance 33: an error after the start is response.failed with the error; nothing follows, the store gets it once")
    void case33_errorAfterStart() throws Exception {
        write(x -> x.start(alloc, null, Usage.NONE));
        write(x -> x.text(alloc, "partial"));
        write(x -> x.error(alloc, "the provider's stream ended before message_stop", "upstream_incomplete_stream"));
        assertThat(w.finish(alloc, FinishReason.STOP, null, Usage.NONE)).isNull();
        assertThat(w.text(alloc, "more")).isNull();
        assertThat(w.error(alloc, "again", null)).isNull();
        List<Event> events = events();
        assertThat(types(events)).containsExactly("response.created", "response.in_progress", "response.output_item.added",
                "response.content_part.added", "response.output_text.delta", "response.failed");
        JsonNode failed = events.getLast().data().get("response");
        assertThat(failed.get("status").asText()).isEqualTo("failed");
        assertThat(failed.get("error")).isEqualTo(ResponsesRequestTest.json(
                "{'code':'server_error','message':'the provider\\u0027s stream ended before message_stop (upstream_incomplete_stream)'}"));
        assertThat(finals).hasSize(1);
    }

    @Test
    void errorBeforeAnythingStillOpensTheStreamAndDefaultsTheCode() throws Exception {
        write(x -> x.error(alloc, "overloaded", null));
        List<Event> events = events();
        assertThat(types(events)).containsExactly("response.created", "response.in_progress", "response.failed");
        assertThat(events.getLast().data().get("response").get("error"))
                .isEqualTo(ResponsesRequestTest.json("{'code':'server_error','message':'overloaded'}"));
    }

    @Test
    void aProvidersRateLimitCodeBecomesTheApisOwn() throws Exception {
        write(x -> x.start(alloc, null, Usage.NONE));
        write(x -> x.error(alloc, "Too many requests", "rate_limit_error"));
        assertThat(events().getLast().data().get("response").get("error"))
                .isEqualTo(ResponsesRequestTest.json("{'code':'rate_limit_exceeded','message':'Too many requests (rate_limit_error)'}"));
    }

    @Test
    @DisplayName("conformance 4: keep-alive is an SSE comment that takes no sequence number")
    void case4_keepAlive() throws Exception {
        write(x -> x.start(alloc, null, Usage.NONE));
        ByteBuf ping = w.keepAlive(alloc);
        assertThat(ping.toString(StandardCharsets.US_ASCII)).isEqualTo(": ping\n\n");
        feed(ping);
        write(x -> x.text(alloc, "hi"));
        write(x -> x.finish(alloc, FinishReason.STOP, null, Usage.NONE));
        assertThat(events()).hasSize(9); // numbering checked gap-free across the ping
    }

    @Test
    void writerStartsByItselfAndStartTwiceWritesNothing() throws Exception {
        write(x -> x.text(alloc, "hi"));
        assertThat(w.start(alloc, null, Usage.NONE)).isNull();
        assertThat(w.text(alloc, "")).isNull();
        write(x -> x.finish(alloc, FinishReason.STOP, null, new Usage(3, 1, 4, -1, -1)));
        List<Event> events = events();
        assertThat(events.getFirst().type()).isEqualTo("response.created");
        assertThat(events.getLast().data().get("response").get("usage").get("total_tokens").asInt()).isEqualTo(4);
    }

    @Test
    void startUsageIsKeptWhenTheFinishHasNone() throws Exception {
        write(x -> x.start(alloc, null, new Usage(12, -1, -1, 2, -1)));
        write(x -> x.text(alloc, "hi"));
        write(x -> x.finish(alloc, FinishReason.STOP, null, Usage.NONE));
        JsonNode usage = events().getLast().data().get("response").get("usage");
        assertThat(usage.get("input_tokens").asInt()).isEqualTo(12);
        assertThat(usage.get("input_tokens_details").get("cached_tokens").asInt()).isEqualTo(2);
    }

    @Test
    void eachCallReturnsWholeEventsOnly() throws Exception {
        Map<String, Integer> seen = new HashMap<>();
        ByteBuf first = w.start(alloc, null, Usage.NONE);
        String s = first.toString(StandardCharsets.UTF_8);
        first.release();
        assertThat(s).endsWith("\n\n");
        for (String block : s.split("\n\n")) seen.merge(block.substring(0, block.indexOf('\n')), 1, Integer::sum);
        assertThat(seen).containsOnly(Map.entry("event: response.created", 1), Map.entry("event: response.in_progress", 1));
    }
}
