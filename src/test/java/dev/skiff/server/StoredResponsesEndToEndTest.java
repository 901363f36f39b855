package dev.skiff.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.store.ResponseStore;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stored responses across turns, time and a killed process, on real sockets and a real SQLite file.
 */
class StoredResponsesEndToEndTest {
    static final ObjectMapper JSON = new ObjectMapper();

    MockUpstream anthropic;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @TempDir
    Path dir;

    @BeforeEach
    void setUp() throws Exception {
        anthropic = new MockUpstream().models("claude-sonnet-4");
        anthropic.on("/v1/messages", (req, reply) -> {
            String said = JSON.readTree(req.body()).at("/messages").toString();
            reply.json(200, ResponsesEndToEndTest.anthropicText("msg_x", "answer " + said.length(), 5, 2));
        });
    }

    @AfterEach
    void tearDown() {
        anthropic.close();
    }

    private static String turn(String input, String previous) {
        return "{\"model\":\"claude-sonnet-4\",\"input\":\"" + input + "\""
                + (previous == null ? "" : ",\"previous_response_id\":\"" + previous + "\"") + "}";
    }

    @Test
    void eachTurnCarriesEveryEarlierTurnRebuiltFromTheLinks() throws Exception {
        try (TestGateway gw = TestGateway.start("ANTHROPIC_API_KEY", "sk-ant", "ANTHROPIC_BASE_URL", anthropic.baseUrl()).awaitListings()) {
            String previous = null;
            for (int i = 1; i <= 4; i++) {
                HttpResponse<String> r = gw.post("/v1/responses", turn("question " + i, previous));
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                previous = JSON.readTree(r.body()).get("id").asText();
                assertThat(previous).matches("resp_[0-9a-f]{44}");
                JsonNode messages = JSON.readTree(anthropic.take("/v1/messages").body()).get("messages");
                assertThat(messages).hasSize(2 * i - 1);
                for (int q = 1; q <= i; q++) assertThat(messages.get(2 * (q - 1)).toString()).contains("question " + q);
                for (int a = 1; a < i; a++) assertThat(messages.get(2 * a - 1).get("role").asText()).isEqualTo("assistant");
            }
        }
    }

    /**
     * The path the bench measures (Responses translated to an OpenAI-compatible server's chat
     * completions): each follow-up by {@code previous_response_id} carries the turns before it, and
     * {@code GET} returns the object the client got, byte for byte; with {@code store:false} nothing
     * is stored. The same with the shared database (keys, usage) in PostgreSQL: stored responses stay
     * in the SQLite file, and continuing them works as before.
     */
    @Test
    void followUpsThroughAChatProviderWorkWithTheSharedDatabaseInSqliteOrPostgres() throws Exception {
        try (MockUpstream vllm = new MockUpstream().models("local")) {
            vllm.on("/v1/chat/completions", (req, reply) -> {
                int said = JSON.readTree(req.body()).get("messages").size();
                reply.json(200, "{\"id\":\"c\",\"object\":\"chat.completion\",\"model\":\"local\",\"choices\":[{\"index\":0,"
                        + "\"message\":{\"role\":\"assistant\",\"content\":\"heard " + said + "\"},\"finish_reason\":\"stop\"}],"
                        + "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}");
            });
            try (TestGateway gw = TestGateway.start("VLLM_BASE_URL", vllm.baseUrl(), "VLLM_MODELS", "local").awaitListings()) {
                followUpsThroughChat(gw, vllm);
            }
            try (var schema = new dev.skiff.control.keys.PostgresSchema();
                 TestGateway gw = TestGateway.start("VLLM_BASE_URL", vllm.baseUrl(), "VLLM_MODELS", "local",
                         "SKIFF_DATABASE_URL", schema.url()).awaitListings()) {
                assertThat(gw.skiff.usageStore().describe()).startsWith("PostgreSQL");
                followUpsThroughChat(gw, vllm);
            }
        }
    }

    private void followUpsThroughChat(TestGateway gw, MockUpstream vllm) throws Exception {
        String previous = null;
        for (int i = 1; i <= 3; i++) {
            String body = "{\"model\":\"vllm/local\",\"input\":\"question " + i + "\""
                    + (previous == null ? "" : ",\"previous_response_id\":\"" + previous + "\"") + "}";
            HttpResponse<String> r = gw.post("/v1/responses", body);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode answer = JSON.readTree(r.body());
            // the provider saw every earlier question and answer, then this question
            assertThat(answer.at("/output/0/content/0/text").asText()).isEqualTo("heard " + (2 * i - 1));
            assertThat(JSON.readTree(vllm.take("/v1/chat/completions").body()).get("messages").toString()).contains("question " + i);
            assertThat(answer.get("previous_response_id").isNull()).isEqualTo(previous == null);
            previous = answer.get("id").asText();
            HttpResponse<String> stored = gw.request("GET", "/v1/responses/" + previous, null);
            assertThat(stored.statusCode()).isEqualTo(200);
            assertThat(stored.body()).isEqualTo(r.body());
        }
        HttpResponse<String> unstored = gw.post("/v1/responses", "{\"model\":\"vllm/local\",\"input\":\"x\",\"store\":false}");
        assertThat(unstored.statusCode()).as(unstored.body()).isEqualTo(200);
        vllm.take("/v1/chat/completions");
        String id = JSON.readTree(unstored.body()).get("id").asText();
        assertThat(gw.request("GET", "/v1/responses/" + id, null).statusCode()).isEqualTo(404);
    }

    /**
     * A response older than the TTL can no longer be named, but the conversation it began lives on
     * while a later response of it does; once every response of a conversation has expired, the sweep
     * deletes it and its ids are simply not found.
     */
    @Test
    void anExpiredResponseIsRefusedAndSaysWhyWhileItsConversationLivesOn() throws Exception {
        try (TestGateway gw = TestGateway.start("ANTHROPIC_API_KEY", "sk-ant", "ANTHROPIC_BASE_URL", anthropic.baseUrl(),
                "SKIFF_RESPONSES_TTL", "3s").awaitListings()) {
            HttpResponse<String> r = gw.post("/v1/responses", turn("first", null));
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            String first = JSON.readTree(r.body()).get("id").asText();
            Thread.sleep(2100);
            r = gw.post("/v1/responses", turn("second", first));
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            String second = JSON.readTree(r.body()).get("id").asText();
            anthropic.clearReceived();

            // Creation times are whole seconds: the first expires 3 to 4 s after it was made, the second 2 s later.
            HttpResponse<String> fetched = gw.get("/v1/responses/" + first);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (fetched.statusCode() == 200 && System.nanoTime() < deadline) {
                Thread.sleep(100);
                fetched = gw.get("/v1/responses/" + first);
            }
            assertThat(fetched.statusCode()).isEqualTo(404);
            JsonNode e = JSON.readTree(fetched.body()).get("error");
            assertThat(e.get("message").asText()).isEqualTo("No response found with id '" + first
                    + "': it has expired (this gateway keeps stored responses for 3 seconds, SKIFF_RESPONSES_TTL).");
            HttpResponse<String> followUp = gw.post("/v1/responses", turn("again", first));
            assertThat(followUp.statusCode()).isEqualTo(400);
            e = JSON.readTree(followUp.body()).get("error");
            assertThat(e.get("code").asText()).isEqualTo("previous_response_not_found");
            assertThat(e.get("param").asText()).isEqualTo("previous_response_id");
            assertThat(e.get("type").asText()).isEqualTo("invalid_request_error");
            assertThat(e.get("message").asText()).isEqualTo("Previous response with id '" + first
                    + "' has expired: this gateway keeps stored responses for 3 seconds (SKIFF_RESPONSES_TTL).");

            // The second has not expired, and continuing it still carries the first turn.
            HttpResponse<String> third = gw.post("/v1/responses", turn("third", second));
            assertThat(third.statusCode()).as(third.body()).isEqualTo(200);
            String sent = anthropic.take("/v1/messages").body();
            assertThat(sent).contains("first", "second", "third");

            // Once all of it has expired the sweep (every 1 s here) deletes it: then it is simply not found.
            String last = JSON.readTree(third.body()).get("id").asText();
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(8);
            HttpResponse<String> gone = gw.post("/v1/responses", turn("late", last));
            while (!JSON.readTree(gone.body()).at("/error/message").asText().contains("not found") && System.nanoTime() < deadline) {
                Thread.sleep(200);
                gone = gw.post("/v1/responses", turn("late", last));
            }
            assertThat(gone.statusCode()).isEqualTo(400);
            assertThat(JSON.readTree(gone.body()).at("/error/message").asText()).isEqualTo("Previous response with id '" + last
                    + "' not found (this gateway keeps stored responses for 3 seconds, SKIFF_RESPONSES_TTL).");
        }
    }

    /**
     * A store that cannot write (here its folder became a file after start-up) must not let an
     * answer pass for stored: a plain answer becomes a 500, a stream ends with an error event instead
     * of response.completed. Answers not to be stored are unaffected.
     */
    @Test
    void anAnswerThatCouldNotBeStoredSaysSoInsteadOfCompleting() throws Exception {
        java.util.Map<String, String> env = new java.util.HashMap<>(java.util.Map.of("ANTHROPIC_API_KEY", "sk-ant",
                "ANTHROPIC_BASE_URL", anthropic.baseUrl(), "PORT", "0", "SKIFF_HOST", "127.0.0.1", "SKIFF_USAGE_LOG", "off",
                "SKIFF_DB", dir.resolve("gone/skiff.db").toString()));
        var config = dev.skiff.config.ConfigLoader.load(env, dir);
        try (dev.skiff.Skiff skiff = dev.skiff.Skiff.start(config, env)) {
            // The control plane opened the file at start-up; the response store opens it at its first
            // save, by which time the folder has moved away and a file is in its place.
            java.nio.file.Files.move(dir.resolve("gone"), dir.resolve("moved"));
            java.nio.file.Files.writeString(dir.resolve("gone"), "in the way of the store's folder");
            String base = "http://127.0.0.1:" + skiff.port();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10); // the model comes from Anthropic's listing
            while (!skiff.catalog().firstListingsDone() && System.nanoTime() < deadline) Thread.sleep(20);

            HttpResponse<String> plain = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/responses"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(turn("hi", null))).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(plain.statusCode()).as(plain.body()).isEqualTo(500);
            JsonNode e = JSON.readTree(plain.body()).get("error");
            assertThat(e.get("code").asText()).isEqualTo("store_error");
            assertThat(e.get("message").asText()).startsWith("The answer could not be stored (").endsWith("send store:false to have answers without storing them.");

            HttpResponse<String> unstored = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/responses"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"claude-sonnet-4\",\"input\":\"hi\",\"store\":false}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(unstored.statusCode()).as(unstored.body()).isEqualTo(200);

            anthropic.on("/v1/messages", (req, reply) -> {
                reply.startStream();
                reply.chunk(STREAM);
            });
            HttpResponse<String> streamed = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/responses"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"claude-sonnet-4\",\"input\":\"hi\",\"stream\":true}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(streamed.statusCode()).isEqualTo(200);
            List<dev.skiff.testing.Sse.Event> events = dev.skiff.testing.Sse.parse(streamed.body());
            List<String> names = dev.skiff.testing.Sse.names(events);
            assertThat(names).doesNotContain("response.completed");
            assertThat(names.getLast()).isEqualTo("error");
            assertThat(events.getLast().data().toString()).contains("store_error", "The answer could not be stored");
        }
    }

    static final String STREAM = """
            event: message_start
            data: {"type":"message_start","message":{"id":"msg_s","type":"message","role":"assistant","model":"claude-sonnet-4","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}}

            event: content_block_start
            data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"streamed"}}

            event: content_block_stop
            data: {"type":"content_block_stop","index":0}

            event: message_delta
            data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":2}}

            event: message_stop
            data: {"type":"message_stop"}

            """;

    /**
     * The guarantee: an answer the client has received whole is stored, even if the process is killed
     * (SIGKILL, no shutdown hook) the moment after. A child Skiff answers a plain and a streamed request,
     * is killed as soon as the last byte of each arrives, and the database it leaves has both.
     */
    @Test
    void anAnswerTheClientReceivedSurvivesKillMinus9() throws Exception {
        anthropic.on("/v1/messages", (req, reply) -> {
            if (!req.body().contains("\"stream\":true")) {
                reply.json(200, ResponsesEndToEndTest.anthropicText("msg_k", "kept", 5, 1));
                return;
            }
            reply.startStream();
            reply.chunk("""
                    event: message_start
                    data: {"type":"message_start","message":{"id":"msg_s","type":"message","role":"assistant","model":"claude-sonnet-4","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}}

                    event: content_block_start
                    data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

                    event: content_block_delta
                    data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"streamed"}}

                    event: content_block_stop
                    data: {"type":"content_block_stop","index":0}

                    event: message_delta
                    data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":2}}

                    event: message_stop
                    data: {"type":"message_stop"}

                    """);
        });
        Path db = dir.resolve("kill.db");
        List<String> ids = new ArrayList<>();

        Process child = startChild(db);
        try {
            int port = awaitHealth(child);
            HttpResponse<String> plain = http.send(post(port, turn("plain", null)), HttpResponse.BodyHandlers.ofString());
            assertThat(plain.statusCode()).as(plain.body()).isEqualTo(200);
            ids.add(JSON.readTree(plain.body()).get("id").asText());
            child.destroyForcibly(); // SIGKILL
            assertThat(child.waitFor(10, TimeUnit.SECONDS)).isTrue();
        } finally {
            child.destroyForcibly();
        }

        child = startChild(db);
        try {
            int port = awaitHealth(child);
            String streamed = "{\"model\":\"claude-sonnet-4\",\"input\":\"stream\",\"stream\":true}";
            HttpResponse<java.io.InputStream> r = http.send(post(port, streamed), HttpResponse.BodyHandlers.ofInputStream());
            try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    if (line.startsWith("data: ") && line.contains("\"type\":\"response.completed\"")) {
                        // Killed on reading the last event, before the stream's end has even arrived.
                        child.destroyForcibly();
                        ids.add(JSON.readTree(line.substring(6)).at("/response/id").asText());
                        break;
                    }
                }
            }
            assertThat(child.waitFor(10, TimeUnit.SECONDS)).isTrue();
        } finally {
            child.destroyForcibly();
        }

        assertThat(ids).hasSize(2);
        try (ResponseStore store = new ResponseStore(db.toString(), Duration.ofDays(1))) {
            for (String id : ids) {
                assertThat(store.find(id, null).get(10, TimeUnit.SECONDS)).as(id).isInstanceOf(ResponseStore.Found.Chain.class);
            }
        }
    }

    private Process startChild(Path db) throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String java = ProcessHandle.current().info().command().orElse("java");
        ProcessBuilder pb = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-Xshare:auto", "-cp", System.getProperty("java.class.path"), "dev.skiff.Main");
        pb.environment().keySet().removeIf(k -> k.startsWith("SKIFF_") || k.endsWith("_API_KEY") || k.endsWith("_BASE_URL"));
        pb.environment().put("PORT", String.valueOf(port));
        pb.environment().put("SKIFF_HOST", "127.0.0.1");
        pb.environment().put("SKIFF_DB", db.toString());
        pb.environment().put("SKIFF_USAGE_LOG", "off");
        pb.environment().put("ANTHROPIC_API_KEY", "sk-ant");
        pb.environment().put("ANTHROPIC_BASE_URL", anthropic.baseUrl());
        pb.directory(dir.toFile());
        pb.redirectErrorStream(true);
        pb.redirectOutput(dir.resolve("child-" + port + ".log").toFile());
        Process p = pb.start();
        childPorts.put(p.pid(), port);
        return p;
    }

    private final java.util.Map<Long, Integer> childPorts = new java.util.HashMap<>();

    private int awaitHealth(Process child) throws Exception {
        int port = childPorts.get(child.pid());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (!child.isAlive()) throw new AssertionError("the child Skiff exited: " + java.nio.file.Files.readString(
                    dir.resolve("child-" + port + ".log")));
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/ready")).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) return port;
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(50);
        }
        throw new AssertionError("the child Skiff did not become ready");
    }

    private static HttpRequest post(int port, String body) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/responses")).timeout(Duration.ofSeconds(20))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }
}
