package dev.skiff.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.skiff.store.TestDatabases;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A client that has read the terminal event of a stream ({@code data: [DONE]}, {@code message_stop},
 * {@code response.completed}) sends its next request at once. Under a concurrency limit of 1 and a
 * token budget that holds one request's reservation but not two, that request must be admitted: the
 * streamed one was settled (its slot given back, its tokens counted at what it used) before its
 * terminal event reached the client. The providers here keep their response open after the terminal
 * event until the follow-up was answered, so a settlement made only at the end of the provider's
 * body would come too late every time. Each stream shape, with the limits in process and in Redis.
 */
class SettledBeforeTheEndEndToEndTest {
    static final String KEY = LimitsEndToEndTest.KEY;
    static final String CHAT_STREAM = chunk("{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":null")
            + chunk("{},\"finish_reason\":\"stop\"")
            + "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\",\"choices\":[],"
            + "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7}}\n\n"
            + "data: [DONE]\n\n";
    static final String MESSAGES_STREAM = event("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\","
            + "\"role\":\"assistant\",\"model\":\"claude-sonnet-4\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}")
            + event("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}")
            + event("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}")
            + event("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}")
            + event("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},"
                    + "\"usage\":{\"output_tokens\":2}}")
            + event("message_stop", "{\"type\":\"message_stop\"}");
    static final String RESPONSE = "{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"%s\",\"model\":\"gpt-4o-mini\",\"output\":[]%s}";
    static final String RESPONSES_STREAM = event("response.created", "{\"type\":\"response.created\",\"sequence_number\":0,\"response\":"
            + RESPONSE.formatted("in_progress", "") + "}")
            + event("response.completed", "{\"type\":\"response.completed\",\"sequence_number\":1,\"response\":"
            + RESPONSE.formatted("completed", ",\"usage\":{\"input_tokens\":5,\"output_tokens\":2,\"total_tokens\":7}") + "}");

    /** What the client asks, where, and the line that tells it the answer is complete. */
    enum Shape {
        CHAT_STREAM("/v1/chat/completions", "gpt-4o-mini", true, "data: [DONE]"),
        MESSAGES_STREAM("/v1/messages", "claude-sonnet-4", true, "\"type\":\"message_stop\""),
        RESPONSES_STREAM("/v1/responses", "gpt-4o-mini", true, "\"type\":\"response.completed\""),
        /** A Messages client on an OpenAI model: OpenAI's stream translated, message_stop written at its [DONE]. */
        MESSAGES_FROM_CHAT("/v1/messages", "gpt-4o-mini", true, "\"type\":\"message_stop\""),
        /** A chat client on an Anthropic model: [DONE] written at the provider's message_stop. */
        CHAT_FROM_MESSAGES("/v1/chat/completions", "claude-sonnet-4", true, "data: [DONE]"),
        CHAT("/v1/chat/completions", "gpt-4o-mini", false, null);

        final String path, model, terminal;
        final boolean stream;

        Shape(String path, String model, boolean stream, String terminal) {
            this.path = path;
            this.model = model;
            this.stream = stream;
            this.terminal = terminal;
        }

        String body() {
            String s = stream ? ",\"stream\":true" : "";
            if (path.equals("/v1/responses")) return "{\"model\":\"" + model + "\",\"max_output_tokens\":1000,\"store\":false,\"input\":\"hi\"" + s + "}";
            return "{\"model\":\"" + model + "\",\"max_tokens\":1000,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]" + s + "}";
        }

        String[] auth() {
            return path.equals("/v1/messages") ? new String[] {"x-api-key", KEY, "anthropic-version", "2023-06-01"}
                    : new String[] {"Authorization", "Bearer " + KEY};
        }
    }

    final LimitsEndToEndTest gateway = new LimitsEndToEndTest();
    /** Released once the follow-up was answered: until then the providers keep the stream's response open. */
    CountDownLatch upstreamMayEnd = new CountDownLatch(1);

    @AfterEach
    void close() throws Exception {
        upstreamMayEnd.countDown();
        gateway.close();
    }

    @ParameterizedTest
    @EnumSource(Shape.class)
    void inProcessTheNextRequestAfterTheEndIsAdmitted(Shape shape) throws Exception {
        nextRequestAfterTheEndIsAdmitted(shape, start());
    }

    @ParameterizedTest
    @EnumSource(Shape.class)
    void withRedisTheNextRequestAfterTheEndIsAdmitted(Shape shape) throws Exception {
        TestGateway gw = start("SKIFF_REDIS_URL", TestDatabases.redisUrl(), "SKIFF_REDIS_PREFIX", "skiff-test-" + UUID.randomUUID() + ":");
        LimitsEndToEndTest.awaitRedis(gw);
        nextRequestAfterTheEndIsAdmitted(shape, gw);
    }

    void nextRequestAfterTheEndIsAdmitted(Shape shape, TestGateway gw) throws Exception {
        // One at a time, and 1,500 tokens a day: a request reserves ~1,000 (its max_tokens) and uses 7.
        gw.skiff.limits().policies(LimitsEndToEndTest.policies(
                "{\"scope\":\"path\",\"path\":\"/\",\"metric\":\"concurrent\",\"limit\":1}",
                "{\"scope\":\"path\",\"path\":\"/\",\"metric\":\"tokens\",\"window\":\"day\",\"limit\":1500}"));
        for (int round = 0; round < 3; round++) {
            upstreamMayEnd = new CountDownLatch(1);
            String rest = "";
            if (shape.stream) {
                HttpResponse<InputStream> first = gw.postStreaming(shape.path, shape.body(), shape.auth());
                assertThat(first.statusCode()).as("round %d", round).isEqualTo(200);
                BufferedReader reader = new BufferedReader(new InputStreamReader(first.body(), StandardCharsets.UTF_8));
                StringBuilder read = new StringBuilder();
                for (String line; (line = reader.readLine()) != null; ) {
                    read.append(line).append('\n');
                    if (line.contains(shape.terminal)) break;
                }
                assertThat(read.toString()).as("round %d", round).contains(shape.terminal).doesNotContain("\"error\"");
                // The client has its whole answer: at once, the next one.
                HttpResponse<String> next = gw.post(shape.path, shape.body().replace(",\"stream\":true", ""), shape.auth());
                assertThat(next.statusCode()).as("round %d: %s", round, next.body()).isEqualTo(200);
                upstreamMayEnd.countDown();
                try (reader) {
                    StringBuilder after = new StringBuilder();
                    for (String line; (line = reader.readLine()) != null; ) after.append(line).append('\n');
                    rest = after.toString();
                }
                assertThat(rest).as("round %d", round).doesNotContain("\"error\"").doesNotContain("data: {");
            } else {
                HttpResponse<String> first = gw.post(shape.path, shape.body(), shape.auth());
                assertThat(first.statusCode()).as("round %d: %s", round, first.body()).isEqualTo(200);
                HttpResponse<String> next = gw.post(shape.path, shape.body(), shape.auth());
                assertThat(next.statusCode()).as("round %d: %s", round, next.body()).isEqualTo(200);
            }
        }
    }

    /** LimitsEndToEndTest's gateway and providers, the providers answering as {@link #answering} says. */
    TestGateway start(String... extra) throws Exception {
        TestGateway gw = gateway.start(extra);
        gateway.openai.on("/v1/chat/completions", answering(LimitsEndToEndTest.CHAT_ANSWER, CHAT_STREAM));
        gateway.openai.on("/v1/responses", answering(RESPONSE.formatted("completed", ",\"usage\":{\"input_tokens\":5,\"output_tokens\":2,\"total_tokens\":7}"),
                RESPONSES_STREAM));
        gateway.anthropic.on("/v1/messages", answering(LimitsEndToEndTest.MESSAGES_ANSWER, MESSAGES_STREAM));
        return gw;
    }

    /** Answers {@code whole}, or streams {@code stream} and keeps the response open until {@link #upstreamMayEnd}. */
    MockUpstream.Handler answering(String whole, String stream) {
        return (req, reply) -> {
            if (!req.body().contains("\"stream\":true")) {
                reply.json(200, whole);
                return;
            }
            reply.startStream();
            reply.chunk(stream);
            upstreamMayEnd.await(15, TimeUnit.SECONDS);
        };
    }

    private static String chunk(String deltaAndFinish) {
        return "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":"
                + deltaAndFinish + "}]}\n\n";
    }

    private static String event(String name, String data) {
        return "event: " + name + "\ndata: " + data + "\n\n";
    }
}
