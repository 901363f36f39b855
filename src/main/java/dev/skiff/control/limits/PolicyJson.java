package dev.skiff.control.limits;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Limit policies as JSON, the one shape the admin API, the store and a key's {@code limits} share:
 *
 * <pre>{@code
 * {"scope": "end_user", "key_id": "key_abc", "end_user": "alice",
 *  "metric": "requests", "window": "day", "limit": 500, "soft": 400}
 * }</pre>
 *
 * <ul>
 *   <li>{@code scope}: {@code key} (needs {@code key_id}), {@code path} (needs {@code path}; the
 *       whole subtree), {@code end_user} (needs {@code key_id} or {@code path}; each end user counted
 *       alone; with {@code end_user} an override for that one, without it the default of all);
 *   <li>{@code metric}: {@code requests}, {@code tokens}, {@code cost} (micro-dollars; or give
 *       {@code limit_usd}), {@code concurrent} (no window);
 *   <li>{@code window}: {@code minute}, {@code hour}, {@code day}, {@code month} (UTC), {@code rolling:<seconds>};
 *   <li>{@code limit} (hard) and {@code soft} (optional warning threshold, at most the limit).
 * </ul>
 *
 * A key's {@code limits} is an object: {@code {"rules": [...]}} of the same rules without scope
 * fields (they count the key; {@code "per_end_user": true} makes a rule the default quota of each end
 * user of the key, {@code "end_user": "id"} an override), and shorthands {@code rpm}, {@code rph},
 * {@code rpd}, {@code tpm}, {@code tpd}, {@code concurrent}, {@code budget_usd} with {@code budget_period}
 * ({@code month} by default).
 */
public final class PolicyJson {
    private PolicyJson() {}

    /** A policy from an admin request or a stored row. @throws IllegalArgumentException naming what is wrong */
    public static LimitPolicy parse(String id, JsonNode n) {
        if (n == null || !n.isObject()) throw new IllegalArgumentException("a limit policy is a JSON object");
        String scopeName = text(n, "scope", null);
        if (scopeName == null) throw new IllegalArgumentException("'scope' is required: key, path or end_user");
        String keyId = text(n, "key_id", null);
        String path = text(n, "path", null);
        Scope within = null;
        if (keyId != null && path != null) throw new IllegalArgumentException("give 'key_id' or 'path', not both");
        if (keyId != null) within = new Scope.Key(keyId);
        if (path != null) within = new Scope.Path(normalizePath(path));
        Scope scope = switch (scopeName) {
            case "key" -> {
                if (keyId == null) throw new IllegalArgumentException("a key limit needs 'key_id'");
                yield within;
            }
            case "path" -> {
                if (path == null) throw new IllegalArgumentException("a path limit needs 'path'");
                yield within;
            }
            case "end_user" -> {
                if (within == null) throw new IllegalArgumentException("an end-user quota lies under a 'key_id' or a 'path'");
                String user = text(n, "end_user", null);
                if (user != null && (user.isEmpty() || user.length() > 256)) {
                    throw new IllegalArgumentException("'end_user' is 1 to 256 characters");
                }
                yield new Scope.EndUser(within, user);
            }
            default -> throw new IllegalArgumentException("unknown scope '" + scopeName + "': key, path or end_user");
        };
        if (!scopeName.equals("end_user") && n.has("end_user")) throw new IllegalArgumentException("'end_user' needs scope end_user");
        return rule(id, scope, n);
    }

    /** The metric, window and limits of a rule, for {@code scope}. */
    private static LimitPolicy rule(String id, Scope scope, JsonNode n) {
        String metricName = text(n, "metric", null);
        if (metricName == null) throw new IllegalArgumentException("'metric' is required: requests, tokens, cost or concurrent");
        Metric metric = Metric.parse(metricName);
        Window window = metric == Metric.CONCURRENT ? Window.NONE : Window.parse(requireText(n, "window"));
        if (metric == Metric.CONCURRENT && n.has("window") && !n.get("window").asText().equals("none")) {
            throw new IllegalArgumentException("a concurrent limit has no window");
        }
        long limit = amount(n, "limit", metric);
        if (limit < 0) throw new IllegalArgumentException("'limit' is required (a whole number at least 0" + (metric == Metric.COST ? ", micro-dollars; or limit_usd)" : ")"));
        long soft = amount(n, "soft", metric);
        if (soft > limit) throw new IllegalArgumentException("'soft' must be at most 'limit'");
        return new LimitPolicy(id, scope, metric, window, limit, soft);
    }

    /** A whole number field, or for cost its {@code _usd} form in dollars; -1 when absent. */
    private static long amount(JsonNode n, String field, Metric metric) {
        JsonNode v = n.get(field);
        JsonNode usd = n.get(field + "_usd");
        if (v != null && !v.isNull()) {
            if (!v.canConvertToExactIntegral() || v.asLong() < 0) throw new IllegalArgumentException("'" + field + "' must be a whole number at least 0");
            return v.asLong();
        }
        if (usd != null && !usd.isNull()) {
            if (metric != Metric.COST) throw new IllegalArgumentException("'" + field + "_usd' is for cost limits");
            if (!usd.isNumber() || usd.asDouble() < 0 || usd.asDouble() > 1e12) throw new IllegalArgumentException("'" + field + "_usd' must be dollars, at least 0");
            return Math.round(usd.asDouble() * 1_000_000);
        }
        return -1;
    }

    public static ObjectNode render(LimitPolicy p) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        if (p.id() != null) o.put("id", p.id());
        Scope within = p.scope() instanceof Scope.EndUser e ? e.within() : p.scope();
        o.put("scope", switch (p.scope()) {
            case Scope.Key k -> "key";
            case Scope.Path q -> "path";
            case Scope.EndUser e -> "end_user";
        });
        if (within instanceof Scope.Key k) o.put("key_id", k.keyId());
        if (within instanceof Scope.Path q) o.put("path", q.path());
        if (p.scope() instanceof Scope.EndUser e && e.endUser() != null) o.put("end_user", e.endUser());
        o.put("metric", p.metric().wire());
        o.put("window", p.window().id());
        o.put("limit", p.limit());
        if (p.soft() >= 0) o.put("soft", p.soft());
        if (p.metric() == Metric.COST) o.put("limit_usd", p.limit() / 1e6);
        return o;
    }

    private static final Map<String, Object[]> SHORTHANDS = Map.of(
            "rpm", new Object[] {Metric.REQUESTS, "minute"}, "rph", new Object[] {Metric.REQUESTS, "hour"},
            "rpd", new Object[] {Metric.REQUESTS, "day"}, "tpm", new Object[] {Metric.TOKENS, "minute"},
            "tpd", new Object[] {Metric.TOKENS, "day"}, "concurrent", new Object[] {Metric.CONCURRENT, "none"});

    /**
     * The policies of a managed key's {@code limits} object (see the class comment).
     *
     * @throws IllegalArgumentException naming what is wrong, so key creation can refuse it
     */
    public static List<LimitPolicy> ofKey(String keyId, JsonNode limits) {
        List<LimitPolicy> out = new ArrayList<>();
        if (limits == null || limits.isNull()) return out;
        if (!limits.isObject()) throw new IllegalArgumentException("'limits' is a JSON object");
        Scope key = new Scope.Key(keyId);
        int n = 0;
        for (var e : limits.properties()) {
            String name = e.getKey();
            JsonNode v = e.getValue();
            Object[] shorthand = SHORTHANDS.get(name);
            if (shorthand != null) {
                if (!v.canConvertToExactIntegral() || v.asLong() < 0) throw new IllegalArgumentException("limits." + name + " must be a whole number at least 0");
                Metric m = (Metric) shorthand[0];
                out.add(new LimitPolicy("key:" + keyId + ":" + name, key, m, Window.parse((String) shorthand[1]), v.asLong(), -1));
            } else if (name.equals("budget_usd")) {
                if (!v.isNumber() || v.asDouble() < 0) throw new IllegalArgumentException("limits.budget_usd must be dollars, at least 0");
                String period = limits.path("budget_period").asText("month");
                out.add(new LimitPolicy("key:" + keyId + ":budget", key, Metric.COST, Window.parse(period), Math.round(v.asDouble() * 1e6), -1));
            } else if (name.equals("budget_period")) {
                Window.parse(v.asText()); // checked; used with budget_usd
            } else if (name.equals("rules")) {
                if (!v.isArray()) throw new IllegalArgumentException("limits.rules is an array of rules");
                for (JsonNode r : v) {
                    if (!r.isObject()) throw new IllegalArgumentException("each of limits.rules is an object");
                    String user = text(r, "end_user", null);
                    boolean perUser = r.path("per_end_user").asBoolean(false) || user != null;
                    Scope s = perUser ? new Scope.EndUser(key, user) : key;
                    try {
                        out.add(rule("key:" + keyId + ":" + n++, s, r));
                    } catch (IllegalArgumentException x) {
                        throw new IllegalArgumentException("limits.rules[" + (n - 1) + "]: " + x.getMessage());
                    }
                }
            } else {
                throw new IllegalArgumentException("unknown field limits." + name + ": rules, rpm, rph, rpd, tpm, tpd, concurrent, budget_usd, budget_period");
            }
        }
        return out;
    }

    /** A user path as limits compare it: leading slash, no trailing one, no empty or dot segments. */
    static String normalizePath(String path) {
        String p = path.strip();
        if (!p.startsWith("/")) p = "/" + p;
        while (p.length() > 1 && p.endsWith("/")) p = p.substring(0, p.length() - 1);
        for (String seg : p.substring(1).split("/", -1)) {
            if (p.length() > 1 && (seg.isEmpty() || seg.equals(".") || seg.equals(".."))) {
                throw new IllegalArgumentException("'path' " + path + " has an empty, '.' or '..' segment");
            }
        }
        return p;
    }

    private static String text(JsonNode n, String field, String dflt) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) return dflt;
        if (!v.isTextual()) throw new IllegalArgumentException("'" + field + "' must be a string");
        return v.asText();
    }

    private static String requireText(JsonNode n, String field) {
        String s = text(n, field, null);
        if (s == null) throw new IllegalArgumentException("'" + field + "' is required");
        return s;
    }
}
