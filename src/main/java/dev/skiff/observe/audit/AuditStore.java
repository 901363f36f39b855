package dev.skiff.observe.audit;

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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Where audited requests are kept (table {@code audit_requests}, migrations of module {@code audit}):
 * PostgreSQL when {@code SKIFF_DATABASE_URL} names one, else an SQLite file of its own beside the
 * stored responses ({@code data/skiff.db} gives {@code data/skiff-audit.db}), so that large audit
 * batches never hold up usage rows or stored responses.
 *
 * <p>When usage rows are stored, a request's audit record is not a row here but columns of its usage
 * row ({@code usage_requests.audit}, and at bodies level its bodies' columns; written by the usage
 * writer: one row per request instead of two); lists and lookups read both tables, so records of
 * either kind (and those written before a change of level or of where records go) are found alike.
 *
 * <p>As with usage, the database is opened and migrated by the first batch or query, never at
 * start-up; batches come from the {@link AuditLog}'s writer thread; queries run on a thread of their
 * own and answer with a future.
 */
public final class AuditStore implements AutoCloseable {
    private static final String COLUMNS = "ts, request_id, key_id, user_path, end_user, method, path, endpoint, provider, model, "
            + "requested_model, stream, status, latency_us, ttft_us, input_tokens, output_tokens, error, level, trace_id";
    /** The bodies' columns, in {@link AuditRow#bodies}' order. */
    private static final String BODY_COLUMNS = "request_body, response_body, provider_request_body, provider_response_body";
    private static final String INSERT = "INSERT INTO audit_requests (" + COLUMNS + ", detail, " + BODY_COLUMNS + ") VALUES ";
    private static final int ROWS_PER_STATEMENT = 32;
    /** 25 values per row, as {@link #bind} binds them. */
    private static final dev.skiff.store.MultiRowInsert<AuditRow> INSERT_ROWS = new dev.skiff.store.MultiRowInsert<>(INSERT, 25, ROWS_PER_STATEMENT);
    /**
     * The same on SQLite, the detail bound as its UTF-8 bytes and stored as the text they are (a cast
     * from a blob is a copy): not made a String to be encoded again by the driver.
     */
    private static final dev.skiff.store.MultiRowInsert<AuditRow> INSERT_ROWS_SQLITE = new dev.skiff.store.MultiRowInsert<>(INSERT,
            dev.skiff.store.MultiRowInsert.placeholders(20).replace(")", ", CAST(? AS TEXT), ?, ?, ?, ?)"), 25, ROWS_PER_STATEMENT);

    /**
     * A usage row's columns an audit row has, and its audit record (see {@link AuditDocument#fromUsage});
     * at bodies level its bodies are in the usage table's columns named as the audit table's ({@link #BODY_COLUMNS}).
     */
    private static final String USAGE_COLUMNS = "id, ts, request_id, key_id, user_path, end_user, endpoint, provider, model, requested_model, "
            + "stream, status, latency_us, ttft_us, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, error, audit";
    private static final int USAGE_COLUMN_COUNT = 21;

    /**
     * The SQLite audit file's page size. A record with its bodies is a row of a few KB (a short chat
     * about 2.1 KB): with SQLite's 4 KB pages one such row filled a page and left the rest empty (the
     * file grew 4.2 KB a record), and every page is written twice, to the WAL and then to the file. In
     * 16 KB pages seven such rows fit; metadata rows and larger bodies lose no more than before.
     */
    static final int PAGE_SIZE = 16_384;

    private final String url;
    private final String description;
    private final ExecutorService queries;
    /** Where the audit records kept in usage rows are read (null: none are, the usage store is off). */
    private final dev.skiff.observe.UsageStore usage;
    private Database db; // guarded by this; opened on first use
    private boolean closed;

    private AuditStore(String url, String description, dev.skiff.observe.UsageStore usage) {
        this.url = url;
        this.description = description;
        this.usage = usage;
        this.queries = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(64),
                r -> Thread.ofPlatform().name("skiff-audit-query").daemon(true).unstarted(r));
    }

    /** PostgreSQL at {@code databaseUrl} when set, else SQLite beside {@code responsesDb}; opens nothing yet. */
    public static AuditStore open(String databaseUrl, String responsesDb) throws IOException {
        return open(databaseUrl, responsesDb, null);
    }

    /** As {@link #open(String, String)}, also reading the audit records kept in {@code usage}'s rows (null: none). */
    public static AuditStore open(String databaseUrl, String responsesDb, dev.skiff.observe.UsageStore usage) throws IOException {
        if (databaseUrl != null) return new AuditStore(databaseUrl, "PostgreSQL " + Redact.url(databaseUrl), usage);
        String file = beside(responsesDb, "-audit");
        if (!file.equals(":memory:") && Files.isDirectory(Path.of(file))) {
            throw new IOException(file + " (the audit database beside SKIFF_DB) is a folder");
        }
        return new AuditStore(file, "SQLite " + file, usage);
    }

    /** {@code data/skiff.db} with {@code -audit} gives {@code data/skiff-audit.db}. */
    static String beside(String db, String suffix) {
        if (db.equals(":memory:")) return ":memory:";
        Path p = Path.of(db);
        String name = p.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String mine = dot > 0 ? name.substring(0, dot) + suffix + name.substring(dot) : name + suffix + ".db";
        Path parent = p.getParent();
        return parent == null ? mine : parent.resolve(mine).toString();
    }

    public String describe() {
        return description;
    }

    synchronized Database database() throws SQLException, IOException {
        if (closed) throw new SQLException("the audit store is closed");
        if (db == null) {
            Database d = Database.open(url, PAGE_SIZE);
            try {
                d.migrate("audit");
                if (d.kind() == Database.Kind.SQLITE) checkpointLess(d);
            } catch (SQLException | IOException | RuntimeException e) {
                d.close();
                throw e;
            }
            db = d;
        }
        return db;
    }

    /**
     * Lets the audit file's write-ahead log grow to about 40 MB before it is copied into the database
     * (SQLite's default is 1000 pages, 4 MB at 4 KB). Every request is a row here, and a row's index entries land on
     * scattered pages (request ids are random), so most batches dirty pages earlier batches dirtied:
     * fewer checkpoints copy each such page once instead of again and again, and sync less often.
     * The log file is cut back to 64 MB at most after a checkpoint.
     */
    private static void checkpointLess(Database d) throws SQLException {
        try (Connection c = d.connection(); java.sql.Statement s = c.createStatement()) {
            int pageSize;
            try (ResultSet rs = s.executeQuery("PRAGMA page_size")) {
                pageSize = rs.next() ? rs.getInt(1) : 4096; // a file made before PAGE_SIZE keeps 4 KB
            }
            s.execute("PRAGMA wal_autocheckpoint=" + (40 << 20) / pageSize);
            s.execute("PRAGMA journal_size_limit=67108864");
        }
    }

    /** Inserts rows in one transaction. Blocks: the audit writer's thread. */
    void write(List<AuditRow> rows) throws SQLException, IOException {
        write(rows, r -> r);
    }

    /**
     * Inserts the rows {@code make} turns {@code items} into, in one transaction, made a statement's
     * worth at a time (an item it turns into null is left out): a batch's rows, each with its detail
     * text, are never all in the heap at once, so a young collection during a write copies a few of
     * them rather than the batch's thousands. Returns how many rows were stored. Blocks: the writer's thread.
     */
    <T> int write(List<T> items, java.util.function.Function<T, AuditRow> make) throws SQLException, IOException {
        Database d = database();
        boolean pg = d.kind() == Database.Kind.POSTGRES;
        int[] stored = {0};
        d.inTransaction(c -> {
            List<AuditRow> rows = new ArrayList<>(ROWS_PER_STATEMENT);
            for (int at = 0; at < items.size(); at += ROWS_PER_STATEMENT) {
                for (T item : items.subList(at, Math.min(items.size(), at + ROWS_PER_STATEMENT))) {
                    AuditRow row = make.apply(item);
                    if (row != null) rows.add(row);
                }
                (pg ? INSERT_ROWS : INSERT_ROWS_SQLITE).insert(c, rows, (st, i, row) -> bind(st, i, row, pg));
                stored[0] += rows.size();
                rows.clear();
            }
        });
        return stored[0];
    }

    /** Binds a row's 25 values from parameter {@code i} on. */
    private static void bind(PreparedStatement s, int i, AuditRow r, boolean pg) throws SQLException {
        s.setLong(i++, r.ts());
        s.setString(i++, r.requestId());
        s.setString(i++, r.keyId());
        s.setString(i++, r.userPath());
        s.setString(i++, r.endUser());
        s.setString(i++, r.method());
        s.setString(i++, r.path());
        s.setString(i++, r.endpoint());
        s.setString(i++, r.provider());
        s.setString(i++, r.model());
        s.setString(i++, r.requestedModel());
        if (pg) s.setBoolean(i++, r.stream());
        else s.setInt(i++, r.stream() ? 1 : 0);
        s.setInt(i++, r.status());
        optional(s, i++, r.latencyUs());
        optional(s, i++, r.ttftUs());
        optional(s, i++, r.inputTokens());
        optional(s, i++, r.outputTokens());
        s.setString(i++, r.error() != null && r.error().length() > 1000 ? r.error().substring(0, 1000) : r.error());
        s.setString(i++, r.level());
        s.setString(i++, r.traceId());
        if (pg) s.setString(i++, r.detail().replace("\u0000", "")); // PostgreSQL text takes no NUL
        else if (r.detailUtf8() != null) s.setBytes(i++, r.detailUtf8());
        else s.setBytes(i++, r.detail().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        for (int slot = 0; slot < AuditRow.BODIES; slot++, i++) {
            byte[] b = r.body(slot);
            if (b == null) s.setNull(i, Types.BINARY);
            else s.setBytes(i, b);
        }
    }

    private static void optional(PreparedStatement s, int i, long v) throws SQLException {
        if (v < 0) s.setNull(i, Types.BIGINT);
        else s.setLong(i, v);
    }

    /**
     * Deletes records received before {@code beforeMs}, and clears those usage rows carry, bodies too (the rows
     * themselves stay for the usage store's own retention); returns how many. Blocks: the writer's thread.
     *
     * <p>The audit table has no time index (each record would pay for it): what is deleted is every row
     * before the oldest one received at {@code beforeMs} or later, found by walking ids from the oldest
     * (through the rows to delete only). Ids follow receipt times except for requests that ran while
     * later ones were written: such a row stays until a later purge passes its successors too.
     */
    int purge(long beforeMs) throws SQLException, IOException {
        int n;
        try (Connection c = database().connection(); PreparedStatement s = c.prepareStatement("DELETE FROM audit_requests WHERE id < COALESCE("
                + "(SELECT id FROM audit_requests WHERE ts >= ? ORDER BY id LIMIT 1), (SELECT MAX(id) + 1 FROM audit_requests))")) {
            s.setLong(1, beforeMs);
            n = s.executeUpdate();
        }
        if (usage == null) return n;
        try (Connection c = usage.database().connection();
             PreparedStatement s = c.prepareStatement("UPDATE usage_requests SET audit = NULL, request_body = NULL, response_body = NULL, "
                     + "provider_request_body = NULL, provider_response_body = NULL WHERE audit IS NOT NULL AND ts < ?")) {
            s.setLong(1, beforeMs);
            return n + s.executeUpdate();
        }
    }

    /**
     * A page of the list: at most the query's limit of rows, newest first, whether more follow, and the
     * cursor of the next page ({@code audit id.usage id}: where each table's part of the list goes on).
     */
    public record Page(List<AuditRow> rows, boolean more, String next) {}

    /** A cursor ({@link Page#next}) as the ids each table's rows continue below: {audit, usage}; 0 from the newest. */
    static long[] cursor(String s) {
        int dot = s.indexOf('.');
        long own = Long.parseLong(dot < 0 ? s : s.substring(0, dot));
        long inUsage = dot < 0 ? 0 : Long.parseLong(s.substring(dot + 1));
        if (own < 0 || inUsage < 0) throw new NumberFormatException(s);
        return new long[] {own, inUsage};
    }

    /**
     * The rows {@code q} selects, newest first, without their detail: those of the audit table and those
     * usage rows carry, each table's walked by id, the two merged by time.
     */
    public CompletableFuture<Page> list(AuditQuery q) {
        return async(() -> {
            List<AuditRow> own = listOwn(q);
            List<AuditRow> inUsage = usage == null ? List.of() : listInUsage(q);
            List<AuditRow> page = new ArrayList<>(q.limit());
            int i = 0, j = 0;
            while (page.size() < q.limit() && (i < own.size() || j < inUsage.size())) {
                if (j >= inUsage.size() || i < own.size() && own.get(i).ts() >= inUsage.get(j).ts()) page.add(own.get(i++));
                else page.add(inUsage.get(j++));
            }
            boolean more = i < own.size() || j < inUsage.size();
            long ownNext = i > 0 ? own.get(i - 1).id() : q.before();
            long usageNext = j > 0 ? inUsage.get(j - 1).id() : q.beforeUsage();
            return new Page(page, more, more ? ownNext + "." + usageNext : null);
        });
    }

    /**
     * The audit table's rows of {@code q}, newest first; one more than the limit. On SQLite, without a
     * key (whose index the planner takes), the walk goes down the ids, told so: given the time range it
     * took the time index and sorted every row in the range for each page (EXPLAIN QUERY PLAN).
     */
    private List<AuditRow> listOwn(AuditQuery q) throws SQLException, IOException {
        Database d = database();
        String from = d.kind() == Database.Kind.SQLITE && q.keyId() == null ? " FROM audit_requests NOT INDEXED" : " FROM audit_requests";
        return select(d, "SELECT id, " + COLUMNS + from + " WHERE ts >= ? AND ts < ?", q.before(), q, rs -> row(rs, null));
    }

    /**
     * The audited usage rows of {@code q}, newest first; one more than the limit. On SQLite the walk goes
     * down the index of audited rows' ids, told so: given a time range its planner takes the time index
     * and sorts every row in the range (30 days by default) to return a page.
     */
    private List<AuditRow> listInUsage(AuditQuery q) throws SQLException, IOException {
        Database d = usage.database();
        String from = d.kind() == Database.Kind.SQLITE ? " FROM usage_requests INDEXED BY usage_requests_audit_id" : " FROM usage_requests";
        return select(d, "SELECT " + USAGE_COLUMNS + from + " WHERE audit IS NOT NULL AND ts >= ? AND ts < ?", q.beforeUsage(), q,
                AuditStore::usageRow);
    }

    private interface RowOf {
        AuditRow of(ResultSet rs) throws SQLException;
    }

    /** {@code select} (its first two parameters the time range) narrowed by {@code q}, below id {@code before} (0: none), newest first. */
    private static List<AuditRow> select(Database d, String select, long before, AuditQuery q, RowOf rowOf) throws SQLException {
        StringBuilder b = new StringBuilder(select);
        List<Object> params = new ArrayList<>(List.of(q.fromMs(), q.toMs()));
        if (before > 0) {
            b.append(" AND id < ?");
            params.add(before);
        }
        filters(b, params, q);
        b.append(" ORDER BY id DESC LIMIT ?");
        params.add(q.limit() + 1);
        try (Connection c = d.connection(); PreparedStatement s = c.prepareStatement(b.toString())) {
            for (int i = 0; i < params.size(); i++) s.setObject(i + 1, params.get(i));
            List<AuditRow> rows = new ArrayList<>();
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) rows.add(rowOf.of(rs));
            }
            return rows;
        }
    }

    private static AuditRow usageRow(ResultSet rs) throws SQLException {
        try {
            return AuditDocument.fromUsage(dev.skiff.dialect.openai.OpenAiChat.JSON, rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getString(4),
                    rs.getString(5), rs.getString(6), rs.getString(7), rs.getString(8), rs.getString(9), rs.getString(10), rs.getBoolean(11),
                    rs.getInt(12), optional(rs, 13), optional(rs, 14), new long[] {rs.getLong(15), rs.getLong(16), rs.getLong(17), rs.getLong(18),
                            rs.getLong(19)}, rs.getString(20), rs.getString(21));
        } catch (IOException e) {
            throw new SQLException("usage row " + rs.getLong(1) + " has an audit record that is not JSON: " + e.getMessage(), e);
        }
    }

    /** The newest record of {@code requestId} (in either table), with its detail, or null. */
    public CompletableFuture<AuditRow> find(String requestId) {
        return async(() -> {
            AuditRow own;
            try (Connection c = database().connection();
                 PreparedStatement s = c.prepareStatement("SELECT id, " + COLUMNS + ", detail, " + BODY_COLUMNS
                         + " FROM audit_requests WHERE request_id = ? ORDER BY id DESC LIMIT 1")) {
                s.setString(1, requestId);
                try (ResultSet rs = s.executeQuery()) {
                    own = rs.next() ? withBodies(row(rs, rs.getString(22)), rs, 23) : null;
                }
            }
            // In a usage row only when Skiff made the id and the request ended within the window after (see
            // UsageLog.auditsInRow): found through the rows' time index, there being no index of request ids.
            long made = dev.skiff.observe.UsageLog.madeAt(requestId);
            if (usage == null || made < 0) return own;
            try (Connection c = usage.database().connection(); PreparedStatement s = c.prepareStatement("SELECT " + USAGE_COLUMNS
                    + ", " + BODY_COLUMNS + " FROM usage_requests WHERE ts >= ? AND ts <= ? AND request_id = ? AND audit IS NOT NULL ORDER BY id DESC LIMIT 1")) {
                s.setLong(1, made);
                s.setLong(2, made + dev.skiff.observe.UsageLog.AUDIT_FIND_WINDOW_MS);
                s.setString(3, requestId);
                try (ResultSet rs = s.executeQuery()) {
                    AuditRow inUsage = rs.next() ? withBodies(usageRow(rs), rs, USAGE_COLUMN_COUNT + 1) : null;
                    return own == null || inUsage != null && inUsage.ts() > own.ts() ? inUsage : own;
                }
            }
        });
    }

    /** The filters of {@code q}, on the columns both tables have. */
    private static void filters(StringBuilder b, List<Object> params, AuditQuery q) {
        eq(b, params, "key_id", q.keyId());
        eq(b, params, "end_user", q.endUser());
        eq(b, params, "model", q.model());
        eq(b, params, "provider", q.provider());
        eq(b, params, "endpoint", q.endpoint());
        if (q.path() != null && !q.path().equals("/")) {
            b.append(dev.skiff.observe.UsageStore.PATH_SUBTREE); // the path and its subtree, as usage queries name it
            params.addAll(List.of(q.path(), q.path() + "0", q.path(), q.path() + "/"));
        }
        if (q.statusFrom() > 0) {
            b.append(" AND status >= ? AND status <= ?");
            params.add(q.statusFrom());
            params.add(q.statusTo());
        }
    }

    private static void eq(StringBuilder b, List<Object> params, String column, String value) {
        if (value == null) return;
        b.append(" AND ").append(column).append(" = ?");
        params.add(value);
    }

    private static AuditRow row(ResultSet rs, String detail) throws SQLException {
        return new AuditRow(rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getString(4), rs.getString(5), rs.getString(6), rs.getString(7),
                rs.getString(8), rs.getString(9), rs.getString(10), rs.getString(11), rs.getString(12), rs.getBoolean(13), rs.getInt(14),
                optional(rs, 15), optional(rs, 16), optional(rs, 17), optional(rs, 18), rs.getString(19), rs.getString(20), rs.getString(21), detail);
    }

    /** {@code r} with the bodies of columns {@code first} on (null when none is set: a row of before, or of metadata level). */
    private static AuditRow withBodies(AuditRow r, ResultSet rs, int first) throws SQLException {
        byte[][] bodies = new byte[AuditRow.BODIES][];
        boolean any = false;
        for (int slot = 0; slot < AuditRow.BODIES; slot++) {
            bodies[slot] = rs.getBytes(first + slot);
            any |= bodies[slot] != null;
        }
        if (!any) return r;
        return new AuditRow(r.id(), r.ts(), r.requestId(), r.keyId(), r.userPath(), r.endUser(), r.method(), r.path(), r.endpoint(), r.provider(),
                r.model(), r.requestedModel(), r.stream(), r.status(), r.latencyUs(), r.ttftUs(), r.inputTokens(), r.outputTokens(), r.error(),
                r.level(), r.traceId(), r.detail(), bodies, null);
    }

    private static long optional(ResultSet rs, int i) throws SQLException {
        long v = rs.getLong(i);
        return rs.wasNull() ? -1 : v;
    }

    private interface Work<T> {
        T run() throws SQLException, IOException;
    }

    private <T> CompletableFuture<T> async(Work<T> w) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return w.run();
            } catch (SQLException | IOException e) {
                throw new CompletionException(e);
            }
        }, queries);
    }

    @Override
    public synchronized void close() {
        closed = true;
        queries.shutdownNow();
        if (db != null) db.close();
        db = null;
    }
}
