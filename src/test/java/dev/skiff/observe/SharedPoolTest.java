package dev.skiff.observe;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skiff.control.keys.PostgresSchema;
import dev.skiff.store.Database;
import dev.skiff.store.TestDatabases;
import dev.skiff.testing.MockUpstream;
import dev.skiff.testing.TestGateway;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** On the real PostgreSQL, the stores of one Skiff (keys, limits, usage) hold their connections in one pool. */
class SharedPoolTest {
    static final String MASTER = "master-secret";

    @Test
    void keysLimitsAndUsageShareOnePoolOnPostgres() throws Exception {
        try (PostgresSchema schema = new PostgresSchema(); MockUpstream up = new MockUpstream().models("gpt-4o-mini")) {
            up.on("/v1/chat/completions", (req, reply) -> reply.json(200, "{\"id\":\"c\",\"object\":\"chat.completion\",\"choices\":[],"
                    + "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}"));
            Database control;
            int poolsBefore = Database.poolsMade();
            try (TestGateway gw = TestGateway.start("SKIFF_MASTER_KEY", MASTER, "SKIFF_DATABASE_URL", schema.url(),
                    "OPENAI_API_KEY", "k", "OPENAI_BASE_URL", up.baseUrl()).awaitListings()) {
                // Every store at work: a key made (keys), a limit set (limits), a request recorded and read back (usage).
                HttpResponse<String> made = gw.request("POST", "/admin/v1/keys", "{\"name\":\"a\"}", "Authorization", "Bearer " + MASTER);
                assertThat(made.statusCode()).as(made.body()).isEqualTo(201);
                String secret = UsageEndToEndTest.json(made.body()).get("secret").asText();
                assertThat(gw.post("/v1/chat/completions", "{\"model\":\"openai/gpt-4o-mini\",\"messages\":[]}",
                        "Authorization", "Bearer " + secret).statusCode()).isEqualTo(200);
                JsonNode usage = null;
                for (int i = 0; i < 200 && (usage == null || usage.at("/total/requests").asLong() < 1); i++) {
                    HttpResponse<String> r = gw.request("GET", "/admin/v1/usage", null, "Authorization", "Bearer " + MASTER);
                    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                    usage = UsageEndToEndTest.json(r.body());
                    Thread.sleep(25);
                }
                assertThat(usage.at("/total/requests").asLong()).isEqualTo(1);

                control = gw.skiff.database();
                assertThat(gw.skiff.usageStore().database().sharesPoolWith(control)).as("usage uses the keys' pool").isTrue();
                assertThat(Database.poolsOpen(schema.url())).isEqualTo(1);
                assertThat(Database.poolsMade() - poolsBefore).as("pools made by this Skiff").isEqualTo(1);
                // What the server sees: every connection this Skiff holds comes from that one pool.
                List<String> names = applicationNames();
                assertThat(names).contains(control.applicationName());
                assertThat(names.stream().filter(n -> n.equals(control.applicationName())))
                        .as("one pool's connections: at most its maximum of 8").hasSizeLessThanOrEqualTo(8);
            }
            assertThat(Database.poolsOpen(schema.url())).as("closed with the last store").isZero();
        }
    }

    /** The application names of this JVM's Skiff pools connected to the test PostgreSQL, one per connection. */
    private static List<String> applicationNames() throws Exception {
        List<String> out = new ArrayList<>();
        String jdbc = dev.skiff.store.DatabaseAccess.jdbc(TestDatabases.postgresUrl());
        try (Connection c = DriverManager.getConnection(jdbc);
             PreparedStatement s = c.prepareStatement("SELECT application_name FROM pg_stat_activity WHERE application_name LIKE ?")) {
            s.setString(1, "skiff-db-" + ProcessHandle.current().pid() + "-%");
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) out.add(rs.getString(1));
            }
        }
        return out;
    }
}
