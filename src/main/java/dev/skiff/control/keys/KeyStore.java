package dev.skiff.control.keys;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.config.SharedJson;
import dev.skiff.store.Database;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Managed keys in the control plane's database (table {@code skiff_keys}, module {@code keys}). Every
 * call blocks on JDBC: admin threads and the registry's refresher call it, never an event loop.
 */
public final class KeyStore {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String COLUMNS = "id, name, hash, prefix, user_path, expires_at, revoked_at, allowed_models, labels, scopes, "
            + "limits, created_at, updated_at";

    private final Database db;

    /** Migrates the schema ({@code keys} module) if needed. */
    public KeyStore(Database db) throws SQLException, IOException {
        this.db = db;
        db.migrate("keys");
    }

    /** A key just made, with its secret: the only time the secret exists outside the client. */
    public record Created(ManagedKey key, String secret) {}

    /** What a new key is made with; the id, secret and times are the store's. */
    public record Spec(String name, String userPath, long expiresAt, List<String> allowedModels, Map<String, String> labels,
                       Set<String> scopes, ObjectNode limits) {}

    public Created create(Spec spec) throws SQLException {
        String secret = KeySecrets.generate();
        long now = System.currentTimeMillis();
        ManagedKey key = new ManagedKey(newId(), spec.name(), KeySecrets.hex(KeySecrets.hash(secret)), KeySecrets.display(secret),
                spec.userPath(), spec.expiresAt(), 0, spec.allowedModels(), spec.labels(), spec.scopes(), spec.limits(), now, now);
        try (Connection c = db.connection();
             PreparedStatement s = c.prepareStatement("INSERT INTO skiff_keys (" + COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            bind(s, key);
            s.executeUpdate();
        }
        return new Created(key, secret);
    }

    /** The key with this id, or null. */
    public ManagedKey get(String id) throws SQLException {
        try (Connection c = db.connection(); PreparedStatement s = c.prepareStatement("SELECT " + COLUMNS + " FROM skiff_keys WHERE id = ?")) {
            s.setString(1, id);
            try (ResultSet rs = s.executeQuery()) {
                return rs.next() ? read(rs) : null;
            }
        }
    }

    /** Keys in creation order, newest first: at most {@code limit}, starting after the key {@code after} (its id). */
    public List<ManagedKey> list(int limit, String after) throws SQLException {
        return list(limit, after, null);
    }

    /** As {@link #list(int, String)}, only keys whose user path is {@code under} or beneath it (every key for null). */
    public List<ManagedKey> list(int limit, String after, String under) throws SQLException {
        List<String> where = new ArrayList<>();
        if (after != null) {
            where.add("(created_at < (SELECT created_at FROM skiff_keys WHERE id = ?)"
                    + " OR (created_at = (SELECT created_at FROM skiff_keys WHERE id = ?) AND id < ?))");
        }
        boolean subtree = under != null && !under.equals("/");
        if (subtree) where.add("(user_path = ? OR user_path LIKE ?)"); // paths hold no LIKE wildcards but '_', escaped below
        String sql = "SELECT " + COLUMNS + " FROM skiff_keys" + (where.isEmpty() ? "" : " WHERE " + String.join(" AND ", where))
                + " ORDER BY created_at DESC, id DESC LIMIT ?";
        if (subtree) sql = sql.replace("user_path LIKE ?", "user_path LIKE ? ESCAPE '!'");
        try (Connection c = db.connection(); PreparedStatement s = c.prepareStatement(sql)) {
            int i = 1;
            if (after != null) {
                s.setString(i++, after);
                s.setString(i++, after);
                s.setString(i++, after);
            }
            if (subtree) {
                s.setString(i++, under);
                s.setString(i++, under.replace("!", "!!").replace("_", "!_").replace("%", "!%") + "/%");
            }
            s.setInt(i, limit);
            return readAll(s);
        }
    }

    /**
     * Keys changed at or after {@code sinceMillis} (every key for 0): what a replica reads to catch
     * up. The caller overlaps its windows, since writers' clocks and commit order can disagree.
     */
    public List<ManagedKey> changedSince(long sinceMillis) throws SQLException {
        try (Connection c = db.connection();
             PreparedStatement s = c.prepareStatement("SELECT " + COLUMNS + " FROM skiff_keys WHERE updated_at >= ? ORDER BY updated_at")) {
            s.setLong(1, sinceMillis);
            return readAll(s);
        }
    }

    /** Replaces a key's changeable fields; returns the key as stored, or null when there is none. */
    public ManagedKey update(ManagedKey changed) throws SQLException {
        ManagedKey current = get(changed.id());
        if (current == null) return null;
        long now = Math.max(System.currentTimeMillis(), current.updatedAt() + 1);
        ManagedKey k = new ManagedKey(current.id(), changed.name(), current.hash(), current.prefix(), changed.userPath(), changed.expiresAt(),
                current.revokedAt(), changed.allowedModels(), changed.labels(), changed.scopes(), changed.limits(), current.createdAt(), now);
        try (Connection c = db.connection();
             PreparedStatement s = c.prepareStatement("UPDATE skiff_keys SET name = ?, user_path = ?, expires_at = ?, allowed_models = ?, "
                     + "labels = ?, scopes = ?, limits = ?, updated_at = ? WHERE id = ?")) {
            s.setString(1, k.name());
            s.setString(2, k.userPath());
            s.setLong(3, k.expiresAt());
            s.setString(4, json(k.allowedModels()));
            s.setString(5, json(k.labels()));
            s.setString(6, json(k.scopes()));
            s.setString(7, k.limits() == null ? null : k.limits().toString());
            s.setLong(8, now);
            s.setString(9, k.id());
            return s.executeUpdate() == 1 ? k : null;
        }
    }

    /**
     * Gives a key a new secret (the old one stops working); everything else stays, its id and usage
     * included. Null when there is no such key, or it is revoked.
     */
    public Created rotate(String id) throws SQLException {
        ManagedKey current = get(id);
        if (current == null || current.revoked()) return null;
        String secret = KeySecrets.generate();
        long now = Math.max(System.currentTimeMillis(), current.updatedAt() + 1);
        ManagedKey k = new ManagedKey(current.id(), current.name(), KeySecrets.hex(KeySecrets.hash(secret)), KeySecrets.display(secret),
                current.userPath(), current.expiresAt(), 0, current.allowedModels(), current.labels(), current.scopes(), current.limits(),
                current.createdAt(), now);
        try (Connection c = db.connection();
             PreparedStatement s = c.prepareStatement("UPDATE skiff_keys SET hash = ?, prefix = ?, updated_at = ? WHERE id = ? AND revoked_at = 0")) {
            s.setString(1, k.hash());
            s.setString(2, k.prefix());
            s.setLong(3, now);
            s.setString(4, id);
            return s.executeUpdate() == 1 ? new Created(k, secret) : null;
        }
    }

    /** Revokes a key (kept, so that its usage stays attributed); returns it, or null when there is none. Revoking twice keeps the first time. */
    public ManagedKey revoke(String id) throws SQLException {
        long now = System.currentTimeMillis();
        try (Connection c = db.connection();
             // updated_at only moves forward, even when this replica's clock is behind the last writer's.
             PreparedStatement s = c.prepareStatement("UPDATE skiff_keys SET revoked_at = ?, "
                     + "updated_at = CASE WHEN updated_at >= ? THEN updated_at + 1 ELSE ? END WHERE id = ? AND revoked_at = 0")) {
            s.setLong(1, now);
            s.setLong(2, now);
            s.setLong(3, now);
            s.setString(4, id);
            s.executeUpdate();
        }
        return get(id);
    }

    private static void bind(PreparedStatement s, ManagedKey k) throws SQLException {
        s.setString(1, k.id());
        s.setString(2, k.name());
        s.setString(3, k.hash());
        s.setString(4, k.prefix());
        s.setString(5, k.userPath());
        s.setLong(6, k.expiresAt());
        s.setLong(7, k.revokedAt());
        s.setString(8, json(k.allowedModels()));
        s.setString(9, json(k.labels()));
        s.setString(10, json(k.scopes()));
        s.setString(11, k.limits() == null ? null : k.limits().toString());
        s.setLong(12, k.createdAt());
        s.setLong(13, k.updatedAt());
    }

    private static List<ManagedKey> readAll(PreparedStatement s) throws SQLException {
        List<ManagedKey> out = new ArrayList<>();
        try (ResultSet rs = s.executeQuery()) {
            while (rs.next()) out.add(read(rs));
        }
        return out;
    }

    private static ManagedKey read(ResultSet rs) throws SQLException {
        try {
            String limits = rs.getString("limits");
            JsonNode l = limits == null ? null : SharedJson.MAPPER.readTree(limits);
            return new ManagedKey(rs.getString("id"), rs.getString("name"), rs.getString("hash").strip(), rs.getString("prefix"),
                    rs.getString("user_path"), rs.getLong("expires_at"), rs.getLong("revoked_at"),
                    SharedJson.MAPPER.readValue(rs.getString("allowed_models"), new TypeReference<List<String>>() {}),
                    SharedJson.MAPPER.readValue(rs.getString("labels"), new TypeReference<Map<String, String>>() {}),
                    new LinkedHashSet<>(SharedJson.MAPPER.readValue(rs.getString("scopes"), new TypeReference<List<String>>() {})),
                    l instanceof ObjectNode o ? o : null, rs.getLong("created_at"), rs.getLong("updated_at"));
        } catch (IOException e) {
            throw new SQLException("key " + rs.getString("id") + " has a malformed column: " + e.getMessage(), e);
        }
    }

    private static String json(Object o) {
        try {
            return SharedJson.MAPPER.writeValueAsString(o);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code key_} and 16 base62 characters (about 95 random bits). */
    private static String newId() {
        byte[] b = new byte[16];
        RANDOM.nextBytes(b);
        return "key_" + KeySecrets.base62(b).substring(27);
    }
}
