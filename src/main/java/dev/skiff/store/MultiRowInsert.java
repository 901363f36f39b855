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

    /**
     * Which of a row's values the statement may give as a literal instead of binding it: bit {@code i}
     * for value {@code i}, set when the row's value is {@code literals[i]}'s (see {@link #literals}).
     */
    @FunctionalInterface
    public interface Literals<R> {
        long of(R row);
    }

    /** Sets one row's values in order, through {@link Values}: those the statement gives as literals are passed over. */
    @FunctionalInterface
    public interface ValueBinder<R> {
        void bind(Values v, R row) throws SQLException;
    }

    /**
     * A row's values, set in order. Each one the statement gives as a literal is passed over; the rest
     * go to the statement's next parameter, as {@code setString}, {@code setLong} etc. would set them.
     */
    public static final class Values {
        private PreparedStatement s;
        private int param, at;
        private long literal;
        private Captured into; // when set, values are kept there (from slot at) instead of bound

        private boolean given() {
            return (literal >>> at++ & 1) != 0;
        }

        public Values text(String v) throws SQLException {
            if (into != null) into.keep(at++, Captured.TEXT, 0, v);
            else if (!given()) s.setString(param++, v);
            return this;
        }

        public Values int64(long v) throws SQLException {
            if (into != null) into.keep(at++, Captured.INT64, v, null);
            else if (!given()) s.setLong(param++, v);
            return this;
        }

        public Values int32(int v) throws SQLException {
            if (into != null) into.keep(at++, Captured.INT32, v, null);
            else if (!given()) s.setInt(param++, v);
            return this;
        }

        public Values bool(boolean v) throws SQLException {
            if (into != null) into.keep(at++, Captured.BOOL, v ? 1 : 0, null);
            else if (!given()) s.setBoolean(param++, v);
            return this;
        }

        public Values bytes(byte[] v) throws SQLException {
            if (into != null) into.keep(at++, Captured.BYTES, 0, v);
            else if (!given()) s.setBytes(param++, v);
            return this;
        }

        public Values none(int sqlType) throws SQLException {
            if (into != null) into.keep(at++, Captured.NULL, sqlType, null);
            else if (!given()) s.setNull(param++, sqlType);
            return this;
        }
    }

    /**
     * A statement's rows' values, kept before binding so that the values every row has alike can be
     * found and bound once ({@link #shared}): slot {@code row * valuesPerRow + i} for value {@code i}.
     */
    private static final class Captured {
        static final byte TEXT = 1, INT64 = 2, INT32 = 3, BOOL = 4, BYTES = 5, NULL = 6;
        final byte[] kind;
        final long[] number; // integers and booleans; a NULL's SQL type
        final Object[] object; // strings and byte arrays

        Captured(int slots) {
            kind = new byte[slots];
            number = new long[slots];
            object = new Object[slots];
        }

        void keep(int slot, byte k, long n, Object o) {
            kind[slot] = k;
            number[slot] = n;
            object[slot] = o;
        }

        /** Whether slots {@code a} and {@code b} hold the same value (never for byte arrays). */
        boolean same(int a, int b) {
            return kind[a] == kind[b] && kind[a] != BYTES && number[a] == number[b] && java.util.Objects.equals(object[a], object[b]);
        }

        void bind(PreparedStatement s, int param, int slot) throws SQLException {
            switch (kind[slot]) {
                case TEXT -> s.setString(param, (String) object[slot]);
                case INT64 -> s.setLong(param, number[slot]);
                case INT32 -> s.setInt(param, (int) number[slot]);
                case BOOL -> s.setBoolean(param, number[slot] != 0);
                case BYTES -> s.setBytes(param, (byte[]) object[slot]);
                default -> s.setNull(param, (int) number[slot]);
            }
        }
    }

    /** The most shapes (sets of literals) kept per SQLite connection: each is a statement per size. */
    static final int MAX_SHAPES = 4;

    private final String head;
    private final String placeholders;
    private final String[] literals; // per value, its literal, or null: always bound
    private final String[] forms; // per value, the form it is bound in, or null: ?
    private final long shareable; // values a statement binds once when all its rows have them alike
    private final int valuesPerRow;
    private final int rowsPerStatement;
    private final String full;
    /**
     * Per SQLite connection (weakly held: a reopened connection starts afresh), its statements by shape
     * (the literals they give, 0 for none) and row count's bit.
     */
    private final java.util.Map<Connection, java.util.Map<Long, PreparedStatement[]>> prepared =
            java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());

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
        this(head, rowValues, valuesPerRow, rowsPerStatement, null);
    }

    /**
     * As {@link #MultiRowInsert(String, int, int)}, where value {@code i} may be given as the SQL literal
     * {@code literals[i]} (null: always bound) in statements on SQLite whose rows all have that value:
     * such a value is not bound, a row's worth of calls into the driver fewer each (rows through
     * {@link #insert(Connection, List, ValueBinder, Literals)}).
     */
    public MultiRowInsert(String head, String[] literals, int rowsPerStatement) {
        this(head, literals, new String[literals.length], 0, rowsPerStatement);
    }

    /**
     * As {@link #MultiRowInsert(String, String[], int)}, with value {@code i} bound in the form {@code
     * forms[i]} ({@code CAST(? AS TEXT)}: bound in one form and stored in another; null: {@code ?}).
     */
    public MultiRowInsert(String head, String[] literals, String[] forms, int rowsPerStatement) {
        this(head, literals, forms, 0, rowsPerStatement);
    }

    /**
     * As {@link #MultiRowInsert(String, String[], String[], int)}, and on SQLite a value of {@code shareable}
     * (bit {@code i} for value {@code i}) that every row of a statement has alike, and that is not given as a
     * literal, is bound once for the statement (a numbered parameter each row names) instead of once per
     * row: for values most rows of a batch share whatever they are (a path, a model, an endpoint), not
     * only those with a fixed literal. What is stored is the same value either way.
     */
    public MultiRowInsert(String head, String[] literals, String[] forms, long shareable, int rowsPerStatement) {
        this(head, row(forms), literals.length, rowsPerStatement, literals.clone(), forms.clone(), shareable);
    }

    private MultiRowInsert(String head, String rowValues, int valuesPerRow, int rowsPerStatement, String[] literals) {
        this(head, rowValues, valuesPerRow, rowsPerStatement, literals, literals == null ? null : new String[literals.length], 0);
    }

    private MultiRowInsert(String head, String rowValues, int valuesPerRow, int rowsPerStatement, String[] literals, String[] forms, long shareable) {
        if (literals != null && literals.length > 64) throw new IllegalArgumentException("at most 64 values may be literals");
        if (literals != null && forms.length != literals.length) throw new IllegalArgumentException("a form (or null) per value");
        // a statement's kept form is named by its literals and its shared values together, 32 bits each
        if (shareable != 0 && valuesPerRow > 32) throw new IllegalArgumentException("at most 32 values per row may be shared");
        this.head = head;
        this.valuesPerRow = valuesPerRow;
        this.rowsPerStatement = rowsPerStatement;
        this.placeholders = rowValues;
        this.literals = literals;
        this.forms = forms;
        this.shareable = shareable;
        this.full = statement(rowsPerStatement, 0);
    }

    /** {@code (?, ?, ...)} with {@code n} parameters. */
    public static String placeholders(int n) {
        return row(new String[n]);
    }

    /** A row's values in their forms ({@code ?} for null). */
    private static String row(String[] forms) {
        StringBuilder p = new StringBuilder("(");
        for (int i = 0; i < forms.length; i++) p.append(i == 0 ? "" : ", ").append(forms[i] == null ? "?" : forms[i]);
        return p.append(')').toString();
    }

    /**
     * The statement of {@code rows} rows whose values in {@code shape} are literals and those in
     * {@code shared} parameters {@code ?1...} named by every row; the rest numbered on, row by row.
     */
    private String statement(int rows, long shape, long shared) {
        if (shared == 0) return statement(rows, shape);
        StringBuilder b = new StringBuilder(head);
        int next = Long.bitCount(shared) + 1;
        for (int r = 0; r < rows; r++) {
            b.append(r == 0 ? "(" : ", (");
            for (int i = 0; i < valuesPerRow; i++) {
                if (i > 0) b.append(", ");
                if ((shape >>> i & 1) != 0) b.append(literals[i]);
                else if ((shared >>> i & 1) != 0) b.append(numbered(i, Long.bitCount(shared & ((1L << i) - 1)) + 1));
                else b.append(numbered(i, next++));
            }
            b.append(')');
        }
        return b.toString();
    }

    /** Value {@code i}'s form with its parameter numbered {@code n}. */
    private String numbered(int i, int n) {
        return forms[i] == null ? "?" + n : forms[i].replace("?", "?" + n);
    }

    private String statement(int rows, long shape) {
        String row = placeholders;
        if (shape != 0) {
            String[] given = new String[valuesPerRow];
            for (int i = 0; i < valuesPerRow; i++) given[i] = (shape >>> i & 1) != 0 ? literals[i] : forms[i];
            row = row(given);
        }
        StringBuilder b = new StringBuilder(head.length() + rows * (row.length() + 2)).append(head);
        for (int i = 0; i < rows; i++) b.append(i == 0 ? "" : ", ").append(row);
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
            try (PreparedStatement s = c.prepareStatement(statement(rows.size() - whole, 0))) {
                run(s, rows, whole, rows.size() - whole, binder);
            }
        }
    }

    /**
     * Inserts {@code rows} on {@code c}, setting their values through {@code binder}; on SQLite, with the
     * values {@code literalsOf} finds in every row of a statement given as literals (needs {@code literals}).
     */
    public void insert(Connection c, List<R> rows, ValueBinder<R> binder, Literals<R> literalsOf) throws SQLException {
        Values v = new Values();
        Connection sqlite = c.isWrapperFor(org.sqlite.SQLiteConnection.class) ? c.unwrap(org.sqlite.SQLiteConnection.class) : null;
        if (sqlite == null || literals == null) {
            insert(c, rows, (s, first, row) -> bind(v, s, first, 0, binder, row));
            return;
        }
        java.util.Map<Long, PreparedStatement[]> shapes = prepared.computeIfAbsent(sqlite, k -> new java.util.HashMap<>());
        Captured kept = shareable == 0 ? null : new Captured(valuesPerRow * Math.min(rows.size(), rowsPerStatement));
        int at = 0;
        while (at < rows.size()) {
            int n = statementRows(rows.size() - at);
            long shape = -1L;
            for (int i = at; i < at + n; i++) shape &= literalsOf.of(rows.get(i));
            shape &= literalMask();
            long shared = kept != null && n > 1 ? shared(kept, v, binder, rows, at, n) & ~shape : 0;
            // A form not kept yet, when MAX_SHAPES are: without the shared values, then without literals.
            long key = shape | shared << 32;
            if (key != 0 && !shapes.containsKey(key) && shapes.size() >= MAX_SHAPES) key = shapes.containsKey(shape) ? shape : 0;
            long given = shareable == 0 ? key : key & 0xffffffffL; // without shareable values literals may take all 64 bits
            PreparedStatement s = kept(sqlite, shapes, key, n);
            if (kept != null && n > 1) {
                bindKept(s, kept, n, given, key >>> 32);
                s.executeUpdate();
            } else {
                run(s, rows, at, n, (st, first, row) -> bind(v, st, 1 + (first - 1) / valuesPerRow * (valuesPerRow - Long.bitCount(given)), given, binder, row));
            }
            at += n;
        }
    }

    /** Keeps the values of rows {@code from..from+n} in {@code kept}; which of {@link #shareable} all of them have alike. */
    private long shared(Captured kept, Values v, ValueBinder<R> binder, List<R> rows, int from, int n) throws SQLException {
        v.into = kept;
        try {
            for (int r = 0; r < n; r++) {
                v.at = r * valuesPerRow;
                binder.bind(v, rows.get(from + r));
            }
        } finally {
            v.into = null;
        }
        long alike = shareable;
        for (int i = 0; i < valuesPerRow && i < 64; i++) {
            if ((alike >>> i & 1) == 0) continue;
            for (int r = 1; r < n; r++) {
                if (!kept.same(i, r * valuesPerRow + i)) {
                    alike &= ~(1L << i);
                    break;
                }
            }
        }
        return alike;
    }

    /** Binds kept rows to {@code s}: the {@code shared} values once (the first row's), then each row's others but literals. */
    private void bindKept(PreparedStatement s, Captured kept, int n, long given, long shared) throws SQLException {
        int param = 1;
        for (int i = 0; i < valuesPerRow; i++) if ((shared >>> i & 1) != 0) kept.bind(s, param++, i);
        long skip = given | shared;
        for (int r = 0; r < n; r++) {
            for (int i = 0; i < valuesPerRow; i++) if ((skip >>> i & 1) == 0) kept.bind(s, param++, r * valuesPerRow + i);
        }
    }

    private void bind(Values v, PreparedStatement s, int first, long given, ValueBinder<R> binder, R row) throws SQLException {
        v.s = s;
        v.param = first;
        v.at = 0;
        v.literal = given;
        binder.bind(v, row);
    }

    /** The values that have a literal. */
    private long literalMask() {
        long m = 0;
        for (int i = 0; i < literals.length; i++) if (literals[i] != null) m |= 1L << i;
        return m;
    }

    /** Rows in the next statement when {@code left} are left: a full statement, else the largest power of two. */
    private int statementRows(int left) {
        return left >= rowsPerStatement ? rowsPerStatement : Integer.highestOneBit(left);
    }

    /** The statement of {@code n} rows of this shape, prepared once on this connection. */
    private PreparedStatement kept(Connection sqlite, java.util.Map<Long, PreparedStatement[]> shapes, long key, int n) throws SQLException {
        PreparedStatement[] kept = shapes.computeIfAbsent(key, k -> new PreparedStatement[32]);
        int slot = n == rowsPerStatement ? 31 : Integer.numberOfTrailingZeros(n);
        PreparedStatement s = kept[slot];
        if (s == null || s.isClosed()) {
            kept[slot] = s = sqlite.prepareStatement(key == 0 && n == rowsPerStatement ? full
                    : shareable == 0 ? statement(n, key) : statement(n, key & 0xffffffffL, key >>> 32));
        }
        return s;
    }

    /** Full statements, then the rest by halving sizes, each size prepared once on this connection. */
    private void insertKept(Connection sqlite, List<R> rows, Binder<R> binder) throws SQLException {
        java.util.Map<Long, PreparedStatement[]> shapes = prepared.computeIfAbsent(sqlite, k -> new java.util.HashMap<>());
        int at = 0;
        while (at < rows.size()) {
            int n = statementRows(rows.size() - at);
            run(kept(sqlite, shapes, 0, n), rows, at, n, binder);
            at += n;
        }
    }

    private void run(PreparedStatement s, List<R> rows, int from, int count, Binder<R> binder) throws SQLException {
        for (int i = 0; i < count; i++) binder.bind(s, i * valuesPerRow + 1, rows.get(from + i));
        s.executeUpdate();
    }
}
