package dev.skiff.control.keys;

import dev.skiff.store.TestDatabases;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.UUID;

/** A fresh schema in the real test PostgreSQL, so that parallel tests and helpers never share tables. */
public final class PostgresSchema implements AutoCloseable {
    public final String name = "keys_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);

    public PostgresSchema() throws Exception {
        exec("CREATE SCHEMA " + name);
    }

    /** A database URL whose tables land in this schema. */
    public String url() {
        String base = TestDatabases.postgresUrl();
        return base + (base.contains("?") ? "&" : "?") + "currentSchema=" + name;
    }

    /** Runs a statement against the test database (tables named with this schema). */
    public void execute(String sql) throws Exception {
        exec(sql);
    }

    private static void exec(String sql) throws Exception {
        String jdbc = dev.skiff.store.DatabaseAccess.jdbc(TestDatabases.postgresUrl());
        try (Connection c = DriverManager.getConnection(jdbc); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    @Override
    public void close() throws Exception {
        exec("DROP SCHEMA IF EXISTS " + name + " CASCADE");
    }
}
