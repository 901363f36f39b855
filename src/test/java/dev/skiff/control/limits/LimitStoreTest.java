package dev.skiff.control.limits;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.control.keys.PostgresSchema;
import dev.skiff.store.Database;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The policy store on SQLite and the real PostgreSQL: what one replica writes, another's registry takes in, deletions too. */
class LimitStoreTest {
    static final ObjectMapper JSON = new ObjectMapper();

    void replicasAgree(Database db) throws Exception {
        LimitStore store = new LimitStore(db);
        Limits a = new Limits(new LocalLimiter(), true, CostModel.UNKNOWN), b = new Limits(new LocalLimiter(), true, CostModel.UNKNOWN);
        try (PolicyRegistry ra = PolicyRegistry.start(store, a); PolicyRegistry rb = PolicyRegistry.start(new LimitStore(db), b)) {
            LimitPolicy p = PolicyJson.parse(LimitStore.newId(), JSON.readTree(
                    "{\"scope\":\"end_user\",\"path\":\"/acme\",\"end_user\":\"vip\",\"metric\":\"tokens\",\"window\":\"rolling:600\",\"limit\":9,\"soft\":5}"));
            ra.apply(java.util.List.of(store.insert(p)));
            assertThat(a.policies().all()).containsExactly(p);
            rb.refresh();
            assertThat(b.policies().all()).containsExactly(p);
            assertThat(store.list("p:/acme|vip", 10)).hasSize(1);
            assertThat(store.list("p:/acme", 10)).isEmpty();

            LimitPolicy raised = new LimitPolicy(p.id(), p.scope(), p.metric(), p.window(), 20, 5);
            store.update(raised);
            rb.refresh();
            assertThat(b.policies().all()).containsExactly(raised);

            assertThat(store.delete(p.id())).isNotNull();
            assertThat(store.delete(p.id())).isNull();
            rb.refresh();
            assertThat(b.policies().isEmpty()).isTrue();
            assertThat(store.get(p.id())).isNull();

            store.addWarning(new Warnings.Warning(1000, p.id(), "c", "tokens", "day", 5, 9, 6, "d"));
            assertThat(store.warnings(0, p.id(), 10)).extracting(Warnings.Warning::used).containsExactly(6L);
            assertThat(store.warnings(2000, null, 10)).isEmpty();
        }
    }

    @Test
    void onSqlite() throws Exception {
        Path dir = Files.createTempDirectory("limits-store");
        try (Database db = Database.open(dir.resolve("skiff.db").toString())) {
            replicasAgree(db);
        }
    }

    @Test
    void onPostgres() throws Exception {
        try (PostgresSchema schema = new PostgresSchema(); Database db = Database.open(schema.url())) {
            replicasAgree(db);
        }
    }
}
