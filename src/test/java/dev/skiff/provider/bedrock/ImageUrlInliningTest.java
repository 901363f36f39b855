package dev.skiff.provider.bedrock;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.net.InetAddress;
import java.net.http.HttpResponse;
import java.util.Base64;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Conformance 26: an image given by URL to a provider that takes only bytes is fetched and inlined,
 * within limits, and never from a private address unless the operator allows it.
 */
class ImageUrlInliningTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0";
    static final String CONVERSE = "/model/" + MODEL + "/converse";
    static final byte[] PNG = {(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10, 1, 2, 3, 4};

    MockUpstream bedrock;
    MockUpstream images;

    @BeforeEach
    void setUp() throws Exception {
        bedrock = new MockUpstream();
        bedrock.on(CONVERSE, (req, reply) -> reply.json(200, BedrockFrames.fixture("converse.json")));
        images = new MockUpstream();
        images.on("/cat.png", (req, reply) -> {
            reply.header("Content-Type", "image/png");
            reply.raw(200, PNG);
        });
        images.on("/moved", (req, reply) -> {
            reply.header("Location", "/cat.png");
            reply.raw(302, new byte[0]);
        });
        images.on("/page", (req, reply) -> reply.send(200, "text/html", "<html></html>"));
    }

    @AfterEach
    void tearDown() {
        bedrock.close();
        images.close();
    }

    TestGateway gateway(String... extra) throws Exception {
        String base = bedrock.baseUrl().substring(0, bedrock.baseUrl().length() - 3);
        String[] env = {"AWS_ACCESS_KEY_ID", "AKID", "AWS_SECRET_ACCESS_KEY", "secret", "BEDROCK_BASE_URL", base, "BEDROCK_MODELS", MODEL};
        String[] all = new String[env.length + extra.length];
        System.arraycopy(env, 0, all, 0, env.length);
        System.arraycopy(extra, 0, all, env.length, extra.length);
        return TestGateway.start(all).awaitListings();
    }

    String chatWithImage(String path) {
        String url = images.baseUrl().replace("/v1", "") + path;
        return "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"what is it?\"},"
                + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"" + url + "\"}}]}]}";
    }

    @Test
    void conformance26_imageUrlIsFetchedAndSentAsBytes() throws Exception {
        try (TestGateway gw = gateway("SKIFF_IMAGE_FETCH_PRIVATE", "allow")) { // the test server is on loopback
            HttpResponse<String> r = gw.post("/v1/chat/completions", chatWithImage("/moved"));
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode image = JSON.readTree(bedrock.take(CONVERSE).body()).at("/messages/0/content/1/image");
            assertThat(image.get("format").asText()).isEqualTo("png");
            assertThat(Base64.getDecoder().decode(image.at("/source/bytes").asText())).isEqualTo(PNG);
        }
    }

    @Test
    void privateAddressesAreRefusedByDefault() throws Exception {
        try (TestGateway gw = gateway()) {
            HttpResponse<String> r = gw.post("/v1/chat/completions", chatWithImage("/cat.png"));
            assertThat(r.statusCode()).isEqualTo(400);
            JsonNode e = JSON.readTree(r.body()).get("error");
            assertThat(e.get("code").asText()).isEqualTo("invalid_image_url");
            assertThat(e.get("message").asText()).contains("private or internal address");
        }
        assertThat(dev.skiff.upstream.ImageFetcherAccess.isInternal(InetAddress.getByName("169.254.169.254"))).isTrue();
        assertThat(dev.skiff.upstream.ImageFetcherAccess.isInternal(InetAddress.getByName("10.1.2.3"))).isTrue();
        assertThat(dev.skiff.upstream.ImageFetcherAccess.isInternal(InetAddress.getByName("::ffff:127.0.0.1"))).isTrue();
        assertThat(dev.skiff.upstream.ImageFetcherAccess.isInternal(InetAddress.getByName("fd00::1"))).isTrue();
        assertThat(dev.skiff.upstream.ImageFetcherAccess.isInternal(InetAddress.getByName("93.184.216.34"))).isFalse();
    }

    @Test
    void oversizedAndNonImageAnswersAreRefused() throws Exception {
        try (TestGateway gw = gateway("SKIFF_IMAGE_FETCH_PRIVATE", "allow", "SKIFF_IMAGE_FETCH_MAX_BYTES", "8")) {
            HttpResponse<String> big = gw.post("/v1/chat/completions", chatWithImage("/cat.png"));
            assertThat(big.statusCode()).isEqualTo(400);
            assertThat(JSON.readTree(big.body()).at("/error/message").asText()).contains("larger than 8 bytes");
        }
        try (TestGateway gw = gateway("SKIFF_IMAGE_FETCH_PRIVATE", "allow")) {
            HttpResponse<String> page = gw.post("/v1/chat/completions", chatWithImage("/page"));
            assertThat(page.statusCode()).isEqualTo(400);
            assertThat(JSON.readTree(page.body()).at("/error/message").asText()).contains("did not answer with an image");
        }
    }
}
