package dev.skiff.control.keys;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.admin.AdminApi;
import dev.skiff.admin.AdminException;
import dev.skiff.admin.AdminReply;
import dev.skiff.admin.AdminRequest;
import dev.skiff.admin.AdminResource;
import dev.skiff.config.SharedJson;
import dev.skiff.control.UserPath;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * {@code /admin/v1/keys}: create (the secret is in that answer only), list, read, change and revoke
 * managed keys. A change is applied to this replica's registry at once; other replicas pick it up on
 * their next refresh.
 */
public final class KeysResource implements AdminResource {
    static final Set<String> SCOPES = Set.of(ManagedKey.SCOPE_ADMIN);
    private static final int MAX_LABELS = 64;

    private final KeyStore store;
    private final KeyRegistry registry;

    public KeysResource(KeyStore store, KeyRegistry registry) {
        this.store = store;
        this.registry = registry;
    }

    @Override
    public String name() {
        return "keys";
    }

    @Override
    public AdminReply handle(AdminRequest r) throws Exception {
        List<String> seg = r.segments();
        if (seg.isEmpty()) {
            return switch (r.method()) {
                case "GET" -> list(r);
                case "POST" -> create(r.objectBody());
                default -> throw AdminApi.methodNotAllowed(r.method(), "GET", "POST");
            };
        }
        if (seg.size() == 2 && seg.get(1).equals("rotate")) {
            if (!r.method().equals("POST")) throw AdminApi.methodNotAllowed(r.method(), "POST");
            KeyStore.Created rotated = store.rotate(seg.getFirst());
            if (rotated == null) {
                ManagedKey k = found(store.get(seg.getFirst()), seg.getFirst());
                throw new AdminException(409, "Key '" + k.id() + "' is revoked; a revoked key cannot be given a new secret.", "key_revoked", null);
            }
            registry.apply(List.of(rotated.key()));
            ObjectNode out = view(rotated.key());
            out.put("secret", rotated.secret());
            return AdminReply.ok(out);
        }
        if (seg.size() > 1) throw AdminException.notFound("Unknown path: a key is /admin/v1/keys/{id}, or /admin/v1/keys/{id}/rotate.");
        String id = seg.getFirst();
        return switch (r.method()) {
            case "GET" -> AdminReply.ok(view(found(store.get(id), id)));
            case "PATCH" -> patch(id, r.objectBody());
            case "DELETE" -> {
                ManagedKey k = found(store.revoke(id), id);
                registry.apply(List.of(k));
                yield AdminReply.ok(view(k));
            }
            default -> throw AdminApi.methodNotAllowed(r.method(), "GET", "PATCH", "DELETE");
        };
    }

    private AdminReply create(ObjectNode body) throws Exception {
        rejectUnknown(body);
        KeyStore.Spec spec = new KeyStore.Spec(name(body.get("name"), ""), path(body.get("user_path"), UserPath.ROOT),
                expiry(body.get("expires_at"), 0), models(body.get("allowed_models"), List.of("*")), labels(body.get("labels"), Map.of()),
                scopes(body.get("scopes"), Set.of()), limits(body.get("limits"), null));
        KeyStore.Created created = store.create(spec);
        registry.apply(List.of(created.key()));
        ObjectNode out = view(created.key());
        out.put("secret", created.secret());
        return AdminReply.json(201, out);
    }

    private AdminReply patch(String id, ObjectNode body) throws Exception {
        rejectUnknown(body);
        ManagedKey k = found(store.get(id), id);
        ManagedKey changed = new ManagedKey(k.id(), body.has("name") ? name(body.get("name"), "") : k.name(), k.hash(), k.prefix(),
                body.has("user_path") ? path(body.get("user_path"), UserPath.ROOT) : k.userPath(),
                body.has("expires_at") ? expiry(body.get("expires_at"), 0) : k.expiresAt(), k.revokedAt(),
                body.has("allowed_models") ? models(body.get("allowed_models"), List.of("*")) : k.allowedModels(),
                body.has("labels") ? labels(body.get("labels"), Map.of()) : k.labels(),
                body.has("scopes") ? scopes(body.get("scopes"), Set.of()) : k.scopes(),
                body.has("limits") ? limits(body.get("limits"), null) : k.limits(), k.createdAt(), k.updatedAt());
        ManagedKey stored = found(store.update(changed), id);
        registry.apply(List.of(stored));
        return AdminReply.ok(view(stored));
    }

    private AdminReply list(AdminRequest r) throws Exception {
        int limit;
        try {
            limit = Integer.parseInt(r.param("limit", "100"));
        } catch (NumberFormatException e) {
            throw AdminException.badRequest("limit must be a number.", "limit");
        }
        if (limit < 1 || limit > 1000) throw AdminException.badRequest("limit must be between 1 and 1000.", "limit");
        String under = r.param("user_path", null);
        if (under != null) {
            try {
                under = UserPath.normalize(under);
            } catch (IllegalArgumentException e) {
                throw AdminException.badRequest(e.getMessage(), "user_path");
            }
        }
        List<ManagedKey> keys = store.list(limit + 1, r.param("after", null), under);
        boolean more = keys.size() > limit;
        if (more) keys = keys.subList(0, limit);
        ObjectNode out = SharedJson.MAPPER.createObjectNode().put("object", "list");
        ArrayNode data = out.putArray("data");
        for (ManagedKey k : keys) data.add(view(k));
        out.put("has_more", more);
        out.put("last_id", keys.isEmpty() ? null : keys.getLast().id());
        return AdminReply.ok(out);
    }

    private static ManagedKey found(ManagedKey k, String id) {
        if (k == null) throw AdminException.notFound("No key with id '" + id + "'.");
        return k;
    }

    private static final Set<String> FIELDS = Set.of("name", "user_path", "expires_at", "allowed_models", "labels", "scopes", "limits");

    private static void rejectUnknown(ObjectNode body) {
        for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!FIELDS.contains(f)) {
                throw AdminException.badRequest("Unknown field '" + f + "'; a key has " + String.join(", ", new TreeSet<>(FIELDS)) + ".", f);
            }
        }
    }

    /** A key as the API shows it: never its secret or hash. Times are Unix seconds. */
    public static ObjectNode view(ManagedKey k) {
        ObjectNode o = SharedJson.MAPPER.createObjectNode();
        o.put("id", k.id()).put("object", "key").put("name", k.name()).put("prefix", k.prefix()).put("user_path", k.userPath());
        long now = System.currentTimeMillis();
        o.put("status", k.revoked() ? "revoked" : k.expiredAt(now) ? "expired" : "active");
        seconds(o, "expires_at", k.expiresAt());
        seconds(o, "revoked_at", k.revokedAt());
        o.putPOJO("allowed_models", k.allowedModels());
        o.set("labels", SharedJson.MAPPER.valueToTree(new java.util.TreeMap<>(k.labels())));
        o.putPOJO("scopes", new TreeSet<>(k.scopes()));
        o.set("limits", k.limits());
        seconds(o, "created_at", k.createdAt());
        seconds(o, "updated_at", k.updatedAt());
        return o;
    }

    private static void seconds(ObjectNode o, String field, long millis) {
        if (millis == 0) o.putNull(field);
        else o.put(field, millis / 1000);
    }

    // ---- fields ----

    private static String name(JsonNode n, String fallback) {
        if (n == null || n.isNull()) return fallback;
        if (!n.isTextual()) throw AdminException.badRequest("name must be a string.", "name");
        if (n.asText().length() > 200) throw AdminException.badRequest("name may be at most 200 characters.", "name");
        return n.asText();
    }

    private static String path(JsonNode n, String fallback) {
        if (n == null || n.isNull()) return fallback;
        if (!n.isTextual()) throw AdminException.badRequest("user_path must be a string such as '/acme/support'.", "user_path");
        try {
            return UserPath.normalize(n.asText());
        } catch (IllegalArgumentException e) {
            throw AdminException.badRequest(e.getMessage(), "user_path");
        }
    }

    /** Unix seconds, or an ISO-8601 instant ({@code 2026-12-31T00:00:00Z}); null for never. */
    private static long expiry(JsonNode n, long fallback) {
        if (n == null || n.isNull()) return fallback;
        if (n.isIntegralNumber() && n.canConvertToLong() && n.asLong() > 0 && n.asLong() < 100_000_000_000L) return n.asLong() * 1000;
        if (n.isTextual()) {
            try {
                return Instant.parse(n.asText()).toEpochMilli();
            } catch (DateTimeParseException e) {
                // falls through to the refusal
            }
        }
        throw AdminException.badRequest("expires_at must be Unix seconds or an ISO-8601 time such as 2026-12-31T00:00:00Z, or null.",
                "expires_at");
    }

    private static List<String> models(JsonNode n, List<String> fallback) {
        if (n == null || n.isNull()) return fallback;
        if (!n.isArray()) throw AdminException.badRequest("allowed_models must be an array of selectors such as \"anthropic/*\".",
                "allowed_models");
        List<String> out = new ArrayList<>();
        for (JsonNode s : n) {
            if (!s.isTextual()) throw AdminException.badRequest("allowed_models must hold strings.", "allowed_models");
            try {
                out.add(ModelSelectors.validate(s.asText()));
            } catch (IllegalArgumentException e) {
                throw AdminException.badRequest(e.getMessage(), "allowed_models");
            }
        }
        if (out.size() > 1000) throw AdminException.badRequest("allowed_models may hold at most 1000 selectors.", "allowed_models");
        return out;
    }

    private static Map<String, String> labels(JsonNode n, Map<String, String> fallback) {
        if (n == null || n.isNull()) return fallback;
        if (!n.isObject()) throw AdminException.badRequest("labels must be an object of strings.", "labels");
        Map<String, String> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) throw AdminException.badRequest("label '" + e.getKey() + "' must be a string.", "labels");
            if (e.getKey().length() > 100 || e.getValue().asText().length() > 500) {
                throw AdminException.badRequest("label names may be at most 100 characters and values 500.", "labels");
            }
            out.put(e.getKey(), e.getValue().asText());
        }
        if (out.size() > MAX_LABELS) throw AdminException.badRequest("A key may have at most " + MAX_LABELS + " labels.", "labels");
        return out;
    }

    private static Set<String> scopes(JsonNode n, Set<String> fallback) {
        if (n == null || n.isNull()) return fallback;
        if (!n.isArray()) throw AdminException.badRequest("scopes must be an array, e.g. [\"admin\"].", "scopes");
        Set<String> out = new TreeSet<>();
        for (JsonNode s : n) {
            if (!s.isTextual() || !SCOPES.contains(s.asText())) {
                throw AdminException.badRequest("Unknown scope " + s + "; the scopes are " + SCOPES + ".", "scopes");
            }
            out.add(s.asText());
        }
        return out;
    }

    /** Rate limits and budgets: an object, kept as given (the limits code checks it). */
    private static ObjectNode limits(JsonNode n, ObjectNode fallback) {
        if (n == null || n.isNull()) return fallback;
        if (!(n instanceof ObjectNode o)) throw AdminException.badRequest("limits must be an object.", "limits");
        if (o.toString().length() > 16_384) throw AdminException.badRequest("limits may be at most 16 KB of JSON.", "limits");
        try {
            dev.skiff.control.limits.PolicyJson.ofKey("key", o); // refused now rather than ignored at request time
        } catch (IllegalArgumentException e) {
            throw AdminException.badRequest("Invalid limits: " + e.getMessage() + ".", "limits");
        }
        return o;
    }

    @Override
    public ObjectNode openApi() {
        ObjectNode f = SharedJson.MAPPER.createObjectNode();
        ObjectNode paths = f.putObject("paths");
        ObjectNode collection = paths.putObject("/admin/v1/keys");
        op(collection, "get", "List keys (newest first; never their secrets)", "KeyList", 200)
                .putArray("parameters").add(param("limit", "query", "integer", "1 to 1000, default 100"))
                .add(param("after", "query", "string", "the id of the last key of the previous page"))
                .add(param("user_path", "query", "string", "only keys at this user path or beneath it"));
        op(collection, "post", "Create a key; the answer holds its secret, shown this once", "CreatedKey", 201)
                .set("requestBody", body("KeyInput"));
        ObjectNode one = paths.putObject("/admin/v1/keys/{id}");
        one.putArray("parameters").add(param("id", "path", "string", "the key's id (key_...)").put("required", true));
        op(one, "get", "Read a key", "Key", 200);
        op(one, "patch", "Change a key's fields (those given)", "Key", 200).set("requestBody", body("KeyInput"));
        op(one, "delete", "Revoke a key: refused on every replica within a second; kept for its usage", "Key", 200);
        ObjectNode rotate = paths.putObject("/admin/v1/keys/{id}/rotate");
        rotate.set("parameters", one.get("parameters"));
        op(rotate, "post", "Give a key a new secret (shown this once); the old secret stops working", "CreatedKey", 200);

        ObjectNode schemas = f.putObject("components").putObject("schemas");
        ObjectNode input = schemas.putObject("KeyInput").put("type", "object").put("additionalProperties", false);
        ObjectNode p = input.putObject("properties");
        p.putObject("name").put("type", "string").put("maxLength", 200);
        p.putObject("user_path").put("type", "string").put("description", "requests are attributed here, e.g. /acme/support");
        p.putObject("expires_at").put("description", "Unix seconds or ISO-8601; null for never");
        p.putObject("allowed_models").put("type", "array").put("description", "selectors: *, anthropic/*, openai/gpt-4o, gpt-4o; default [\"*\"]")
                .putObject("items").put("type", "string");
        p.putObject("labels").put("type", "object").putObject("additionalProperties").put("type", "string");
        p.putObject("scopes").put("type", "array").putObject("items").put("type", "string").putArray("enum").add("admin");
        p.putObject("limits").put("type", "object").put("description", "rate limits and budgets");
        ObjectNode key = schemas.putObject("Key").put("type", "object");
        ObjectNode kp = key.putObject("properties");
        for (String s : List.of("id", "name", "prefix", "user_path", "status")) kp.putObject(s).put("type", "string");
        for (String s : List.of("expires_at", "revoked_at", "created_at", "updated_at")) kp.putObject(s).putArray("type").add("integer").add("null");
        kp.putObject("allowed_models").put("type", "array").putObject("items").put("type", "string");
        kp.putObject("labels").put("type", "object");
        kp.putObject("scopes").put("type", "array").putObject("items").put("type", "string");
        kp.putObject("limits").putArray("type").add("object").add("null");
        ObjectNode created = schemas.putObject("CreatedKey");
        created.putArray("allOf").add(ref("Key")).addObject().put("type", "object").putObject("properties").putObject("secret")
                .put("type", "string").put("description", "sk-skiff-...; shown only here");
        ObjectNode list = schemas.putObject("KeyList").put("type", "object");
        list.putObject("properties").putObject("data").put("type", "array").set("items", ref("Key"));
        return f;
    }

    private static ObjectNode op(ObjectNode path, String method, String summary, String schema, int status) {
        ObjectNode op = path.putObject(method).put("summary", summary);
        op.putArray("tags").add("keys");
        ObjectNode responses = op.putObject("responses");
        responses.putObject(String.valueOf(status)).put("description", "OK").putObject("content").putObject("application/json")
                .set("schema", ref(schema));
        responses.putObject("default").put("description", "An error").putObject("content").putObject("application/json")
                .set("schema", ref("Error"));
        return op;
    }

    private static ObjectNode ref(String schema) {
        return SharedJson.MAPPER.createObjectNode().put("$ref", "#/components/schemas/" + schema);
    }

    private static ObjectNode body(String schema) {
        ObjectNode b = SharedJson.MAPPER.createObjectNode().put("required", true);
        b.putObject("content").putObject("application/json").set("schema", ref(schema));
        return b;
    }

    private static ObjectNode param(String name, String in, String type, String description) {
        ObjectNode p = SharedJson.MAPPER.createObjectNode().put("name", name).put("in", in).put("description", description);
        p.putObject("schema").put("type", type);
        return p;
    }
}
