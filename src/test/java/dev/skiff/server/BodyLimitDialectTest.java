package dev.skiff.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.skiff.testing.TestGateway;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** A body over the limit is refused in the error shape of the endpoint it was sent to. */
class BodyLimitDialectTest {
    private static String refuse(TestGateway gw, String path) throws Exception {
        return refuse(gw, path, "");
    }

    private static String refuse(TestGateway gw, String path, String extraHeaders) throws Exception {
        try (Socket s = new Socket("127.0.0.1", gw.skiff.port())) {
            s.setSoTimeout(5000);
            // Declared too large: refused at once, before the body (which is never sent).
            s.getOutputStream().write(("POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 5000\r\n" + extraHeaders + "\r\n").getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8); // the connection closes after the answer
        }
    }

    @Test
    void messagesGetsAnthropicsShapeAndChatOpenAisEnvelope() throws Exception {
        try (TestGateway gw = TestGateway.start("SKIFF_MAX_BODY_BYTES", "1000")) {
            String messages = refuse(gw, "/v1/messages");
            assertThat(messages).startsWith("HTTP/1.1 413");
            assertThat(messages).contains("{\"type\":\"error\",\"error\":{\"type\":\"request_too_large\"").contains("1000 bytes");
            String chat = refuse(gw, "/v1/chat/completions");
            assertThat(chat).startsWith("HTTP/1.1 413");
            assertThat(chat).contains("{\"error\":{").contains("\"code\":\"request_too_large\"").doesNotContain("\"type\":\"error\"");
            // Waiting for 100 Continue changes nothing: the same refusal, with its body, not Netty's bare 413.
            String expecting = refuse(gw, "/v1/messages", "Expect: 100-continue\r\n");
            assertThat(expecting).startsWith("HTTP/1.1 413").doesNotContain("100 Continue");
            assertThat(expecting).contains("{\"type\":\"error\",\"error\":{\"type\":\"request_too_large\"");
        }
    }
}
