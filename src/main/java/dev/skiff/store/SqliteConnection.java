package dev.skiff.store;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLTimeoutException;
import java.util.Properties;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * The one SQLite connection of a {@link Database}, lent to one caller at a time (SQLite has one writer
 * anyway, and a single connection avoids SQLITE_BUSY between our own threads). What a pool of one
 * did, without a pool library: a borrower waits up to 30 s, and closing what it was lent gives the
 * connection back (a transaction left open is rolled back first). The driver is called directly, not
 * through {@code DriverManager}, which would load every JDBC driver on the class path (pgjdbc).
 */
final class SqliteConnection implements Database.Source {
    private static final long WAIT_SECONDS = 30;

    private final String url;
    private final Semaphore turn = new Semaphore(1, true);
    private Connection real; // guarded by turn
    private volatile boolean closed;

    SqliteConnection(String url) {
        this.url = url;
    }

    @Override
    public Connection connection() throws SQLException {
        if (closed) throw new SQLException("the database is closed");
        try {
            if (!turn.tryAcquire(WAIT_SECONDS, TimeUnit.SECONDS)) {
                throw new SQLTimeoutException("the SQLite connection was not free within " + WAIT_SECONDS + " s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SQLException("interrupted while waiting for the SQLite connection", e);
        }
        try {
            if (closed) throw new SQLException("the database is closed");
            if (real == null || real.isClosed()) real = org.sqlite.JDBC.createConnection(url, settings());
            return lend(real);
        } catch (SQLException | RuntimeException e) {
            turn.release();
            throw e;
        }
    }

    /**
     * The driver's settings. Generated keys are off: nothing here reads them, and the driver would
     * otherwise match every statement against a regular expression and, after each INSERT, prepare
     * and run {@code SELECT last_insert_rowid()}: 13% of the response store's thread and 7% of the
     * usage writer's in a profile under load.
     */
    static Properties settings() {
        Properties p = new Properties();
        p.setProperty("jdbc.get_generated_keys", "false");
        return p;
    }

    /** A view of the connection whose close() gives it back instead of closing it. */
    private Connection lend(Connection c) {
        return new LentConnection(c, () -> {
            try {
                if (!c.isClosed() && !c.getAutoCommit()) {
                    c.rollback();
                    c.setAutoCommit(true);
                }
            } catch (SQLException e) {
                // A connection that cannot be reset is dropped; the next borrower opens a new one.
                try {
                    c.close();
                } catch (SQLException ignored) {
                    // already broken
                }
            } finally {
                turn.release();
            }
        });
    }

    @Override
    public void close() {
        closed = true;
        try {
            if (!turn.tryAcquire(2, TimeUnit.SECONDS)) return; // a borrower still holds it; the process is stopping
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        try {
            if (real != null) real.close();
        } catch (SQLException ignored) {
            // closing anyway
        } finally {
            real = null;
            turn.release();
        }
    }
}
