package dev.skiff.observe;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.admin.AdminApi;
import dev.skiff.admin.AdminException;
import dev.skiff.admin.AdminReply;
import dev.skiff.admin.AdminRequest;
import dev.skiff.admin.AdminResource;
import dev.skiff.dialect.openai.OpenAiChat;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code GET /admin/v1/usage}: usage and cost over a time range, grouped by key, user path, end user,
 * model, provider or day, as JSON or CSV. The same parameters serve the self-service
 * {@code GET /v1/usage}, held to the caller's own key.
 *
 * <p>Parameters: {@code from}, {@code to} (dates, ISO times or epoch ms; the last 30 days by default),
 * {@code group_by}, {@code depth} (path segments to roll up to), filters {@code key}, {@code path}
 * (a subtree), {@code end_user}, {@code model}, {@code provider}, and {@code format=csv}.
 */
public final class UsageResource implements AdminResource {
    private static final Set<String> PARAMS = Set.of("from", "to", "group_by", "depth", "key", "path", "end_user", "model", "provider", "format");
    private static final long DEFAULT_RANGE_MS = 30L * 86_400_000L;

    private final UsageStore store;

    public UsageResource(UsageStore store) {
        this.store = store;
    }

    @Override
    public String name() {
        return "usage";
    }

    @Override
    public AdminReply handle(AdminRequest request) throws Exception {
        if (!request.segments().isEmpty()) throw AdminException.notFound("Unknown path: usage has no sub-resources.");
        if (!request.method().equals("GET")) throw AdminApi.methodNotAllowed(request.method(), "GET");
        UsageQuery q = parse(request.query(), null, System.currentTimeMillis());
        UsageQuery.Result result;
        try {
            result = store.query(q).get(30, TimeUnit.SECONDS);
        } catch (RejectedExecutionException e) {
            throw new AdminException(503, "Too many usage queries are waiting; try again.", "overloaded", null);
        } catch (TimeoutException e) {
            throw new AdminException(503, "The usage query took longer than 30 s; narrow the time range.", "timeout", null);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() instanceof java.util.concurrent.CompletionException c && c.getCause() != null ? c.getCause() : e.getCause();
            throw new AdminException(503, "The usage store (" + store.describe() + ") could not answer: " + cause.getMessage(), "store_unavailable", null);
        }
        return render(result, request.param("format", "json"));
    }

    /**
     * A query from request parameters; {@code ownKey}, when set, holds it to that key (self-service),
     * and a {@code key} parameter naming another is refused.
     *
     * @throws AdminException 400 naming the parameter at fault
     */
    public static UsageQuery parse(Map<String, List<String>> params, String ownKey, long nowMs) {
        for (String name : params.keySet()) {
            if (!PARAMS.contains(name)) throw AdminException.badRequest("Unknown parameter '" + name + "'; usage takes " + String.join(", ", new java.util.TreeSet<>(PARAMS)) + ".", name);
        }
        String format = first(params, "format");
        if (format != null && !format.equals("json") && !format.equals("csv")) throw AdminException.badRequest("format must be json or csv.", "format");
        try {
            String toParam = first(params, "to");
            String fromParam = first(params, "from");
            long to = toParam == null ? nowMs + 1 : UsageQuery.parseTime(toParam, "to");
            long from = fromParam == null ? to - DEFAULT_RANGE_MS : UsageQuery.parseTime(fromParam, "from");
            if (to - from > UsageQuery.MAX_RANGE_MS) throw AdminException.badRequest("The range from 'from' to 'to' may cover at most 367 days.", "from");
            String g = first(params, "group_by");
            UsageQuery.GroupBy groupBy = g == null ? UsageQuery.GroupBy.NONE : UsageQuery.GroupBy.of(g);
            String d = first(params, "depth");
            int depth = 0;
            if (d != null) {
                try {
                    depth = Integer.parseInt(d);
                } catch (NumberFormatException e) {
                    throw AdminException.badRequest("depth must be a whole number of path segments.", "depth");
                }
                if (groupBy != UsageQuery.GroupBy.PATH) throw AdminException.badRequest("depth applies to group_by=path only.", "depth");
            }
            String key = first(params, "key");
            if (ownKey != null) {
                if (key != null && !key.equals(ownKey)) {
                    throw new AdminException(403, "GET /v1/usage reports the calling key's own usage only; ask an admin for other keys' (/admin/v1/usage).",
                            "insufficient_permissions", "key");
                }
                key = ownKey;
            }
            return new UsageQuery(from, to, groupBy, depth, key, first(params, "path"), first(params, "end_user"), first(params, "model"),
                    first(params, "provider"));
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

    /** The result as JSON ({@code object: usage}) or CSV. Costs are dollars; unknown ones are counted, not summed. */
    public static AdminReply render(UsageQuery.Result result, String format) {
        if ("csv".equals(format)) return AdminReply.csv(result.csv());
        UsageQuery q = result.query();
        ObjectNode root = OpenAiChat.JSON.createObjectNode();
        root.put("object", "usage");
        root.put("from", Instant.ofEpochMilli(q.fromMs()).toString());
        root.put("to", Instant.ofEpochMilli(q.toMs()).toString());
        root.put("group_by", q.groupBy().id());
        if (q.depth() > 0) root.put("depth", q.depth());
        ObjectNode filters = root.putObject("filters");
        if (q.keyId() != null) filters.put("key", q.keyId());
        if (q.path() != null) filters.put("path", q.path());
        if (q.endUser() != null) filters.put("end_user", q.endUser());
        if (q.model() != null) filters.put("model", q.model());
        if (q.provider() != null) filters.put("provider", q.provider());
        ArrayNode data = root.putArray("data");
        String groupName = q.groupBy() == UsageQuery.GroupBy.NONE ? null : q.groupBy().id();
        for (UsageQuery.Totals t : result.groups()) totals(data.addObject(), groupName, t);
        totals(root.putObject("total"), null, result.total());
        return AdminReply.ok(root);
    }

    private static void totals(ObjectNode o, String groupName, UsageQuery.Totals t) {
        if (groupName != null) o.put(groupName, t.group());
        o.put("requests", t.requests());
        o.put("errors", t.errors());
        o.put("input_tokens", t.inputTokens());
        o.put("cached_input_tokens", t.cachedInputTokens());
        o.put("cache_write_tokens", t.cacheWriteTokens());
        o.put("output_tokens", t.outputTokens());
        o.put("reasoning_tokens", t.reasoningTokens());
        o.put("total_tokens", t.totalTokens());
        o.put("cost_usd", t.costUsd());
        o.put("cost_nanos", t.costNanos());
        o.put("unknown_cost_requests", t.unknownCostRequests());
    }

    @Override
    public ObjectNode openApi() {
        ObjectNode fragment = OpenAiChat.JSON.createObjectNode();
        ObjectNode get = fragment.putObject("paths").putObject(AdminApi.PREFIX + "usage").putObject("get");
        get.put("summary", "Usage and cost over a time range, grouped; JSON or CSV");
        get.put("description", "Totals of requests, errors, tokens by class (input, cached_input, cache_write, output, reasoning; they do not "
                + "overlap) and cost. cost_usd sums the requests whose cost is known; unknown_cost_requests counts the others (a model "
                + "without a price, an answer without usage). path filters a subtree: /acme includes /acme/**.");
        ArrayNode ps = get.putArray("parameters");
        param(ps, "from", "Start (inclusive): a date (2026-12-01), an ISO time or epoch ms; default 30 days before 'to'");
        param(ps, "to", "End (exclusive); default now");
        param(ps, "group_by", "key, path, end_user, model, provider or day (UTC); default: one total")
                .putObject("schema").put("type", "string").putArray("enum").add("key").add("path").add("end_user").add("model").add("provider").add("day");
        param(ps, "depth", "With group_by=path: roll paths up to this many segments");
        param(ps, "key", "Only this key id");
        param(ps, "path", "Only this user path and its subtree");
        param(ps, "end_user", "Only this end user");
        param(ps, "model", "Only this model (as the provider was asked for it)");
        param(ps, "provider", "Only this provider");
        param(ps, "format", "json (default) or csv");
        ObjectNode responses = get.putObject("responses");
        responses.putObject("200").put("description", "Usage totals (object: usage), or CSV with a header row");
        responses.putObject("400").put("description", "A parameter is malformed");
        return fragment;
    }

    private static ObjectNode param(ArrayNode ps, String name, String description) {
        ObjectNode p = ps.addObject();
        p.put("name", name).put("in", "query").put("required", false).put("description", description);
        return p;
    }
}
