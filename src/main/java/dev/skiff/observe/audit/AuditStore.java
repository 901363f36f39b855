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
 * <p>As with usage, the database is opened and migrated by the first batch or query, never at
 * start-up; batches come from the {@link AuditLog}'s writer thread; queries run on a thread of their
 * own and answer with a future.
 */
public final class AuditStore implements AutoCloseable {
    private static final String COLUMNS = "ts, request_id, key_id, user_path, end_user, method, path, endpoint, provider, model, "
            + "requested_model, stream, status, latency_us, ttft_us, input_tokens, output_tokens, error, level, trace_id";
    private static final String INSERT = "INSERT INTO audit_requests (" + COLUMNS + ", detail) VALUES ";
    private static final int ROWS_PER_STATEMENT = 32;
    /** 21 values per row, as {@link #bind} binds them. */
    private static final dev.skiff.store.MultiRowInsert<AuditRow> INSERT_ROWS = new dev.skiff.store.MultiRowInsert<>(INSERT, 21, ROWS_PER_STATEMENT);

    private final String url;
    private final String description;
    private final ExecutorService queries;
    private Database db; // guarded by this; opened on first use
    private boolean closed;

    private AuditStore(String url, String description) {
        this.url = url;
        this.description = description;
        this.queries = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(64),
                r -> Thread.ofPlatform().name("skiff-audit-query").daemon(true).unstarted(r));
    }

    /** PostgreSQL at {@code databaseUrl} when set, else SQLite beside {@code responsesDb}; opens nothing yet. */
    public static AuditStore open(String databaseUrl, String responsesDb) throws IOException {
        if (databaseUrl != null) return new AuditStore(databaseUrl, "PostgreSQL " + Redact.url(databaseUrl));
        String file = beside(responsesDb, "-audit");
        if (!file.equals(":memory:") && Files.isDirectory(Path.of(file))) {
            throw new IOException(file + " (the audit database beside SKIFF_DB) is a folder");
        }
        return new AuditStore(file, "SQLite " + file);
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
            Database d = Database.open(url);
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
     * (SQLite's default is 4 MB). Every request is a row here, and a row's index entries land on
     * scattered pages (request ids are random), so most batches dirty pages earlier batches dirtied:
     * fewer checkpoints copy each such page once instead of again and again, and sync less often.
     * The log file is cut back to 64 MB at most after a checkpoint.
     */
    private static void checkpointLess(Database d) throws SQLException {
        try (Connection c = d.connection(); java.sql.Statement s = c.createStatement()) {
            s.execute("PRAGMA wal_autocheckpoint=10000");
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
                INSERT_ROWS.insert(c, rows, (st, i, row) -> bind(st, i, row, pg));
                stored[0] += rows.size();
                rows.clear();
            }
        });
        return stored[0];
    }

    /** Binds a row's 21 values from parameter {@code i} on. */
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
        s.setString(i, pg ? r.detail().replace("\u0000", "") : r.detail()); // PostgreSQL text takes no NUL
    }

    private static void optional(PreparedStatement s, int i, long v) throws SQLException {
        if (v < 0) s.setNull(i, Types.BIGINT);
        else s.setLong(i, v);
    }

    /** Deletes records received before {@code beforeMs}; returns how many. Blocks: the writer's thread. */
    int purge(long beforeMs) throws SQLException, IOException {
        try (Connection c = database().connection(); PreparedStatement s = c.prepareStatement("DELETE FROM audit_requests WHERE ts < ?")) {
            s.setLong(1, beforeMs);
            return s.executeUpdate();
        }
    }

    /** The rows {@code q} selects, newest first, without their detail; one more than the limit tells whether more follow. */
    public CompletableFuture<List<AuditRow>> list(AuditQuery q) {
        return async(() -> {
            StringBuilder b = new StringBuilder("SELECT id, ").append(COLUMNS).append(" FROM audit_requests WHERE ts >= ? AND ts < ?");
            List<Object> params = new ArrayList<>(List.of(q.fromMs(), q.toMs()));
            if (q.before() > 0) {
                b.append(" AND id < ?");
                params.add(q.before());
            }
            eq(b, params, "key_id", q.keyId());
            eq(b, params, "end_user", q.endUser());
            eq(b, params, "model", q.model());
            eq(b, params, "provider", q.provider());
            eq(b, params, "endpoint", q.endpoint());
            if (q.path() != null && !q.path().equals("/")) {
                // the path and its subtree (see UsageStore: the same range on user_path)
                b.append(" AND user_path >= ? AND user_path < ? AND (user_path = ? OR user_path >= ?)");
                params.addAll(List.of(q.path(), q.path() + "0", q.path(), q.path() + "/"));
            }
            if (q.statusFrom() > 0) {
                b.append(" AND status >= ? AND status <= ?");
                params.add(q.statusFrom());
                params.add(q.statusTo());
            }
            b.append(" ORDER BY id DESC LIMIT ?");
            params.add(q.limit() + 1);
            try (Connection c = database().connection(); PreparedStatement s = c.prepareStatement(b.toString())) {
                for (int i = 0; i < params.size(); i++) s.setObject(i + 1, params.get(i));
                List<AuditRow> rows = new ArrayList<>();
                try (ResultSet rs = s.executeQuery()) {
                    while (rs.next()) rows.add(row(rs, null));
                }
                return rows;
            }
        });
    }

    /** The newest record of {@code requestId}, with its detail, or null. */
    public CompletableFuture<AuditRow> find(String requestId) {
        return async(() -> {
            try (Connection c = database().connection();
                 PreparedStatement s = c.prepareStatement("SELECT id, " + COLUMNS + ", detail FROM audit_requests WHERE request_id = ? ORDER BY id DESC LIMIT 1")) {
                s.setString(1, requestId);
                try (ResultSet rs = s.executeQuery()) {
                    return rs.next() ? row(rs, rs.getString(22)) : null;
                }
            }
        });
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
