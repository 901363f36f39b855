package dev.skiff.store;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Stored Responses API answers in the embedded SQLite database. Event loops never touch the
 * database: saves are queued and written in batches, one transaction per batch, and reads complete a
 * future, all on one store thread. Because that thread also runs the reads, a read always sees every
 * save queued before it, so a follow-up sent right after an answer finds it. The database is opened
 * on first use, not at start-up. Closing writes what is still queued.
 */
public final class ResponseStore implements AutoCloseable {
    private final String target;
    private final ExecutorService thread = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform()
            .name("skiff-store").daemon(true).unstarted(r));
    private final List<StoredResponse> pending = new ArrayList<>();
    private boolean flushScheduled;
    private Connection db;

    /** @param target a file path, or {@code :memory:} for a database that lives as long as the process */
    public ResponseStore(String target) {
        this.target = target;
    }

    /** Queues a save; never blocks the caller. */
    public void save(StoredResponse r) {
        synchronized (pending) {
            pending.add(r);
            if (flushScheduled) return;
            flushScheduled = true;
        }
        thread.execute(this::flushQuietly);
    }

    public CompletableFuture<Optional<StoredResponse>> find(String id) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                flush();
                try (PreparedStatement q = db().prepareStatement(
                        "SELECT id, created_at, provider, model, response, input_items, history FROM responses WHERE id = ?")) {
                    q.setString(1, id);
                    try (ResultSet rs = q.executeQuery()) {
                        if (!rs.next()) return Optional.empty();
                        return Optional.of(new StoredResponse(rs.getString(1), rs.getLong(2), rs.getString(3), rs.getString(4),
                                rs.getString(5), rs.getString(6), rs.getString(7)));
                    }
                }
            } catch (SQLException | IOException e) {
                throw new StoreException(e);
            }
        }, thread);
    }

    /**
     * Items of stored responses by their ids (output items, and the input items Skiff gave ids), as
     * JSON text; ids not found are absent from the map. For the Responses API's {@code item_reference}
     * inputs. The items live inside the stored JSON, so this reads through every stored response:
     * fine for the references a request makes, not a lookup to put on a hot path.
     */
    public CompletableFuture<java.util.Map<String, String>> findItems(java.util.Collection<String> ids) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                flush();
                java.util.Map<String, String> found = new java.util.HashMap<>();
                try (PreparedStatement q = db().prepareStatement(
                        "SELECT j.value FROM responses r, json_each(r.response, '$.output') j WHERE json_extract(j.value, '$.id') = ?1 "
                                + "UNION ALL SELECT j.value FROM responses r, json_each(r.input_items) j "
                                + "WHERE json_extract(j.value, '$.id') = ?1 AND json_extract(j.value, '$.type') IS NOT 'item_reference' LIMIT 1")) {
                    for (String id : ids) {
                        if (found.containsKey(id)) continue;
                        q.setString(1, id);
                        try (ResultSet rs = q.executeQuery()) {
                            if (rs.next()) found.put(id, rs.getString(1));
                        }
                    }
                }
                return found;
            } catch (SQLException | IOException e) {
                throw new StoreException(e);
            }
        }, thread);
    }

    /** Completes with whether there was such a response. */
    public CompletableFuture<Boolean> delete(String id) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                flush();
                try (PreparedStatement d = db().prepareStatement("DELETE FROM responses WHERE id = ?")) {
                    d.setString(1, id);
                    return d.executeUpdate() > 0;
                }
            } catch (SQLException | IOException e) {
                throw new StoreException(e);
            }
        }, thread);
    }

    private void flushQuietly() {
        try {
            flush();
        } catch (SQLException | IOException e) {
            System.err.println("skiff: could not save responses to " + target + ": " + e.getMessage());
        }
    }

    private void flush() throws SQLException, IOException {
        List<StoredResponse> batch;
        synchronized (pending) {
            flushScheduled = false;
            if (pending.isEmpty()) return;
            batch = new ArrayList<>(pending);
            pending.clear();
        }
        Connection c = db();
        try (PreparedStatement ins = c.prepareStatement("INSERT OR REPLACE INTO responses "
                + "(id, created_at, provider, model, response, input_items, history) VALUES (?, ?, ?, ?, ?, ?, ?)")) {
            for (StoredResponse r : batch) {
                ins.setString(1, r.id());
                ins.setLong(2, r.createdAt());
                ins.setString(3, r.provider());
                ins.setString(4, r.model());
                ins.setString(5, r.response());
                ins.setString(6, r.inputItems());
                ins.setString(7, r.history());
                ins.addBatch();
            }
            ins.executeBatch();
            c.commit();
        } catch (SQLException e) {
            c.rollback();
            throw e;
        }
    }

    private Connection db() throws SQLException, IOException {
        if (db != null) return db;
        if (!target.equals(":memory:")) {
            Path parent = Path.of(target).toAbsolutePath().getParent();
            if (parent != null) Files.createDirectories(parent);
        }
        Connection c = DriverManager.getConnection("jdbc:sqlite:" + target);
        try (Statement s = c.createStatement()) {
            // WAL: readers in other processes (backups, the dashboard) never block this writer.
            if (!target.equals(":memory:")) s.execute("PRAGMA journal_mode=WAL");
            s.execute("PRAGMA synchronous=NORMAL");
            // Writes are appends and reads are by key: a small page cache serves both, and the
            // default (2 MB) would sit in the gateway's resident memory for nothing.
            s.execute("PRAGMA cache_size=-512");
            s.execute("CREATE TABLE IF NOT EXISTS responses (id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, "
                    + "provider TEXT, model TEXT, response TEXT NOT NULL, input_items TEXT NOT NULL, history TEXT NOT NULL)");
        }
        c.setAutoCommit(false);
        db = c;
        return c;
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
