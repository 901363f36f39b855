package dev.skiff.observe.audit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.skiff.config.ProviderType;
import dev.skiff.control.Caller;
import dev.skiff.dialect.Usage;
import dev.skiff.observe.UsageRecord;
import dev.skiff.store.Database;
import dev.skiff.store.TestDatabases;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The audit store on SQLite and on the real PostgreSQL (a schema of its own per test): batches, filters, paging, retention. */
class AuditStoreTest {
    static final long T0 = 1_764_979_200_000L; // 2025-12-06T00:00:00Z

    @TempDir Path dir;
    private final List<AutoCloseable> open = new ArrayList<>();
    private String schema;

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : open) c.close();
        if (schema != null) {
            try (Database db = Database.open(TestDatabases.postgresUrl()); Connection c = db.connection(); Statement s = c.createStatement()) {
                s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
            }
        }
    }

    private AuditStore store(String kind) throws Exception {
        AuditStore s;
        if (kind.equals("sqlite")) {
            s = AuditStore.open(null, dir.resolve("skiff.db").toString());
        } else {
            schema = "audit_test_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
            try (Database db = Database.open(TestDatabases.postgresUrl()); Connection c = db.connection(); Statement st = c.createStatement()) {
                st.execute("CREATE SCHEMA " + schema);
            }
            String base = TestDatabases.postgresUrl();
            s = AuditStore.open(base + (base.contains("?") ? "&" : "?") + "currentSchema=" + schema, "unused");
        }
        open.add(s);
        return s;
    }

    static UsageRecord record(long ts, String id, String key, String path, String model, int status) {
        return new UsageRecord(ts, id, "chat", "openai", ProviderType.OPENAI, model, model, false, status, new Usage(10, 2, 12, 0, 0),
                12.5, 3.0, 4.25, status >= 400 ? "upstream status " + status : null, null, new Caller("o", key, path, "eu", null), 1);
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgres"})
    void recordsAreStoredInBatchesAndListedNewestFirstWithFiltersAndPaging(String kind) throws Exception {
        AuditStore store = store(kind);
        AuditLog log = new AuditLog(new AuditConfig(AuditConfig.Level.METADATA, 1024, null, Duration.ofDays(3650)), store);
        long now = System.currentTimeMillis();
        for (int i = 0; i < 30; i++) {
            log.finished(record(now - 30 + i, "r-" + i, "k" + (i % 3), i % 2 == 0 ? "/acme/a" : "/other", i < 10 ? "m-small" : "m-big",
                    i % 5 == 0 ? 429 : 200), null);
        }
        for (int i = 0; i < 100 && log.written() < 30; i++) Thread.sleep(50);
        assertThat(log.written()).isEqualTo(30);

        List<AuditRow> all = store.list(query(null, null, null, 0, 0, 0, 100)).get();
        assertThat(all).hasSize(30);
        assertThat(all.getFirst().requestId()).isEqualTo("r-29");
        assertThat(all.getFirst().inputTokens()).isEqualTo(10);
        assertThat(all.getFirst().latencyUs()).isEqualTo(12_500);
        assertThat(store.list(query("k1", null, null, 0, 0, 0, 100)).get()).hasSize(10).allMatch(r -> r.keyId().equals("k1"));
        assertThat(store.list(query(null, "/acme", null, 0, 0, 0, 100)).get()).hasSize(15).allMatch(r -> r.userPath().equals("/acme/a"));
        assertThat(store.list(query(null, null, "m-small", 0, 0, 0, 100)).get()).hasSize(10);
        assertThat(store.list(query(null, null, null, 429, 429, 0, 100)).get()).hasSize(6);
        // a page of 10 (plus the one that says more follow), then the next from its last id
        List<AuditRow> page = store.list(query(null, null, null, 0, 0, 0, 10)).get();
        assertThat(page).hasSize(11);
        List<AuditRow> next = store.list(query(null, null, null, 0, 0, page.get(9).id(), 10)).get();
        assertThat(next.getFirst().requestId()).isEqualTo("r-19");
        AuditRow one = store.find("r-7").get();
        assertThat(one.detail()).contains("\"usage\"");
        assertThat(store.find("nope").get()).isNull();
        log.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgres"})
    void purgeDeletesWhatIsOlderThanTheRetention(String kind) throws Exception {
        AuditStore store = store(kind);
        store.write(List.of(row(T0, "old"), row(T0 + 10_000, "new")));
        assertThat(store.purge(T0 + 5_000)).isEqualTo(1);
        assertThat(store.find("old").get()).isNull();
        assertThat(store.find("new").get()).isNotNull();
    }

    @org.junit.jupiter.api.Test
    void anSqliteFileOfTheFirstSchemaKeepsItsRowsAndIdsGrowOnFromThem() throws Exception {
        String file = dir.resolve("skiff-audit.db").toString();
        try (Database db = Database.open(file); Connection c = db.connection(); Statement s = c.createStatement()) {
            // the file as the first migration left it, with a row
            String first;
            try (var in = getClass().getClassLoader().getResourceAsStream("db/sqlite/audit/001_audit_requests.sql")) {
                first = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            }
            for (String sql : Database.statementsOf(first)) s.execute(sql);
            s.execute("CREATE TABLE skiff_migrations (module VARCHAR(64) NOT NULL, version INTEGER NOT NULL, name VARCHAR(200) NOT NULL, "
                    + "applied_at BIGINT NOT NULL, PRIMARY KEY (module, version))");
            s.execute("INSERT INTO skiff_migrations VALUES ('audit', 1, '001_audit_requests.sql', 0)");
            s.execute("INSERT INTO audit_requests (id, ts, request_id, endpoint, stream, status, level, detail) "
                    + "VALUES (41, " + T0 + ", 'before', 'chat', 0, 200, 'metadata', '{}')");
        }
        AuditStore store = AuditStore.open(null, dir.resolve("skiff.db").toString());
        open.add(store);
        store.write(List.of(row(T0 + 1, "after")));
        assertThat(store.find("before").get().id()).isEqualTo(41);
        assertThat(store.find("after").get().id()).isEqualTo(42);
        try (Connection c = store.database().connection(); Statement s = c.createStatement();
             var rs = s.executeQuery("SELECT sql FROM sqlite_master WHERE name = 'audit_requests'")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getString(1)).doesNotContainIgnoringCase("autoincrement");
        }
    }

    static AuditRow row(long ts, String id) {
        return new AuditRow(0, ts, id, null, null, null, "POST", "/v1/chat/completions", "chat", null, null, null, false, 401, -1, -1, -1, -1,
                "no key", "metadata", null, "{}");
    }

    static AuditQuery query(String key, String path, String model, int from, int to, long before, int limit) {
        return new AuditQuery(0, Long.MAX_VALUE, key, path, null, model, null, null, from, to, before, limit);
    }
}
