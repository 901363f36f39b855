package dev.skiff.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatabaseTest {
    @TempDir Path dir;

    @Test
    void postgresUrlsBecomeJdbcUrlsWithCredentialsAsParameters() {
        assertThat(Database.postgresJdbcUrl("postgres://skiff:s3cret@db.internal:5433/gw"))
                .isEqualTo("jdbc:postgresql://db.internal:5433/gw?user=skiff&password=s3cret");
        assertThat(Database.postgresJdbcUrl("postgresql://root@127.0.0.1/test?sslmode=disable"))
                .isEqualTo("jdbc:postgresql://127.0.0.1/test?sslmode=disable&user=root");
        assertThat(Database.postgresJdbcUrl("jdbc:postgresql://h/d")).isEqualTo("jdbc:postgresql://h/d");
        assertThat(Database.postgresJdbcUrl("data/skiff.db")).isNull();
    }

    @Test
    void scriptsSplitOnLineEndingSemicolonsAndSkipComments() {
        assertThat(Database.statements("-- a table\nCREATE TABLE a (x TEXT DEFAULT ';');\n\nCREATE INDEX i\n  ON a (x);\n"))
                .containsExactly("CREATE TABLE a (x TEXT DEFAULT ';')", "CREATE INDEX i\n  ON a (x)");
    }

    @Test
    void sqliteMigrationsApplyOnceAndSurviveReopening() throws Exception {
        String file = dir.resolve("sub/skiff.db").toString();
        try (Database db = Database.open(file)) {
            assertThat(db.kind()).isEqualTo(Database.Kind.SQLITE);
            assertThat(db.migrate("selftest")).isEqualTo(2);
            assertThat(db.migrate("selftest")).isZero();
            insertAndCount(db, 1);
        }
        try (Database db = Database.open(file)) {
            assertThat(db.migrate("selftest")).isZero();
            insertAndCount(db, 2);
        }
    }

    @Test
    void aFailingMigrationLeavesNothingApplied() throws Exception {
        try (Database db = Database.open(":memory:")) {
            assertThatThrownBy(() -> db.migrate("selftest-broken")).isInstanceOf(java.sql.SQLException.class);
            try (Connection c = db.connection(); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'")) {
                rs.next();
                assertThat(rs.getInt(1)).isZero();
            }
        }
    }

    @Test
    void postgresMigrationsApplyOnce() throws Exception {
        // A schema of its own: the shared database's public schema keeps no tables of ours.
        try (var schema = new dev.skiff.control.keys.PostgresSchema(); Database db = Database.open(schema.url())) {
            assertThat(db.kind()).isEqualTo(Database.Kind.POSTGRES);
            assertThat(db.migrate("selftest")).isEqualTo(2);
            assertThat(db.migrate("selftest")).isZero();
            insertAndCount(db, 1);
        }
    }

    private static void insertAndCount(Database db, int expected) throws Exception {
        try (Connection c = db.connection(); Statement s = c.createStatement()) {
            s.execute("INSERT INTO selftest_things (name, size) VALUES ('x', 1)");
            try (ResultSet rs = s.executeQuery("SELECT count(*) FROM selftest_things")) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(expected);
            }
        }
    }
}
