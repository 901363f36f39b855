package dev.skiff.store;

import dev.skiff.control.MasterKeyAuth;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Stored Responses API answers in the embedded SQLite database. Event loops never touch the
 * database: saves are queued and written in batches (group commit: one transaction for whatever
 * queued up while the previous one was being written), and reads complete a future, all on one store
 * thread. Because that thread also runs the reads, a read always sees every save queued before it, so
 * a follow-up sent right after an answer finds it.
 *
 * <p>A save's future completes once its transaction has committed: the gateway holds the end of a
 * stored answer until then, so an answer a client has received is on disk (in SQLite's write-ahead
 * log, written but not fsynced: it survives the process being killed, not the machine losing power).
 *
 * <p>Each response keeps only its own input items and output, with a link to the response it
 * continues; a conversation is rebuilt by walking the links. Responses are scoped to their owner (the
 * key that made them): another owner's lookup finds nothing. A response can be named for
 * {@code ttl} after it was made; its rows are deleted once its whole conversation (every response
 * linked to it) is older than that, so a live conversation never loses its beginning.
 */
public final class ResponseStore implements AutoCloseable {
    /** The owner of what requests authenticated with the master key store. */
    public static final String MASTER = MasterKeyAuth.MASTER;
    /** The newest schema this code writes; see {@link #migrate}. */
    static final int SCHEMA_VERSION = 2;
    /** Longest chain of responses rebuilt for a follow-up. */
    public static final int MAX_CHAIN = 5000;
    /** Most characters of stored JSON a rebuilt conversation may take (it is held on the heap while translated). */
    public static final long MAX_CHAIN_CHARS = 16L << 20;
    private static final int SWEEP_CHUNK = 500;

    private final String target;
    private final long ttlSeconds;
    private final ScheduledThreadPoolExecutor thread;
    private final List<Pending> pending = new ArrayList<>();
    private boolean flushScheduled;
    private Connection db;
    private PreparedStatement insert, touchConversation; // prepared once: a batch is often one response

    private record Pending(StoredResponse response, CompletableFuture<Void> committed) {}

    /**
     * What a lookup found.
     */
    public sealed interface Found {
        /** The response and, oldest first, those it continues; {@code legacyHistory} precedes them all (see {@link #migrate}). */
        record Chain(String legacyHistory, List<StoredResponse> links) implements Found {
            public StoredResponse last() {
                return links.getLast();
            }
        }

        /** No such response for this owner. */
        record Absent() implements Found {}

        /** The response is older than the time responses are kept. */
        record Expired(Duration ttl) implements Found {}

        /** The response exists but the conversation it ends cannot be rebuilt. */
        record Broken(String reason) implements Found {}
    }

    /**
     * @param target a file path, or {@code :memory:} for a database that lives as long as the process
     * @param ttl    how long a response can be named after it was made
     */
    public ResponseStore(String target, Duration ttl) {
        this.target = target;
        this.ttlSeconds = Math.max(1, ttl.toSeconds());
        this.thread = new ScheduledThreadPoolExecutor(1, r -> Thread.ofPlatform().name("skiff-store").daemon(true).unstarted(r));
        thread.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    }

    /**
     * Starts deleting expired responses: a minute after start-up (responses that expired while Skiff
     * was stopped), then every {@code sweepEvery}. The database is opened by the first stored answer
     * or that first sweep, whichever comes first, not at start-up: loading SQLite's native library
     * takes about as long as the rest of start-up, and opening it even in the background, right after
     * the port is bound, measurably delayed the first requests (and put SQLite's classes into the
     * AOT cache, which every start then loads).
     */
    public void start(Duration sweepEvery) {
        long every = Math.max(1000, sweepEvery.toMillis());
        thread.scheduleWithFixedDelay(this::sweepQuietly, Math.min(every, 60_000), every, TimeUnit.MILLISECONDS);
    }

    /** How long a response can be named after it was made. */
    public Duration ttl() {
        return Duration.ofSeconds(ttlSeconds);
    }

    /** Queues a save; never blocks the caller. The future completes once the save has committed. */
    public CompletableFuture<Void> save(StoredResponse r) {
        CompletableFuture<Void> committed = new CompletableFuture<>();
        synchronized (pending) {
            pending.add(new Pending(r, committed));
            if (flushScheduled) return committed;
            flushScheduled = true;
        }
        thread.execute(this::flushQuietly);
        return committed;
    }

    /** The response alone (no walk), if {@code owner} may read it and it has not expired. */
    public CompletableFuture<Found> find(String id, String owner) {
        return call(() -> {
            Found head = head(id, owner);
            return head instanceof Found.Chain c ? new Found.Chain(null, List.of(c.last())) : head;
        });
    }

    /**
     * The conversation that {@code id} ends: the response and every one it continues, oldest first,
     * for a follow-up naming it. Only {@code id} itself must be unexpired; those it continues are kept
     * as long as it is.
     */
    public CompletableFuture<Found> conversation(String id, String owner) {
        return call(() -> {
            Found head = head(id, owner);
            if (!(head instanceof Found.Chain c)) return head;
            List<StoredResponse> links = new ArrayList<>();
            StoredResponse at = c.last();
            long chars = 0;
            String legacy = null;
            try (PreparedStatement q = db().prepareStatement(SELECT + " WHERE id = ?")) {
                while (true) {
                    links.add(at);
                    chars += at.response().length() + at.inputItems().length();
                    if (at.previousId() == null) {
                        legacy = legacyHistory(at.id());
                        break;
                    }
                    if (links.size() >= MAX_CHAIN) {
                        return new Found.Broken("the conversation is longer than " + MAX_CHAIN + " responses, more than Skiff rebuilds");
                    }
                    if (chars > MAX_CHAIN_CHARS) {
                        return new Found.Broken("the conversation is larger than " + (MAX_CHAIN_CHARS >> 20)
                                + " MB of stored JSON, more than Skiff rebuilds");
                    }
                    q.setString(1, at.previousId());
                    StoredResponse previous;
                    try (ResultSet rs = q.executeQuery()) {
                        previous = rs.next() ? row(rs) : null;
                    }
                    if (previous == null || !visible(previous.owner(), owner)) {
                        return new Found.Broken("it continues response '" + at.previousId() + "', which is no longer stored (it was deleted)");
                    }
                    at = previous;
                }
            }
            Collections.reverse(links);
            return new Found.Chain(legacy, List.copyOf(links));
        });
    }

    /**
     * Items of {@code owner}'s stored responses by their ids (output items, and the input items Skiff
     * gave ids), as JSON text; ids not found are absent from the map. For the Responses API's
     * {@code item_reference} inputs. The items live inside the stored JSON, so this reads through the
     * stored responses: fine for the references a request makes, not a lookup to put on a hot path.
     */
    public CompletableFuture<java.util.Map<String, String>> findItems(java.util.Collection<String> ids, String owner) {
        return call(() -> {
            flush();
            java.util.Map<String, String> found = new java.util.HashMap<>();
            String visible = "(r.owner IS ?2 OR (r.owner IS NULL AND ?3))";
            try (PreparedStatement q = db().prepareStatement(
                    "SELECT j.value FROM responses r, json_each(r.response, '$.output') j WHERE json_extract(j.value, '$.id') = ?1 AND "
                            + visible + " UNION ALL SELECT j.value FROM responses r, json_each(r.input_items) j "
                            + "WHERE json_extract(j.value, '$.id') = ?1 AND json_extract(j.value, '$.type') IS NOT 'item_reference' AND "
                            + visible + " LIMIT 1")) {
                bindOwner(q, 2, owner);
                for (String id : ids) {
                    if (found.containsKey(id)) continue;
                    q.setString(1, id);
                    try (ResultSet rs = q.executeQuery()) {
                        if (rs.next()) found.put(id, rs.getString(1));
                    }
                }
            }
            return found;
        });
    }

    private static final String CHARS = "length(response) + length(input_items) + coalesce(length(history), 0)";

    /**
     * The characters a stored response takes ({@code conversation}: together with every response it
     * continues), so that a reader can reserve memory for it before loading it; -1 when {@code owner}
     * has no such response.
     */
    public CompletableFuture<Long> size(String id, String owner, boolean conversation) {
        return call(() -> {
            flush();
            String sql = conversation
                    ? "WITH RECURSIVE chain(previous_id, chars, depth) AS (SELECT previous_id, " + CHARS + ", 1 FROM responses"
                            + " WHERE id = ? AND " + VISIBLE + " UNION ALL SELECT r.previous_id, length(r.response)"
                            + " + length(r.input_items) + coalesce(length(r.history), 0), c.depth + 1 FROM responses r"
                            + " JOIN chain c ON r.id = c.previous_id WHERE c.depth < " + MAX_CHAIN + ")"
                            + " SELECT count(*), coalesce(sum(chars), 0) FROM chain"
                    : "SELECT count(*), coalesce(sum(" + CHARS + "), 0) FROM responses WHERE id = ? AND " + VISIBLE;
            try (PreparedStatement q = db().prepareStatement(sql)) {
                q.setString(1, id);
                bindOwner(q, 2, owner);
                try (ResultSet rs = q.executeQuery()) {
                    rs.next();
                    return rs.getLong(1) == 0 ? -1L : rs.getLong(2);
                }
            }
        });
    }

    /** Completes with whether there was such a response that {@code owner} may delete. */
    public CompletableFuture<Boolean> delete(String id, String owner) {
        return call(() -> {
            try (PreparedStatement d = db().prepareStatement("DELETE FROM responses WHERE id = ? AND " + VISIBLE)) {
                d.setString(1, id);
                bindOwner(d, 2, owner);
                int n = d.executeUpdate();
                db.commit();
                return n > 0;
            }
        });
    }

    /** Deletes the conversations whose newest response has expired; completes with how many responses went. */
    public CompletableFuture<Integer> sweep() {
        return call(this::sweepNow);
    }

    // ---- on the store thread ----------------------------------------------------------------

    private static final String SELECT = "SELECT id, owner, created_at, provider, model, response, input_items, previous_id FROM responses";

    /**
     * Rows made before owners existed (schema 1) have none: the master key, or open serving, may read
     * them, so upgrading Skiff hides nothing from their makers; a tenant key never sees them.
     */
    private static final String VISIBLE = "(owner IS ? OR (owner IS NULL AND ?))";

    private static void bindOwner(PreparedStatement s, int at, String owner) throws SQLException {
        s.setString(at, owner);
        s.setBoolean(at + 1, owner == null || owner.equals(MASTER));
    }

    /** {@link #VISIBLE}, for a row already read. */
    private static boolean visible(String rowOwner, String owner) {
        if (rowOwner == null) return owner == null || owner.equals(MASTER);
        return rowOwner.equals(owner);
    }

    private Found head(String id, String owner) throws SQLException, IOException {
        flush();
        try (PreparedStatement q = db().prepareStatement(SELECT + " WHERE id = ? AND " + VISIBLE)) {
            q.setString(1, id);
            bindOwner(q, 2, owner);
            try (ResultSet rs = q.executeQuery()) {
                if (!rs.next()) return new Found.Absent();
                StoredResponse r = row(rs);
                if (r.createdAt() < nowSeconds() - ttlSeconds) return new Found.Expired(Duration.ofSeconds(ttlSeconds));
                return new Found.Chain(null, List.of(r));
            }
        }
    }

    private String legacyHistory(String id) throws SQLException, IOException {
        try (PreparedStatement q = db().prepareStatement("SELECT history FROM responses WHERE id = ?")) {
            q.setString(1, id);
            try (ResultSet rs = q.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    private static StoredResponse row(ResultSet rs) throws SQLException {
        return new StoredResponse(rs.getString(1), rs.getString(2), rs.getLong(3), rs.getString(4), rs.getString(5), rs.getString(6),
                rs.getString(7), rs.getString(8));
    }

    private static long nowSeconds() {
        return System.currentTimeMillis() / 1000;
    }

    private interface Work<T> {
        T run() throws SQLException, IOException;
    }

    private <T> CompletableFuture<T> call(Work<T> work) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return work.run();
            } catch (SQLException | IOException e) {
                throw new StoreException(e);
            }
        }, thread);
    }

    private void flushQuietly() {
        try {
            flush();
        } catch (SQLException | IOException | StoreException e) {
            System.err.println("skiff: could not save responses to " + target + ": " + e.getMessage());
        }
    }

    private void flush() throws SQLException, IOException {
        List<Pending> batch;
        synchronized (pending) {
            flushScheduled = false;
            if (pending.isEmpty()) return;
            batch = new ArrayList<>(pending);
            pending.clear();
        }
        try {
            Connection c = db();
            if (insert == null) {
                insert = c.prepareStatement("INSERT OR REPLACE INTO responses "
                        + "(id, owner, conversation, previous_id, created_at, provider, model, response, input_items) "
                        + "VALUES (?, ?, COALESCE((SELECT conversation FROM responses WHERE id = ?), ?), ?, ?, ?, ?, ?, ?)");
                touchConversation = c.prepareStatement("INSERT INTO conversations (id, last_used) "
                        + "SELECT conversation, created_at FROM responses WHERE id = ? AND TRUE "
                        + "ON CONFLICT (id) DO UPDATE SET last_used = max(last_used, excluded.last_used)");
            }
            PreparedStatement ins = insert, conv = touchConversation;
            try {
                // One at a time, not as a JDBC batch: a response continuing one saved in the same
                // batch finds that one's conversation.
                for (Pending p : batch) {
                    StoredResponse r = p.response();
                    ins.setString(1, r.id());
                    ins.setString(2, r.owner());
                    ins.setString(3, r.previousId());
                    ins.setString(4, r.id());
                    ins.setString(5, r.previousId());
                    ins.setLong(6, r.createdAt());
                    ins.setString(7, r.provider());
                    ins.setString(8, r.model());
                    ins.setString(9, r.response());
                    ins.setString(10, r.inputItems());
                    ins.executeUpdate();
                    conv.setString(1, r.id());
                    conv.executeUpdate();
                }
                c.commit();
            } catch (SQLException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException | IOException | RuntimeException e) {
            Handoff.batch(() -> batch.forEach(p -> p.committed().completeExceptionally(e)));
            throw e;
        }
        // Answers held for this commit resume with one wake-up per event loop (see Handoff).
        Handoff.batch(() -> batch.forEach(p -> p.committed().complete(null)));
    }

    private void sweepQuietly() {
        try {
            sweepNow();
        } catch (SQLException | IOException | StoreException e) {
            System.err.println("skiff: could not delete expired responses from " + target + ": " + e.getMessage());
        }
    }

    /**
     * A chunk at a time, each its own transaction, so that saves waiting behind a large sweep wait for
     * one chunk at most: the rest of the sweep is queued behind them.
     */
    private int sweepNow() throws SQLException, IOException {
        flush();
        Connection c = db();
        List<String> expired = new ArrayList<>();
        try (PreparedStatement q = c.prepareStatement("SELECT id FROM conversations WHERE last_used < ? ORDER BY last_used LIMIT ?")) {
            q.setLong(1, nowSeconds() - ttlSeconds);
            q.setInt(2, SWEEP_CHUNK);
            try (ResultSet rs = q.executeQuery()) {
                while (rs.next()) expired.add(rs.getString(1));
            }
        }
        if (expired.isEmpty()) return 0;
        int deleted = 0;
        try (PreparedStatement dr = c.prepareStatement("DELETE FROM responses WHERE conversation = ?");
             PreparedStatement dc = c.prepareStatement("DELETE FROM conversations WHERE id = ?")) {
            for (String id : expired) {
                dr.setString(1, id);
                deleted += dr.executeUpdate();
                dc.setString(1, id);
                dc.executeUpdate();
            }
            c.commit();
        } catch (SQLException e) {
            c.rollback();
            throw e;
        }
        if (expired.size() == SWEEP_CHUNK) thread.execute(this::sweepQuietly);
        return deleted;
    }

    private Connection db() throws SQLException, IOException {
        if (db != null) return db;
        if (!target.equals(":memory:")) {
            Path parent = Path.of(target).toAbsolutePath().getParent();
            try {
                if (parent != null) Files.createDirectories(parent);
            } catch (IOException e) {
                // The exceptions of java.nio name the path alone, which says nothing of what went wrong.
                throw new IOException("cannot create the folder " + parent + " (" + e.getClass().getSimpleName() + ")", e);
            }
        }
        Connection c = DriverManager.getConnection("jdbc:sqlite:" + target);
        try {
            try (Statement s = c.createStatement()) {
                // WAL: readers in other processes (backups, the dashboard) never block this writer.
                if (!target.equals(":memory:")) s.execute("PRAGMA journal_mode=WAL");
                // A commit reaches the WAL file (the OS's cache) before a save's future completes, which
                // is what a process crash cannot undo; FULL would also fsync every commit, for the
                // machine losing power, at the cost of a disk flush per batch.
                s.execute("PRAGMA synchronous=NORMAL");
                // Writes are appends and reads are by key: a small page cache serves both, and the
                // default (2 MB) would sit in the gateway's resident memory for nothing.
                s.execute("PRAGMA cache_size=-512");
            }
            c.setAutoCommit(false);
            migrate(c);
        } catch (SQLException | RuntimeException e) {
            c.close();
            throw e;
        }
        db = c;
        return c;
    }

    /**
     * Brings the schema to {@link #SCHEMA_VERSION}, in one transaction.
     *
     * <p>Schema 1 (no version table) kept in each row the whole conversation before it
     * ({@code history}), so the rows of a long conversation grew with its square. Schema 2 keeps each
     * response's own items with a link to the one it continues, an owner, and the conversation it
     * belongs to for expiry. Rows of schema 1 are copied as they are: each becomes the start of its own
     * conversation, its {@code history} kept and read before its input when a follow-up continues it.
     */
    static void migrate(Connection c) throws SQLException {
        int version;
        try (Statement s = c.createStatement()) {
            if (tableExists(c, "schema_version")) {
                try (ResultSet rs = s.executeQuery("SELECT max(version) FROM schema_version")) {
                    version = rs.next() ? rs.getInt(1) : 0;
                }
            } else {
                version = tableExists(c, "responses") ? 1 : 0;
            }
            if (version == SCHEMA_VERSION) return;
            if (version > SCHEMA_VERSION) {
                throw new StoreException(new SQLException("the database was written by a newer Skiff (schema " + version
                        + "); this one reads schema " + SCHEMA_VERSION + " and older"));
            }
            String create = "CREATE TABLE %s (id TEXT PRIMARY KEY, owner TEXT, conversation TEXT NOT NULL, previous_id TEXT, "
                    + "created_at INTEGER NOT NULL, provider TEXT, model TEXT, response TEXT NOT NULL, input_items TEXT NOT NULL, "
                    + "history TEXT)";
            try {
                if (version == 0) {
                    s.execute(create.formatted("responses"));
                } else {
                    s.execute(create.formatted("responses_v2"));
                    s.execute("INSERT INTO responses_v2 (id, owner, conversation, previous_id, created_at, provider, model, response, "
                            + "input_items, history) SELECT id, NULL, id, NULL, created_at, provider, model, response, input_items, "
                            + "NULLIF(history, '[]') FROM responses");
                    s.execute("DROP TABLE responses");
                    s.execute("ALTER TABLE responses_v2 RENAME TO responses");
                }
                s.execute("CREATE TABLE conversations (id TEXT PRIMARY KEY, last_used INTEGER NOT NULL)");
                s.execute("INSERT INTO conversations (id, last_used) SELECT conversation, max(created_at) FROM responses GROUP BY conversation");
                s.execute("CREATE INDEX conversations_by_last_used ON conversations (last_used)");
                s.execute("CREATE INDEX responses_by_conversation ON responses (conversation)");
                s.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
                s.execute("DELETE FROM schema_version");
                s.execute("INSERT INTO schema_version (version) VALUES (" + SCHEMA_VERSION + ")");
                c.commit();
            } catch (SQLException e) {
                c.rollback();
                throw e;
            }
        }
    }

    private static boolean tableExists(Connection c, String name) throws SQLException {
        try (PreparedStatement q = c.prepareStatement("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")) {
            q.setString(1, name);
            try (ResultSet rs = q.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** Writes what is queued, then closes the database. */
    @Override
    public void close() {
        thread.execute(() -> {
            flushQuietly();
            try {
                if (db != null) db.close();
            } catch (SQLException e) {
                System.err.println("skiff: closing " + target + ": " + e.getMessage());
            }
        });
        thread.shutdown();
        try {
            if (!thread.awaitTermination(10, TimeUnit.SECONDS)) System.err.println("skiff: the response store did not finish writing");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A database failure, reported to the client as a server error. */
    public static final class StoreException extends RuntimeException {
        StoreException(Exception cause) {
            super(cause.getMessage(), cause);
        }
    }
}
