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

    /**
     * @param head             {@code INSERT INTO table (columns) VALUES }
     * @param valuesPerRow     how many values each row binds
     * @param rowsPerStatement rows per full statement
     */
    public MultiRowInsert(String head, int valuesPerRow, int rowsPerStatement) {
        this.head = head;
        this.valuesPerRow = valuesPerRow;
        this.rowsPerStatement = rowsPerStatement;
        StringBuilder p = new StringBuilder("(");
        for (int i = 0; i < valuesPerRow; i++) p.append(i == 0 ? "?" : ", ?");
        this.placeholders = p.append(')').toString();
        this.full = statement(rowsPerStatement);
    }

    private String statement(int rows) {
        StringBuilder b = new StringBuilder(head.length() + rows * (placeholders.length() + 2)).append(head);
        for (int i = 0; i < rows; i++) b.append(i == 0 ? "" : ", ").append(placeholders);
        return b.toString();
    }

    /** Inserts {@code rows} on {@code c}; the caller owns the transaction. */
    public void insert(Connection c, List<R> rows, Binder<R> binder) throws SQLException {
        int whole = rows.size() / rowsPerStatement * rowsPerStatement;
        if (whole > 0) {
            try (PreparedStatement s = c.prepareStatement(full)) {
                for (int at = 0; at < whole; at += rowsPerStatement) {
                    for (int i = 0; i < rowsPerStatement; i++) binder.bind(s, i * valuesPerRow + 1, rows.get(at + i));
                    s.executeUpdate();
                }
            }
        }
        if (whole < rows.size()) {
            try (PreparedStatement s = c.prepareStatement(statement(rows.size() - whole))) {
                for (int i = whole; i < rows.size(); i++) binder.bind(s, (i - whole) * valuesPerRow + 1, rows.get(i));
                s.executeUpdate();
            }
        }
    }
}
