package dev.skiff.control.limits;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.admin.AdminException;
import dev.skiff.admin.AdminReply;
import dev.skiff.admin.AdminRequest;
import dev.skiff.admin.AdminResource;

/**
 * {@code GET /admin/v1/warnings}: soft thresholds crossed, newest first, from every replica
 * ({@code ?since=<epoch ms>}, {@code ?policy_id=}, {@code ?limit=}).
 */
public final class WarningsResource implements AdminResource {
    private final LimitStore store;

    public WarningsResource(LimitStore store) {
        this.store = store;
    }

    @Override
    public String name() {
        return "warnings";
    }

    @Override
    public AdminReply handle(AdminRequest r) throws Exception {
        if (!r.segments().isEmpty()) throw AdminException.notFound("Unknown path: /admin/v1/warnings/" + String.join("/", r.segments()) + ".");
        if (!r.method().equals("GET")) throw new AdminException(405, "Use GET on /admin/v1/warnings.", "method_not_allowed", null);
        long since;
        int limit;
        try {
            since = Long.parseLong(r.param("since", "0"));
            limit = Integer.parseInt(r.param("limit", "100"));
        } catch (NumberFormatException e) {
            throw AdminException.badRequest("since (epoch milliseconds) and limit are whole numbers.", null);
        }
        if (limit < 1 || limit > 10_000) throw AdminException.badRequest("limit is from 1 to 10000.", "limit");
        ArrayNode data = JsonNodeFactory.instance.arrayNode();
        for (Warnings.Warning w : store.warnings(since, r.param("policy_id", null), limit)) data.add(w.json());
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("object", "list");
        o.set("data", data);
        return AdminReply.ok(o);
    }

    @Override
    public ObjectNode openApi() {
        ObjectNode doc = JsonNodeFactory.instance.objectNode();
        doc.putObject("paths").putObject("/admin/v1/warnings").putObject("get")
                .put("summary", "Soft limit thresholds crossed, newest first (since, policy_id, limit)");
        return doc;
    }
}
