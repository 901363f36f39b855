package dev.skiff.control.keys;

import static dev.skiff.control.keys.KeysAdminEndToEndTest.MASTER;
import static dev.skiff.control.keys.KeysAdminEndToEndTest.admin;
import static dev.skiff.control.keys.KeysAdminEndToEndTest.create;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

/** Two Skiff replicas on one real PostgreSQL: a key made or revoked through one is honoured by the other within a second. */
class ReplicaRevocationTest {
    static final String CHAT = "{\"model\":\"openai/gpt-4o\",\"messages\":[]}";

    @Test
    void aKeyRevokedThroughReplicaAIsRefusedByReplicaBWithinASecond() throws Exception {
        try (PostgresSchema schema = new PostgresSchema(); MockUpstream up = new MockUpstream().models("gpt-4o")) {
            up.on("/v1/chat/completions", (req, reply) -> reply.json(200, "{\"id\":\"1\",\"object\":\"chat.completion\",\"choices\":[]}"));
            String[] env = {"SKIFF_MASTER_KEY", MASTER, "SKIFF_DATABASE_URL", schema.url(), "OPENAI_API_KEY", "k", "OPENAI_BASE_URL", up.baseUrl()};
            try (TestGateway a = TestGateway.start(env); TestGateway b = TestGateway.start(env)) {
                JsonNode key = create(a, "{\"name\":\"shared\"}");
                String secret = key.get("secret").asText();
                assertThat(chat(a, secret)).isEqualTo(200); // applied at once where it was made

                long made = System.nanoTime();
                int status;
                while ((status = chat(b, secret)) != 200 && System.nanoTime() - made < 3_000_000_000L) Thread.sleep(20);
                long seenMillis = (System.nanoTime() - made) / 1_000_000;
                assertThat(status).isEqualTo(200);
                assertThat(seenMillis).as("new key usable on B after %d ms", seenMillis).isLessThan(1000);

                assertThat(admin(a, "DELETE", "/admin/v1/keys/" + key.get("id").asText(), null, MASTER).statusCode()).isEqualTo(200);
                long revoked = System.nanoTime();
                assertThat(chat(a, secret)).isEqualTo(401);
                while ((status = chat(b, secret)) == 200 && System.nanoTime() - revoked < 3_000_000_000L) Thread.sleep(20);
                long refusedMillis = (System.nanoTime() - revoked) / 1_000_000;
                assertThat(status).isEqualTo(401);
                assertThat(refusedMillis).as("revoked key refused by B after %d ms", refusedMillis).isLessThan(1000);
                System.out.println("replica B: new key usable after " + seenMillis + " ms, revoked key refused after " + refusedMillis + " ms");

                // The admin view agrees on both.
                HttpResponse<String> onB = admin(b, "GET", "/admin/v1/keys/" + key.get("id").asText(), null, MASTER);
                assertThat(KeysAdminEndToEndTest.json(onB).get("status").asText()).isEqualTo("revoked");
            }
        }
    }

    @Test
    void failingClosedAKeyStoreThatCannotBeReadRefusesManagedKeysUntilItCanAgain() throws Exception {
        try (PostgresSchema schema = new PostgresSchema(); MockUpstream up = new MockUpstream().models("gpt-4o")) {
            up.on("/v1/chat/completions", (req, reply) -> reply.json(200, "{\"id\":\"1\",\"object\":\"chat.completion\",\"choices\":[]}"));
            try (TestGateway gw = TestGateway.start("SKIFF_MASTER_KEY", MASTER, "SKIFF_DATABASE_URL", schema.url(), "SKIFF_LIMITS_FAILURE", "closed",
                    "OPENAI_API_KEY", "k", "OPENAI_BASE_URL", up.baseUrl())) {
                String secret = create(gw, "{}").get("secret").asText();
                assertThat(chat(gw, secret)).isEqualTo(200);
                schema.execute("ALTER TABLE " + schema.name + ".skiff_keys RENAME TO skiff_keys_away");
                long gone = System.nanoTime();
                HttpResponse<String> r;
                while ((r = gw.post("/v1/chat/completions", CHAT, "Authorization", "Bearer " + secret)).statusCode() == 200
                        && System.nanoTime() - gone < 10_000_000_000L) Thread.sleep(50);
                assertThat(r.statusCode()).isEqualTo(503);
                assertThat(r.headers().firstValue("retry-after")).hasValue("1");
                assertThat(KeysAdminEndToEndTest.json(r).at("/error/message").asText()).contains("SKIFF_LIMITS_FAILURE=closed");
                assertThat(chat(gw, MASTER)).isEqualTo(200); // the master key needs no store

                schema.execute("ALTER TABLE " + schema.name + ".skiff_keys_away RENAME TO skiff_keys");
                long back = System.nanoTime();
                int status;
                while ((status = chat(gw, secret)) != 200 && System.nanoTime() - back < 3_000_000_000L) Thread.sleep(20);
                assertThat(status).isEqualTo(200);
            }
        }
    }

    private static int chat(TestGateway gw, String secret) throws Exception {
        return gw.post("/v1/chat/completions", CHAT, "Authorization", "Bearer " + secret).statusCode();
    }
}
