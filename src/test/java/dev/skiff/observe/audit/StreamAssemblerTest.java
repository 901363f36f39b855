package dev.skiff.observe.audit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.openai.OpenAiChat;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Streams reassembled into the one answer they add up to, and secrets taken out of what is kept. */
class StreamAssemblerTest {
    @Test
    void chatChunksBecomeOneCompletionWithToolCallsJoined() {
        String sse = """
                data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"}}]}

                data: {"id":"c1","choices":[{"index":0,"delta":{"content":"lo"}}]}

                data: {"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","function":{"name":"get_weather","arguments":"{\\"ci"}}]}}]}

                data: {"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"ty\\":\\"Paris\\"}"}}]},"finish_reason":"tool_calls"}]}

                data: {"id":"c1","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}

                data: [DONE]

                """;
        ObjectNode a = StreamAssembler.assemble(OpenAiChat.JSON, sse);
        assertThat(a.get("object").asText()).isEqualTo("chat.completion");
        assertThat(a.at("/choices/0/message/content").asText()).isEqualTo("Hello");
        assertThat(a.at("/choices/0/message/tool_calls/0/id").asText()).isEqualTo("call_1");
        assertThat(a.at("/choices/0/message/tool_calls/0/function/name").asText()).isEqualTo("get_weather");
        assertThat(a.at("/choices/0/message/tool_calls/0/function/arguments").asText()).isEqualTo("{\"city\":\"Paris\"}");
        assertThat(a.at("/choices/0/finish_reason").asText()).isEqualTo("tool_calls");
        assertThat(a.at("/usage/total_tokens").asInt()).isEqualTo(12);
    }

    @Test
    void anthropicEventsBecomeOneMessageWithThinkingAndToolInput() {
        String sse = """
                event: message_start
                data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[],"usage":{"input_tokens":3}}}

                event: content_block_start
                data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}

                event: content_block_delta
                data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me see"}}

                event: content_block_start
                data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"tu_1","name":"lookup","input":{}}}

                event: content_block_delta
                data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"q\\":"}}

                event: content_block_delta
                data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\\"x\\"}"}}

                event: message_delta
                data: {"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}

                """;
        ObjectNode a = StreamAssembler.assemble(OpenAiChat.JSON, sse);
        assertThat(a.get("id").asText()).isEqualTo("msg_1");
        assertThat(a.at("/content/0/thinking").asText()).isEqualTo("Let me see");
        assertThat(a.at("/content/1/input/q").asText()).isEqualTo("x");
        assertThat(a.get("stop_reason").asText()).isEqualTo("tool_use");
        assertThat(a.at("/usage/output_tokens").asInt()).isEqualTo(9);
        assertThat(a.at("/usage/input_tokens").asInt()).isEqualTo(3);
    }

    @Test
    void responsesStreamsGiveTheirFinalResponse() {
        String sse = "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\",\"status\":\"in_progress\"}}\n\n"
                + "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"Hi\"}\n\n"
                + "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\",\"status\":\"completed\"}}\n\n";
        assertThat(StreamAssembler.assemble(OpenAiChat.JSON, sse).get("status").asText()).isEqualTo("completed");
        // cut before its end (the capture's cap): the text as far as it came
        String cut = sse.substring(0, sse.indexOf("event: response.completed"));
        assertThat(StreamAssembler.assemble(OpenAiChat.JSON, cut).get("output_text").asText()).isEqualTo("Hi");
    }

    @Test
    void unknownEventsAssembleToNothing() {
        assertThat(StreamAssembler.assemble(OpenAiChat.JSON, "data: {\"foo\":1}\n\n")).isNull();
        assertThat(StreamAssembler.assemble(OpenAiChat.JSON, "data: [DONE]\n\n")).isNull();
    }

    @Test
    void redactionCoversCredentialHeadersQuerySecretsAndConfiguredPatterns() {
        Redactor r = new Redactor(Pattern.compile("acct-\\d+"));
        var h = r.headers(new String[] {"Authorization", "Bearer sk-1", "x-api-key", "k", "Cookie", "a=b", "X-Goog-Api-Key", "g",
                "x-amz-security-token", "t", "X-My-Secret", "s", "anthropic-ratelimit-tokens-remaining", "100", "X-Note", "for acct-42"});
        assertThat(h.get("authorization")).isEqualTo("[redacted]");
        assertThat(h.get("x-api-key")).isEqualTo("[redacted]");
        assertThat(h.get("cookie")).isEqualTo("[redacted]");
        assertThat(h.get("x-goog-api-key")).isEqualTo("[redacted]");
        assertThat(h.get("x-amz-security-token")).isEqualTo("[redacted]");
        assertThat(h.get("x-my-secret")).isEqualTo("[redacted]");
        assertThat(h.get("anthropic-ratelimit-tokens-remaining")).isEqualTo("100");
        assertThat(h.get("x-note")).isEqualTo("for [redacted]");
        assertThat(r.url("https://g.example/v1beta/models/x:generateContent?alt=sse&key=AIza123"))
                .isEqualTo("https://g.example/v1beta/models/x:generateContent?alt=sse&key=[redacted]");
        assertThat(r.text("{\"user\":\"acct-777\"}")).isEqualTo("{\"user\":\"[redacted]\"}");
    }
}
