package dev.skiff.observe.audit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.admin.AdminApi;
import dev.skiff.admin.AdminException;
import dev.skiff.admin.AdminReply;
import dev.skiff.admin.AdminRequest;
import dev.skiff.admin.AdminResource;
import dev.skiff.dialect.openai.OpenAiChat;
import dev.skiff.observe.UsageQuery;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code GET /admin/v1/audit}: audited requests, newest first, with filters and cursor paging;
 * {@code GET /admin/v1/audit/{request_id}}: one request whole, with its bodies and timings; and
 * {@code GET/PUT /admin/v1/audit/settings}: the audit level, changed without a restart (not persisted:
 * see {@link AuditSwitch}). The JSON shapes are documented in docs/audit.md (the dashboard reads them).
 * The records can be read once the audit log has been on since start; the settings always.
 */
public final class AuditResource implements AdminResource {
    private static final Set<String> PARAMS = Set.of("from", "to", "key", "path", "end_user", "model", "provider", "endpoint", "status",
            "cursor", "limit");
    private static final long DEFAULT_RANGE_MS = 30L * 86_400_000L;

    /** The segment of the settings (a request whose id a client made {@value} is not read by its id). */
    static final String SETTINGS = "settings";

    private final AuditSwitch audit;

    public AuditResource(AuditSwitch audit) {
        this.audit = audit;
    }

    @Override
    public String name() {
        return "audit";
    }

    @Override
    public AdminReply handle(AdminRequest request) throws Exception {
        if (request.segments().size() == 1 && request.segments().getFirst().equals(SETTINGS)) return settings(request);
        if (!request.method().equals("GET")) throw AdminApi.methodNotAllowed(request.method(), "GET");
        if (request.segments().size() > 1) throw AdminException.notFound("Unknown path: audit/{request_id} has no sub-resources.");
        AuditLog log = audit.log();
        if (log == null) {
            throw new AdminException(404, "The audit log is off (SKIFF_AUDIT=" + audit.startLevel().id() + ") and has not been on since start: "
                    + "there are no records to read. Turn it on with PUT " + AdminApi.PREFIX + "audit/settings {\"level\": \"metadata\"}.",
                    "not_found", null);
        }
        AuditStore store = log.store();
        AuditConfig config = audit.config();
        if (request.segments().size() == 1) {
            String id = request.segments().getFirst();
            AuditRow row = await(store, store.find(id));
            if (row == null) {
                throw new AdminException(404, "No audit record of request '" + id + "' (audit level " + config.level().id()
                        + ", kept " + config.retention().toDays() + " days).", "not_found", null);
            }
            return AdminReply.ok(detail(row));
        }
        AuditQuery q = parse(request.query(), System.currentTimeMillis());
        AuditStore.Page page = await(store, store.list(q));
        ObjectNode root = OpenAiChat.JSON.createObjectNode();
        root.put("object", "list");
        root.put("level", config.level().id());
        ArrayNode data = root.putArray("data");
        for (AuditRow r : page.rows()) summary(data.addObject(), r);
        root.put("has_more", page.more());
        if (page.more()) root.put("next_cursor", page.next());
        else root.putNull("next_cursor");
        return AdminReply.ok(root);
    }

    /**
     * {@code GET}: the level now, the one Skiff started with, and the settings that are fixed at start;
     * {@code PUT} or {@code PATCH} {@code {"level": "off" | "metadata" | "bodies"}}: the level from now on,
     * answered as GET with the level before. Not persisted: a restart takes SKIFF_AUDIT again.
     */
    private AdminReply settings(AdminRequest request) throws java.io.IOException {
        AuditConfig.Level before = null;
        switch (request.method()) {
            case "GET" -> { }
            case "PUT", "PATCH" -> {
                ObjectNode body = request.objectBody();
                for (var it = body.fieldNames(); it.hasNext(); ) {
                    String name = it.next();
                    if (!name.equals("level")) {
                        throw AdminException.badRequest("Unknown field '" + name + "'; only level can be changed at runtime "
                                + "(the other audit settings are read at start).", name);
                    }
                }
                JsonNode l = body.get("level");
                if (l == null || !l.isTextual()) throw AdminException.badRequest("level must be given, as a string: off, metadata or bodies.", "level");
                AuditConfig.Level level = AuditConfig.parseLevel(l.asText());
                if (level == null || l.asText().isBlank()) {
                    throw AdminException.badRequest("level '" + l.asText() + "' must be off, metadata or bodies.", "level");
                }
                try {
                    before = audit.set(level);
                } catch (java.io.IOException | RuntimeException e) {
                    throw new AdminException(503, "The audit store could not be opened: " + e.getMessage(), "store_unavailable", null);
                }
            }
            default -> throw AdminApi.methodNotAllowed(request.method(), "GET", "PUT", "PATCH");
        }
        AuditConfig c = audit.config();
        ObjectNode o = OpenAiChat.JSON.createObjectNode();
        o.put("object", "audit.settings");
        o.put("level", c.level().id());
        if (before != null) o.put("previous_level", before.id());
        o.put("start_level", audit.startLevel().id());
        o.put("persisted", false);
        o.put("note", "A level set here holds until Skiff stops; it is not saved, and a restart starts at SKIFF_AUDIT ("
                + audit.startLevel().id() + ").");
        o.put("max_body_bytes", c.maxBodyBytes());
        o.put("redact", c.redact() != null);
        o.put("retention_days", c.retention().toDays());
        AuditLog log = audit.log();
        if (log != null) o.put("store", log.store().describe());
        else o.putNull("store");
        o.put("dropped", audit.dropped());
        return AdminReply.ok(o);
    }

    private static <T> T await(AuditStore store, CompletableFuture<T> f) {
        try {
            return f.get(30, TimeUnit.SECONDS);
        } catch (RejectedExecutionException e) {
            throw new AdminException(503, "Too many audit queries are waiting; try again.", "overloaded", null);
        } catch (TimeoutException e) {
            throw new AdminException(503, "The audit query took longer than 30 s; narrow it.", "timeout", null);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AdminException(503, "Interrupted.", "store_unavailable", null);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() instanceof java.util.concurrent.CompletionException c && c.getCause() != null ? c.getCause() : e.getCause();
            throw new AdminException(503, "The audit store (" + store.describe() + ") could not answer: " + cause.getMessage(), "store_unavailable", null);
        }
    }

    static AuditQuery parse(Map<String, List<String>> params, long nowMs) {
        for (String name : params.keySet()) {
            if (!PARAMS.contains(name)) throw AdminException.badRequest("Unknown parameter '" + name + "'; audit takes " + String.join(", ", new TreeSet<>(PARAMS)) + ".", name);
        }
        try {
            String toParam = first(params, "to");
            String fromParam = first(params, "from");
            long to = toParam == null ? nowMs + 1 : UsageQuery.parseTime(toParam, "to");
            long from = fromParam == null ? to - DEFAULT_RANGE_MS : UsageQuery.parseTime(fromParam, "from");
            int[] status = {0, 0};
            String s = first(params, "status");
            if (s != null) status = AuditQuery.statusRange(s);
            long[] before = {0, 0};
            String cursor = first(params, "cursor");
            if (cursor != null) {
                try {
                    before = AuditStore.cursor(cursor);
                } catch (NumberFormatException e) {
                    throw AdminException.badRequest("cursor must be the next_cursor of a previous page.", "cursor");
                }
            }
            int limit = 50;
            String l = first(params, "limit");
            if (l != null) {
                try {
                    limit = Integer.parseInt(l);
                } catch (NumberFormatException e) {
                    throw AdminException.badRequest("limit must be a whole number.", "limit");
                }
            }
            String path = first(params, "path");
            if (path != null && !path.startsWith("/")) throw AdminException.badRequest("path must start with '/'.", "path");
            if (path != null && path.length() > 1 && path.endsWith("/")) path = path.substring(0, path.length() - 1);
            return new AuditQuery(from, to, first(params, "key"), path, first(params, "end_user"), first(params, "model"),
                    first(params, "provider"), first(params, "endpoint"), status[0], status[1], before[0], before[1], limit);
        } catch (IllegalArgumentException e) {
            throw AdminException.badRequest(e.getMessage(), null);
        }
    }

    private static String first(Map<String, List<String>> params, String name) {
        List<String> v = params.get(name);
        if (v == null || v.isEmpty()) return null;
        if (v.size() > 1) throw AdminException.badRequest("'" + name + "' is given more than once.", name);
        String s = v.getFirst();
        if (s.length() > 512) throw AdminException.badRequest("'" + name + "' is longer than 512 characters.", name);
        return s.isEmpty() ? null : s;
    }

    /** The fields of a row that the list shows. */
    static void summary(ObjectNode o, AuditRow r) {
        o.put("object", "audit.request");
        o.put("id", r.id());
        o.put("request_id", r.requestId());
        o.put("received_at", Instant.ofEpochMilli(r.ts()).toString());
        o.put("ts", r.ts());
        o.put("method", r.method());
        o.put("path", r.path());
        o.put("endpoint", r.endpoint());
        o.put("key_id", r.keyId());
        o.put("user_path", r.userPath());
        o.put("end_user", r.endUser());
        o.put("provider", r.provider());
        o.put("model", r.model());
        o.put("requested_model", r.requestedModel());
        o.put("stream", r.stream());
        o.put("status", r.status());
        ms(o, "latency_ms", r.latencyUs());
        ms(o, "ttft_ms", r.ttftUs());
        count(o, "input_tokens", r.inputTokens());
        count(o, "output_tokens", r.outputTokens());
        o.put("error", r.error());
        o.put("level", r.level());
        o.put("trace_id", r.traceId());
    }

    private static void ms(ObjectNode o, String name, long micros) {
        if (micros < 0) o.putNull(name);
        else o.put(name, micros / 1000.0);
    }

    private static void count(ObjectNode o, String name, long v) {
        if (v < 0) o.putNull(name);
        else o.put(name, v);
    }

    /** A row whole: its summary, and the detail document's members after it. */
    static ObjectNode detail(AuditRow r) throws java.io.IOException {
        ObjectNode o = OpenAiChat.JSON.createObjectNode();
        summary(o, r);
        JsonNode d = OpenAiChat.JSON.readTree(r.detail());
        if (d instanceof ObjectNode more) {
            AuditDocument.bodiesFromColumns(more, r);
            AuditDocument.complete(more, r);
            AuditDocument.expand(OpenAiChat.JSON, more);
            o.setAll(more);
        }
        return o;
    }

    @Override
    public ObjectNode openApi() {
        ObjectNode fragment = OpenAiChat.JSON.createObjectNode();
        ObjectNode paths = fragment.putObject("paths");
        ObjectNode list = paths.putObject(AdminApi.PREFIX + "audit").putObject("get");
        list.put("summary", "Audited requests, newest first (SKIFF_AUDIT)");
        list.put("description", "Summaries without bodies; page with cursor=next_cursor while has_more. See docs/audit.md.");
        ArrayNode ps = list.putArray("parameters");
        for (String[] p : new String[][] {{"from", "Received at or after: a date, an ISO time or epoch ms; default 30 days before 'to'"},
                {"to", "Received before; default now"}, {"key", "Only this key id"}, {"path", "Only this user path and its subtree"},
                {"end_user", "Only this end user"}, {"model", "Only this model (as the provider was asked for it)"},
                {"provider", "Only this provider"}, {"endpoint", "Only this endpoint: chat, messages, responses, embeddings, ..."},
                {"status", "A status (429), a class (4xx) or 'error' (400 and above)"}, {"cursor", "next_cursor of the previous page"},
                {"limit", "Rows per page, 1 to 500; default 50"}}) {
            ps.addObject().put("name", p[0]).put("in", "query").put("required", false).put("description", p[1]);
        }
        list.putObject("responses").putObject("200").put("description", "object: list of audit.request summaries");
        ObjectNode one = paths.putObject(AdminApi.PREFIX + "audit/{request_id}").putObject("get");
        one.put("summary", "One audited request whole: headers, bodies (client and provider side), timings");
        one.putArray("parameters").addObject().put("name", "request_id").put("in", "path").put("required", true);
        ObjectNode rs = one.putObject("responses");
        rs.putObject("200").put("description", "object: audit.request, with client, provider, timing and usage");
        rs.putObject("404").put("description", "No record of that request");
        ObjectNode settings = paths.putObject(AdminApi.PREFIX + "audit/" + SETTINGS);
        ObjectNode get = settings.putObject("get");
        get.put("summary", "The audit level now, the one Skiff started with (SKIFF_AUDIT), and the settings fixed at start");
        get.putObject("responses").putObject("200").put("description", "object: audit.settings");
        for (String method : new String[] {"put", "patch"}) {
            ObjectNode put = settings.putObject(method);
            put.put("summary", "Change the audit level without a restart: {\"level\": \"off\" | \"metadata\" | \"bodies\"}");
            put.put("description", "Requests that begin from now on are captured at the new level. Not persisted: a restart starts at SKIFF_AUDIT again.");
            ObjectNode prs = put.putObject("responses");
            prs.putObject("200").put("description", "object: audit.settings, with previous_level");
            prs.putObject("400").put("description", "A level other than off, metadata or bodies, or another field");
        }
        return fragment;
    }
}
