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

    private final Kind kind;
    private final Source pool;

    private Database(Kind kind, Source pool) {
        this.kind = kind;
        this.pool = pool;
    }

    /**
     * @param url a PostgreSQL URL ({@code postgres://user@host:port/db}, {@code postgresql://...} or
     *            {@code jdbc:postgresql://...}), else an SQLite file path or {@code :memory:}
     */
    public static Database open(String url) throws SQLException, IOException {
        String jdbc = postgresJdbcUrl(url);
        // Hikari and pgjdbc are loaded only here: an SQLite start-up does not pay for their classes.
        if (jdbc != null) return new Database(Kind.POSTGRES, PostgresPool.open(jdbc));
        if (!url.equals(":memory:")) {
            Path parent = Path.of(url).toAbsolutePath().getParent();
            if (parent != null) Files.createDirectories(parent);
        }
        // SQLite: one writer at a time anyway; a single connection kept open avoids SQLITE_BUSY between
        // our own threads, and is what keeps a :memory: database alive.
        SqliteConnection one = new SqliteConnection(
                "jdbc:sqlite:" + (url.equals(":memory:") ? "file:skiff-" + System.nanoTime() + "?mode=memory&cache=shared" : url));
        Database db = new Database(Kind.SQLITE, one);
        try (Connection conn = db.connection(); Statement s = conn.createStatement()) {
            s.execute("PRAGMA busy_timeout=5000");
            if (!url.equals(":memory:")) s.execute("PRAGMA journal_mode=WAL");
            s.execute("PRAGMA synchronous=NORMAL");
            s.execute("PRAGMA foreign_keys=ON");
        } catch (SQLException | RuntimeException e) {
            db.close();
            throw e;
        }
        return db;
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

    private static List<String> index(String folder) throws IOException {
        List<String> files = new ArrayList<>();
        for (String line : read(folder + "index").split("\n")) {
            String name = line.strip();
            if (!name.isEmpty() && !name.startsWith("#")) files.add(name);
        }
        return files;
    }

    private static int version(String folder, String file) throws IOException {
        int underscore = file.indexOf('_');
        try {
            return Integer.parseInt(file.substring(0, underscore < 0 ? file.length() : underscore));
        } catch (NumberFormatException e) {
            throw new IOException("migration " + folder + file + " does not start with its version number (NNN_what.sql)");
        }
    }

    private static String read(String resource) throws IOException {
        try (InputStream in = Database.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) throw new IOException("missing resource " + resource);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
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

    @Override
    public void close() {
        pool.close();
    }
}
