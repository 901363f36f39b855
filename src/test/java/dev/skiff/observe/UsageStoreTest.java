package dev.skiff.observe;

import static org.assertj.core.api.Assertions.assertThat;

import dev.skiff.config.ProviderType;
import dev.skiff.control.Caller;
import dev.skiff.dialect.Usage;
import dev.skiff.store.Database;
import dev.skiff.store.TestDatabases;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/** The usage store on SQLite and on the real PostgreSQL (a schema of its own per test). */
class UsageStoreTest {
    static final long DAY = 86_400_000L;
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

    /** A fresh store's URL: a file in the temporary folder, or a PostgreSQL schema of this test's own. */
    private String url(String kind) throws Exception {
        if (kind.equals("sqlite")) return dir.resolve("skiff-usage.db").toString();
        if (schema == null) {
            schema = "usage_test_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
            try (Database db = Database.open(TestDatabases.postgresUrl()); Connection c = db.connection(); Statement s = c.createStatement()) {
                s.execute("CREATE SCHEMA " + schema);
            }
        }
        String base = TestDatabases.postgresUrl();
        return base + (base.contains("?") ? "&" : "?") + "currentSchema=" + schema;
    }

    private UsageStore store(String kind) throws Exception {
        String url = url(kind);
        UsageStore s = kind.equals("sqlite") ? UsageStore.open(null, dir.resolve("skiff.db").toString()) : UsageStore.open(url, "unused");
        open.add(s);
        return s;
    }

    /**
     * A usage file is made with 16 KB pages, which rows with audit bodies need, whether or not anyone asked
     * for them first (the audit level may be switched to bodies while Skiff runs); one made before with
     * SQLite's 4 KB pages keeps them, takes rows as before, and is said to have no room for bodies: read
     * from its header, the database not opened.
     */
    @org.junit.jupiter.api.Test
    void aUsageFileIsMadeWithPagesForAuditBodiesAndAnOldOneIsSeenToHaveSmallOnes() throws Exception {
        UsageStore fresh = store("sqlite");
        fresh.write(List.of(row(record(1_000, "r1", "k", "/p", null, "gpt-4o-mini", 200, new Usage(1, 1, 2, -1, -1)))));
        assertThat(pageSize(fresh)).as("made before the audit log asked").isEqualTo(16_384);
        assertThat(fresh.pagesForAuditBodies()).isTrue();
        fresh.close();
        assertThat(UsageStore.open(null, dir.resolve("skiff.db").toString()).pagesForAuditBodies()).as("reopened, closed").isTrue();
        UsageStore unmade = UsageStore.open(null, dir.resolve("new.db").toString());
        assertThat(unmade.pagesForAuditBodies()).as("no file yet").isTrue();

        // A file as Skiffs before made it: SQLite's own page size.
        try (Database old = Database.open(dir.resolve("old-usage.db").toString())) {
            old.migrate("usage");
        }
        UsageStore before = UsageStore.open(null, dir.resolve("old.db").toString());
        open.add(before);
        assertThat(before.pagesForAuditBodies()).as("seen from the header").isFalse();
        before.write(List.of(row(record(T0, "r2", "k", "/p", null, "gpt-4o-mini", 200, new Usage(1, 1, 2, -1, -1)))));
        assertThat(pageSize(before)).isEqualTo(4_096);
        assertThat(before.query(new UsageQuery(T0, T0 + DAY, UsageQuery.GroupBy.NONE, 0, null, null, null, null, null)).get().total().requests())
                .as("rows stored and read as before").isEqualTo(1);
        assertThat(before.pagesForAuditBodies()).isFalse();
        assertThat(store("postgres").pagesForAuditBodies()).isTrue();
    }

    /**
     * A batch of rows carrying audit bodies larger than the usage file's usual page cache is written with a
     * cache that holds it, every row and body stored, and the cache is the small one again afterwards.
     */
    @org.junit.jupiter.api.Test
    void aBatchWithAuditBodiesIsStoredWhole() throws Exception {
        UsageStore store = store("sqlite");
        assertThat(UsageStore.bodiesCacheKib(List.of(row(record(T0, "r0", null, null, null, "m", 200, new Usage(1, 1, 2, -1, -1))))))
                .as("no bodies: the usual cache").isZero();
        List<UsageRow> rows = new ArrayList<>();
        byte[] answer = new byte[1_200];
        for (int i = 0; i < 3_000; i++) {
            java.util.Arrays.fill(answer, (byte) ('a' + i % 26));
            rows.add(row(record(T0 + i, "req-" + i, null, null, null, "gpt-4o-mini", 200, new Usage(1, 1, 2, -1, -1)))
                    .withAudit(("{\"n\":" + i + "}").getBytes(java.nio.charset.StandardCharsets.UTF_8), new byte[][] {("q" + i).getBytes(), answer.clone(), null, null}, 0));
        }
        assertThat(UsageStore.bodiesCacheKib(rows)).isEqualTo(UsageStore.WRITE_CACHE_KIB + 6_000);
        store.write(rows);
        try (Connection c = store.database().connection(); Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT COUNT(*), SUM(LENGTH(response_body)), COUNT(provider_request_body) FROM usage_requests")) {
                rs.next();
                assertThat(rs.getLong(1)).isEqualTo(3_000);
                assertThat(rs.getLong(2)).isEqualTo(3_000L * 1_200);
                assertThat(rs.getLong(3)).as("bodies not kept stay NULL").isZero();
            }
            try (ResultSet rs = st.executeQuery("SELECT audit, CAST(request_body AS TEXT), SUBSTR(response_body, 1, 1) FROM usage_requests WHERE request_id = 'req-2999'")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("{\"n\":2999}");
                assertThat(rs.getString(2)).isEqualTo("q2999");
                assertThat(rs.getBytes(3)).containsExactly((byte) ('a' + 2999 % 26));
            }
            try (ResultSet rs = st.executeQuery("PRAGMA cache_size")) {
                rs.next();
                assertThat(rs.getInt(1)).as("the bodies' cache kept for the next batch").isEqualTo(-(UsageStore.WRITE_CACHE_KIB + 6_000));
            }
            try (ResultSet rs = st.executeQuery("PRAGMA temp_store")) {
                rs.next();
                assertThat(rs.getInt(1)).as("queries sort in files past the cache again").isZero();
            }
        }
    }

    /**
     * The larger page cache of batches with audit bodies is kept while such batches come (set back after
     * each, its pages were freed and allocated again 20 times a second), grows with a larger batch and is
     * never lowered by a smaller one, and is the small cache again at the first batch without bodies once
     * none came for a while.
     */
    @org.junit.jupiter.api.Test
    void theCacheOfBatchesWithAuditBodiesIsKeptWhileTheyComeAndGivenBackAfter() throws Exception {
        UsageStore store = store("sqlite");
        store.keepBodiesCacheMs = 1_500; // room for a slow write between two batches on a loaded machine
        int[] id = {0};
        java.util.function.IntFunction<List<UsageRow>> batch = n -> {
            List<UsageRow> rows = new ArrayList<>();
            for (int i = 0; i < n; i++, id[0]++) {
                UsageRow r = row(record(T0 + id[0], "req-" + id[0], null, null, null, "gpt-4o-mini", 200, new Usage(1, 1, 2, -1, -1)));
                rows.add(n == 1 ? r : r.withAudit("{}".getBytes(java.nio.charset.StandardCharsets.UTF_8), new byte[][] {"q".getBytes(), "a".getBytes(), null, null}, 0));
            }
            return rows;
        };
        store.write(batch.apply(1));
        assertThat(count(store, "PRAGMA cache_size")).as("no bodies yet").isEqualTo(-UsageStore.WRITE_CACHE_KIB);
        store.write(batch.apply(500));
        assertThat(count(store, "PRAGMA cache_size")).isEqualTo(-(UsageStore.WRITE_CACHE_KIB + 1_000));
        store.write(batch.apply(200));
        assertThat(count(store, "PRAGMA cache_size")).as("a smaller batch keeps it").isEqualTo(-(UsageStore.WRITE_CACHE_KIB + 1_000));
        store.write(batch.apply(800));
        assertThat(count(store, "PRAGMA cache_size")).as("a larger one grows it").isEqualTo(-(UsageStore.WRITE_CACHE_KIB + 1_600));
        store.write(batch.apply(1));
        assertThat(count(store, "PRAGMA cache_size")).as("bodies came just now").isEqualTo(-(UsageStore.WRITE_CACHE_KIB + 1_600));
        Thread.sleep(1_600);
        store.write(batch.apply(1));
        assertThat(count(store, "PRAGMA cache_size")).as("none for a while: the small cache").isEqualTo(-UsageStore.WRITE_CACHE_KIB);
        assertThat(count(store, "SELECT COUNT(*) FROM usage_requests WHERE response_body IS NOT NULL")).isEqualTo(1_500);
    }

    /**
     * A batch keeps its statement journals in memory only for its own transaction; should SQLite refuse the
     * setting (a connection with a temporary database, which Skiff never makes), the rows go in all the same.
     */
    @org.junit.jupiter.api.Test
    void aBatchIsStoredWhetherOrNotItsJournalsMayStayInMemory() throws Exception {
        UsageStore store = store("sqlite");
        List<UsageRow> rows = new ArrayList<>();
        for (int i = 0; i < 500; i++) rows.add(row(record(T0 + i, "req-" + i, "k", "/p", null, "gpt-4o-mini", 200, new Usage(1, 1, 2, -1, -1))));
        store.write(rows);
        try (Connection c = store.database().connection(); Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("PRAGMA temp_store")) {
                rs.next();
                assertThat(rs.getInt(1)).as("the default again after the batch").isZero();
            }
            st.execute("CREATE TEMP TABLE held (a)"); // SQLite refuses temp_store changes in a transaction from now on
        }
        List<UsageRow> more = new ArrayList<>();
        for (int i = 500; i < 1_000; i++) more.add(row(record(T0 + i, "req-" + i, "k", "/p", null, "gpt-4o-mini", 200, new Usage(1, 1, 2, -1, -1))));
        store.write(more);
        try (Connection c = store.database().connection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT COUNT(*), COUNT(DISTINCT request_id) FROM usage_requests")) {
            rs.next();
            assertThat(rs.getLong(1)).isEqualTo(1_000);
            assertThat(rs.getLong(2)).isEqualTo(1_000);
        }
    }

    private static int pageSize(UsageStore s) throws Exception {
        try (Connection c = s.database().connection(); Statement st = c.createStatement(); var rs = st.executeQuery("PRAGMA page_size")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    static UsageRecord record(long ts, String id, String key, String path, String endUser, String model, int status, Usage usage) {
        return new UsageRecord(ts, id, "chat", "openai", ProviderType.OPENAI, model, model, false, status, usage, 12.5, 3.0, 4.25,
                status >= 400 ? "upstream status " + status : null, null, new Caller("o", key, path, endUser, null), 1);
    }

    private static final Pricing PRICES = Pricing.shipped(); // parsed once: tens of milliseconds a time

    static UsageRow row(UsageRecord r) {
        return UsageRow.of(r, PRICES);
    }

    /**
     * Rows whose values SQLite's statements give as literals (no key, no end user, no error, one attempt,
     * no cached tokens...) and rows that have them, mixed in one batch of statements of several sizes and
     * shapes: every value reads back as the row had it, of the same type (NULL or an integer).
     */
    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgres"})
    void valuesGivenAsLiteralsOrBoundReadBackAsTheRowsHadThem(String kind) throws Exception {
        UsageStore store = store(kind);
        List<UsageRow> rows = new ArrayList<>();
        for (int i = 0; i < 101; i++) {
            boolean plain = i % 7 != 3 && i < 90; // most rows plain, a run of others at the end
            Usage usage = plain ? new Usage(10, 5, 15, 0, 0) : new Usage(10, 5, 15, i % 3, i % 2);
            UsageRecord r = new UsageRecord(T0 + i, "req-" + i, "chat", "openai", ProviderType.OPENAI, "gpt-4o-mini", "gpt-4o-mini",
                    !plain && i % 2 == 0, plain || i % 5 != 0 ? 200 : 502, usage, 12.5, 3.0, plain ? -1 : 4.25,
                    plain || i % 5 != 0 ? null : "upstream status 502", null,
                    new Caller("o", plain ? null : "key-" + i, "/", plain ? null : "user-" + i, null), plain ? 1 : 2);
            UsageRow row = row(r);
            if (!plain && i % 4 == 1) row = row.withAudit("{\"n\":" + i + "}");
            rows.add(row);
        }
        store.write(rows);
        try (Connection c = store.database().connection(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT request_id, key_id, end_user, stream, ttft_us, cached_input_tokens, cache_write_tokens, reasoning_tokens, cost_nanos,"
                        + " attempts, error, attempt_log, audit, status, input_tokens FROM usage_requests ORDER BY id")) {
            for (UsageRow row : rows) {
                assertThat(rs.next()).isTrue();
                UsageRecord r = row.record();
                assertThat(rs.getString(1)).isEqualTo(r.requestId());
                assertThat(rs.getString(2)).isEqualTo(r.keyId());
                assertThat(rs.getString(3)).isEqualTo(r.endUser());
                assertThat(rs.getBoolean(4)).isEqualTo(r.stream());
                assertThat(rs.getObject(5) == null ? -1 : rs.getLong(5)).isEqualTo(r.ttftMs() < 0 ? -1 : Math.round(r.ttftMs() * 1000));
                assertThat(rs.getLong(6)).isEqualTo(row.tokens().cachedInput());
                assertThat(rs.getLong(7)).isEqualTo(row.tokens().cacheWrite());
                assertThat(rs.getLong(8)).isEqualTo(row.tokens().reasoning());
                assertThat(rs.getObject(9) == null ? null : rs.getLong(9)).isEqualTo(row.costNanos());
                assertThat(rs.getInt(10)).isEqualTo(r.attempts());
                assertThat(rs.getString(11)).isEqualTo(r.error());
                assertThat(rs.getString(12)).isNull();
                assertThat(rs.getString(13)).isEqualTo(row.audit() == null ? null : new String(row.audit(), java.nio.charset.StandardCharsets.UTF_8));
                assertThat(rs.getInt(14)).isEqualTo(r.status());
                assertThat(rs.getLong(15)).isEqualTo(row.tokens().input());
            }
            assertThat(rs.next()).isFalse();
        }
        if (kind.equals("sqlite")) {
            try (Connection c = store.database().connection(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                    "SELECT count(*) FROM usage_requests WHERE typeof(cached_input_tokens) != 'integer' OR typeof(attempts) != 'integer'"
                            + " OR typeof(stream) != 'integer' OR (key_id IS NULL) != (typeof(key_id) = 'null')")) {
                rs.next();
                assertThat(rs.getInt(1)).isZero();
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgres"})
    void recordsGoThroughTheLogInBatchesAndNoneIsLostOnClose(String kind) throws Exception {
        UsageStore store = store(kind);
        UsageLog log = UsageLog.open("off", Pricing.shipped(), store);
        int n = 500;
        for (int i = 0; i < n; i++) {
            log.record(record(T0 + i, "req-" + i, "key-" + (i % 5), "/acme/team" + (i % 2), "user-" + i, "gpt-4o-mini", 200,
                    new Usage(100, 20, 120, 0, 0)));
        }
        log.close(); // drains the queue and stores the last batch before returning
        assertThat(log.dropped()).isZero();
        assertThat(store.batchesWritten()).isBetween(1L, (long) n / 10);
        UsageStore reopened = store(kind);
        UsageQuery.Result all = reopened.query(new UsageQuery(T0, T0 + DAY, UsageQuery.GroupBy.NONE, 0, null, null, null, null, null)).get();
        assertThat(all.total().requests()).isEqualTo(n);
        assertThat(all.total().inputTokens()).isEqualTo(100L * n);
        // gpt-4o-mini: 100 input at 0.15 and 20 output at 0.60 per million = 27 microdollars a request.
        assertThat(all.total().costNanos()).isEqualTo(27_000L * n);
        assertThat(all.total().unknownCostRequests()).isZero();
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgres"})
    void groupsSubtreesDaysAndUnknownCosts(String kind) throws Exception {
        UsageStore store = store(kind);
        Usage u = new Usage(1000, 100, 1100, 200, 0);
        store.write(List.of(
                row(record(T0 + 1, "a", "k1", "/acme/support/bot", "alice", "gpt-4o", 200, u)),
                row(record(T0 + 2, "b", "k1", "/acme/support", "bob", "gpt-4o", 200, u)),
                row(record(T0 + 3, "c", "k2", "/acme/sales", "alice", "gpt-unpriced", 200, u)),
                row(record(T0 + 4, "d", "k2", "/acmeish", null, "gpt-4o", 500, Usage.NONE)),
                row(record(T0 + DAY + 5, "e", "k3", "/other", "carol", "gpt-4o", 200, u))));
        // gpt-4o: 800 input at 2.50, 200 cached at 1.25, 100 output at 10 = 3250 microdollars.
        UsageQuery.Result acme = store.query(new UsageQuery(T0, T0 + 2 * DAY, UsageQuery.GroupBy.PATH, 2, null, "/acme", null, null, null)).get();
        assertThat(acme.groups()).extracting(UsageQuery.Totals::group).containsExactly("/acme/sales", "/acme/support");
        UsageQuery.Totals support = acme.groups().get(1);
        assertThat(support.requests()).isEqualTo(2); // /acme/support and /acme/support/bot rolled up; /acmeish is not under /acme
        assertThat(support.inputTokens()).isEqualTo(1600);
        assertThat(support.cachedInputTokens()).isEqualTo(400);
        assertThat(support.costNanos()).isEqualTo(2 * 3_250_000L);
        UsageQuery.Totals sales = acme.groups().get(0);
        assertThat(sales.unknownCostRequests()).isEqualTo(1);
        assertThat(sales.costNanos()).isZero(); // unknown is counted apart, not summed as 0 cost... and not as a known cost
        assertThat(acme.total().requests()).isEqualTo(3);

        UsageQuery.Result byKey = store.query(new UsageQuery(T0, T0 + DAY, UsageQuery.GroupBy.KEY, 0, null, null, null, null, null)).get();
        assertThat(byKey.groups()).extracting(UsageQuery.Totals::group).containsExactly("k1", "k2");
        assertThat(byKey.groups().get(1).errors()).isEqualTo(1);
        assertThat(byKey.groups().get(1).costNanos()).isZero(); // a provider's error without usage costs nothing

        UsageQuery.Result byDay = store.query(new UsageQuery(T0, T0 + 2 * DAY, UsageQuery.GroupBy.DAY, 0, null, null, null, null, null)).get();
        assertThat(byDay.groups()).extracting(UsageQuery.Totals::group).containsExactly("2025-12-06", "2025-12-07");
        assertThat(byDay.groups()).extracting(UsageQuery.Totals::requests).containsExactly(4L, 1L);

        UsageQuery.Result alice = store.query(new UsageQuery(T0, T0 + 2 * DAY, UsageQuery.GroupBy.END_USER, 0, null, null, "alice", null, null)).get();
        assertThat(alice.groups()).singleElement().satisfies(t -> assertThat(t.requests()).isEqualTo(2));

        UsageQuery.Result k1 = store.query(new UsageQuery(T0, T0 + 2 * DAY, UsageQuery.GroupBy.MODEL, 0, "k1", null, null, null, null)).get();
        assertThat(k1.csv()).isEqualTo("model,requests,errors,input_tokens,cached_input_tokens,cache_write_tokens,output_tokens,"
                + "reasoning_tokens,total_tokens,cost_usd,unknown_cost_requests\r\n"
                + "gpt-4o,2,0,1600,400,0,200,0,2200,0.0065,0\r\n");
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgres"})
    void lookupsByKeyPathAndEndUserUseTheirIndexes(String kind) throws Exception {
        UsageStore store = store(kind);
        // A month of a realistic spread (many keys, paths and end users), and the planner's statistics of it.
        List<UsageRow> rows = new ArrayList<>();
        for (int i = 0; i < 3000; i++) {
            rows.add(row(record(T0 + i * (30 * DAY / 3000), "r" + i, "k" + (i % 100), "/org" + (i % 10) + "/team" + (i % 97),
                    "user" + (i % 300), "gpt-4o", 200, Usage.NONE)));
        }
        rows.add(row(record(T0, "a", "k1", "/acme", "alice", "gpt-4o", 200, Usage.NONE)));
        store.write(rows);
        try (Connection c = store.database().connection(); Statement s = c.createStatement()) {
            s.execute("ANALYZE");
        }
        record Case(UsageQuery q, String index) {}
        List<Case> cases = List.of(
                new Case(new UsageQuery(T0, T0 + 30 * DAY, UsageQuery.GroupBy.MODEL, 0, "k1", null, null, null, null), "usage_requests_key_ts"),
                new Case(new UsageQuery(T0, T0 + 30 * DAY, UsageQuery.GroupBy.NONE, 0, null, "/org3", null, null, null), "usage_requests_path_ts"),
                // SQLite: the end users' table the writer merges into (EndUserIndex); PostgreSQL: an index of the table.
                new Case(new UsageQuery(T0, T0 + 30 * DAY, UsageQuery.GroupBy.NONE, 0, null, null, "alice", null, null),
                        kind.equals("sqlite") ? "usage_end_users" : "usage_requests_end_user_ts"),
                new Case(new UsageQuery(T0, T0 + DAY, UsageQuery.GroupBy.KEY, 0, null, null, null, null, null), "usage_requests_ts"));
        Database db = store.database();
        try (Connection c = db.connection()) {
            for (Case k : cases) {
                UsageStore.Sql sql = UsageStore.sql(k.q(), db.kind());
                String plan = explain(c, db.kind(), sql);
                assertThat(plan).as(sql.text()).contains(k.index());
                assertThat(plan.toLowerCase(Locale.ROOT)).as(sql.text()).doesNotContain("scan usage_requests\n").doesNotContain("seq scan");
            }
        }
    }

    /**
     * SQLite's path index holds no entry for the root path (migration 008; the requests of a gateway without
     * managed keys): no lookup names it. Lookups by a path below it still use the index, and the root's
     * and the subtree's totals are all there.
     */
    @org.junit.jupiter.api.Test
    void theRootPathHasNoEntriesInThePathIndexAndLookupsByPathStillUseIt() throws Exception {
        UsageStore store = store("sqlite");
        List<UsageRow> rows = new ArrayList<>();
        for (int i = 0; i < 2000; i++) rows.add(row(record(T0 + i, "root-" + i, null, "/", null, "gpt-4o", 200, Usage.NONE)));
        for (int i = 0; i < 30; i++) rows.add(row(record(T0 + i, "a-" + i, "k1", i % 3 == 0 ? "/a" : "/a/b", null, "gpt-4o", 200, Usage.NONE)));
        rows.add(row(record(T0, "ax", "k1", "/a-x", null, "gpt-4o", 200, Usage.NONE)));
        rows.add(row(record(T0, "none", null, null, null, "gpt-4o", 200, Usage.NONE)));
        store.write(rows);
        assertThat(count(store, "SELECT COUNT(*) FROM pragma_index_info('usage_requests_path_ts')")).isEqualTo(2);
        assertThat(count(store, "SELECT COUNT(*) FROM dbstat WHERE name = 'usage_requests_path_ts' AND pagetype = 'leaf' AND ncell > 0"))
                .as("one leaf page").isEqualTo(1);
        assertThat(count(store, "SELECT SUM(ncell) FROM dbstat WHERE name = 'usage_requests_path_ts' AND pagetype = 'leaf'"))
                .as("entries: the rows of paths below the root only").isEqualTo(31);
        assertThat(count(store, "SELECT COUNT(*) FROM pragma_integrity_check WHERE integrity_check <> 'ok'")).isZero();

        UsageQuery.Result all = store.query(new UsageQuery(T0, T0 + DAY, UsageQuery.GroupBy.NONE, 0, null, "/", null, null, null)).get();
        assertThat(all.total().requests()).as("the root: every row").isEqualTo(2032);
        UsageQuery a = new UsageQuery(T0, T0 + DAY, UsageQuery.GroupBy.PATH, 0, null, "/a", null, null, null);
        assertThat(store.query(a).get().groups()).extracting(UsageQuery.Totals::group, UsageQuery.Totals::requests)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("/a", 10L), org.assertj.core.groups.Tuple.tuple("/a/b", 20L));
        Database db = store.database();
        try (Connection c = db.connection()) {
            assertThat(explain(c, db.kind(), UsageStore.sql(a, db.kind()))).contains("usage_requests_path_ts");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgres"})
    void rowsOlderThanTheRetentionAreDeletedInChunksAndTheRestKept(String kind) throws Exception {
        UsageStore store = store(kind).retain(java.time.Duration.ofDays(1));
        long now = System.currentTimeMillis() + 120_000; // past the first sweep's delay after start-up
        List<UsageRow> rows = new ArrayList<>();
        int old = UsageStore.SWEEP_CHUNK + 100; // more than one chunk
        for (int i = 0; i < old; i++) rows.add(row(record(now - 2 * DAY - i, "old-" + i, "k1", "/a", null, "gpt-4o", 200, Usage.NONE)));
        for (int i = 0; i < 30; i++) rows.add(row(record(now - DAY / 2 - i, "new-" + i, "k1", "/a", null, "gpt-4o", 200, Usage.NONE)));
        store.write(rows);

        store.sweepExpired(now); // one chunk: the writer's batches go on between chunks
        assertThat(store.expiredDeleted()).isEqualTo(UsageStore.SWEEP_CHUNK);
        store.sweepExpired(now); // the chunk was full: the next one is due at once, and comes back short
        assertThat(store.expiredDeleted()).isEqualTo(old);
        store.sweepExpired(now); // done until the next interval
        assertThat(store.expiredDeleted()).isEqualTo(old);

        UsageQuery.Result all = store.query(new UsageQuery(now - 10 * DAY, now + DAY, UsageQuery.GroupBy.NONE, 0, null, null, null, null, null)).get();
        assertThat(all.total().requests()).isEqualTo(30);
    }

    @org.junit.jupiter.api.Test
    void anEndUsersRowsAreFoundMergedOrNotAndTheMergeKeepsUpWithTheWriter() throws Exception {
        UsageStore store = store("sqlite");
        // The first batch after opening merges at once; the next ones wait for the interval.
        store.write(List.of(row(record(T0, "a1", "k1", "/a", "alice", "gpt-4o", 200, Usage.NONE)),
                row(record(T0 + 1, "b1", "k1", "/a", "bob", "gpt-4o", 200, Usage.NONE))));
        assertThat(count(store, "SELECT COUNT(*) FROM usage_end_users")).as("merged by the first batch").isEqualTo(2);
        store.write(List.of(row(record(T0 + 2, "a2", "k1", "/a", "alice", "gpt-4o", 200, Usage.NONE)),
                row(record(T0 + 3, "n1", "k1", "/a", null, "gpt-4o", 200, Usage.NONE))));
        assertThat(count(store, "SELECT id FROM usage_end_users_merged")).isEqualTo(2);
        UsageQuery aliceQuery = new UsageQuery(T0, T0 + DAY, UsageQuery.GroupBy.NONE, 0, null, null, "alice", null, null);
        assertThat(store.query(aliceQuery).get().total().requests()).as("one merged row, one read above the mark").isEqualTo(2);
        UsageQuery.Result narrow = store.query(new UsageQuery(T0 + 1, T0 + DAY, UsageQuery.GroupBy.NONE, 0, null, null, "alice", null, null)).get();
        assertThat(narrow.total().requests()).as("the time range holds for merged and unmerged rows").isEqualTo(1);

        store.close(); // a graceful stop merges the rest
        UsageStore reopened = store("sqlite");
        assertThat(count(reopened, "SELECT COUNT(*) FROM usage_end_users")).as("rows without an end user have no entry").isEqualTo(3);
        assertThat(count(reopened, "SELECT id FROM usage_end_users_merged")).isEqualTo(4);
        assertThat(reopened.query(aliceQuery).get().total().requests()).isEqualTo(2);
        assertThat(reopened.query(new UsageQuery(T0, T0 + DAY, UsageQuery.GroupBy.END_USER, 0, null, null, "bob", null, null)).get().total().requests())
                .isEqualTo(1);
    }

    /**
     * While no row above the mark has an end user a merge only moves the mark (it reads no rows); a row with
     * one is merged as before, and so are rows a closed store left above the mark, whatever the writer saw since.
     */
    @org.junit.jupiter.api.Test
    void rowsWithoutEndUsersOnlyMoveTheMark() throws Exception {
        UsageStore store = store("sqlite");
        List<UsageRow> none = new ArrayList<>();
        for (int i = 0; i < EndUserIndex.MERGE_CHUNK + 10; i++) none.add(row(record(T0 + i, "n" + i, "k1", "/a", null, "gpt-4o", 200, Usage.NONE)));
        store.write(none); // the first batch after opening merges, and goes over the rows (a crash may have left some)
        assertThat(count(store, "SELECT id FROM usage_end_users_merged")).isEqualTo(EndUserIndex.MERGE_CHUNK);
        store.write(List.of(row(record(T0 + 1, "n-last", "k1", "/a", null, "gpt-4o", 200, Usage.NONE))));
        assertThat(count(store, "SELECT id FROM usage_end_users_merged")).as("caught up").isEqualTo(EndUserIndex.MERGE_CHUNK + 11);
        long mark = EndUserIndex.MERGE_CHUNK + 11;
        store.endUsersMergeSoon();
        store.write(none.subList(0, 5));
        assertThat(count(store, "SELECT id FROM usage_end_users_merged")).as("the mark moved over rows without end users").isEqualTo(mark + 5);
        store.endUsersMergeSoon();
        store.write(List.of(row(record(T0 + 2, "c1", "k1", "/a", "carol", "gpt-4o", 200, Usage.NONE))));
        assertThat(count(store, "SELECT COUNT(*) FROM usage_end_users")).as("a row with an end user is merged").isEqualTo(1);
        UsageQuery carol = new UsageQuery(T0, T0 + DAY, UsageQuery.GroupBy.NONE, 0, null, null, "carol", null, null);
        assertThat(store.query(carol).get().total().requests()).isEqualTo(1);
        store.write(List.of(row(record(T0 + 3, "c2", "k1", "/a", "carol", "gpt-4o", 200, Usage.NONE))));
        assertThat(store.query(carol).get().total().requests()).as("read above the mark").isEqualTo(2);
        store.close();
        UsageStore reopened = store("sqlite");
        assertThat(count(reopened, "SELECT COUNT(*) FROM usage_end_users")).isEqualTo(2);
        assertThat(reopened.query(carol).get().total().requests()).isEqualTo(2);
    }

    @org.junit.jupiter.api.Test
    void aBacklogIsMergedAChunkARoundAndLookupsStayExactMeanwhile() throws Exception {
        UsageStore store = store("sqlite");
        List<UsageRow> rows = new ArrayList<>();
        int backlog = EndUserIndex.MERGE_CHUNK + 500;
        for (int i = 0; i < backlog; i++) rows.add(row(record(T0 + i, "r" + i, "k1", "/a", "user-" + (i % 100), "gpt-4o", 200, Usage.NONE)));
        store.write(rows);
        assertThat(count(store, "SELECT id FROM usage_end_users_merged")).as("one chunk a round").isEqualTo(EndUserIndex.MERGE_CHUNK);
        UsageQuery user7 = new UsageQuery(T0, T0 + DAY, UsageQuery.GroupBy.NONE, 0, null, null, "user-7", null, null);
        assertThat(store.query(user7).get().total().requests()).isEqualTo(backlog / 100);
        store.write(List.of(row(record(T0 + backlog, "last", "k1", "/a", "user-7", "gpt-4o", 200, Usage.NONE))));
        assertThat(count(store, "SELECT id FROM usage_end_users_merged")).as("a merge left behind goes on at the next round")
                .isEqualTo(backlog + 1);
        assertThat(count(store, "SELECT COUNT(*) FROM usage_end_users")).isEqualTo(backlog + 1);
        assertThat(store.query(user7).get().total().requests()).isEqualTo(backlog / 100 + 1);
        // The merges' larger page cache is given back: between them the usage file keeps a small one.
        assertThat(count(store, "PRAGMA cache_size")).isEqualTo(-UsageStore.WRITE_CACHE_KIB);
    }

    @org.junit.jupiter.api.Test
    void theSweepDeletesExpiredEndUserEntriesAndNewRowsAreMergedAfterIt() throws Exception {
        UsageStore store = store("sqlite").retain(java.time.Duration.ofDays(1));
        long now = System.currentTimeMillis() + 120_000;
        store.write(List.of(row(record(now - 2 * DAY, "old", "k1", "/a", "alice", "gpt-4o", 200, Usage.NONE))));
        assertThat(count(store, "SELECT COUNT(*) FROM usage_end_users")).isEqualTo(1);
        store.sweepExpired(now);
        assertThat(store.expiredDeleted()).isEqualTo(1);
        assertThat(count(store, "SELECT COUNT(*) FROM usage_end_users")).as("the expired row's entry goes with it").isZero();
        // The table is empty: SQLite gives the next row the id of the deleted one, below the old mark.
        assertThat(count(store, "SELECT id FROM usage_end_users_merged")).as("the mark follows the highest id left").isZero();
        store.write(List.of(row(record(now, "new", "k1", "/a", "alice", "gpt-4o", 200, Usage.NONE))));
        store.close();
        UsageStore reopened = store("sqlite");
        assertThat(count(reopened, "SELECT COUNT(*) FROM usage_end_users")).as("the reused id is merged").isEqualTo(1);
        assertThat(reopened.query(new UsageQuery(now - 10 * DAY, now + DAY, UsageQuery.GroupBy.NONE, 0, null, null, "alice", null, null)).get()
                .total().requests()).isEqualTo(1);
    }

    @org.junit.jupiter.api.Test
    void theEndUsersSweepGoesThroughThemSomeThousandsARound() throws Exception {
        UsageStore store = store("sqlite").retain(java.time.Duration.ofDays(1));
        long now = System.currentTimeMillis() + 120_000;
        int expired = 2 * EndUserIndex.SWEEP_USERS + 500;
        List<UsageRow> rows = new ArrayList<>();
        for (int i = 0; i < expired; i++) rows.add(row(record(now - 2 * DAY, "old-" + i, "k1", "/a", "user-" + i, "gpt-4o", 200, Usage.NONE)));
        rows.add(row(record(now, "new", "k1", "/a", "zed", "gpt-4o", 200, Usage.NONE)));
        store.write(rows); // the first batch merges: every row has its entry
        assertThat(count(store, "SELECT COUNT(*) FROM usage_end_users")).isEqualTo(expired + 1);
        store.sweepExpired(now); // the rows at once (fewer than a chunk), then the first end users' entries
        assertThat(store.expiredDeleted()).isEqualTo(expired);
        assertThat(count(store, "SELECT COUNT(*) FROM usage_end_users")).isEqualTo(expired + 1 - EndUserIndex.SWEEP_USERS);
        store.sweepExpired(now); // not done: due again at once, resuming after the last end user
        assertThat(count(store, "SELECT COUNT(*) FROM usage_end_users")).isEqualTo(expired + 1 - 2 * EndUserIndex.SWEEP_USERS);
        store.sweepExpired(now);
        assertThat(count(store, "SELECT COUNT(*) FROM usage_end_users")).as("only the fresh row's entry is left").isEqualTo(1);
        assertThat(store.query(new UsageQuery(now - 10 * DAY, now + DAY, UsageQuery.GroupBy.NONE, 0, null, null, "zed", null, null)).get()
                .total().requests()).isEqualTo(1);
    }

    private static long count(UsageStore store, String sql) throws Exception {
        try (Connection c = store.database().connection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgres"})
    void noRetentionKeepsEverything(String kind) throws Exception {
        UsageStore store = store(kind).retain(java.time.Duration.ZERO);
        long now = System.currentTimeMillis() + 120_000;
        store.write(List.of(row(record(now - 3650 * DAY, "ancient", "k1", "/a", null, "gpt-4o", 200, Usage.NONE))));
        store.sweepExpired(now);
        assertThat(store.expiredDeleted()).isZero();
        assertThat(store.query(new UsageQuery(0, now, UsageQuery.GroupBy.NONE, 0, null, null, null, null, null)).get().total().requests())
                .isEqualTo(1);
    }

    @org.junit.jupiter.api.Test
    void theUsageWriterSweepsBetweenBatches() throws Exception {
        UsageStore store = store("sqlite").retain(java.time.Duration.ofDays(1));
        long now = System.currentTimeMillis();
        store.write(List.of(row(record(now - 2 * DAY, "old", "k1", "/a", null, "gpt-4o", 200, Usage.NONE))));
        store.sweepSoon();
        UsageLog log = UsageLog.open("off", Pricing.shipped(), store);
        log.record(record(now, "fresh", "k1", "/a", null, "gpt-4o", 200, new Usage(10, 1, 11, 0, 0)));
        // The sweep follows the batch's write, while the writer runs (not on shutdown: closing deletes nothing).
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (store.expiredDeleted() == 0 && System.nanoTime() < deadline) Thread.sleep(10);
        log.close();
        assertThat(store.expiredDeleted()).isEqualTo(1);
        UsageQuery.Result all = store("sqlite").query(new UsageQuery(0, now + DAY, UsageQuery.GroupBy.NONE, 0, null, null, null, null, null)).get();
        assertThat(all.total().requests()).isEqualTo(1);
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "postgres"})
    void adminAndOwnUsageCallsAreNotStoredAsUsage(String kind) throws Exception {
        UsageStore store = store(kind);
        UsageLog log = UsageLog.open("off", Pricing.shipped(), store);
        Caller caller = new Caller("o", "k1", "/a", null, null);
        log.record(new UsageRecord(T0, "m", "chat", "openai", ProviderType.OPENAI, "gpt-4o", "gpt-4o", false, 200, new Usage(10, 1, 11, 0, 0),
                1, 1, 1, null, null, caller, 1));
        log.record(new UsageRecord(T0 + 1, "a", "admin", null, null, null, null, false, 200, Usage.NONE, 1, -1, -1, null, null, caller, 1));
        log.record(new UsageRecord(T0 + 2, "u", "usage", null, null, null, null, false, 200, Usage.NONE, 1, -1, -1, null, null, caller, 1));
        log.record(new UsageRecord(T0 + 3, "r", "admin", null, null, null, false, 403, Usage.NONE, -1, -1, "not an admin", null));
        log.close();
        UsageQuery.Result byKey = store(kind).query(new UsageQuery(T0, T0 + DAY, UsageQuery.GroupBy.NONE, 0, null, null, null, null, null)).get();
        assertThat(byKey.total().requests()).as("only the chat request is usage").isEqualTo(1);
    }

    private static String explain(Connection c, Database.Kind kind, UsageStore.Sql sql) throws Exception {
        StringBuilder plan = new StringBuilder();
        if (kind == Database.Kind.POSTGRES) {
            // The test table is tiny: forbid sequential scans so the plan shows whether an index can serve.
            try (Statement s = c.createStatement()) {
                s.execute("SET enable_seqscan = off");
            }
        }
        try (PreparedStatement s = c.prepareStatement((kind == Database.Kind.SQLITE ? "EXPLAIN QUERY PLAN " : "EXPLAIN ") + sql.text())) {
            for (int i = 0; i < sql.params().size(); i++) s.setObject(i + 1, sql.params().get(i));
            try (ResultSet rs = s.executeQuery()) {
                int col = kind == Database.Kind.SQLITE ? 4 : 1;
                while (rs.next()) plan.append(rs.getString(col)).append('\n');
            }
        } finally {
            if (kind == Database.Kind.POSTGRES) {
                try (Statement s = c.createStatement()) {
                    s.execute("RESET enable_seqscan");
                }
            }
        }
        return plan.toString();
    }
}
