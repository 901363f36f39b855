package dev.skiff.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.net.http.HttpResponse;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What an operator meets first: readiness, a provider whose listing fails, credentials in base URLs. */
class OperationsEndToEndTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final MockUpstream mock;
    private final CountDownLatch release = new CountDownLatch(1);
    private TestGateway gw;

    OperationsEndToEndTest() throws Exception {
        mock = new MockUpstream();
    }

    @AfterEach
    void close() {
        release.countDown();
        if (gw != null) gw.close();
        mock.close();
    }

    private void holdListings() {
        mock.on("/v1/models", (req, reply) -> {
            release.await(30, TimeUnit.SECONDS);
            reply.json(200, "{\"object\":\"list\",\"data\":[{\"id\":\"gpt-4o-mini\",\"object\":\"model\"}]}");
        });
    }

    private int awaitStatus(String path, int status, long millis) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        int last;
        do {
            last = gw.get(path).statusCode();
            if (last == status) return last;
            Thread.sleep(20);
        } while (System.nanoTime() < deadline);
        return last;
    }

    @Test
    void readyWaitsForTheFirstListings() throws Exception {
        holdListings();
        gw = TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", mock.baseUrl());
        HttpResponse<String> starting = gw.get("/ready");
        assertThat(starting.statusCode()).isEqualTo(503);
        assertThat(starting.body()).contains("starting");
        assertThat(gw.get("/health").statusCode()).as("liveness does not wait").isEqualTo(200);

        release.countDown();
        assertThat(awaitStatus("/ready", 200, 5_000)).isEqualTo(200);
        assertThat(gw.get("/v1/models").body()).contains("openai/gpt-4o-mini");
    }

    @Test
    void aFailedListingCountsAsDone() throws Exception {
        mock.on("/v1/models", (req, reply) -> reply.json(401, "{\"error\":{\"message\":\"Incorrect API key provided\"}}"));
        gw = TestGateway.start("OPENAI_API_KEY", "wrong", "OPENAI_BASE_URL", mock.baseUrl());
        assertThat(awaitStatus("/ready", 200, 5_000)).isEqualTo(200);
    }

    @Test
    void oneDeadProviderDelaysReadinessOnlyUpToTheTimeout() throws Exception {
        holdListings();
        gw = TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", mock.baseUrl(), "SKIFF_READY_TIMEOUT", "700ms");
        assertThat(gw.get("/ready").statusCode()).isEqualTo(503);
        assertThat(awaitStatus("/ready", 200, 5_000)).isEqualTo(200);
        assertThat(gw.skiff.catalog().pending()).as("the listing itself is still out").containsExactly("openai");
    }

    @Test
    void unknownModelNamesTheProvidersWhoseListingFailed() throws Exception {
        mock.on("/v1/models", (req, reply) -> reply.json(401, "{\"error\":{\"message\":\"Incorrect API key provided\"}}"));
        gw = TestGateway.start("OPENAI_API_KEY", "wrong", "OPENAI_BASE_URL", mock.baseUrl()).awaitListings();
        HttpResponse<String> r = gw.post("/v1/chat/completions", "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(r.statusCode()).isEqualTo(404);
        var error = JSON.readTree(r.body()).get("error");
        assertThat(error.get("code").asText()).isEqualTo("model_not_found");
        assertThat(error.get("message").asText())
                .contains("The model listing of openai (HTTP 401 Unauthorized) failed, so it may be served there.");
        String models = gw.get("/v1/models").body();
        assertThat(JSON.readTree(models).at("/providers/0/error").asText()).contains("401").contains("Incorrect API key provided");
    }

    @Test
    void baseUrlCredentialsNeverShowInTheListingStatus() throws Exception {
        String base = mock.baseUrl().replace("http://", "http://skiff:s3cret@");
        mock.on("/v1/models", (req, reply) -> reply.json(503, "{\"error\":\"no route from " + base + "\"}"));
        gw = TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", base).awaitListings();
        String models = gw.get("/v1/models").body();
        assertThat(models).contains("no route from http://***@127.0.0.1").doesNotContain("s3cret");
        assertThat(gw.skiff.config().providers().getFirst().toString()).doesNotContain("s3cret");
    }
}
