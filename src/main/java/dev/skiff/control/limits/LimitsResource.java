package dev.skiff.control.limits;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.admin.AdminException;
import dev.skiff.admin.AdminReply;
import dev.skiff.admin.AdminRequest;
import dev.skiff.admin.AdminResource;
import java.util.List;

/**
 * {@code /admin/v1/limits}: limit policies, end-user default quotas and per-end-user overrides.
 *
 * <ul>
 *   <li>{@code GET /admin/v1/limits} lists them ({@code ?key_id=}, {@code ?path=} with optional
 *       {@code &end_user=} narrow to one scope);
 *   <li>{@code POST} creates one (201, with its {@code id}); {@code GET|PUT|DELETE /admin/v1/limits/{id}}.
 * </ul>
 *
 * A change applies on this replica at once and on the others within a refresh (half a second).
 */
public final class LimitsResource implements AdminResource {
    private final PolicyRegistry registry;

    public LimitsResource(PolicyRegistry registry) {
        this.registry = registry;
    }

    @Override
    public String name() {
        return "limits";
    }

    @Override
    public AdminReply handle(AdminRequest r) throws Exception {
        LimitStore store = registry.store();
        List<String> seg = r.segments();
        if (seg.isEmpty()) {
            return switch (r.method()) {
                case "GET" -> {
                    int limit = intParam(r, "limit", 1000, 10_000);
                    String scope = scopeFilter(r);
                    ArrayNode data = JsonNodeFactory.instance.arrayNode();
                    for (LimitStore.Row row : store.list(scope, limit)) data.add(render(row));
                    ObjectNode o = JsonNodeFactory.instance.objectNode();
                    o.put("object", "list");
                    o.set("data", data);
                    yield AdminReply.ok(o);
                }
                case "POST" -> {
                    LimitPolicy p = parse(LimitStore.newId(), r.objectBody());
                    LimitStore.Row row = store.insert(p);
                    registry.apply(List.of(row));
                    yield AdminReply.json(201, render(row));
                }
                default -> throw new AdminException(405, "Use GET or POST on /admin/v1/limits.", "method_not_allowed", null);
            };
        }
        if (seg.size() != 1) throw AdminException.notFound("Unknown path: /admin/v1/limits/" + String.join("/", seg) + ".");
        String id = seg.getFirst();
        return switch (r.method()) {
            case "GET" -> AdminReply.ok(render(found(store.get(id), id)));
            case "PUT", "PATCH" -> {
                LimitStore.Row row = found(store.update(parse(id, r.objectBody())), id);
                registry.apply(List.of(row));
                yield AdminReply.ok(render(row));
            }
            case "DELETE" -> {
                LimitStore.Row row = found(store.delete(id), id);
                registry.apply(List.of(row));
                ObjectNode o = JsonNodeFactory.instance.objectNode();
                o.put("id", id);
                o.put("deleted", true);
                yield AdminReply.ok(o);
            }
            default -> throw new AdminException(405, "Use GET, PUT or DELETE on /admin/v1/limits/{id}.", "method_not_allowed", null);
        };
    }

    private static LimitPolicy parse(String id, ObjectNode body) {
        for (var name : body.properties()) {
            if (!FIELDS.contains(name.getKey())) {
                throw AdminException.badRequest("Unknown field '" + name.getKey() + "'; a policy has " + String.join(", ", FIELDS) + ".", name.getKey());
            }
        }
        try {
            return PolicyJson.parse(id, body);
        } catch (IllegalArgumentException e) {
            throw AdminException.badRequest("Invalid limit policy: " + e.getMessage() + ".", null);
        }
    }

    private static final List<String> FIELDS = List.of("id", "scope", "key_id", "path", "end_user", "metric", "window", "limit", "limit_usd",
            "soft", "soft_usd", "created_at", "updated_at");

    private static String scopeFilter(AdminRequest r) {
        String key = r.param("key_id", null), path = r.param("path", null), user = r.param("end_user", null);
        if (key != null && path != null) throw AdminException.badRequest("Filter by key_id or path, not both.", "path");
        if (key == null && path == null) {
            if (user != null) throw AdminException.badRequest("end_user filters within a key_id or a path.", "end_user");
            return null;
        }
        String within;
        try {
            within = key != null ? new Scope.Key(key).id() : new Scope.Path(PolicyJson.normalizePath(path)).id();
        } catch (IllegalArgumentException e) {
            throw AdminException.badRequest(e.getMessage(), "path");
        }
        return within + (user == null ? "" : "|" + user);
    }

    private static int intParam(AdminRequest r, String name, int dflt, int max) {
        String v = r.param(name, null);
        if (v == null) return dflt;
        try {
            int n = Integer.parseInt(v);
            if (n < 1 || n > max) throw new NumberFormatException();
            return n;
        } catch (NumberFormatException e) {
            throw AdminException.badRequest(name + " must be a whole number from 1 to " + max + ".", name);
        }
    }

    private static LimitStore.Row found(LimitStore.Row row, String id) {
        if (row == null) throw AdminException.notFound("No limit policy with id '" + id + "'.");
        return row;
    }

    private static ObjectNode render(LimitStore.Row row) {
        ObjectNode o = PolicyJson.render(row.policy());
        o.put("object", "limit_policy");
        o.put("created_at", row.createdAt());
        o.put("updated_at", row.updatedAt());
        o.put("description", row.policy().describe());
        return o;
    }

    @Override
    public ObjectNode openApi() {
        ObjectNode doc = JsonNodeFactory.instance.objectNode();
        ObjectNode paths = doc.putObject("paths");
        ObjectNode list = paths.putObject("/admin/v1/limits");
        list.putObject("get").put("summary", "List limit policies (filter: key_id or path, and end_user)");
        list.putObject("post").put("summary", "Create a limit policy: scope key|path|end_user, metric requests|tokens|cost|concurrent, "
                + "window minute|hour|day|month|rolling:<seconds>, limit, soft");
        ObjectNode one = paths.putObject("/admin/v1/limits/{id}");
        one.putObject("get").put("summary", "One limit policy");
        one.putObject("put").put("summary", "Replace a limit policy");
        one.putObject("delete").put("summary", "Delete a limit policy");
        return doc;
    }
}
