package dev.skiff.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.SQLException;

/** PostgreSQL connections from a Hikari pool: a class of its own so that SQLite start-ups never load Hikari or pgjdbc. */
final class PostgresPool implements Database.Source {
    /** Hikari reports every pool start and stop at INFO; only its warnings are news. Held: JUL keeps loggers weakly. */
    private static final java.util.logging.Logger HIKARI_LOG = java.util.logging.Logger.getLogger("com.zaxxer.hikari");

    static {
        HIKARI_LOG.setLevel(java.util.logging.Level.WARNING);
    }

    private final HikariDataSource pool;

    private PostgresPool(HikariDataSource pool) {
        this.pool = pool;
    }

    /** @param name the pool's name, also each connection's PostgreSQL application_name */
    static PostgresPool open(String jdbcUrl, String name) {
        HikariConfig c = new HikariConfig();
        c.setPoolName(name);
        c.addDataSourceProperty("ApplicationName", name);
        // Connections are opened on first use (store threads), never at start-up.
        c.setInitializationFailTimeout(-1);
        c.setMinimumIdle(0);
        c.setJdbcUrl(jdbcUrl);
        c.setMaximumPoolSize(8);
        c.setConnectionTimeout(5_000);
        return new PostgresPool(new HikariDataSource(c));
    }

    @Override
    public Connection connection() throws SQLException {
        return pool.getConnection();
    }

    @Override
    public void close() {
        pool.close();
    }
}
