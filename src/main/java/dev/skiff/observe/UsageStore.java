package dev.skiff.observe;

import dev.skiff.config.Redact;
import dev.skiff.store.Database;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Where every request's usage row is kept (table {@code usage_requests}, migrations of module
 * {@code usage}): PostgreSQL when replicas share one ({@code SKIFF_DATABASE_URL}), else an SQLite
 * file of its own beside the stored responses ({@code data/skiff.db} gives {@code data/skiff-usage.db}),
 * so that usage writes never wait for a stored response's transaction or the other way round.
 *
 * <p>Rows arrive in batches from the {@link UsageLog}'s writer thread, one transaction each. The
 * database is opened and migrated by the first batch or query, not at start-up (SQLite's native
 * library would double start-up time). Queries run on a thread of their own and answer with a future,
 * so callers on an event loop are never blocked.
 */
public final class UsageStore implements AutoCloseable {
    private static final String INSERT = "INSERT INTO usage_requests (ts, request_id, key_id, user_path, end_user, provider, model, "
            + "requested_model, endpoint, stream, status, latency_us, ttft_us, input_tokens, cached_input_tokens, cache_write_tokens, "
            + "output_tokens, reasoning_tokens, cost_nanos, attempts, error, attempt_log, audit) VALUES ";
    /**
     * A row's 23 values (as {@link #bind} sets them) that SQLite statements give as literals when every
     * row of the statement has that value ({@link #literals}): what most rows hold there (no key, no end
     * user, no error, one attempt, no cached or reasoning tokens...). A literal is stored as the bound
     * value would be (NULL, or the same integer); each one a row's JNI call into the driver fewer.
     */
    private static final String[] LITERALS = new String[23];
    private static final int KEY = 2, USER_PATH = 3, END_USER = 4, PROVIDER = 5, MODEL = 6, REQUESTED_MODEL = 7, ENDPOINT = 8, STREAM = 9, STATUS = 10, TTFT = 12, CACHED = 14, CACHE_WRITE = 15, REASONING = 17, COST = 18,
            ATTEMPTS = 19, ERROR = 20, ATTEMPT_LOG = 21, AUDIT = 22;

    static {
        for (int i : new int[] {KEY, END_USER, TTFT, COST, ERROR, ATTEMPT_LOG, AUDIT}) LITERALS[i] = "NULL";
        for (int i : new int[] {STREAM, CACHED, CACHE_WRITE, REASONING}) LITERALS[i] = "0";
        LITERALS[ATTEMPTS] = "1";
    }

    /**
     * Values that the rows of a statement mostly have alike, whatever they are (one gateway's traffic: its
     * paths, providers, models, endpoints, statuses): SQLite statements whose rows all have one bind it
     * once, not once a row (see {@link dev.skiff.store.MultiRowInsert}); a text bound is a copy in the
     * driver and one in SQLite. A bench row binds 7 values instead of 13.
     */
    private static final long SHARED = 1L << KEY | 1L << USER_PATH | 1L << END_USER | 1L << PROVIDER | 1L << MODEL | 1L << REQUESTED_MODEL
            | 1L << ENDPOINT | 1L << STREAM | 1L << STATUS;

    /** 64 rows per statement; 23 values per row, as {@link #bind} binds them. */
    /**
     * A row's values in the form they are bound, null for {@code ?}: the audit record is bound as its
     * UTF-8 bytes (as the writer made it) and stored as text, so the writer neither makes it a String
     * nor the driver encodes that String again (at bodies level the two were a fifth of what Skiff allocated).
     */
    private static final String[] FORMS = new String[23];

    static {
        FORMS[AUDIT] = "CAST(? AS TEXT)";
    }

    private static final dev.skiff.store.MultiRowInsert<UsageRow> INSERT_ROWS = new dev.skiff.store.MultiRowInsert<>(INSERT, LITERALS, FORMS, SHARED, 64);
    /**
     * Rows carrying an audit record's bodies: the same and the four bodies' columns (27 values). Apart,
     * so that rows without (every row when the audit log is off or at metadata level) bind no more than before.
     */
    private static final dev.skiff.store.MultiRowInsert<UsageRow> INSERT_ROWS_WITH_BODIES = new dev.skiff.store.MultiRowInsert<>(
            INSERT.replace("audit) VALUES ", "audit, request_body, response_body, provider_request_body, provider_response_body) VALUES "),
            withBodies(LITERALS), java.util.Arrays.copyOf(FORMS, 27), SHARED, 64);

    /** The literals of a row with bodies: a body not kept (a provider's that was the client's) is NULL. */
    private static String[] withBodies(String[] literals) {
        String[] l = java.util.Arrays.copyOf(literals, 27);
        java.util.Arrays.fill(l, 23, 27, "NULL");
        return l;
    }

    /** {@link #literals} of a row with bodies: bit {@code 23 + slot} for a body not kept. */
    static long literalsWithBodies(UsageRow row) {
        long m = literals(row);
        for (int slot = 0; slot < AUDIT_BODIES; slot++) if (row.auditBodies()[slot] == null) m |= 1L << (23 + slot);
        return m;
    }
    /** How many bodies a row with bodies binds, in {@link UsageRow#auditBodies}' order. */
    private static final int AUDIT_BODIES = 4;

    /** Rows deleted per statement by the retention sweep: short transactions between the writer's batches. */
    static final int SWEEP_CHUNK = 5_000;
    private static final String DELETE_EXPIRED =
            "DELETE FROM usage_requests WHERE id IN (SELECT id FROM usage_requests WHERE ts < ? ORDER BY ts LIMIT " + SWEEP_CHUNK + ")";

    private final String url;
    private final String description;
    private final ExecutorService queries;
    private volatile java.time.Duration retention = java.time.Duration.ZERO; // zero: rows are kept forever
    private volatile long sweepAtMs; // when the next sweep for expired rows is due (written by the writer, and by sweepSoon)
    private final java.util.concurrent.atomic.AtomicLong expiredDeleted = new java.util.concurrent.atomic.AtomicLong();
    private Database db; // guarded by this; opened on first use
    private volatile boolean closed;
    private final java.util.concurrent.atomic.AtomicLong batches = new java.util.concurrent.atomic.AtomicLong();
    /** SQLite's lookup by end user, merged by the writer (see {@link EndUserIndex}); PostgreSQL indexes the table. */
    private final EndUserIndex endUsers = new EndUserIndex();

    private UsageStore(String url, String description) {
        this.url = url;
        this.description = description;
        // Queries wait their turn on one thread; a burst beyond 64 is refused rather than queued without bound.
        this.queries = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(64),
                r -> Thread.ofPlatform().name("skiff-usage-query").daemon(true).unstarted(r));
    }

    /**
     * The store for these settings: PostgreSQL at {@code databaseUrl} when set, else SQLite beside
     * {@code responsesDb}. Checks the SQLite place now (not a folder), opens nothing yet.
     */
    public static UsageStore open(String databaseUrl, String responsesDb) throws IOException {
        if (databaseUrl != null) return new UsageStore(databaseUrl, "PostgreSQL " + Redact.url(databaseUrl));
        String file = sqliteBeside(responsesDb);
        if (!file.equals(":memory:") && Files.isDirectory(Path.of(file))) {
            throw new IOException(file + " (the usage database beside SKIFF_DB) is a folder");
        }
        return new UsageStore(file, "SQLite " + file);
    }

    /** The usage file beside the responses database: {@code data/skiff.db} → {@code data/skiff-usage.db}. */
    static String sqliteBeside(String responsesDb) {
        if (responsesDb.equals(":memory:")) return ":memory:";
        Path p = Path.of(responsesDb);
        String name = p.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String usage = dot > 0 ? name.substring(0, dot) + "-usage" + name.substring(dot) : name + "-usage.db";
        Path parent = p.getParent();
        return parent == null ? usage : parent.resolve(usage).toString();
    }

    /**
     * Keeps rows for {@code retention} ({@link java.time.Duration#ZERO}: forever). Older rows are
     * deleted by the usage writer between its batches ({@link #sweepExpired}), the first sweep a
     * minute after start-up (not at start-up: that would open the database), then every
     * {@link #sweepInterval} while nothing is left to delete.
     */
    public UsageStore retain(java.time.Duration retention) {
        this.retention = retention;
        this.sweepAtMs = System.currentTimeMillis() + 60_000;
        return this;
    }

    /** Makes the next sweep due now rather than a minute after start-up (tests, and an operator's tool). */
    void sweepSoon() {
        sweepAtMs = 0;
    }

    public java.time.Duration retention() {
        return retention;
    }

    /** Between sweeps: a tenth of the retention, at most an hour, at least a second. */
    static long sweepInterval(java.time.Duration retention) {
        return Math.max(1_000, Math.min(3_600_000, retention.toMillis() / 10));
    }

    /** Rows deleted for being older than the retention, since start. */
    public long expiredDeleted() {
        return expiredDeleted.get();
    }

    /**
     * Deletes one chunk of expired rows when a sweep is due; the next chunk follows on the writer's
     * next round (so writes are never held up for long), and when a chunk comes back short (and, on
     * SQLite, the end users' entries of the rows deleted are gone, {@value EndUserIndex#SWEEP_USERS}
     * end users a round) the sweep is done until the next interval. Failures are reported and retried
     * at the next interval.
     * Called by the usage writer only.
     */
    void sweepExpired(long nowMs) {
        java.time.Duration keep = retention;
        if (keep.isZero() || nowMs < sweepAtMs) return;
        try {
            long cutoff = nowMs - keep.toMillis();
            boolean more = deleteOlderThan(cutoff) == SWEEP_CHUNK;
            // Once the rows are gone, their end users' entries (SQLite), some end users per round.
            if (!more && database().kind() == Database.Kind.SQLITE) more = !sweepEndUsers(cutoff);
            sweepAtMs = more ? nowMs : nowMs + sweepInterval(keep);
        } catch (SQLException | IOException | RuntimeException e) {
            System.err.println("skiff: usage store " + description + " could not delete rows older than the retention ("
                    + keep + "): " + e.getMessage() + "; retried later");
            sweepAtMs = nowMs + sweepInterval(keep);
        }
    }

    /** Deletes up to {@value #SWEEP_CHUNK} rows older than {@code cutoffMs}, oldest first; how many. Blocks: store threads only. */
    int deleteOlderThan(long cutoffMs) throws SQLException, IOException {
        try (Connection c = database().connection(); PreparedStatement s = c.prepareStatement(DELETE_EXPIRED)) {
            s.setLong(1, cutoffMs);
            int n = s.executeUpdate();
            expiredDeleted.addAndGet(n);
            return n;
        }
    }

    /** One round of the end users' sweep ({@link EndUserIndex#sweep}), in a transaction; true when it is done. */
    private boolean sweepEndUsers(long cutoffMs) throws SQLException, IOException {
        boolean[] done = {false};
        database().inTransaction(c -> done[0] = endUsers.sweep(c, cutoffMs));
        return done[0];
    }

    /** Makes the next batch merge end users' entries (tests). */
    void endUsersMergeSoon() {
        endUsers.mergeSoon();
    }

    /** Transactions committed so far, one per batch. */
    public long batchesWritten() {
        return batches.get();
    }

    /** Where rows are written, for the start-up line and errors (credentials hidden). */
    public String describe() {
        return description;
    }

    /**
     * The database, opened and migrated on first use. Blocks: store threads only (the audit store reads
     * the audit records kept in usage rows through it, see {@code AuditStore}).
     */
    public synchronized Database database() throws SQLException, IOException {
        if (closed) throw new SQLException("the usage store is closed");
        if (db == null) {
            Database d = Database.open(url, PAGE_SIZE);
            try {
                d.migrate("usage");
                if (d.kind() == Database.Kind.SQLITE) tuneSqlite(d);
            } catch (SQLException | IOException | RuntimeException e) {
                d.close();
                throw e;
            }
            db = d;
        }
        return db;
    }

    /**
     * The page size of a usage file this store makes, whatever the audit level then: rows carrying audit
     * bodies (about 2 KB for a short chat) need pages this large, and the level may be switched to bodies
     * at any time ({@code PUT /admin/v1/audit/settings}), long after the file was made. In SQLite's 4 KB
     * pages such rows held one or two a page, and every page is written twice (to the WAL, then to the
     * file): storing them cost about 20 µs of the writer's CPU a row against 13.5 with 16 KB pages (a
     * scratch harness storing 60,000 rows through {@link #write} into fresh files). Rows without bodies
     * cost the usage writer about 0.2 µs a request more on 16 KB pages than on 4 KB in a running Skiff,
     * under the noise of the process's CPU per request (chat at c=10, fresh JVMs, 32 rounds:
     * bench/results/2026-12-07-2215-abody.md).
     */
    static final int PAGE_SIZE = 16_384;


    /**
     * Whether rows carrying audit bodies fit the usage file's pages: PostgreSQL, a file not made yet
     * (made with {@link #PAGE_SIZE}), or one made so. A file made by a Skiff before this keeps its pages
     * (WAL mode fixes the size), and records of bodies level then go to the audit log's own table: read
     * from its header (or its write-ahead log's, when the file has none yet) without opening the
     * database, as start-up does not load SQLite. Asked when the level is first bodies.
     */
    public boolean pagesForAuditBodies() {
        if (description.startsWith("PostgreSQL")) return true;
        int size = url.equals(":memory:") ? 0 : sqlitePageSize(Path.of(url), 16, 2);
        if (size == 0 && !url.equals(":memory:")) size = sqlitePageSize(Path.of(url + "-wal"), 8, 4);
        return size == 0 || size >= PAGE_SIZE;
    }

    /** The page size an SQLite file's (or WAL's) header gives at {@code offset}, in {@code bytes} big-endian bytes; 0 when there is none to read. */
    private static int sqlitePageSize(Path file, int offset, int bytes) {
        try (var in = Files.newInputStream(file)) {
            byte[] head = in.readNBytes(offset + bytes);
            if (head.length < offset + bytes) return 0;
            int v = 0;
            for (int i = offset; i < offset + bytes; i++) v = v << 8 | (head[i] & 0xff);
            return v == 1 && bytes == 2 ? 65_536 : v; // the file header writes 65536 as 1
        } catch (IOException e) {
            return 0; // no file yet
        }
    }

    /**
     * The usage file's SQLite page cache between merges, in KiB. Writes are appends (the table's and its
     * indexes' rightmost pages), so a small cache serves them; a cache of 8 MB kept at all times filled
     * with appended pages nobody reads again and sat in resident memory (about 8 MB of the peak RSS,
     * bench/results/2026-12-07-0610-rss.md).
     */
    static final int WRITE_CACHE_KIB = 512;
    /**
     * The cache during a merge of end users' entries ({@link EndUserIndex}). The merge sorts the new
     * rows' entries and inserts them in table order, so each page of the end users' table is visited in
     * one run: what needs room is the sort, which SQLite keeps in memory up to the cache's size and
     * otherwise spills to a temporary file (a chunk of 20,000 entries is about 1-1.5 MB). The 8 MB kept
     * before dates from an index written with every batch, whose pages were revisited from batch to
     * batch. Lowered again after the merge, which frees the pages beyond the smaller size.
     */
    static final int MERGE_CACHE_KIB = 2048;

    private static void tuneSqlite(Database d) throws SQLException {
        try (Connection c = d.connection()) {
            cacheSize(c, WRITE_CACHE_KIB);
        }
    }

    /**
     * Where SQLite keeps the connection's temporary data, for the batch's transaction ({@code MEMORY}) and
     * after it ({@code DEFAULT}). The batch's multi-row INSERTs share one transaction, so SQLite keeps a
     * statement journal for each (the pages it changes, to undo that statement alone should a NOT NULL
     * check fail). Past 64 KiB, which a few 16 KiB pages pass, the journal went to a temporary file made,
     * unlinked and written every batch: an open, an unlink, a close and ~36 writes of 16 KiB, 0.3 of the
     * writer's syscalls per request (bench/results/2026-12-08-0040-ssys.md). In memory it lives while its
     * statement runs, a few pages. Queries keep the default: a GROUP BY over many rows sorts in temporary
     * files once past the cache instead of in memory. SQLite takes the setting when the write transaction
     * starts (the first INSERT), and refuses a change inside a transaction only once the connection has a
     * temporary database, which Skiff never makes; should it, the journal goes to a file as before.
     */
    private static void tempStore(Connection c, String where) {
        try (java.sql.Statement s = c.createStatement()) {
            s.execute("PRAGMA temp_store=" + where);
        } catch (SQLException e) {
            // only the journal's place: the rows go in all the same
        }
    }

    /** Sets the connection's page cache to {@code kib} KiB (a negative cache_size counts KiB, not pages). */
    private static void cacheSize(Connection c, int kib) throws SQLException {
        try (java.sql.Statement s = c.createStatement()) {
            s.execute("PRAGMA cache_size=-" + kib);
        }
    }

    /** Inserts rows in one transaction. Blocks: called by the usage writer thread. */
    void write(List<UsageRow> rows) throws SQLException, IOException {
        Database d = database();
        boolean pg = d.kind() == Database.Kind.POSTGRES;
        long now = System.currentTimeMillis();
        int cacheKib = pg ? 0 : writeCacheKib(bodiesCacheKib(rows), now);
        d.inTransaction(c -> {
            if (!pg) tempStore(c, "MEMORY");
            if (!pg && cacheKib != this.cacheKib) {
                cacheSize(c, cacheKib); // smaller: the pages past it are clean between batches, and freed now
                this.cacheKib = cacheKib;
            }
            try {
                insert(c, rows, pg);
            } finally {
                if (!pg) tempStore(c, "DEFAULT");
            }
        });
        batches.incrementAndGet();
        if (!pg && endUsers.due(now, rows.size(), anyEndUser(rows))) mergeEndUsers(d, now);
    }

    /**
     * The page cache the connection has now, in KiB: {@link #WRITE_CACHE_KIB}, or while batches carry
     * audit bodies the largest such a batch had ({@link #bodiesCacheKib}). Writer thread only.
     */
    private int cacheKib = WRITE_CACHE_KIB;
    /** When a batch last carried audit bodies (ms since the epoch); writer thread only. */
    private long bodiesSeenMs;

    /**
     * How long the cache of batches with audit bodies is kept after the last such batch, before a batch
     * without them sets it back to {@link #WRITE_CACHE_KIB}. Set back after every batch, as it was, its
     * pages were freed and allocated again 20 times a second: malloc's, the page faults of memory the JVM's
     * native heap trimmer had given back meanwhile (an madvise, with a TLB flush on every CPU), a tenth
     * of what the usage writer and the trimmer took at bodies level together
     * (bench/results/2026-12-08-0345-bodies.md).
     */
    static final long KEEP_BODIES_CACHE_MS = 10_000;
    /** {@link #KEEP_BODIES_CACHE_MS}, shorter in tests. */
    long keepBodiesCacheMs = KEEP_BODIES_CACHE_MS;

    /**
     * The cache a batch is written with, in KiB, given {@code bodiesKib} (its {@link #bodiesCacheKib}): never
     * less than it, nor than a recent batch's with bodies had; the small cache once none came for
     * {@link #KEEP_BODIES_CACHE_MS}.
     */
    private int writeCacheKib(int bodiesKib, long nowMs) {
        if (bodiesKib > 0) {
            bodiesSeenMs = nowMs;
            return Math.max(cacheKib, bodiesKib);
        }
        return nowMs - bodiesSeenMs >= keepBodiesCacheMs ? WRITE_CACHE_KIB : cacheKib;
    }

    /**
     * The page cache a batch of rows carrying audit bodies is written with, in KiB (0: the batch has none):
     * room for its rows, about 2 KB each, up to {@value #MAX_BODIES_CACHE_KIB}. In the {@link #WRITE_CACHE_KIB}
     * kept otherwise, such a batch (about 2 MB at 28k requests a second) filled the cache over and over,
     * and each time SQLite spilled the dirty pages to the WAL before the commit, the last pages of the
     * table and its indexes with them, which the commit then wrote again (measured: the usage writer
     * 10.25 → 9.25 µs a request at bodies level, bench/results/2026-12-07-2215-abody.md).
     */
    static int bodiesCacheKib(List<UsageRow> rows) {
        int n = 0;
        for (UsageRow r : rows) if (r.auditBodies() != null) n++;
        return n == 0 ? 0 : Math.min(MAX_BODIES_CACHE_KIB, WRITE_CACHE_KIB + 2 * n);
    }

    static final int MAX_BODIES_CACHE_KIB = 8192;

    /** Inserts the rows: runs of rows with bodies and without, in order (a batch is usually all one or the other). */
    private static void insert(Connection c, List<UsageRow> rows, boolean pg) throws SQLException {
        for (int from = 0; from < rows.size(); ) {
            boolean bodies = rows.get(from).auditBodies() != null;
            int to = from + 1;
            while (to < rows.size() && (rows.get(to).auditBodies() != null) == bodies) to++;
            List<UsageRow> run = from == 0 && to == rows.size() ? rows : rows.subList(from, to);
            if (bodies) INSERT_ROWS_WITH_BODIES.insert(c, run, (v, row) -> bindBodies(bind(v, row, pg), row), UsageStore::literalsWithBodies);
            else INSERT_ROWS.insert(c, run, (v, row) -> bind(v, row, pg), UsageStore::literals);
            from = to;
        }
    }

    private static boolean anyEndUser(List<UsageRow> rows) {
        for (UsageRow r : rows) if (r.record().endUser() != null) return true;
        return false;
    }

    /**
     * Copies the rows stored since the last merge into the end users' table, in a transaction of its own
     * so that a failed merge never costs a batch: lookups read unmerged rows by id, and the next merge
     * takes them; how many rows it went over. Writer thread (and {@link #close}) only.
     */
    private int mergeEndUsers(Database d, long nowMs) {
        int[] rows = {0};
        try {
            d.inTransaction(c -> {
                if (cacheKib < MERGE_CACHE_KIB) cacheSize(c, MERGE_CACHE_KIB);
                try {
                    rows[0] = endUsers.merge(c, nowMs);
                } finally {
                    // Pages beyond the writes' cache are freed once the commit leaves them clean.
                    if (cacheKib < MERGE_CACHE_KIB) cacheSize(c, cacheKib);
                }
            });
        } catch (SQLException | RuntimeException e) {
            endUsers.unsure();
            System.err.println("skiff: usage store " + description + " could not index end users: " + e.getMessage() + "; retried later");
        }
        return rows[0];
    }

    /** Sets a row's audit bodies after its 23 values. */
    private static void bindBodies(dev.skiff.store.MultiRowInsert.Values v, UsageRow row) throws SQLException {
        for (int slot = 0; slot < AUDIT_BODIES; slot++) {
            byte[] b = row.auditBodies()[slot];
            if (b == null) v.none(Types.BINARY);
            else v.bytes(b);
        }
    }

    /** Sets a row's 23 values, in {@link #INSERT}'s order. */
    private static dev.skiff.store.MultiRowInsert.Values bind(dev.skiff.store.MultiRowInsert.Values v, UsageRow row, boolean pg) throws SQLException {
        UsageRecord r = row.record();
        Tokens t = row.tokens();
        v.int64(r.timestampMs()).text(r.requestId()).text(r.keyId()).text(r.userPath()).text(r.endUser()).text(r.provider())
                .text(r.model()).text(r.requestedModel()).text(r.endpoint());
        if (pg) v.bool(r.stream());
        else v.int32(r.stream() ? 1 : 0);
        v.int32(r.status());
        micros(v, r.latencyMs());
        micros(v, r.ttftMs());
        v.int64(t.input()).int64(t.cachedInput()).int64(t.cacheWrite()).int64(t.output()).int64(t.reasoning());
        if (row.costNanos() == null) v.none(Types.BIGINT);
        else v.int64(row.costNanos());
        v.int32(r.attempts());
        String error = r.error();
        v.text(error != null && error.length() > 1000 ? error.substring(0, 1000) : error);
        v.text(attemptLog(r.attemptLog()));
        // JSON (its generator escapes NUL, which PostgreSQL text would refuse) in UTF-8: SQLite takes the bytes as
        // they are (see FORMS); pgjdbc sends text as a String.
        byte[] audit = row.audit();
        if (audit == null) return v.none(Types.VARCHAR);
        return pg ? v.text(new String(audit, java.nio.charset.StandardCharsets.UTF_8)) : v.bytes(audit);
    }

    /** Which of a row's values are {@link #LITERALS}' (see {@link #bind}): bit {@code i} for value {@code i}. */
    static long literals(UsageRow row) {
        UsageRecord r = row.record();
        Tokens t = row.tokens();
        long m = 0;
        if (r.keyId() == null) m |= 1L << KEY;
        if (r.endUser() == null) m |= 1L << END_USER;
        if (!r.stream()) m |= 1L << STREAM;
        if (r.ttftMs() < 0) m |= 1L << TTFT;
        if (t.cachedInput() == 0) m |= 1L << CACHED;
        if (t.cacheWrite() == 0) m |= 1L << CACHE_WRITE;
        if (t.reasoning() == 0) m |= 1L << REASONING;
        if (row.costNanos() == null) m |= 1L << COST;
        if (r.attempts() == 1) m |= 1L << ATTEMPTS;
        if (r.error() == null) m |= 1L << ERROR;
        if (r.attemptLog() == null || r.attemptLog().isEmpty()) m |= 1L << ATTEMPT_LOG;
        if (row.audit() == null) m |= 1L << AUDIT;
        return m;
    }

    /** The attempts as a JSON array, or null for a request of one attempt. */
    static String attemptLog(List<dev.skiff.routing.Attempt> log) {
        if (log == null || log.isEmpty()) return null;
        var array = dev.skiff.dialect.openai.OpenAiChat.JSON.createArrayNode();
        for (dev.skiff.routing.Attempt a : log) {
            array.addObject().put("provider", a.provider()).put("model", a.model()).put("status", a.status()).put("error", a.error())
                    .put("duration_ms", Math.round(a.durationMs() * 1000) / 1000.0);
        }
        return array.toString();
    }

    private static void micros(dev.skiff.store.MultiRowInsert.Values v, double ms) throws SQLException {
        if (ms < 0) v.none(Types.BIGINT);
        else v.int64(Math.round(ms * 1000));
    }

    /** Answers {@code q} off the caller's thread; fails with a {@link java.util.concurrent.RejectedExecutionException} when too many wait. */
    public CompletableFuture<UsageQuery.Result> query(UsageQuery q) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return run(q);
            } catch (SQLException | IOException e) {
                throw new java.util.concurrent.CompletionException(e);
            }
        }, queries);
    }

    /**
     * A path other than the root and everything under it (parameters: the path, the path + '0', the path,
     * the path + '/'), as one range of the (user_path, ts) index: from the path up to the path + '0' ('0'
     * follows '/'), less what sorts between them without being under it (/acme-x, /acme.x). An OR of an
     * equality and a range would lead planners to other indexes. The root is never in such a range, and
     * SQLite's index leaves it out (migration 008): its term, {@code user_path <> '/'}, lets SQLite use it.
     */
    public static final String PATH_SUBTREE = " AND user_path <> '/' AND user_path >= ? AND user_path < ? AND (user_path = ? OR user_path >= ?)";

    /** The SQL of a query and its parameters, apart so that tests can EXPLAIN it. */
    record Sql(String text, List<Object> params) {}

    static Sql sql(UsageQuery q, Database.Kind kind) {
        String group = switch (q.groupBy()) {
            case NONE -> "NULL";
            case KEY -> "key_id";
            case PATH -> "user_path";
            case END_USER -> "end_user";
            case MODEL -> "model";
            case PROVIDER -> "provider";
            case DAY -> "ts / 86400000";
        };
        StringBuilder b = new StringBuilder("SELECT ").append(group).append(" AS g, COUNT(*), ")
                .append("SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END), SUM(input_tokens), SUM(cached_input_tokens), ")
                .append("SUM(cache_write_tokens), SUM(output_tokens), SUM(reasoning_tokens), SUM(cost_nanos), ")
                .append("SUM(CASE WHEN cost_nanos IS NULL THEN 1 ELSE 0 END) FROM usage_requests WHERE ts >= ? AND ts < ?");
        List<Object> params = new ArrayList<>(List.of(q.fromMs(), q.toMs()));
        if (q.keyId() != null) {
            b.append(" AND key_id = ?");
            params.add(q.keyId());
        }
        if (q.path() != null && !q.path().equals("/")) {
            b.append(PATH_SUBTREE);
            params.add(q.path());
            params.add(q.path() + "0");
            params.add(q.path());
            params.add(q.path() + "/");
        }
        if (q.endUser() != null) {
            if (kind == Database.Kind.SQLITE) {
                b.append(" AND ").append(EndUserIndex.LOOKUP);
                params.addAll(List.of(EndUserIndex.params(q.endUser(), q.fromMs(), q.toMs())));
            }
            b.append(" AND end_user = ?");
            params.add(q.endUser());
        }
        if (q.model() != null) {
            b.append(" AND model = ?");
            params.add(q.model());
        }
        if (q.provider() != null) {
            b.append(" AND provider = ?");
            params.add(q.provider());
        }
        if (q.groupBy() != UsageQuery.GroupBy.NONE) b.append(" GROUP BY ").append(group).append(" ORDER BY g");
        return new Sql(b.toString(), params);
    }

    private UsageQuery.Result run(UsageQuery q) throws SQLException, IOException {
        Database d = database();
        Sql sql = sql(q, d.kind());
        List<UsageQuery.Totals> rows = new ArrayList<>();
        try (Connection c = d.connection(); PreparedStatement s = c.prepareStatement(sql.text())) {
            for (int i = 0; i < sql.params().size(); i++) s.setObject(i + 1, sql.params().get(i));
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    long requests = rs.getLong(2);
                    if (requests == 0) continue; // an aggregate without GROUP BY answers one row even over nothing
                    rows.add(new UsageQuery.Totals(group(q, rs), requests, rs.getLong(3), rs.getLong(4), rs.getLong(5), rs.getLong(6),
                            rs.getLong(7), rs.getLong(8), rs.getLong(9), rs.getLong(10)));
                }
            }
        }
        return UsageQuery.Result.of(q, rows);
    }

    private static String group(UsageQuery q, ResultSet rs) throws SQLException {
        if (q.groupBy() == UsageQuery.GroupBy.NONE) return null;
        if (q.groupBy() == UsageQuery.GroupBy.DAY) {
            return Instant.ofEpochMilli(rs.getLong(1) * 86_400_000L).atOffset(ZoneOffset.UTC).toLocalDate().toString();
        }
        return rs.getString(1);
    }

    /** Closes the database; the usage writer calls it once the last batch is stored. */
    @Override
    public synchronized void close() {
        closed = true;
        queries.shutdownNow();
        // Merged now, the next start's lookups by end user have no rows to read one by one.
        if (db != null && db.kind() == Database.Kind.SQLITE) {
            while (mergeEndUsers(db, System.currentTimeMillis()) == EndUserIndex.MERGE_CHUNK) {
                // a backlog of more than one chunk: on until it is merged
            }
        }
        if (db != null) db.close();
        db = null;
    }
}
