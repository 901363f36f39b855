package dev.skiff.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MultiRowInsertTest {
    private record Pair(int a, String b) {}

    private static final MultiRowInsert<Pair> INSERT = new MultiRowInsert<>("INSERT INTO t (a, b) VALUES ", 2, 4);

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 3, 4, 5, 8, 11})
    void everyRowLandsOnceWithItsOwnValues(int count) throws Exception {
        try (Database db = Database.open(":memory:"); Connection c = db.connection()) {
            try (Statement s = c.createStatement()) {
                s.execute("CREATE TABLE t (a INTEGER NOT NULL, b TEXT NOT NULL)");
            }
            List<Pair> rows = IntStream.range(0, count).mapToObj(i -> new Pair(i, "row" + i)).toList();
            INSERT.insert(c, rows, MultiRowInsertTest::bind);
            assertRowsAre(c, count);
        }
    }

    @org.junit.jupiter.api.Test
    void batchesAfterBatchOnOneConnectionReuseItsStatementsAndKeepEveryRow() throws Exception {
        try (Database db = Database.open(":memory:"); Connection c = db.connection()) {
            try (Statement s = c.createStatement()) {
                s.execute("CREATE TABLE t (a INTEGER NOT NULL, b TEXT NOT NULL)");
            }
            int next = 0;
            for (int count : new int[] {7, 3, 11, 1, 4, 7, 0, 9}) { // sizes the kept statements must combine into
                List<Pair> rows = IntStream.range(next, next + count).mapToObj(i -> new Pair(i, "row" + i)).toList();
                INSERT.insert(c, rows, MultiRowInsertTest::bind);
                next += count;
            }
            assertRowsAre(c, next);
        }
    }

    private static void bind(java.sql.PreparedStatement st, int first, Pair p) throws java.sql.SQLException {
        st.setInt(first, p.a());
        st.setString(first + 1, p.b());
    }

    /** Rows 0 .. count-1, each once with its own values, in table t. */
    private static void assertRowsAre(Connection c, int count) throws java.sql.SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT a, b FROM t ORDER BY a")) {
            int seen = 0;
            while (rs.next()) {
                assertThat(rs.getInt(1)).isEqualTo(seen);
                assertThat(rs.getString(2)).isEqualTo("row" + seen);
                seen++;
            }
            assertThat(seen).isEqualTo(count);
        }
    }
}
