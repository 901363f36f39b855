package dev.skiff.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The real Vercel AI SDK ({@code ai}, {@code @ai-sdk/openai}, {@code @ai-sdk/openai-compatible},
 * {@code @ai-sdk/anthropic}) running
 * {@code src/test/node/loop.mjs} under Node against a real Skiff in front of the strict mock
 * providers of {@link AgentLoopMatrixTest}: two user turns, each a tool loop, with the Responses
 * model (store on, so later steps refer to stored items by {@code item_reference}), the chat model,
 * the OpenAI-compatible provider and the Anthropic provider with thinking. The clients are installed from the committed lock into
 * {@code target/npm-clients} by the build (bin/npm-clients), so this test needs no network; without
 * Node it is skipped.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NpmClientLoopTest {
    static final Path CLIENTS = Path.of("target/npm-clients");

    AgentLoopMatrixTest providers;

    static void clientsInstalled() throws IOException {
        assumeTrue(onPath("node"), "node is not installed: the AI SDK loops are skipped (install Node.js 20 or newer to run them)");
        Path failed = CLIENTS.resolve("install-failed");
        if (Files.exists(failed)) {
            throw new AssertionError("npm ci of src/test/node failed during the build:\n" + Files.readString(failed));
        }
        assertThat(CLIENTS.resolve("node_modules/ai/package.json")).as("the build installs the npm clients (bin/npm-clients); "
                + "run the tests through Maven, or bin/npm-clients once").exists();
    }

    static boolean onPath(String command) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, command))) return true;
        }
        return false;
    }

    /** One Skiff and one set of mocks for every case: each case's loop ends with its own last request, which it reads. */
    @BeforeAll
    void setUp() throws Exception {
        clientsInstalled();
        providers = new AgentLoopMatrixTest();
        providers.setUp();
    }

    @AfterAll
    void tearDown() {
        if (providers != null) providers.tearDown();
    }

    /** Runs the loop; the JSON it printed. */
    JsonNode run(String api, String upstream, boolean stream) throws Exception {
        String config = AgentLoopMatrixTest.JSON.createObjectNode().put("baseURL", providers.gw.url("/v1")).put("api", api)
                .put("model", AgentLoopMatrixTest.model(upstream)).put("stream", stream).toString();
        Process p = new ProcessBuilder("node", "loop.mjs", config).directory(CLIENTS.toFile()).redirectErrorStream(false).start();
        p.getOutputStream().close();
        byte[] out;
        byte[] err;
        try {
            // read both, or a chatty stderr could fill its pipe and stall the script
            var errRead = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return p.getErrorStream().readAllBytes();
                } catch (IOException e) {
                    return new byte[0];
                }
            });
            out = p.getInputStream().readAllBytes();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("the loop ends").isTrue();
            err = errRead.get(10, TimeUnit.SECONDS);
        } finally {
            p.destroyForcibly();
        }
        String printed = new String(out, StandardCharsets.UTF_8).trim();
        String last = printed.isEmpty() ? "" : printed.substring(printed.lastIndexOf('\n') + 1);
        assertThat(last).as("loop.mjs printed nothing; stderr: %s", new String(err, StandardCharsets.UTF_8)).startsWith("{");
        // kept for reading after a failure: what the SDK sent and got, step by step
        Path runs = Files.createDirectories(CLIENTS.resolve("runs"));
        Files.writeString(runs.resolve(api + "-" + upstream + (stream ? "-stream" : "") + ".json"), last);
        JsonNode result = AgentLoopMatrixTest.JSON.readTree(last);
        assertThat(result.path("ok").asBoolean()).as("%s %s stream=%s: %s\nstderr: %s", api, upstream, stream, result,
                new String(err, StandardCharsets.UTF_8)).isTrue();
        return result;
    }

    /** Each turn called Bash with ls, got its output back into the conversation, and ended with the mock's answer. */
    static void bothTurnsCompleted(JsonNode result) {
        JsonNode first = result.at("/turns/0");
        assertThat(first.at("/steps/0/toolCalls/0/name").asText()).isEqualTo("Bash");
        assertThat(first.at("/steps/0/toolCalls/0/input/command").asText()).isEqualTo("ls");
        assertThat(first.at("/steps/0/toolResults/0/output").asText()).isEqualTo(AgentLoopMatrixTest.TOOL_OUTPUT);
        assertThat(first.path("steps")).hasSize(2);
        assertThat(first.path("text").asText()).contains("Two files");
        assertThat(first.path("finishReason").asText()).isEqualTo("stop");
        // The second turn carries the first whole: the strict mocks see the tool result and answer at once.
        assertThat(result.at("/turns/1/text").asText()).contains("Two files");
        assertThat(result.at("/turns/1/finishReason").asText()).isEqualTo("stop");
    }

    /** The bodies the SDK posted to {@code path}, in order. */
    static List<JsonNode> posted(JsonNode result, String path) {
        List<JsonNode> bodies = new ArrayList<>();
        for (JsonNode r : result.path("requests")) if (r.path("url").asText().endsWith(path)) bodies.add(r.get("body"));
        return bodies;
    }

    @ParameterizedTest(name = "AI SDK Responses model (store on) to {0}, stream={1}")
    @DisplayName("conformance 40: the AI SDK's Responses model with store on loops through Skiff to every provider type")
    @CsvSource({"openai,false", "openai,true", "anthropic,false", "anthropic,true", "gemini,false", "gemini,true", "bedrock,false",
            "bedrock,true", "groq,false", "groq,true", "vllm,false", "vllm,true"})
    void responsesModelWithStoreOn(String upstream, boolean stream) throws Exception {
        JsonNode result = run("responses", upstream, stream);
        bothTurnsCompleted(result);
        List<JsonNode> bodies = posted(result, "/responses");
        assertThat(bodies).hasSize(3);
        // the SDK referred to what Skiff stored by id: the second turn names the first turn's final answer
        JsonNode lastInput = bodies.getLast().get("input");
        assertThat(lastInput.toString()).contains("\"type\":\"item_reference\"");
        for (JsonNode body : bodies) assertThat(body.path("store").asBoolean(true)).isTrue();
        for (JsonNode r : result.path("requests")) {
            assertThat(r.path("dropped").asText("")).as("Skiff resolved every reference").doesNotContain("item_reference");
        }
        if (upstream.equals("openai")) {
            // relayed as sent: OpenAI (the mock keeps what it answered, as OpenAI does) resolved the references itself
            assertThat(providers.lastSent(upstream).toString()).contains("item_reference");
        } else {
            assertThat(providers.lastSent(upstream).toString()).contains(AgentLoopMatrixTest.TOOL_OUTPUT).contains("list files")
                    .contains("Two files");
        }
    }

    @ParameterizedTest(name = "AI SDK chat model to {0}, stream={1}")
    @DisplayName("conformance 40: the AI SDK's chat model loops through Skiff to every provider type")
    @CsvSource({"openai,false", "openai,true", "anthropic,false", "anthropic,true", "gemini,false", "gemini,true", "bedrock,false",
            "bedrock,true", "groq,false", "groq,true", "vllm,false", "vllm,true"})
    void chatModel(String upstream, boolean stream) throws Exception {
        JsonNode result = run("chat", upstream, stream);
        bothTurnsCompleted(result);
        assertThat(posted(result, "/chat/completions")).hasSize(3);
        assertThat(providers.lastSent(upstream).toString()).contains(AgentLoopMatrixTest.TOOL_OUTPUT).contains("list files");
    }

    @ParameterizedTest(name = "@ai-sdk/openai-compatible to {0}, stream={1}")
    @DisplayName("conformance 40: @ai-sdk/openai-compatible, which sends reasoning back as reasoning_content, loops through Skiff to every provider type")
    @CsvSource({"openai,false", "openai,true", "anthropic,false", "anthropic,true", "gemini,false", "gemini,true", "bedrock,false",
            "bedrock,true", "groq,false", "groq,true", "vllm,false", "vllm,true"})
    void openAiCompatibleProvider(String upstream, boolean stream) throws Exception {
        JsonNode result = run("compatible", upstream, stream);
        bothTurnsCompleted(result);
        assertThat(posted(result, "/chat/completions")).hasSize(3);
        JsonNode sent = providers.lastSent(upstream);
        assertThat(sent.toString()).contains(AgentLoopMatrixTest.TOOL_OUTPUT).contains("list files");
        if (upstream.equals("groq")) assertThat(sent.toString()).doesNotContain("reasoning_content");
    }

    @ParameterizedTest(name = "AI SDK Anthropic provider with thinking to {0}, stream={1}")
    @DisplayName("conformance 40: the AI SDK's Anthropic provider, thinking on, loops through Skiff's Messages API to every provider type")
    @CsvSource({"openai,false", "openai,true", "anthropic,false", "anthropic,true", "gemini,false", "gemini,true", "bedrock,false",
            "bedrock,true", "groq,false", "groq,true", "vllm,false", "vllm,true"})
    void anthropicProviderWithThinking(String upstream, boolean stream) throws Exception {
        JsonNode result = run("anthropic", upstream, stream);
        bothTurnsCompleted(result);
        List<JsonNode> bodies = posted(result, "/messages");
        assertThat(bodies).hasSize(3);
        assertThat(bodies.getFirst().at("/thinking/type").asText()).isEqualTo("enabled");
        JsonNode sent = providers.lastSent(upstream);
        assertThat(sent.toString()).contains(AgentLoopMatrixTest.TOOL_OUTPUT).contains("list files");
        if (upstream.equals("anthropic")) {
            // the SDK sent the signed thinking back ahead of its tool call (the strict mock refuses it otherwise)
            assertThat(sent.at("/thinking/type").asText()).isEqualTo("enabled");
            assertThat(sent.toString()).contains("EqQBCkYIBxgCKkBsig==");
        }
        if (upstream.equals("bedrock")) assertThat(sent.toString()).contains(AgentLoopMatrixTest.BEDROCK_SIGNATURE);
    }
}
