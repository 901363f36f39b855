package dev.skiff.store;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The control plane's relational store: the embedded SQLite file by default, PostgreSQL when several
 * replicas share state. One class hides the difference that matters to callers (how to connect); SQL
 * that differs between the two lives in per-kind migration files.
 *
 * <p>Every call blocks on JDBC, so it is made from a store thread, never from an event loop.
 *
 * <p><b>Migrations</b> are grouped by module (keys, usage, limits ...), so that each concern owns its
 * tables and numbers its own versions: {@code db/<kind>/<module>/<NNN>_<what>.sql} on the class path,
 * listed in {@code db/<kind>/<module>/index} (one file name per line, in order: the class path cannot
 * be listed). Applied versions are recorded in {@code skiff_migrations}; a file is applied once, in
 * one transaction with its record, so a crash mid-migration leaves the old schema. On PostgreSQL an
 * advisory lock serialises replicas that start together.
 *
 * <p><b>One pool per database.</b> The stores that share a database (keys, limits, usage) each open
 * it, and each gets a handle on the same pool (HikariCP on PostgreSQL, the one connection on SQLite): a second pool would hold a second set of
 * PostgreSQL connections (each a server process) for no gain. The pool closes with its last handle.
 * {@code :memory:} is never shared: each opening is a database of its own.
 */
public final class Database implements AutoCloseable {
    /** Which engine a database runs on. */
    public enum Kind {
        SQLITE, POSTGRES;

        String folder() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Where connections come from: a pool for PostgreSQL, the one connection for SQLite. */
    interface Source extends AutoCloseable {
        Connection connection() throws SQLException;

        @Override
        void close();
    }

    /** A pool and how many open handles use it. */
    private static final class Shared {
        final String key;
        final Kind kind;
        final String name;
        final Source pool;
        int handles; // guarded by OPEN

        Shared(String key, Kind kind, String name, Source pool) {
            this.key = key;
            this.kind = kind;
            this.name = name;
            this.pool = pool;
        }
    }

    /** The pools open now, by database (JDBC URL, or absolute SQLite path). */
    private static final java.util.Map<String, Shared> OPEN = new java.util.HashMap<>();
    private static final java.util.concurrent.atomic.AtomicInteger POOLS_MADE = new java.util.concurrent.atomic.AtomicInteger();

    private final Kind kind;
    private final Shared shared;
    private final Source pool;
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

    private Database(Shared shared) {
        this.shared = shared;
        this.kind = shared.kind;
        this.pool = shared.pool;
    }

    /**
     * @param url a PostgreSQL URL ({@code postgres://user@host:port/db}, {@code postgresql://...} or
     *            {@code jdbc:postgresql://...}), else an SQLite file path or {@code :memory:}
     */
    public static Database open(String url) throws SQLException, IOException {
        return open(url, 0);
    }

    /**
     * As {@link #open(String)}; an SQLite file created by this call gets pages of {@code sqlitePageSize}
     * bytes (0: SQLite's 4096). An existing file keeps the size it has: WAL mode fixes it.
     */
    public static Database open(String url, int sqlitePageSize) throws SQLException, IOException {
        String jdbc = postgresJdbcUrl(url);
        String key = jdbc != null ? jdbc : url.equals(":memory:") ? null : Path.of(url).toAbsolutePath().normalize().toString();
        synchronized (OPEN) {
            Shared s = key == null ? null : OPEN.get(key);
            if (s == null) {
                s = create(url, jdbc, key, sqlitePageSize);
                if (key != null) OPEN.put(key, s);
            }
            s.handles++;
            return new Database(s);
        }
    }

    /** How many pools are open on the database of {@code url} (0 or 1; :memory: databases are not counted). */
    public static int poolsOpen(String url) {
        String jdbc = postgresJdbcUrl(url);
        String key = jdbc != null ? jdbc : Path.of(url).toAbsolutePath().normalize().toString();
        synchronized (OPEN) {
            Shared s = OPEN.get(key);
            return s == null ? 0 : 1;
        }
    }

    /** Pools made since the process started (each one a set of connections of its own). */
    public static int poolsMade() {
        return POOLS_MADE.get();
    }

    /** Whether this handle and {@code other} use one pool. */
    public boolean sharesPoolWith(Database other) {
        return other != null && other.pool == pool;
    }

    /** The PostgreSQL application name of this pool's connections (pg_stat_activity), unique per pool. */
    public String applicationName() {
        return shared.name;
    }

    private static Shared create(String url, String jdbc, String key, int sqlitePageSize) throws SQLException, IOException {
        // Unique per process and pool: PostgreSQL shows it as each connection's application_name.
        String name = "skiff-db-" + ProcessHandle.current().pid() + "-" + POOLS_MADE.incrementAndGet();
        // Hikari and pgjdbc are loaded only here: an SQLite start-up does not pay for their classes.
        if (jdbc != null) return new Shared(key, Kind.POSTGRES, name, PostgresPool.open(jdbc, name));
        if (!url.equals(":memory:")) {
            Path parent = Path.of(url).toAbsolutePath().getParent();
            if (parent != null) Files.createDirectories(parent);
        }
        // SQLite: one writer at a time anyway; a single connection kept open avoids SQLITE_BUSY between
        // our own threads, and is what keeps a :memory: database alive.
        SqliteConnection one = new SqliteConnection(
                "jdbc:sqlite:" + (url.equals(":memory:") ? "file:skiff-" + System.nanoTime() + "?mode=memory&cache=shared" : url));
        try (Connection conn = one.connection(); Statement s = conn.createStatement()) {
            s.execute("PRAGMA busy_timeout=5000");
            // before WAL mode: turning it on writes the new file's header, page size and all
            if (sqlitePageSize > 0) s.execute("PRAGMA page_size=" + sqlitePageSize);
            if (!url.equals(":memory:")) s.execute("PRAGMA journal_mode=WAL");
            s.execute("PRAGMA synchronous=NORMAL");
            s.execute("PRAGMA foreign_keys=ON");
        } catch (SQLException | RuntimeException e) {
            one.close();
            throw e;
        }
        return new Shared(key, Kind.SQLITE, name, one);
    }

    /** The JDBC form of a PostgreSQL URL, or null when {@code url} names no PostgreSQL database. */
    static String postgresJdbcUrl(String url) {
        String u = url.strip();
        if (u.startsWith("jdbc:postgresql:")) return u;
        for (String scheme : new String[] {"postgres://", "postgresql://"}) {
            if (u.startsWith(scheme)) return toJdbc(u.substring(scheme.length()));
        }
        return null;
    }

    /** {@code user:password@host:port/db?opts} to pgjdbc's form, credentials as parameters. */
    private static String toJdbc(String rest) {
        String credentials = null;
        int at = rest.lastIndexOf('@', rest.indexOf('/') < 0 ? rest.length() : rest.indexOf('/'));
        if (at >= 0) {
            credentials = rest.substring(0, at);
            rest = rest.substring(at + 1);
        }
        StringBuilder jdbc = new StringBuilder("jdbc:postgresql://").append(rest);
        if (credentials != null && !credentials.isEmpty()) {
            int colon = credentials.indexOf(':');
            String user = colon < 0 ? credentials : credentials.substring(0, colon);
            jdbc.append(rest.contains("?") ? '&' : '?').append("user=").append(user);
            if (colon >= 0) jdbc.append("&password=").append(credentials.substring(colon + 1));
        }
        return jdbc.toString();
    }

    public Kind kind() {
        return kind;
    }

    /** A connection from the pool; the caller closes it. Blocks: never call from an event loop. */
    public Connection connection() throws SQLException {
        return pool.connection();
    }

    /** Work done on one connection inside a transaction. */
    @FunctionalInterface
    public interface Transaction {
        void run(Connection c) throws SQLException;
    }

    /** Runs {@code work} in one transaction: committed when it returns, rolled back when it throws. Blocks. */
    public void inTransaction(Transaction work) throws SQLException {
        try (Connection c = connection()) {
            c.setAutoCommit(false);
            try {
                work.run(c);
                c.commit();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            } finally {
                c.setAutoCommit(true);
            }
        }
    }

    /**
     * Applies {@code module}'s migrations not yet applied, in order.
     *
     * @return how many were applied now
     */
    public int migrate(String module) throws SQLException, IOException {
        String folder = "db/" + kind.folder() + "/" + module + "/";
        List<String> files = index(folder);
        try (Connection c = connection()) {
            c.setAutoCommit(false);
            try {
                try (Statement s = c.createStatement()) {
                    if (kind == Kind.POSTGRES) s.execute("SELECT pg_advisory_xact_lock(7357001)");
                    s.execute("CREATE TABLE IF NOT EXISTS skiff_migrations (module VARCHAR(64) NOT NULL, version INTEGER NOT NULL, "
                            + "name VARCHAR(200) NOT NULL, applied_at BIGINT NOT NULL, PRIMARY KEY (module, version))");
                }
                int applied = 0;
                for (String file : files) {
                    int version = version(folder, file);
                    try (PreparedStatement q = c.prepareStatement("SELECT 1 FROM skiff_migrations WHERE module = ? AND version = ?")) {
                        q.setString(1, module);
                        q.setInt(2, version);
                        try (ResultSet rs = q.executeQuery()) {
                            if (rs.next()) continue;
                        }
                    }
                    try (Statement s = c.createStatement()) {
                        for (String sql : statements(read(folder + file))) s.execute(sql);
                    }
                    try (PreparedStatement r = c.prepareStatement("INSERT INTO skiff_migrations (module, version, name, applied_at) VALUES (?, ?, ?, ?)")) {
                        r.setString(1, module);
                        r.setInt(2, version);
                        r.setString(3, file);
                        r.setLong(4, System.currentTimeMillis());
                        r.executeUpdate();
                    }
                    applied++;
                }
                c.commit();
                return applied;
            } catch (SQLException | IOException | RuntimeException e) {
                c.rollback();
                throw e;
            } finally {
                c.setAutoCommit(true);
            }
        }
    }

    static List<String> index(String folder) throws IOException {
        List<String> files = new ArrayList<>();
        for (String line : read(folder + "index").split("\n")) {
            String name = line.strip();
            if (!name.isEmpty() && !name.startsWith("#")) files.add(name);
        }
        return files;
    }

    static int version(String folder, String file) throws IOException {
        int underscore = file.indexOf('_');
        try {
            return Integer.parseInt(file.substring(0, underscore < 0 ? file.length() : underscore));
        } catch (NumberFormatException e) {
            throw new IOException("migration " + folder + file + " does not start with its version number (NNN_what.sql)");
        }
    }

    static String read(String resource) throws IOException {
        try (InputStream in = Database.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) throw new IOException("missing resource " + resource);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** {@link #statements}, for tests that build an older schema from its migration file. */
    public static List<String> statementsOf(String script) {
        return statements(script);
    }

    /** Splits a migration file on semicolons that end a line; lines starting with -- are comments. */
    static List<String> statements(String script) {
        List<String> out = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String line : script.split("\n")) {
            String t = line.strip();
            if (t.startsWith("--") || t.isEmpty()) continue;
            current.append(line).append('\n');
            if (t.endsWith(";")) {
                String sql = current.toString().strip();
                out.add(sql.substring(0, sql.length() - 1));
                current.setLength(0);
            }
        }
        if (!current.toString().isBlank()) out.add(current.toString().strip());
        return out;
    }

    /** Lets go of this handle; the pool closes with the last one. Closing twice does nothing more. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) return;
        synchronized (OPEN) {
            if (--shared.handles > 0) return;
            if (shared.key != null) OPEN.remove(shared.key, shared);
        }
        pool.close();
    }
}
