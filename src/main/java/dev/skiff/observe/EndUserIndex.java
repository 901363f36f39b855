package dev.skiff.observe;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The SQLite usage store's lookup by end user: table {@code usage_end_users} (end user, time, row id),
 * filled by the usage writer in bulk rather than by an index of {@code usage_requests} on every insert
 * (migration {@code 003_end_user_index_merged.sql} says why: thousands of end users spread each batch
 * over the whole index, about one page written per row). A merge copies the rows stored since the last
 * one, sorted, in one transaction with the mark of how far it got ({@code usage_end_users_merged}), so
 * a crash loses nothing here: what was not merged is merged after restart. A lookup reads the table for
 * what is merged and the rows above the mark through the primary key: never a scan, and at most
 * {@value #MERGE_ROWS} rows plus a batch read row by row.
 *
 * <p>PostgreSQL keeps its {@code (end_user, ts)} index: there several replicas write the shared table,
 * whose ids commit out of order, so a single mark of how far a merge got would skip rows.
 */
final class EndUserIndex {
    /** A merge is due this long after the last one... */
    static final long MERGE_MILLIS = 5_000;
    /** ...or once this many rows were stored since, whichever comes first: the bound of a lookup's unmerged rows. */
    static final int MERGE_ROWS = 50_000;

    /**
     * Rows one merge copies at most, so that the writer, which shares the cores with the event loops,
     * never takes one for long: 50,000 rows at once held it 100 ms, 20,000 about 55 (standalone
     * timing, 1,000 end users), for about the same CPU per row in all.
     */
    static final int MERGE_CHUNK = 20_000;

    private long lastMergeMs = Long.MIN_VALUE / 2; // the first batch after opening merges what a crash left behind
    private long rowsSince;
    private boolean behind; // the last merge left rows for the next
    /**
     * Whether a row stored above the mark may have an end user: true from opening (a crash may have left
     * such rows) until a merge catches up, and whenever one is stored. While it is false a merge only moves
     * the mark: going over the rows to find none cost the writer 0.5 us a request when rows carry audit
     * bodies (a merge reads every page of the rows it goes over, and most traffic names no end user).
     */
    private boolean endUsersSince = true;

    /** Makes the next batch's merge due (tests). */
    void mergeSoon() {
        lastMergeMs = Long.MIN_VALUE / 2;
    }

    /** A merge failed (its transaction rolled back): rows above the mark may have end users again. */
    void unsure() {
        endUsersSince = true;
    }

    /** Counts {@code rows} just stored, {@code endUsers} whether one of them has an end user; whether a merge is due now. Writer thread only. */
    boolean due(long nowMs, int rows, boolean endUsers) {
        endUsersSince |= endUsers;
        rowsSince += rows;
        return behind || rowsSince >= MERGE_ROWS || nowMs - lastMergeMs >= MERGE_MILLIS;
    }

    /**
     * Copies rows stored since the last merge, at most {@value #MERGE_CHUNK} of them, in the caller's
     * transaction; how many rows it went over. A larger backlog goes on over the next rounds of the
     * writer ({@link #due} stays true until it is caught up).
     */
    int merge(Connection c, long nowMs) throws SQLException {
        long from = merged(c);
        long last;
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT COALESCE(MAX(id), 0) FROM usage_requests")) {
            rs.next();
            last = rs.getLong(1);
        }
        long to = Math.min(last, endUsersSince ? from + MERGE_CHUNK : last);
        if (to > from && !endUsersSince) {
            setMerged(c, to); // no row above the mark has an end user: nothing to copy
        } else if (to > from) {
            // Sorted as the table is, the insert walks the B-tree once from left to right.
            try (PreparedStatement s = c.prepareStatement("INSERT OR IGNORE INTO usage_end_users (end_user, ts, id) SELECT end_user, ts, id "
                    + "FROM usage_requests WHERE id > ? AND id <= ? AND end_user IS NOT NULL ORDER BY end_user, ts, id")) {
                s.setLong(1, from);
                s.setLong(2, to);
                s.executeUpdate();
            }
            setMerged(c, to);
        }
        behind = to < last;
        if (!behind) {
            endUsersSince = false;
            lastMergeMs = nowMs;
            rowsSince = 0;
        }
        return (int) (to - from);
    }

    /** End users whose expired entries one {@link #sweep} call deletes: a short transaction between the writer's batches. */
    static final int SWEEP_USERS = 1_000;

    /** The last end user the sweep went through, when a sweep is under way; null between sweeps. */
    private String sweptTo;

    /**
     * After the retention sweep deleted rows older than {@code cutoffMs}: deletes the entries of up to
     * {@value #SWEEP_USERS} end users older than that, resuming after the last call's; true once the
     * last end user is done. The table has no index by time (a merge would write it too): end users
     * are visited in key order, a seek each, and each one's expired entries are the start of its range.
     * Also lowers the merge mark to the highest id left, since SQLite gives a new row the highest
     * id + 1 and would otherwise reuse ids of deleted rows below the mark, rows a merge would then
     * never copy. In the caller's transaction.
     */
    boolean sweep(Connection c, long cutoffMs) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.executeUpdate("UPDATE usage_end_users_merged SET id = MIN(id, (SELECT COALESCE(MAX(id), 0) FROM usage_requests))");
        }
        String after = sweptTo;
        try (PreparedStatement first = c.prepareStatement("SELECT end_user FROM usage_end_users ORDER BY end_user LIMIT 1");
             PreparedStatement next = c.prepareStatement("SELECT end_user FROM usage_end_users WHERE end_user > ? ORDER BY end_user LIMIT 1");
             PreparedStatement delete = c.prepareStatement("DELETE FROM usage_end_users WHERE end_user = ? AND ts < ?")) {
            for (int i = 0; i < SWEEP_USERS; i++) {
                PreparedStatement q = after == null ? first : next;
                if (after != null) next.setString(1, after);
                try (ResultSet rs = q.executeQuery()) {
                    if (!rs.next()) {
                        sweptTo = null;
                        return true;
                    }
                    after = rs.getString(1);
                }
                delete.setString(1, after);
                delete.setLong(2, cutoffMs);
                delete.executeUpdate();
            }
        }
        sweptTo = after;
        return false;
    }

    /**
     * The condition on {@code usage_requests} for one end user's rows in a time range, for a query's
     * WHERE; its parameters are end user, from, to, end user (see {@link #params}).
     */
    static final String LOOKUP = "id IN (SELECT id FROM usage_end_users WHERE end_user = ? AND ts >= ? AND ts < ? "
            + "UNION ALL SELECT id FROM usage_requests WHERE id > (SELECT id FROM usage_end_users_merged) AND end_user = ?)";

    static Object[] params(String endUser, long fromMs, long toMs) {
        return new Object[] {endUser, fromMs, toMs, endUser};
    }

    static long merged(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT id FROM usage_end_users_merged")) {
            return rs.next() ? rs.getLong(1) : 0;
        }
    }

    private static void setMerged(Connection c, long id) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("UPDATE usage_end_users_merged SET id = ?")) {
            s.setLong(1, id);
            s.executeUpdate();
        }
    }
}
