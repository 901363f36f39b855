package dev.skiff.observe;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skiff.dialect.openai.OpenAiChat;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Usage and cost on a real socket: requests through Skiff to mock providers are each recorded once,
 * with their tokens by class, time to first token and cost, in the usage log and the usage store,
 * and read back through /admin/v1/usage and the caller's own /v1/usage.
 */
class UsageEndToEndTest {
    static final String MASTER = "master-secret";

    MockUpstream openai;
    MockUpstream anthropic;
    TestGateway gw;

    @BeforeEach
    void setUp() throws Exception {
        openai = new MockUpstream().models("gpt-4o-mini");
        anthropic = new MockUpstream().models("claude-sonnet-4");
        gw = TestGateway.start("SKIFF_MASTER_KEY", MASTER,
                "OPENAI_API_KEY", "sk-openai", "OPENAI_BASE_URL", openai.baseUrl(),
                "ANTHROPIC_API_KEY", "sk-ant", "ANTHROPIC_BASE_URL", anthropic.baseUrl()).awaitListings();
    }

    @AfterEach
    void tearDown() {
        gw.close();
        openai.close();
        anthropic.close();
    }

    static JsonNode json(String s) throws Exception {
        return OpenAiChat.JSON.readTree(s);
    }

    /** A managed key at {@code path}: its id and secret. */
    String[] key(String name, String path) throws Exception {
        HttpResponse<String> r = gw.request("POST", "/admin/v1/keys", "{\"name\":\"" + name + "\",\"user_path\":\"" + path + "\"}",
                "Authorization", "Bearer " + MASTER);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        JsonNode k = json(r.body());
        return new String[] {k.get("id").asText(), k.get("secret").asText()};
    }

    /** The admin usage answer once it counts {@code requests} (rows reach the store in batches). */
    JsonNode usageOnce(String query, long requests) throws Exception {
        JsonNode last = null;
        for (int i = 0; i < 100; i++) {
            HttpResponse<String> r = gw.request("GET", "/admin/v1/usage" + query, null, "Authorization", "Bearer " + MASTER);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            last = json(r.body());
            if (last.at("/total/requests").asLong() >= requests) return last;
            Thread.sleep(50);
        }
        throw new AssertionError("usage never reached " + requests + " requests: " + last);
    }

    @Test
    void chatStreamAndMessagesAreEachRecordedOnceWithTokensTtftAndCost() throws Exception {
        String[] k = key("support", "/acme/support");
        String auth = "Bearer " + k[1];
        openai.on("/v1/chat/completions", (req, reply) -> {
            if (req.body().contains("\"stream\":true")) {
                reply.startStream();
                Thread.sleep(200); // the head is out; the first event comes later: time to first token > time to first byte
                reply.chunk("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n");
                reply.chunk("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\",\"choices\":[],"
                        + "\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":20,\"total_tokens\":120}}\n\n");
                reply.chunk("data: [DONE]\n\n");
                return;
            }
            reply.json(200, "{\"id\":\"c1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,"
                    + "\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":\"stop\"}],"
                    + "\"usage\":{\"prompt_tokens\":1000,\"completion_tokens\":200,\"total_tokens\":1200,"
                    + "\"prompt_tokens_details\":{\"cached_tokens\":400},\"completion_tokens_details\":{\"reasoning_tokens\":50}}}");
        });
        anthropic.on("/v1/messages", (req, reply) -> reply.json(200, "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","
                + "\"model\":\"claude-sonnet-4\",\"content\":[{\"type\":\"text\",\"text\":\"Hi\"}],\"stop_reason\":\"end_turn\","
                + "\"stop_sequence\":null,\"usage\":{\"input_tokens\":10,\"cache_read_input_tokens\":1000,"
                + "\"cache_creation_input_tokens\":200,\"output_tokens\":50}}"));

        String chat = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        assertThat(gw.post("/v1/chat/completions", chat, "Authorization", auth, "X-Request-ID", "u-chat").statusCode()).isEqualTo(200);
        HttpResponse<InputStream> s = gw.postStreaming("/v1/chat/completions",
                chat.replace("{\"model\"", "{\"stream\":true,\"stream_options\":{\"include_usage\":true},\"model\""),
                "Authorization", auth, "X-Request-ID", "u-stream");
        assertThat(s.statusCode()).isEqualTo(200);
        try (InputStream in = s.body()) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).contains("[DONE]");
        }
        HttpResponse<String> m = gw.post("/v1/messages", "{\"model\":\"anthropic/claude-sonnet-4\",\"max_tokens\":10,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "x-api-key", k[1], "anthropic-version", "2023-06-01",
                "X-Request-ID", "u-messages");
        assertThat(m.statusCode()).as(m.body()).isEqualTo(200);

        // The usage log: one line each, attributed, priced, timed.
        JsonNode chatLine = json(gw.usageLine("u-chat"));
        assertThat(chatLine.get("key_id").asText()).isEqualTo(k[0]);
        assertThat(chatLine.get("user_path").asText()).isEqualTo("/acme/support");
        // gpt-4o-mini: 600 input at 0.15, 400 cached at 0.075, 150 output + 50 reasoning at 0.60 per million = $0.00024.
        assertThat(chatLine.get("cost_usd").decimalValue()).isEqualByComparingTo("0.00024");
        assertThat(chatLine.get("ttft_ms").asDouble()).isGreaterThanOrEqualTo(chatLine.get("ttfb_ms").asDouble());
        JsonNode streamLine = json(gw.usageLine("u-stream"));
        assertThat(streamLine.get("cost_usd").decimalValue()).isEqualByComparingTo("0.000027"); // 100 x 0.15 + 20 x 0.60
        assertThat(streamLine.get("ttft_ms").asDouble()).isGreaterThanOrEqualTo(200.0);
        assertThat(streamLine.get("ttfb_ms").asDouble()).isLessThan(streamLine.get("ttft_ms").asDouble());
        JsonNode messagesLine = json(gw.usageLine("u-messages"));
        assertThat(messagesLine.get("cache_write_tokens").asLong()).isEqualTo(200);
        // claude-sonnet-4: 10 input at 3, 1000 cache reads at 0.30, 200 cache writes at 3.75, 50 output at 15 = $0.00183.
        assertThat(messagesLine.get("cost_usd").decimalValue()).isEqualByComparingTo("0.00183");

        // The store, through the admin API: three requests, each once, by model.
        JsonNode byModel = usageOnce("?group_by=model&key=" + k[0], 3);
        assertThat(byModel.at("/total/requests").asLong()).isEqualTo(3);
        assertThat(byModel.get("data")).hasSize(2);
        JsonNode mini = byModel.get("data").get(1);
        assertThat(mini.get("model").asText()).isEqualTo("gpt-4o-mini");
        assertThat(mini.get("requests").asLong()).isEqualTo(2);
        assertThat(mini.get("input_tokens").asLong()).isEqualTo(700);
        assertThat(mini.get("cached_input_tokens").asLong()).isEqualTo(400);
        assertThat(mini.get("output_tokens").asLong()).isEqualTo(170);
        assertThat(mini.get("reasoning_tokens").asLong()).isEqualTo(50);
        JsonNode claude = byModel.get("data").get(0);
        assertThat(claude.get("model").asText()).isEqualTo("claude-sonnet-4");
        assertThat(claude.get("cache_write_tokens").asLong()).isEqualTo(200);
        assertThat(byModel.at("/total/cost_nanos").asLong()).isEqualTo(240_000 + 27_000 + 1_830_000);
        assertThat(byModel.at("/total/unknown_cost_requests").asLong()).isZero();
        long logged = Files.readAllLines(gw.usageLog).stream().filter(l -> l.contains("\"u-chat\"") || l.contains("\"u-stream\"")
                || l.contains("\"u-messages\"")).count();
        assertThat(logged).isEqualTo(3);

        // Subtree: /acme includes /acme/support; CSV export.
        JsonNode byPath = usageOnce("?group_by=path&depth=1&path=/acme", 3);
        assertThat(byPath.get("data")).singleElement().satisfies(g -> assertThat(g.get("path").asText()).isEqualTo("/acme"));
        HttpResponse<String> csv = gw.request("GET", "/admin/v1/usage?group_by=provider&format=csv&key=" + k[0], null,
                "Authorization", "Bearer " + MASTER);
        assertThat(csv.headers().firstValue("content-type").orElse("")).startsWith("text/csv");
        assertThat(csv.body().lines()).containsExactly(
                "provider,requests,errors,input_tokens,cached_input_tokens,cache_write_tokens,output_tokens,reasoning_tokens,total_tokens,cost_usd,unknown_cost_requests",
                "anthropic,1,0,10,1000,200,50,0,1260,0.00183,0",
                "openai,2,0,700,400,0,170,50,1320,0.000267,0");
    }

    @Test
    void anUnknownModelIsCountedAsUnknownCostNotZero() throws Exception {
        String[] k = key("lab", "/lab");
        openai.on("/v1/chat/completions", (req, reply) -> reply.json(200, "{\"id\":\"c\",\"object\":\"chat.completion\",\"choices\":[],"
                + "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":5,\"total_tokens\":10}}"));
        HttpResponse<String> r = gw.post("/v1/chat/completions", "{\"model\":\"openai/gpt-nobody-prices\",\"messages\":[]}",
                "Authorization", "Bearer " + k[1], "X-Request-ID", "u-unknown");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(json(gw.usageLine("u-unknown")).get("cost_usd").isNull()).isTrue();
        JsonNode u = usageOnce("?key=" + k[0], 1);
        assertThat(u.at("/total/unknown_cost_requests").asLong()).isEqualTo(1);
        assertThat(u.at("/total/cost_nanos").asLong()).isZero();
        assertThat(u.at("/total/input_tokens").asLong()).isEqualTo(5);
    }

    @Test
    void selfServiceUsageAnswersOnlyTheCallersOwnKey() throws Exception {
        String[] mine = key("mine", "/acme/a");
        String[] other = key("other", "/acme/b");
        openai.on("/v1/chat/completions", (req, reply) -> reply.json(200, "{\"id\":\"c\",\"object\":\"chat.completion\",\"choices\":[],"
                + "\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":1,\"total_tokens\":11}}"));
        String chat = "{\"model\":\"gpt-4o-mini\",\"messages\":[]}";
        gw.post("/v1/chat/completions", chat, "Authorization", "Bearer " + mine[1]);
        gw.post("/v1/chat/completions", chat, "Authorization", "Bearer " + other[1]);
        gw.post("/v1/chat/completions", chat, "Authorization", "Bearer " + other[1]);
        usageOnce("", 3);

        HttpResponse<String> own = gw.get("/v1/usage?group_by=key", "Authorization", "Bearer " + mine[1]);
        assertThat(own.statusCode()).as(own.body()).isEqualTo(200);
        JsonNode body = json(own.body());
        assertThat(body.get("data")).singleElement().satisfies(g -> assertThat(g.get("key").asText()).isEqualTo(mine[0]));
        assertThat(body.at("/total/requests").asLong()).isEqualTo(1);

        HttpResponse<String> theirs = gw.get("/v1/usage?key=" + other[0], "Authorization", "Bearer " + mine[1]);
        assertThat(theirs.statusCode()).isEqualTo(403);
        assertThat(json(theirs.body()).at("/error/code").asText()).isEqualTo("insufficient_permissions");
        assertThat(gw.get("/v1/usage").statusCode()).isEqualTo(401);
        assertThat(gw.get("/v1/usage", "Authorization", "Bearer sk-skiff-nope").statusCode()).isEqualTo(401);
        HttpResponse<String> master = gw.get("/v1/usage", "Authorization", "Bearer " + MASTER);
        assertThat(master.statusCode()).isEqualTo(403);
        assertThat(json(master.body()).at("/error/code").asText()).isEqualTo("not_a_managed_key");
        HttpResponse<String> bad = gw.get("/v1/usage?group_by=color", "Authorization", "Bearer " + mine[1]);
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(json(bad.body()).at("/error/message").asText()).contains("group_by");
        HttpResponse<String> csv = gw.get("/v1/usage?format=csv&group_by=model", "Authorization", "Bearer " + mine[1]);
        assertThat(csv.body().lines()).hasSize(2).last().asString().startsWith("gpt-4o-mini,1,0,10,");
        assertThat(gw.request("GET", "/admin/v1/openapi.json", null, "Authorization", "Bearer " + MASTER).body()).contains("/admin/v1/usage");
        // A managed key without the admin scope cannot read everyone's usage.
        assertThat(gw.request("GET", "/admin/v1/usage", null, "Authorization", "Bearer " + mine[1]).statusCode()).isEqualTo(403);
    }

    @Test
    void endUsersAndHeaderPathsAreAttributedAndRolledUp() throws Exception {
        String[] k = key("support", "/acme/support");
        openai.on("/v1/chat/completions", (req, reply) -> reply.json(200, "{\"id\":\"c\",\"object\":\"chat.completion\",\"choices\":[],"
                + "\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":2,\"total_tokens\":12}}"));
        String chat = "{\"model\":\"gpt-4o-mini\",\"messages\":[]}";
        String auth = "Bearer " + k[1];
        assertThat(gw.post("/v1/chat/completions", chat, "Authorization", auth, "X-End-User", "alice", "X-Skiff-User-Path", "bot",
                "X-Request-ID", "u-alice").statusCode()).isEqualTo(200);
        assertThat(gw.post("/v1/chat/completions", chat, "Authorization", auth, "X-End-User", "alice").statusCode()).isEqualTo(200);
        assertThat(gw.post("/v1/chat/completions", chat, "Authorization", auth, "X-End-User", "bob").statusCode()).isEqualTo(200);
        JsonNode line = json(gw.usageLine("u-alice"));
        assertThat(line.get("end_user").asText()).isEqualTo("alice");
        assertThat(line.get("user_path").asText()).isEqualTo("/acme/support/bot");

        JsonNode byUser = usageOnce("?group_by=end_user&key=" + k[0], 3);
        assertThat(byUser.get("data")).extracting(g -> g.get("end_user").asText() + "=" + g.get("requests").asLong())
                .containsExactly("alice=2", "bob=1");
        JsonNode byPath = usageOnce("?group_by=path&path=/acme/support&key=" + k[0], 3);
        assertThat(byPath.get("data")).extracting(g -> g.get("path").asText() + "=" + g.get("requests").asLong())
                .containsExactly("/acme/support=2", "/acme/support/bot=1");
        JsonNode rolled = usageOnce("?group_by=path&depth=2&path=/acme&key=" + k[0], 3);
        assertThat(rolled.get("data")).extracting(g -> g.get("path").asText() + "=" + g.get("requests").asLong())
                .containsExactly("/acme/support=3");
    }

    @Test
    void aRefusedRequestCountsAsTheKeysErrorAtNoCost() throws Exception {
        HttpResponse<String> r = gw.request("POST", "/admin/v1/keys", "{\"name\":\"narrow\",\"allowed_models\":[\"anthropic/*\"]}",
                "Authorization", "Bearer " + MASTER);
        JsonNode k = json(r.body());
        HttpResponse<String> refused = gw.post("/v1/chat/completions", "{\"model\":\"gpt-4o-mini\",\"messages\":[]}",
                "Authorization", "Bearer " + k.get("secret").asText());
        assertThat(refused.statusCode()).isEqualTo(403);
        JsonNode u = usageOnce("?key=" + k.get("id").asText(), 1);
        assertThat(u.at("/total/errors").asLong()).isEqualTo(1);
        assertThat(u.at("/total/cost_nanos").asLong()).isZero();
        assertThat(u.at("/total/unknown_cost_requests").asLong()).isZero();
        assertThat(openai.receivedSoFar()).noneMatch(x -> x.path().equals("/v1/chat/completions"));
    }

    @Test
    void aGracefulStopStoresWhatWasStillQueued() throws Exception {
        openai.on("/v1/chat/completions", (req, reply) -> reply.json(200, "{\"id\":\"c\",\"object\":\"chat.completion\",\"choices\":[],"
                + "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,\"total_tokens\":7}}"));
        for (int i = 0; i < 20; i++) {
            assertThat(gw.post("/v1/chat/completions", "{\"model\":\"gpt-4o-mini\",\"messages\":[]}", "Authorization", "Bearer " + MASTER)
                    .statusCode()).isEqualTo(200);
        }
        String db = gw.skiff.config().database();
        gw.skiff.close(); // at once: the last batch is still gathering
        UsageStore reopened = UsageStore.open(null, db);
        try {
            UsageQuery.Result r = reopened.query(new UsageQuery(0, System.currentTimeMillis() + 1, UsageQuery.GroupBy.NONE, 0, null, null, null,
                    "gpt-4o-mini", null)).get();
            assertThat(r.total().requests()).isEqualTo(20);
            assertThat(r.total().outputTokens()).isEqualTo(80);
        } finally {
            reopened.close();
        }
    }

    @Test
    void withADatabaseUrlUsageGoesToPostgres() throws Exception {
        try (var schema = new dev.skiff.control.keys.PostgresSchema();
             MockUpstream up = new MockUpstream().models("gpt-4o-mini");
             TestGateway pg = TestGateway.start("SKIFF_MASTER_KEY", MASTER, "SKIFF_DATABASE_URL", schema.url(),
                     "OPENAI_API_KEY", "sk-openai", "OPENAI_BASE_URL", up.baseUrl()).awaitListings()) {
            up.on("/v1/chat/completions", (req, reply) -> reply.json(200, "{\"id\":\"c\",\"object\":\"chat.completion\",\"choices\":[],"
                    + "\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":20,\"total_tokens\":120}}"));
            assertThat(pg.skiff.usageStore().describe()).startsWith("PostgreSQL");
            assertThat(pg.post("/v1/chat/completions", "{\"model\":\"gpt-4o-mini\",\"messages\":[]}", "Authorization", "Bearer " + MASTER)
                    .statusCode()).isEqualTo(200);
            JsonNode u = null;
            for (int i = 0; i < 100; i++) {
                u = json(pg.request("GET", "/admin/v1/usage?model=gpt-4o-mini&group_by=day", null, "Authorization", "Bearer " + MASTER).body());
                if (u.at("/total/requests").asLong() >= 1) break;
                Thread.sleep(50);
            }
            assertThat(u.at("/total/requests").asLong()).isEqualTo(1);
            assertThat(u.at("/total/cost_nanos").asLong()).isEqualTo(27_000);
            assertThat(u.get("data").get(0).get("day").asText()).isEqualTo(java.time.LocalDate.now(java.time.ZoneOffset.UTC).toString());
            String sqlite = UsageStore.sqliteBeside(pg.skiff.config().database());
            assertThat(java.nio.file.Files.exists(java.nio.file.Path.of(sqlite))).as(sqlite).isFalse();
        }
    }
}
