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

    private record Wide(long id, String kind, String tag, Long n, int flag, byte[] blob) {}

    /** Value 0 always bound; kind, tag, n and flag may be bound once a statement; flag may be the literal 0; blob never shared. */
    private static final MultiRowInsert<Wide> WIDE = new MultiRowInsert<>("INSERT INTO w (id, kind, tag, n, flag, blob) VALUES ",
            new String[] {null, null, null, null, "0", null}, new String[6], 0b111110L, 8);

    /**
     * Rows whose values are alike across a statement's rows (bound once), unlike, NULL, literals, in
     * batches whose statements take more forms than are kept: every value reads back as the row had it,
     * of the same SQLite type as when each row binds its own.
     */
    @org.junit.jupiter.api.Test
    void valuesAlikeInEveryRowOfAStatementAreBoundOnceAndReadBackAsTheRowsHadThem() throws Exception {
        try (Database db = Database.open(":memory:"); Connection c = db.connection()) {
            try (Statement s = c.createStatement()) {
                s.execute("CREATE TABLE w (id INTEGER NOT NULL, kind TEXT, tag TEXT, n BIGINT, flag INTEGER NOT NULL, blob BLOB)");
            }
            java.util.List<Wide> all = new java.util.ArrayList<>();
            int id = 0;
            for (int count : new int[] {8, 8, 5, 13, 1, 16, 7, 24, 3, 9}) {
                java.util.List<Wide> rows = new java.util.ArrayList<>();
                for (int i = 0; i < count; i++, id++) {
                    // each batch its own mix: all alike, kinds changing every few rows, NULL tags, flags 0 or not
                    String kind = count % 3 == 0 ? "k" + (i / 3) : "chat";
                    String tag = count % 2 == 0 ? null : (count == 13 && i == 12 ? "other" : "t");
                    Long n = count == 24 ? Long.valueOf(i) : count == 9 ? null : Long.valueOf(42);
                    int flag = count == 16 && i > 10 ? 1 : 0;
                    rows.add(new Wide(id, kind, tag, n, flag, i % 4 == 0 ? new byte[] {1, 2} : new byte[] {(byte) i}));
                }
                WIDE.insert(c, rows, (v, w) -> {
                    v.int64(w.id()).text(w.kind()).text(w.tag());
                    if (w.n() == null) v.none(java.sql.Types.BIGINT);
                    else v.int64(w.n());
                    v.int32(w.flag()).bytes(w.blob());
                }, w -> w.flag() == 0 ? 1L << 4 : 0);
                all.addAll(rows);
            }
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
                    "SELECT id, kind, tag, n, flag, blob, typeof(kind), typeof(tag), typeof(n), typeof(flag), typeof(blob) FROM w ORDER BY id")) {
                int seen = 0;
                while (rs.next()) {
                    Wide w = all.get(seen);
                    assertThat(rs.getLong(1)).isEqualTo(w.id());
                    assertThat(rs.getString(2)).isEqualTo(w.kind());
                    assertThat(rs.getString(3)).isEqualTo(w.tag());
                    assertThat(rs.getObject(4) == null ? null : rs.getLong(4)).isEqualTo(w.n());
                    assertThat(rs.getInt(5)).isEqualTo(w.flag());
                    assertThat(rs.getBytes(6)).isEqualTo(w.blob());
                    assertThat(rs.getString(7)).isEqualTo("text");
                    assertThat(rs.getString(8)).isEqualTo(w.tag() == null ? "null" : "text");
                    assertThat(rs.getString(9)).isEqualTo(w.n() == null ? "null" : "integer");
                    assertThat(rs.getString(10)).isEqualTo("integer");
                    assertThat(rs.getString(11)).isEqualTo("blob");
                    seen++;
                }
                assertThat(seen).isEqualTo(all.size());
            }
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
