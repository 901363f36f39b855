package dev.skiff.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The SQLite connection as SqliteConnection lends it: closing gives it back, and ends the borrower's use. */
class LentConnectionTest {
    @TempDir Path dir;

    @Test
    void closingGivesItBackRollingBackAnOpenTransactionAndLaterCallsFail() throws Exception {
        SqliteConnection one = new SqliteConnection("jdbc:sqlite:" + dir.resolve("lent.db"));
        try {
            try (Connection c = one.connection(); Statement s = c.createStatement()) {
                s.execute("CREATE TABLE t (x INTEGER)");
            }
            Connection first = one.connection();
            first.setAutoCommit(false);
            try (Statement s = first.createStatement()) {
                s.execute("INSERT INTO t VALUES (1)");
            }
            first.close();
            first.close(); // a second close is a no-op, not a second give-back
            assertThat(first.isClosed()).isTrue();
            assertThatThrownBy(first::createStatement).isInstanceOf(SQLException.class).hasMessageContaining("given back");

            // The next borrower gets the connection at once, in autocommit, without the uncommitted row.
            try (Connection next = one.connection(); Statement s = next.createStatement();
                 ResultSet rs = s.executeQuery("SELECT count(*) FROM t")) {
                assertThat(next.isClosed()).isFalse();
                assertThat(next.getAutoCommit()).isTrue();
                rs.next();
                assertThat(rs.getInt(1)).isZero();
            }
        } finally {
            one.close();
        }
    }
}
