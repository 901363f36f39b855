package dev.skiff.control.keys;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A key handed out through the admin API. Only the SHA-256 of its secret is ever stored; {@code prefix}
 * is the start of the secret, kept so that people can tell their keys apart in listings.
 *
 * @param id            stable public id ({@code key_...}); what usage, limits and stored responses refer to
 * @param userPath      the user path requests made with this key are attributed to (normalized)
 * @param expiresAt     epoch milliseconds after which the key is refused; 0 for never
 * @param revokedAt     epoch milliseconds when it was revoked; 0 while it is not
 * @param allowedModels model selectors ({@code *}, {@code anthropic/*}, {@code gpt-4o}); empty allows every model
 * @param scopes        what beyond model calls the key may do ({@link #SCOPE_ADMIN})
 * @param limits        rate limits and budgets as given; interpreted by the limits code, never here (null for none)
 * @param updatedAt     epoch milliseconds of the last change: how replicas find what changed
 */
public record ManagedKey(String id, String name, String hash, String prefix, String userPath, long expiresAt, long revokedAt,
                         List<String> allowedModels, Map<String, String> labels, Set<String> scopes, ObjectNode limits,
                         long createdAt, long updatedAt) {
    /** Lets a key use the admin API. */
    public static final String SCOPE_ADMIN = "admin";

    public ManagedKey {
        allowedModels = List.copyOf(allowedModels);
        labels = Map.copyOf(labels);
        scopes = Set.copyOf(scopes);
    }

    public boolean hasScope(String scope) {
        return scopes.contains(scope);
    }

    public boolean revoked() {
        return revokedAt != 0;
    }

    public boolean expiredAt(long nowMillis) {
        return expiresAt != 0 && nowMillis >= expiresAt;
    }
}
