package dev.skiff.observe.audit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.skiff.config.ProviderType;
import dev.skiff.control.Caller;
import dev.skiff.dialect.Usage;
import dev.skiff.observe.Observers;
import dev.skiff.observe.UsageLog;
import dev.skiff.observe.UsageRecord;
import dev.skiff.observe.UsageStore;
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
        AuditStore s = AuditStore.open(databaseUrl(kind), dir.resolve("skiff.db").toString());
        open.add(s);
        return s;
    }

    /** The PostgreSQL URL of a schema of this test's own (made on first use), or null for SQLite. */
    private String databaseUrl(String kind) throws Exception {
        if (kind.equals("sqlite")) return null;
        String base = TestDatabases.postgresUrl();
        if (schema == null) {
            schema = "audit_test_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
            try (Database db = Database.open(base); Connection c = db.connection(); Statement st = c.createStatement()) {
                st.execute("CREATE SCHEMA " + schema);
            }
        }
        return base + (base.contains("?") ? "&" : "?") + "currentSchema=" + schema;
    }

    /**
     * At metadata level with usage stored, what Skiff wires: a request's audit record rides in its usage
     * row, records that have no usage row (admin calls, a refusal without a head) go to the audit table,
     * and lists, paging, lookups and retention see both as one log. Redaction applies to the error a
     * usage row keeps as it was.
     */
    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgres"})
    void metadataRecordsRideInUsageRowsAndAreReadWithTheAuditTables(String kind) throws Exception {
        Wired w = wire(kind, AuditConfig.Level.METADATA);
        try {
            // request ids Skiff makes (they say when: found through the usage rows' time), but for one a client sent
            String[] ids = new String[12];
            for (int i = 0; i < 12; i++) ids[i] = i == 10 ? "client-10" : dev.skiff.dialect.Ids.orderedCompact("req_");
            long now = System.currentTimeMillis() + 100;
            for (int i = 0; i < 12; i++) {
                String id = ids[i];
                if (i % 4 == 3) { // an admin call: no usage row, its record in the audit table
                    w.observers().finished(new UsageRecord(now - 100 + i, id, "admin", null, null, null, null, false, 200, Usage.NONE, 1, -1, -1,
                            null, null, new Caller("o", "k1", "/acme/a", null, null), 1), w.observers().begin(head("GET", "/admin/v1/keys")));
                } else {
                    UsageRecord r = record(now - 100 + i, id, "k" + (i % 2), "/acme/a", "m", i == 5 ? 502 : 200);
                    if (i == 5) r = new UsageRecord(r.timestampMs(), id, "chat", "openai", ProviderType.OPENAI, "m", "m", false, 502, Usage.NONE,
                            3, 2, -1, "upstream said sk-secret-42", null, r.caller(), 1);
                    w.observers().finished(r, w.observers().begin(head("POST", "/v1/chat/completions?x=1")));
                }
            }
            w.observers().finished(new UsageRecord(now - 50, "q-bare", "chat", null, null, null, false, 401, Usage.NONE, -1, -1, "no key", null), null);
            for (int i = 0; i < 100 && (w.log().written() < 5 || w.usage().batchesWritten() < 1); i++) Thread.sleep(50);
            assertThat(w.log().written()).as("admin calls, the bare refusal and the client's id, in the audit table").isEqualTo(5);
            for (int i = 0; i < 100 && inRows(w.usage()) < 8; i++) Thread.sleep(50);
            assertThat(inRows(w.usage())).as("the other chat calls, in their usage rows").isEqualTo(8);
            assertThat(w.store().find("client-10").get().path()).isEqualTo("/v1/chat/completions");

            // all 13, newest first, by pages of 5 across both tables
            List<String> seen = new ArrayList<>();
            long[] cursor = {0, 0};
            for (int pages = 0; pages < 5; pages++) {
                AuditStore.Page page = w.store().list(new AuditQuery(0, Long.MAX_VALUE, null, null, null, null, null, null, 0, 0, cursor[0], cursor[1], 5)).get();
                page.rows().forEach(r -> seen.add(r.requestId()));
                if (!page.more()) break;
                cursor = AuditStore.cursor(page.next());
            }
            // each table's rows newest first, the two merged by time (an audit row's is its trail's receipt, here the real clock)
            assertThat(seen).hasSize(13).doesNotHaveDuplicates().containsSubsequence(ids[11], ids[7], ids[3]).containsSubsequence(ids[9], ids[8], ids[0])
                    .contains("q-bare");
            assertThat(w.store().list(query("k1", null, null, 0, 0, 0, 100)).get().rows()).extracting(AuditRow::requestId)
                    .containsExactlyInAnyOrder(ids[11], ids[9], ids[7], ids[5], ids[3], ids[1]);
            assertThat(w.store().list(query(null, null, null, 500, 599, 0, 100)).get().rows()).extracting(AuditRow::requestId).containsExactly(ids[5]);

            AuditRow chat = w.store().find(ids[4]).get();
            assertThat(chat.level()).isEqualTo("metadata");
            assertThat(chat.method()).isEqualTo("POST");
            assertThat(chat.path()).isEqualTo("/v1/chat/completions");
            assertThat(chat.latencyUs()).isEqualTo(12_500);
            com.fasterxml.jackson.databind.JsonNode whole = AuditResource.detail(chat);
            assertThat(whole.at("/client/request/url").asText()).isEqualTo("/v1/chat/completions?x=1");
            assertThat(whole.at("/usage/input_tokens").asLong()).isEqualTo(10);
            assertThat(whole.at("/timing/finished_ms").isNumber()).isTrue();
            assertThat(w.store().find(ids[5]).get().error()).isEqualTo("upstream said [redacted]");
            assertThat(w.store().find(ids[3]).get().endpoint()).isEqualTo("admin");

            // retention: the records go, the usage rows stay
            assertThat(w.store().purge(System.currentTimeMillis() + 1_000)).isEqualTo(13);
            assertThat(w.store().find(ids[4]).get()).isNull();
            assertThat(w.store().list(query(null, null, null, 0, 0, 0, 100)).get().rows()).isEmpty();
            assertThat(w.usage().query(new dev.skiff.observe.UsageQuery(now - 86_400_000L, now + 1, dev.skiff.observe.UsageQuery.GroupBy.NONE, 0,
                    null, null, null, null, null)).get().total().requests()).as("nine audited, the bare refusal").isEqualTo(10);
        } finally {
            w.log().close();
            w.usageLog().close();
        }
    }

    /**
     * At bodies level with usage stored, what Skiff wires: a request's record and its bodies ride in its
     * usage row (redacted, the provider's body that was the client's stored once), none in the audit table
     * but for an id a client sent; read, listed and purged as the audit table's, and the capture budget
     * the bodies held while they waited for the store is given back once they are stored.
     */
    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgres"})
    void bodiesRecordsRideInUsageRowsWithTheirBodies(String kind) throws Exception {
        Wired w = wire(kind, AuditConfig.Level.BODIES);
        long budgetBefore = dev.skiff.observe.RequestTrail.budgetHeld();
        try {
            String[] ids = {dev.skiff.dialect.Ids.orderedCompact("req_"), dev.skiff.dialect.Ids.orderedCompact("req_"), "client-2"};
            byte[] body = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"sk-secret-1\"}]}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
            byte[] answer = "{\"id\":\"x\",\"choices\":[]}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
            for (int i = 0; i < ids.length; i++) {
                dev.skiff.observe.RequestTrail t = w.observers().begin(new io.netty.handler.codec.http.DefaultFullHttpRequest(
                        io.netty.handler.codec.http.HttpVersion.HTTP_1_1, io.netty.handler.codec.http.HttpMethod.POST, "/v1/chat/completions",
                        io.netty.buffer.Unpooled.wrappedBuffer(body)));
                var up = new io.netty.handler.codec.http.DefaultFullHttpRequest(io.netty.handler.codec.http.HttpVersion.HTTP_1_1,
                        io.netty.handler.codec.http.HttpMethod.POST, "/v1/chat/completions", io.netty.buffer.Unpooled.wrappedBuffer(body));
                w.observers().upstream(t, up, up.content(), "openai", "http://127.0.0.1:9");
                t.upstreamHead(new io.netty.handler.codec.http.DefaultHttpResponse(io.netty.handler.codec.http.HttpVersion.HTTP_1_1,
                        io.netty.handler.codec.http.HttpResponseStatus.OK));
                t.upstreamContent(io.netty.buffer.Unpooled.wrappedBuffer(answer));
                t.clientWrite(new io.netty.handler.codec.http.DefaultFullHttpResponse(io.netty.handler.codec.http.HttpVersion.HTTP_1_1,
                        io.netty.handler.codec.http.HttpResponseStatus.OK, io.netty.buffer.Unpooled.wrappedBuffer(answer)));
                w.observers().finished(record(System.currentTimeMillis(), ids[i], "k1", "/acme/a", "m", 200), t);
            }
            for (int i = 0; i < 100 && (inRows(w.usage()) < 2 || w.log().written() < 1); i++) Thread.sleep(50);
            assertThat(inRows(w.usage())).as("Skiff's ids, in their usage rows").isEqualTo(2);
            assertThat(w.log().written()).as("the client's id, in the audit table").isEqualTo(1);
            for (int i = 0; i < 100 && dev.skiff.observe.RequestTrail.budgetHeld() > budgetBefore; i++) Thread.sleep(50);
            assertThat(dev.skiff.observe.RequestTrail.budgetHeld()).as("the bodies' budget, given back once stored").isEqualTo(budgetBefore);

            for (String id : ids) {
                AuditRow row = w.store().find(id).get();
                assertThat(row.level()).isEqualTo("bodies");
                assertThat(row.method()).isEqualTo("POST");
                assertThat(row.path()).isEqualTo("/v1/chat/completions");
                assertThat(row.inputTokens()).isEqualTo(10);
                var d = AuditResource.detail(row);
                assertThat(d.at("/client/request/body/json/messages/0/content").asText()).isEqualTo("[redacted]");
                assertThat(d.at("/provider/request/body")).isEqualTo(d.at("/client/request/body"));
                assertThat(d.at("/client/response/body/json/id").asText()).isEqualTo("x");
                assertThat(d.at("/provider/response/body")).isEqualTo(d.at("/client/response/body"));
                assertThat(d.at("/provider/request/url").asText()).isEqualTo("http://127.0.0.1:9/v1/chat/completions");
                assertThat(d.at("/client/request/headers").isObject()).isTrue();
            }
            assertThat(w.store().list(query("k1", null, null, 0, 0, 0, 100)).get().rows()).extracting(AuditRow::level).containsOnly("bodies").hasSize(3);

            // retention: records and bodies go, the usage rows stay
            assertThat(w.store().purge(System.currentTimeMillis() + 1_000)).isEqualTo(3);
            assertThat(w.store().find(ids[0]).get()).isNull();
            try (Connection c = w.usage().database().connection(); Statement st = c.createStatement();
                 var rs = st.executeQuery("SELECT COUNT(*) FROM usage_requests WHERE request_body IS NOT NULL OR response_body IS NOT NULL")) {
                rs.next();
                assertThat(rs.getLong(1)).isZero();
            }
        } finally {
            w.log().close();
            w.usageLog().close();
        }
    }

    /** The usage and audit logs and stores as Skiff wires them with usage stored, at {@code level}, redacting sk-secret-N. */
    private record Wired(UsageStore usage, UsageLog usageLog, AuditStore store, AuditLog log, Observers observers) {}

    private Wired wire(String kind, AuditConfig.Level level) throws Exception {
        String url = databaseUrl(kind);
        UsageStore usage = UsageStore.open(url, dir.resolve("skiff.db").toString());
        UsageLog usageLog = UsageLog.open("off", null, usage);
        AuditStore store = AuditStore.open(url, dir.resolve("skiff.db").toString(), usage);
        AuditConfig config = new AuditConfig(level, 1024, java.util.regex.Pattern.compile("sk-secret-[0-9]+"), Duration.ofDays(30));
        AuditLog log = new AuditLog(config, store);
        usageLog.auditInRows(log.rowDetails());
        Observers observers = new Observers(usageLog);
        observers.audit(config);
        observers.add(log);
        return new Wired(usage, usageLog, store, log, observers);
    }

    private static long inRows(UsageStore usage) throws Exception {
        try (Connection c = usage.database().connection(); Statement s = c.createStatement();
             var rs = s.executeQuery("SELECT COUNT(*) FROM usage_requests WHERE audit IS NOT NULL")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    static io.netty.handler.codec.http.HttpRequest head(String method, String uri) {
        return new io.netty.handler.codec.http.DefaultHttpRequest(io.netty.handler.codec.http.HttpVersion.HTTP_1_1,
                io.netty.handler.codec.http.HttpMethod.valueOf(method), uri);
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

        List<AuditRow> all = store.list(query(null, null, null, 0, 0, 0, 100)).get().rows();
        assertThat(all).hasSize(30);
        assertThat(all.getFirst().requestId()).isEqualTo("r-29");
        assertThat(all.getFirst().inputTokens()).isEqualTo(10);
        assertThat(all.getFirst().latencyUs()).isEqualTo(12_500);
        assertThat(store.list(query("k1", null, null, 0, 0, 0, 100)).get().rows()).hasSize(10).allMatch(r -> r.keyId().equals("k1"));
        assertThat(store.list(query(null, "/acme", null, 0, 0, 0, 100)).get().rows()).hasSize(15).allMatch(r -> r.userPath().equals("/acme/a"));
        assertThat(store.list(query(null, null, "m-small", 0, 0, 0, 100)).get().rows()).hasSize(10);
        assertThat(store.list(query(null, null, null, 429, 429, 0, 100)).get().rows()).hasSize(6);
        // a page of 10 that says more follow, then the next from its cursor
        AuditStore.Page page = store.list(query(null, null, null, 0, 0, 0, 10)).get();
        assertThat(page.rows()).hasSize(10);
        assertThat(page.more()).isTrue();
        long[] cursor = AuditStore.cursor(page.next());
        AuditStore.Page next = store.list(new AuditQuery(0, Long.MAX_VALUE, null, null, null, null, null, null, 0, 0, cursor[0], cursor[1], 10)).get();
        assertThat(next.rows().getFirst().requestId()).isEqualTo("r-19");
        AuditRow one = store.find("r-7").get();
        assertThat(one.detail()).contains("\"usage\"");
        assertThat(store.find("nope").get()).isNull();
        log.close();
    }

    /**
     * Bodies are kept in columns of their own, as their bytes, and read back into the detail: text,
     * JSON, bytes that are not UTF-8 (base64), an empty body; a record written before, with its bodies
     * in the detail, reads as it did.
     */
    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgres"})
    void bodiesStoredApartAreReadBackIntoTheDetailAndOldRecordsStillRead(String kind) throws Exception {
        AuditStore store = store(kind);
        byte[] request = "{\"q\":\"caf\u00e9 \\\"quoted\\\"\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] binary = {0, (byte) 0xff, (byte) 0xfe, 1};
        String detail = "{\"client\":{\"request\":{\"body\":{\"size\":" + request.length + ",\"truncated\":false}},"
                + "\"response\":{\"body\":{\"size\":4,\"truncated\":false}}},"
                + "\"provider\":{\"request\":{\"body\":{\"same_as_client\":true}},\"response\":{\"body\":{\"size\":0,\"truncated\":false}}}}";
        AuditRow r = row(T0, "apart");
        store.write(List.of(new AuditRow(0, r.ts(), r.requestId(), null, null, null, "POST", "/v1/chat/completions", "chat", null, null, null,
                false, 200, -1, -1, -1, -1, null, "bodies", null, null, new byte[][] {request, binary, null, new byte[0]},
                detail.getBytes(java.nio.charset.StandardCharsets.UTF_8)))); // as the writer makes it: the detail as UTF-8
        String old = "{\"client\":{\"request\":{\"body\":{\"size\":7,\"truncated\":false,\"text\":\"{\\\"a\\\":1}\"}}}}";
        AuditRow before = row(T0 + 1, "before");
        store.write(List.of(new AuditRow(0, before.ts(), before.requestId(), null, null, null, "POST", "/v1/chat/completions", "chat", null, null,
                null, false, 200, -1, -1, -1, -1, null, "bodies", null, old)));

        var d = AuditResource.detail(store.find("apart").get());
        assertThat(d.at("/client/request/body/json/q").asText()).isEqualTo("caf\u00e9 \"quoted\"");
        assertThat(d.at("/client/response/body/base64").asText()).isEqualTo(java.util.Base64.getEncoder().encodeToString(binary));
        assertThat(d.at("/provider/request/body")).isEqualTo(d.at("/client/request/body"));
        assertThat(d.at("/provider/response/body/text").asText()).isEmpty();
        assertThat(AuditResource.detail(store.find("before").get()).at("/client/request/body/json/a").asInt()).isEqualTo(1);
        if (kind.equals("sqlite")) { // a detail bound as its bytes is stored as text all the same (SQL's JSON functions read it)
            try (Connection c = store.database().connection(); Statement st = c.createStatement();
                 var rs = st.executeQuery("SELECT DISTINCT typeof(detail) FROM audit_requests")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo("text");
                assertThat(rs.next()).isFalse();
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgres"})
    void purgeDeletesWhatIsOlderThanTheRetention(String kind) throws Exception {
        AuditStore store = store(kind);
        store.write(List.of(row(T0, "old"), row(T0 + 10_000, "new"), row(T0 + 1_000, "long"))); // "long" ran while "new" was written
        assertThat(store.purge(T0 + 5_000)).isEqualTo(1);
        assertThat(store.find("old").get()).isNull();
        assertThat(store.find("new").get()).isNotNull();
        assertThat(store.find("long").get()).isNotNull(); // no time index: it goes once what was written before it does
        assertThat(store.purge(T0 + 20_000)).isEqualTo(2);
        assertThat(store.purge(T0 + 20_000)).isZero();
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
        assertThat(pragma(store, "page_size")).isEqualTo(4096); // fixed when the file was made
        assertThat(pragma(store, "wal_autocheckpoint")).isEqualTo((40 << 20) / 4096);
    }

    /** A new SQLite audit file has pages that hold several records with bodies; its WAL is let grow to about 40 MB all the same. */
    @org.junit.jupiter.api.Test
    void aNewSqliteFileHasLargePagesAndTheSameWalAllowance() throws Exception {
        AuditStore store = store("sqlite");
        store.write(List.of(row(T0, "first")));
        assertThat(pragma(store, "page_size")).isEqualTo(AuditStore.PAGE_SIZE);
        assertThat(pragma(store, "journal_mode")).isEqualTo("wal");
        assertThat(pragma(store, "wal_autocheckpoint")).isEqualTo((40 << 20) / AuditStore.PAGE_SIZE);
        assertThat(store.find("first").get()).isNotNull();
    }

    private static Object pragma(AuditStore store, String name) throws Exception {
        try (Connection c = store.database().connection(); Statement s = c.createStatement(); var rs = s.executeQuery("PRAGMA " + name)) {
            assertThat(rs.next()).isTrue();
            return rs.getObject(1);
        }
    }

    static AuditRow row(long ts, String id) {
        return new AuditRow(0, ts, id, null, null, null, "POST", "/v1/chat/completions", "chat", null, null, null, false, 401, -1, -1, -1, -1,
                "no key", "metadata", null, "{}");
    }

    static AuditQuery query(String key, String path, String model, int from, int to, long before, int limit) {
        return new AuditQuery(0, Long.MAX_VALUE, key, path, null, model, null, null, from, to, before, 0, limit);
    }
}
