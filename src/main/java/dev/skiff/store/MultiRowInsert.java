package dev.skiff.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.List;

/**
 * Inserts a batch of rows with multi-row {@code INSERT ... VALUES (...), (...)} statements of a fixed
 * size, plus one shorter statement for the rest. One statement per row cost about as much again as
 * the rows themselves (measured on SQLite by the usage store), and a fixed size lets the full
 * statement's text be built once.
 *
 * <p>On SQLite the statements are also prepared once per connection and kept: SQLite compiles a
 * statement's text at every prepare, which for a batch's shorter last statement cost about 5 µs a
 * row, on every batch (the usage writer's largest cost after the rows themselves). The rest of a
 * batch goes in statements of halving sizes (a batch of 64 + 37 is 64, 32, 4 and 1), so a handful
 * of sizes serve every count. Other databases prepare as before: pgjdbc keeps its own server-side
 * statements, and a pooled connection closes what was prepared on it when it goes back.
 *
 * @param <R> the row type its binder reads
 */
public final class MultiRowInsert<R> {
    /** Binds one row's values from parameter {@code first} on. */
    @FunctionalInterface
    public interface Binder<R> {
        void bind(PreparedStatement s, int first, R row) throws SQLException;
    }

    private final String head;
    private final String placeholders;
    private final int valuesPerRow;
    private final int rowsPerStatement;
    private final String full;
    /** Per SQLite connection (weakly held: a reopened connection starts afresh), its statements by row count's bit. */
    private final java.util.Map<Connection, PreparedStatement[]> prepared = java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());

    /**
     * @param head             {@code INSERT INTO table (columns) VALUES }
     * @param valuesPerRow     how many values each row binds
     * @param rowsPerStatement rows per full statement
     */
    public MultiRowInsert(String head, int valuesPerRow, int rowsPerStatement) {
        this(head, placeholders(valuesPerRow), valuesPerRow, rowsPerStatement);
    }

    /**
     * As {@link #MultiRowInsert(String, int, int)}, with a row's values as given ({@code (?, CAST(? AS
     * TEXT), ?)}: a value bound in one form and stored in another), {@code valuesPerRow} parameters in it.
     */
    public MultiRowInsert(String head, String rowValues, int valuesPerRow, int rowsPerStatement) {
        this.head = head;
        this.valuesPerRow = valuesPerRow;
        this.rowsPerStatement = rowsPerStatement;
        this.placeholders = rowValues;
        this.full = statement(rowsPerStatement);
    }

    /** {@code (?, ?, ...)} with {@code n} parameters. */
    public static String placeholders(int n) {
        StringBuilder p = new StringBuilder("(");
        for (int i = 0; i < n; i++) p.append(i == 0 ? "?" : ", ?");
        return p.append(')').toString();
    }

    private String statement(int rows) {
        StringBuilder b = new StringBuilder(head.length() + rows * (placeholders.length() + 2)).append(head);
        for (int i = 0; i < rows; i++) b.append(i == 0 ? "" : ", ").append(placeholders);
        return b.toString();
    }

    /** Inserts {@code rows} on {@code c}; the caller owns the transaction. */
    public void insert(Connection c, List<R> rows, Binder<R> binder) throws SQLException {
        Connection sqlite = c.isWrapperFor(org.sqlite.SQLiteConnection.class) ? c.unwrap(org.sqlite.SQLiteConnection.class) : null;
        if (sqlite != null) {
            insertKept(sqlite, rows, binder);
            return;
        }
        int whole = rows.size() / rowsPerStatement * rowsPerStatement;
        if (whole > 0) {
            try (PreparedStatement s = c.prepareStatement(full)) {
                for (int at = 0; at < whole; at += rowsPerStatement) run(s, rows, at, rowsPerStatement, binder);
            }
        }
        if (whole < rows.size()) {
            try (PreparedStatement s = c.prepareStatement(statement(rows.size() - whole))) {
                run(s, rows, whole, rows.size() - whole, binder);
            }
        }
    }

    /** Full statements, then the rest by halving sizes, each size prepared once on this connection. */
    private void insertKept(Connection sqlite, List<R> rows, Binder<R> binder) throws SQLException {
        PreparedStatement[] kept = prepared.computeIfAbsent(sqlite, k -> new PreparedStatement[32]);
        int at = 0;
        while (at < rows.size()) {
            int left = rows.size() - at;
            int n = left >= rowsPerStatement ? rowsPerStatement : Integer.highestOneBit(left);
            int slot = left >= rowsPerStatement ? 31 : Integer.numberOfTrailingZeros(n);
            PreparedStatement s = kept[slot];
            if (s == null || s.isClosed()) kept[slot] = s = sqlite.prepareStatement(n == rowsPerStatement ? full : statement(n));
            run(s, rows, at, n, binder);
            at += n;
        }
    }

    private void run(PreparedStatement s, List<R> rows, int from, int count, Binder<R> binder) throws SQLException {
        for (int i = 0; i < count; i++) binder.bind(s, i * valuesPerRow + 1, rows.get(from + i));
        s.executeUpdate();
    }
}
