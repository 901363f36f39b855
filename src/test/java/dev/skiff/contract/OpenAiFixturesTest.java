package dev.skiff.contract;

import dev.skiff.testing.Recorded;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Contract tests: recorded OpenAI payloads replayed by a mock provider behind a real Skiff. The
 * OpenAI-compatible fast path must hand clients exactly what the provider sent, minus only what Skiff
 * itself asked for (usage on streams the client did not ask usage for).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenAiFixturesTest {
    private static final Path FIXTURES = Recorded.dir("openai");
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final String CHAT = "/v1/chat/completions";

    private MockUpstream mock;
    private TestGateway gw;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    static byte[] fixture(String name) {
        Path p = FIXTURES.resolve(name);
        if (!Files.isRegularFile(p)) {
            throw new AssertionError("fixture missing: " + p.toAbsolutePath().normalize()
                    + "");
        }
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new AssertionError("cannot read fixture " + p.toAbsolutePath(), e);
        }
    }

    static String fixtureText(String name) {
        return new String(fixture(name), StandardCharsets.UTF_8);
    }

    /**
     * A recording as the client receives it: every byte as OpenAI sent it except the model, which
     * names what the client asked for ({@code gpt-4o-mini}, not the snapshot {@code gpt-4o-mini-2024-07-18}).
     */
    static String answered(String recorded, String clientModel) {
        String out = recorded.replaceAll("(\"model\":\\s*)\"[^\"]*\"", "$1\"" + clientModel + "\"");
        assertThat(out).as("the recording names a model to rewrite").isNotEqualTo(recorded);
        return out;
    }

    static byte[] answered(byte[] recorded, String clientModel) {
        return answered(new String(recorded, StandardCharsets.UTF_8), clientModel).getBytes(StandardCharsets.UTF_8);
    }

    @BeforeAll
    void start() throws Exception {
        String models = fixtureText("models.json");
        mock = new MockUpstream();
        mock.on("/v1/models", (req, reply) -> reply.json(200, models));
        gw = TestGateway.start("OPENAI_API_KEY", "sk-upstream", "OPENAI_BASE_URL", mock.baseUrl());
        gw.awaitListings();
    }

    @AfterAll
    void stop() {
        if (gw != null) gw.close();
        if (mock != null) mock.close();
    }

    private HttpResponse<byte[]> post(String body, String requestId) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(gw.url(CHAT))).timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        if (requestId != null) b.header("x-request-id", requestId);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    /** The upstream request carrying {@code marker}, skipping any other (listings, leftovers of a failed test). */
    private MockUpstream.Received upstreamRequest(String marker) throws InterruptedException {
        for (int i = 0; i < 20; i++) {
            MockUpstream.Received r = mock.take(CHAT);
            if (r.body().contains(marker)) return r;
        }
        throw new AssertionError("no upstream request carrying " + marker);
    }

    private static String chatBody(String model, String marker, String extra) {
        return "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"" + marker + "\"}]" + extra + "}";
    }

    private JsonNode usageLine(String requestId) throws Exception {
        return MAPPER.readTree(gw.usageLine(requestId));
    }

    // ---- chat completions, whole -------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(strings = {"chat_completion.json", "chat_completion_reasoning.json", "chat_json_mode.json", "chat_multi_turn.json",
            "chat_multimodal.json", "chat_with_params.json", "chat_with_tools.json"})
    void chatFixtureReachesTheClientByteForByte(String name) throws Exception {
        byte[] recorded = fixture(name);
        String text = new String(recorded, StandardCharsets.UTF_8);
        mock.on(CHAT, (req, reply) -> reply.json(200, text));

        String marker = "m-" + UUID.randomUUID();
        String requestId = "fixture-" + marker;
        String body = chatBody("gpt-4o-mini", marker, ",\"temperature\":0.2");
        HttpResponse<byte[]> r = post(body, requestId);

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).as("body of %s", name).isEqualTo(answered(recorded, "gpt-4o-mini"));
        assertThat(r.headers().firstValue("x-request-id")).hasValue(requestId);
        assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
        assertThat(r.headers().firstValue("x-skiff-provider")).hasValue("openai");

        MockUpstream.Received up = upstreamRequest(marker);
        assertThat(up.body()).as("a non-streamed request whose model needs no rewrite goes upstream unchanged").isEqualTo(body);
        assertThat(up.header("Authorization")).isEqualTo("Bearer sk-upstream");
        assertThat(up.header("x-request-id")).isEqualTo(requestId);

        JsonNode usage = MAPPER.readTree(recorded).get("usage");
        JsonNode line = usageLine(requestId);
        assertThat(line.get("status").asInt()).isEqualTo(200);
        assertThat(line.get("provider").asText()).isEqualTo("openai");
        assertThat(line.get("model").asText()).isEqualTo("gpt-4o-mini");
        assertThat(line.get("stream").asBoolean()).isFalse();
        assertThat(line.get("prompt_tokens").asLong()).isEqualTo(usage.get("prompt_tokens").asLong());
        assertThat(line.get("completion_tokens").asLong()).isEqualTo(usage.get("completion_tokens").asLong());
        assertThat(line.get("total_tokens").asLong()).isEqualTo(usage.get("total_tokens").asLong());
        assertThat(line.get("cached_tokens").asLong()).isEqualTo(usage.at("/prompt_tokens_details/cached_tokens").asLong());
        assertThat(line.get("reasoning_tokens").asLong()).isEqualTo(usage.at("/completion_tokens_details/reasoning_tokens").asLong());
        assertThat(line.has("error")).isFalse();
    }

    @Test
    void responseCarriesAGeneratedRequestIdWhenTheClientSentNone() throws Exception {
        byte[] recorded = fixture("chat_completion.json");
        mock.on(CHAT, (req, reply) -> reply.json(200, new String(recorded, StandardCharsets.UTF_8)));
        String marker = "m-" + UUID.randomUUID();
        HttpResponse<byte[]> r = post(chatBody("gpt-4o-mini", marker, ""), null);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(answered(recorded, "gpt-4o-mini"));
        String id = r.headers().firstValue("x-request-id").orElseThrow(() -> new AssertionError("no x-request-id"));
        assertThat(id).matches("req_[0-9a-f]{32}");
        assertThat(upstreamRequest(marker).header("x-request-id")).isEqualTo(id);
        assertThat(usageLine(id).get("prompt_tokens").asLong()).isEqualTo(17);
    }

    @Test
    void qualifiedModelIsRewrittenAndNothingElseChanges() throws Exception {
        byte[] recorded = fixture("chat_with_params.json");
        mock.on(CHAT, (req, reply) -> reply.json(200, new String(recorded, StandardCharsets.UTF_8)));
        String marker = "m-" + UUID.randomUUID();
        String body = chatBody("openai/gpt-4o-mini", marker, ",\"max_tokens\":10,\"stop\":[\"5\"],\"seed\":7");
        HttpResponse<byte[]> r = post(body, null);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(answered(recorded, "openai/gpt-4o-mini"));
        String sent = upstreamRequest(marker).body();
        assertThat(sent).isEqualTo(body.replace("\"openai/gpt-4o-mini\"", "\"gpt-4o-mini\""));
    }

    // ---- chat completions, streamed ------------------------------------------------------------

    private static final String STREAM_FIXTURE = "chat_completion_stream.txt";

    /** Cuts {@code text} at a fixed set of pseudo-random byte positions (so some cuts fall inside events). */
    static List<byte[]> pieces(byte[] bytes, long seed, int count) {
        Random random = new Random(seed);
        TreeSet<Integer> cuts = new TreeSet<>();
        while (cuts.size() < count) cuts.add(1 + random.nextInt(bytes.length - 1));
        cuts.add(bytes.length / 2 + 3);
        List<byte[]> out = new ArrayList<>();
        int from = 0;
        for (int cut : cuts) {
            out.add(java.util.Arrays.copyOfRange(bytes, from, cut));
            from = cut;
        }
        out.add(java.util.Arrays.copyOfRange(bytes, from, bytes.length));
        return out;
    }

    /** Serves {@code body} as an event stream in pieces; records the request body it answered. */
    private void serveStream(byte[] body, AtomicReference<String> seen) {
        List<byte[]> pieces = pieces(body, 42, 12);
        mock.on(CHAT, (req, reply) -> {
            if (seen != null) seen.set(req.body());
            reply.startStream();
            for (byte[] piece : pieces) {
                // MockUpstream writes text; every piece here is cut to keep UTF-8 intact (the fixtures are ASCII)
                reply.chunk(new String(piece, StandardCharsets.ISO_8859_1));
                Thread.sleep(2);
            }
        });
    }

    @Test
    void streamFixtureIsAscii() {
        byte[] bytes = fixture(STREAM_FIXTURE);
        for (byte b : bytes) assertThat(b).as("pieces are re-encoded one byte per char").isBetween((byte) 0, (byte) 0x7f);
        assertThat(new String(bytes, StandardCharsets.US_ASCII)).endsWith("data: [DONE]\n\n");
    }

    @Test
    void streamWithIncludeUsageRequestedByTheClientIsForwardedByteForByte() throws Exception {
        byte[] recorded = fixture(STREAM_FIXTURE);
        AtomicReference<String> seen = new AtomicReference<>();
        serveStream(recorded, seen);
        String marker = "s-" + UUID.randomUUID();
        String requestId = "stream-" + marker;
        String body = chatBody("gpt-4o-mini", marker, ",\"stream\":true,\"stream_options\":{\"include_usage\":true}");

        HttpResponse<byte[]> r = post(body, requestId);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/event-stream"));
        assertThat(r.headers().firstValue("x-request-id")).hasValue(requestId);
        assertThat(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo(answered(new String(recorded, StandardCharsets.UTF_8), "gpt-4o-mini"));
        assertThat(upstreamRequest(marker).body()).as("the client already asked for usage: nothing to edit").isEqualTo(body);

        JsonNode line = usageLine(requestId);
        assertThat(line.get("stream").asBoolean()).isTrue();
        assertThat(line.get("status").asInt()).isEqualTo(200);
    }

    /**
     * The recorded stream was captured without include_usage: it has no usage-only chunk and no
     * {@code "usage":null} members, so what the client gets is the recording itself, and the usage log
     * reports no token counts (not zeros).
     */
    @Test
    void streamWithoutIncludeUsageGivesTheRecordingAndAsksUpstreamForUsage() throws Exception {
        byte[] recorded = fixture(STREAM_FIXTURE);
        assertThat(new String(recorded, StandardCharsets.US_ASCII)).doesNotContain("\"usage\"").doesNotContain("\"choices\":[]");
        serveStream(recorded, null);
        String marker = "s-" + UUID.randomUUID();
        String requestId = "stream-" + marker;

        HttpResponse<byte[]> r = post(chatBody("gpt-4o-mini", marker, ",\"stream\":true"), requestId);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo(answered(new String(recorded, StandardCharsets.UTF_8), "gpt-4o-mini"));

        JsonNode sent = MAPPER.readTree(upstreamRequest(marker).body());
        assertThat(sent.at("/stream_options/include_usage").isBoolean()).isTrue();
        assertThat(sent.at("/stream_options/include_usage").asBoolean()).isTrue();
        assertThat(sent.get("stream").asBoolean()).isTrue();
        assertThat(sent.at("/messages/0/content").asText()).isEqualTo(marker);

        JsonNode line = usageLine(requestId);
        assertThat(line.get("stream").asBoolean()).isTrue();
        assertThat(line.get("status").asInt()).isEqualTo(200);
        assertThat(line.has("prompt_tokens")).as("the recording reports no usage").isFalse();
        assertThat(line.has("completion_tokens")).isFalse();
        assertThat(line.has("total_tokens")).isFalse();
    }

    /**
     * What OpenAI sends for the same stream once include_usage is on: every chunk gains
     * {@code "usage":null} and a usage-only chunk ({@code "choices":[]}) precedes [DONE].
     */
    static String withUsage(String recorded) {
        StringBuilder out = new StringBuilder();
        for (String event : recorded.split("\n\n")) {
            if (event.equals("data: [DONE]")) {
                out.append("data: {\"id\":\"chatcmpl-D0q8CZXN1uEzngZGkU7FuV92lnXWq\",\"object\":\"chat.completion.chunk\",\"created\":1769092764,"
                        + "\"model\":\"gpt-4o-mini-2024-07-18\",\"service_tier\":\"default\",\"system_fingerprint\":\"fp_29330a9688\",\"choices\":[],"
                        + "\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":4,\"total_tokens\":13,"
                        + "\"prompt_tokens_details\":{\"cached_tokens\":0,\"audio_tokens\":0},"
                        + "\"completion_tokens_details\":{\"reasoning_tokens\":0,\"audio_tokens\":0,\"accepted_prediction_tokens\":0,"
                        + "\"rejected_prediction_tokens\":0}},\"obfuscation\":\"Zx\"}\n\n");
                out.append(event).append("\n\n");
                continue;
            }
            assertThat(event).contains("],\"obfuscation\"");
            out.append(event.replace("],\"obfuscation\"", "],\"usage\":null,\"obfuscation\"")).append("\n\n");
        }
        return out.toString();
    }

    @Test
    void streamWithUsageIsForwardedWholeToAClientThatAskedForIt() throws Exception {
        String recorded = fixtureText(STREAM_FIXTURE);
        String upstream = withUsage(recorded);
        serveStream(upstream.getBytes(StandardCharsets.UTF_8), null);
        String marker = "s-" + UUID.randomUUID();
        String requestId = "stream-" + marker;

        HttpResponse<byte[]> r = post(chatBody("gpt-4o-mini", marker, ",\"stream\":true,\"stream_options\":{\"include_usage\":true}"), requestId);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo(answered(upstream, "gpt-4o-mini"));
        assertUsage(requestId, 9, 4, 13);
    }

    @ParameterizedTest
    @ValueSource(strings = {",\"stream\":true", ",\"stream\":true,\"stream_options\":{\"include_usage\":false}",
            ",\"stream_options\":{},\"stream\":true", ",\"stream\":true,\"stream_options\":null"})
    void streamWithUsageLosesWhatSkiffAddedForAClientThatDidNotAsk(String extra) throws Exception {
        String recorded = fixtureText(STREAM_FIXTURE);
        serveStream(withUsage(recorded).getBytes(StandardCharsets.UTF_8), null);
        String marker = "s-" + UUID.randomUUID();
        String requestId = "stream-" + marker;

        HttpResponse<byte[]> r = post(chatBody("gpt-4o-mini", marker, extra), requestId);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo(answered(recorded, "gpt-4o-mini"));

        JsonNode sent = MAPPER.readTree(upstreamRequest(marker).body());
        assertThat(sent.at("/stream_options/include_usage").asBoolean()).isTrue();
        assertUsage(requestId, 9, 4, 13);
    }

    private void assertUsage(String requestId, long prompt, long completion, long total) throws Exception {
        JsonNode line = usageLine(requestId);
        assertThat(line.get("stream").asBoolean()).isTrue();
        assertThat(line.get("prompt_tokens").asLong()).isEqualTo(prompt);
        assertThat(line.get("completion_tokens").asLong()).isEqualTo(completion);
        assertThat(line.get("total_tokens").asLong()).isEqualTo(total);
    }

    /**
     * {@code stream_options} or {@code include_usage} of the wrong type is refused with a 400 naming
     * it, rather than rewritten: the client asked for something, and Skiff cannot tell what.
     */
    @ParameterizedTest
    @ValueSource(strings = {"\"usage please\"", "{\"include_usage\":\"yes\"}", "{\"include_usage\":1}"})
    void streamOptionsOfTheWrongTypeAreRefused(String options) throws Exception {
        HttpResponse<byte[]> r = post(chatBody("gpt-4o-mini", "s-" + UUID.randomUUID(), ",\"stream\":true,\"stream_options\":" + options), null);
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(MAPPER.readTree(r.body()).at("/error/param").asText()).startsWith("stream_options");
    }

    /**
     * {@code include_usage} present but null: the scan reports it as absent, so Skiff must replace
     * that member rather than insert a second {@code include_usage} in front of it (with the usual
     * last-member-wins reading upstream would still see null, and the stream go unaccounted).
     */
    @Test
    void nullIncludeUsageIsReplacedNotDuplicated() throws Exception {
        serveStream(fixture(STREAM_FIXTURE), null);
        String marker = "s-" + UUID.randomUUID();
        post(chatBody("gpt-4o-mini", marker, ",\"stream\":true,\"stream_options\":{\"include_usage\":null}"), null);
        String sent = upstreamRequest(marker).body();
        assertThat(sent.split("\"include_usage\"", -1)).as("one include_usage member in %s", sent).hasSize(2);
        JsonNode tree = com.fasterxml.jackson.databind.json.JsonMapper.builder()
                .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION).build().readTree(sent);
        assertThat(tree.at("/stream_options/include_usage").isBoolean()).as(sent).isTrue();
        assertThat(tree.at("/stream_options/include_usage").asBoolean()).isTrue();
    }

    /** A null {@code stream_options} is "not set": Skiff puts its own in its place. */
    @Test
    void nullStreamOptionsStillSendsValidJsonUpstream() throws Exception {
        serveStream(fixture(STREAM_FIXTURE), null);
        String marker = "s-" + UUID.randomUUID();
        post(chatBody("gpt-4o-mini", marker, ",\"stream\":true,\"stream_options\":null"), null);
        JsonNode tree = MAPPER.readTree(upstreamRequest(marker).body());
        assertThat(tree.at("/stream_options/include_usage").asBoolean()).isTrue();
    }

    // ---- model listing -------------------------------------------------------------------------

    @Test
    void modelListingQualifiesEveryRecordedId() throws Exception {
        JsonNode recorded = MAPPER.readTree(fixture("models.json")).get("data");
        HttpResponse<String> r = gw.get("/v1/models");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-request-id")).isPresent();
        JsonNode listing = MAPPER.readTree(r.body());
        assertThat(listing.get("object").asText()).isEqualTo("list");

        List<String> expected = new ArrayList<>();
        recorded.forEach(m -> expected.add("openai/" + m.get("id").asText()));
        List<String> ids = new ArrayList<>();
        listing.get("data").forEach(m -> ids.add(m.get("id").asText()));
        assertThat(expected).hasSize(recorded.size()).contains("openai/gpt-4o-mini", "openai/text-embedding-3-small");
        assertThat(ids).containsExactlyElementsOf(expected);

        for (int i = 0; i < recorded.size(); i++) {
            JsonNode want = recorded.get(i);
            JsonNode got = listing.get("data").get(i);
            assertThat(got.get("object").asText()).isEqualTo("model");
            assertThat(got.get("created").asLong()).as(want.get("id").asText()).isEqualTo(want.get("created").asLong());
            assertThat(got.get("owned_by").asText()).isEqualTo(want.get("owned_by").asText());
        }
        JsonNode provider = listing.get("providers").get(0);
        assertThat(provider.get("name").asText()).isEqualTo("openai");
        assertThat(provider.get("status").asText()).isEqualTo("ok");
        assertThat(provider.get("models").asInt()).isEqualTo(recorded.size());
    }

    @Test
    void everyListedModelRoutesToTheProvider() throws Exception {
        mock.on(CHAT, (req, reply) -> reply.json(200, fixtureText("chat_completion.json")));
        for (String model : List.of("gpt-4", "o3-mini", "text-embedding-ada-002")) {
            String marker = "r-" + UUID.randomUUID();
            HttpResponse<byte[]> r = post(chatBody(model, marker, ""), null);
            assertThat(r.statusCode()).as(model).isEqualTo(200);
            ObjectNode sent = (ObjectNode) MAPPER.readTree(upstreamRequest(marker).body());
            assertThat(sent.get("model").asText()).isEqualTo(model);
        }
    }
}
