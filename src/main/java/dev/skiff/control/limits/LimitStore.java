package dev.skiff.control.limits;

import dev.skiff.config.SharedJson;
import dev.skiff.store.Database;
import java.io.IOException;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Limit policies and soft-threshold warnings in the control plane's database (module {@code limits}).
 * Every call blocks on JDBC: admin threads and the refresher call it, never an event loop.
 */
public final class LimitStore {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Database db;

    public LimitStore(Database db) throws SQLException, IOException {
        this.db = db;
        db.migrate("limits");
    }

    /** A row as read: the policy, or a tombstone ({@code policy} null) for one deleted. */
    public record Row(String id, LimitPolicy policy, long createdAt, long updatedAt) {}

    public static String newId() {
        StringBuilder b = new StringBuilder("lim_");
        String alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
        for (int i = 0; i < 16; i++) b.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
        return b.toString();
    }

    /** What admin filters look policies up by: the scope it lies in (a key, a path) and the end user. */
    static String scopeKey(LimitPolicy p) {
        Scope within = p.scope() instanceof Scope.EndUser e ? e.within() : p.scope();
        return within.id() + (p.scope() instanceof Scope.EndUser e && e.endUser() != null ? "|" + e.endUser() : "");
    }

    public Row insert(LimitPolicy p) throws SQLException {
        long now = System.currentTimeMillis();
        try (Connection c = db.connection(); PreparedStatement s = c.prepareStatement(
                "INSERT INTO skiff_limit_policies (id, scope_key, policy, created_at, updated_at, deleted_at) VALUES (?, ?, ?, ?, ?, 0)")) {
            s.setString(1, p.id());
            s.setString(2, scopeKey(p));
            s.setString(3, PolicyJson.render(p).toString());
            s.setLong(4, now);
            s.setLong(5, now);
            s.executeUpdate();
        }
        return new Row(p.id(), p, now, now);
    }

    /** Replaces a live policy; null when there is none with that id. */
    public Row update(LimitPolicy p) throws SQLException {
        Row old = get(p.id());
        if (old == null) return null;
        long now = Math.max(System.currentTimeMillis(), old.updatedAt() + 1);
        try (Connection c = db.connection(); PreparedStatement s = c.prepareStatement(
                "UPDATE skiff_limit_policies SET scope_key = ?, policy = ?, updated_at = ? WHERE id = ? AND deleted_at = 0")) {
            s.setString(1, scopeKey(p));
            s.setString(2, PolicyJson.render(p).toString());
            s.setLong(3, now);
            s.setString(4, p.id());
            if (s.executeUpdate() == 0) return null;
        }
        return new Row(p.id(), p, old.createdAt(), now);
    }

    /** Deletes (a tombstone other replicas see); the tombstone row, or null when there was no such policy. */
    public Row delete(String id) throws SQLException {
        Row old = get(id);
        if (old == null) return null;
        long now = Math.max(System.currentTimeMillis(), old.updatedAt() + 1);
        try (Connection c = db.connection(); PreparedStatement s = c.prepareStatement(
                "UPDATE skiff_limit_policies SET deleted_at = ?, updated_at = ? WHERE id = ? AND deleted_at = 0")) {
            s.setLong(1, now);
            s.setLong(2, now);
            s.setString(3, id);
            if (s.executeUpdate() == 0) return null;
        }
        return new Row(id, null, old.createdAt(), now);
    }

    /** A live policy, or null. */
    public Row get(String id) throws SQLException {
        try (Connection c = db.connection(); PreparedStatement s = c.prepareStatement(
                "SELECT id, policy, created_at, updated_at, deleted_at FROM skiff_limit_policies WHERE id = ? AND deleted_at = 0")) {
            s.setString(1, id);
            try (ResultSet rs = s.executeQuery()) {
                return rs.next() ? read(rs) : null;
            }
        }
    }

    /** Live policies, oldest first, optionally only those of one scope key ({@link #scopeKey}). */
    public List<Row> list(String scopeKey, int limit) throws SQLException {
        String sql = "SELECT id, policy, created_at, updated_at, deleted_at FROM skiff_limit_policies WHERE deleted_at = 0"
                + (scopeKey == null ? "" : " AND scope_key = ?") + " ORDER BY created_at, id LIMIT ?";
        try (Connection c = db.connection(); PreparedStatement s = c.prepareStatement(sql)) {
            int i = 1;
            if (scopeKey != null) s.setString(i++, scopeKey);
            s.setInt(i, limit);
            return readAll(s);
        }
    }

    /** Every row changed at or after {@code since} (epoch ms), tombstones included. */
    public List<Row> changedSince(long since) throws SQLException {
        try (Connection c = db.connection(); PreparedStatement s = c.prepareStatement(
                "SELECT id, policy, created_at, updated_at, deleted_at FROM skiff_limit_policies WHERE updated_at >= ?")) {
            s.setLong(1, since);
            return readAll(s);
        }
    }

    private static List<Row> readAll(PreparedStatement s) throws SQLException {
        List<Row> out = new ArrayList<>();
        try (ResultSet rs = s.executeQuery()) {
            while (rs.next()) out.add(read(rs));
        }
        return out;
    }

    private static Row read(ResultSet rs) throws SQLException {
        String id = rs.getString(1);
        LimitPolicy p = null;
        if (rs.getLong(5) == 0) {
            try {
                p = PolicyJson.parse(id, SharedJson.MAPPER.readTree(rs.getString(2)));
            } catch (IOException | IllegalArgumentException e) {
                throw new SQLException("limit policy " + id + " cannot be read: " + e.getMessage(), e);
            }
        }
        return new Row(id, p, rs.getLong(3), rs.getLong(4));
    }

    public void addWarning(Warnings.Warning w) throws SQLException {
        try (Connection c = db.connection(); PreparedStatement s = c.prepareStatement(
                "INSERT INTO skiff_limit_warnings (at, policy_id, counter, metric, window_id, soft, limit_value, used, description) "
                        + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            s.setLong(1, w.atMs());
            s.setString(2, w.policyId());
            s.setString(3, w.counter().length() > 800 ? w.counter().substring(0, 800) : w.counter());
            s.setString(4, w.metric());
            s.setString(5, w.window());
            s.setLong(6, w.soft());
            s.setLong(7, w.limit());
            s.setLong(8, w.used());
            s.setString(9, w.description());
            s.executeUpdate();
        }
    }

    /** Warnings newest first, at or after {@code since}, optionally of one policy. */
    public List<Warnings.Warning> warnings(long since, String policyId, int limit) throws SQLException {
        String sql = "SELECT at, policy_id, counter, metric, window_id, soft, limit_value, used, description FROM skiff_limit_warnings "
                + "WHERE at >= ?" + (policyId == null ? "" : " AND policy_id = ?") + " ORDER BY at DESC, id DESC LIMIT ?";
        List<Warnings.Warning> out = new ArrayList<>();
        try (Connection c = db.connection(); PreparedStatement s = c.prepareStatement(sql)) {
            int i = 1;
            s.setLong(i++, since);
            if (policyId != null) s.setString(i++, policyId);
            s.setInt(i, limit);
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    out.add(new Warnings.Warning(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5),
                            rs.getLong(6), rs.getLong(7), rs.getLong(8), rs.getString(9)));
                }
            }
        }
        return out;
    }
}
