package dev.skiff.provider.bedrock;

import static org.assertj.core.api.Assertions.assertThat;

import dev.skiff.config.ProviderConfig;
import dev.skiff.config.ProviderType;
import dev.skiff.provider.ChatAdapter;
import dev.skiff.provider.Provider;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The upstream request the adapter builds: URL, headers, and a signature over exactly what is sent. */
class BedrockChatAdapterTest {
    static final String ARN = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0";
    static final String BODY = "{\"model\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

    static Provider provider(String apiKey, Map<String, String> settings) {
        return new Provider(new ProviderConfig("bedrock", ProviderType.BEDROCK, URI.create("https://bedrock-runtime.eu-west-1.amazonaws.com"),
                apiKey, List.of(ARN), null, settings));
    }

    static ChatAdapter.Upstream prepare(Provider p, boolean stream) throws Exception {
        ByteBuf in = Unpooled.copiedBuffer(BODY, StandardCharsets.UTF_8);
        try {
            return BedrockChatAdapter.INSTANCE.prepare(new ChatAdapter.Call(p, "claude", ARN, stream, new dev.skiff.dialect.openai.OpenAiChatEgress("claude", false), new DefaultHttpHeaders(), "req-42"),
                    dev.skiff.dialect.openai.OpenAiChat.parseRequest(in, ARN), UnpooledByteBufAllocator.DEFAULT);
        } finally {
            in.release();
        }
    }

    @Test
    void signsExactlyWhatIsSent() throws Exception {
        Provider p = provider(null, Map.of("aws_region", "eu-west-1", "aws_access_key_id", "AKIDEXAMPLE",
                "aws_secret_access_key", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "aws_session_token", "FwoGZXIvYXdzEXAMPLE"));
        ChatAdapter.Upstream up = prepare(p, true);
        try {
            String encoded = "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-sonnet-4-20250514-v1%3A0";
            assertThat(up.head().uri()).isEqualTo("/model/" + encoded + "/converse-stream");
            var h = up.head().headers();
            assertThat(h.get("accept")).isEqualTo("application/vnd.amazon.eventstream");
            assertThat(h.get("content-type")).isEqualTo("application/json");
            assertThat(h.getInt("content-length")).isEqualTo(up.body().readableBytes());
            assertThat(h.get("x-request-id")).isEqualTo("req-42");
            assertThat(h.get("X-Amz-Security-Token")).isEqualTo("FwoGZXIvYXdzEXAMPLE");
            String amzDate = h.get("X-Amz-Date");
            String auth = h.get("Authorization");
            assertThat(auth).startsWith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/" + amzDate.substring(0, 8) + "/eu-west-1/bedrock/aws4_request");
            assertThat(auth).contains("SignedHeaders=accept;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-request-id");

            // Recompute from what is on the wire: same signature.
            byte[] body = ByteBufUtil.getBytes(up.body());
            assertThat(h.get("X-Amz-Content-Sha256")).isEqualTo(SigV4Signer.sha256Hex(body));
            Instant at = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC).parse(amzDate, Instant::from);
            SigV4Signer.Signed again = new SigV4Signer("eu-west-1", "bedrock").sign(
                    SigV4Signer.Request.builder("POST", h.get("host"), up.head().uri())
                            .header("content-type", h.get("content-type")).header("accept", h.get("accept"))
                            .header("x-request-id", h.get("x-request-id")).body(body).build(),
                    new SigV4Signer.Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "FwoGZXIvYXdzEXAMPLE"), at);
            assertThat(auth).isEqualTo(again.authorization());
            assertThat(again.canonicalRequest()).contains("%253A").contains("%252F"); // the path encoded twice in the canonical URI
            assertThat(up.stream()).isNotNull();
        } finally {
            up.body().release();
        }
    }

    @Test
    void apiKeyMeansBearerAndNoSignature() throws Exception {
        ChatAdapter.Upstream up = prepare(provider("bedrock-api-key-123", Map.of("aws_region", "eu-west-1")), false);
        try {
            var h = up.head().headers();
            assertThat(h.get("Authorization")).isEqualTo("Bearer bedrock-api-key-123");
            assertThat(h.get("X-Amz-Date")).isNull();
            assertThat(up.head().uri()).endsWith("/converse");
            assertThat(h.get("accept")).isEqualTo("application/json");
            assertThat(h.get("host")).isEqualTo("bedrock-runtime.eu-west-1.amazonaws.com");
            assertThat(up.stream()).isNull();
        } finally {
            up.body().release();
        }
    }
}
