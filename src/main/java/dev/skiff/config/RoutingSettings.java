package dev.skiff.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads {@link RoutingConfig} from the {@code routing:} section of the YAML file and the
 * environment, which wins. The variable names are GoModel's where it has the setting
 * ({@code RETRY_MAX_RETRIES}, {@code CIRCUIT_BREAKER_TIMEOUT}, {@code VIRTUAL_MODELS},
 * {@code FAILOVER_RULES_JSON} ...), so that its users can switch without renaming.
 */
final class RoutingSettings {

    static final List<String> SECTION_KEYS = List.of("retry", "failover", "circuit_breaker", "fallbacks", "virtual_models",
            "provider_priority", "session_header");
    private static final List<String> RETRY_KEYS = List.of("max_retries", "initial_backoff", "max_backoff", "backoff_factor", "on_statuses");
    private static final List<String> FAILOVER_KEYS = List.of("enabled", "on_statuses", "max_attempts", "first_token_timeout");
    private static final List<String> BREAKER_KEYS = List.of("enabled", "failure_threshold", "success_threshold", "timeout");
    private static final List<String> VIRTUAL_KEYS = List.of("strategy", "targets");

    /** The environment variables read here (none has Skiff's prefix but the last two). */
    static final Set<String> VARIABLES = Set.of("RETRY_MAX_RETRIES", "RETRY_INITIAL_BACKOFF", "RETRY_MAX_BACKOFF", "RETRY_BACKOFF_FACTOR",
            "RETRY_ON_STATUSES", "FAILOVER_ENABLED", "FAILOVER_RETRY_ON_STATUSES", "FAILOVER_MAX_ATTEMPTS", "FAILOVER_FIRST_TOKEN_TIMEOUT",
            "FAILOVER_RULES_JSON", "VIRTUAL_MODELS", "CIRCUIT_BREAKER_ENABLED", "CIRCUIT_BREAKER_FAILURE_THRESHOLD",
            "CIRCUIT_BREAKER_SUCCESS_THRESHOLD", "CIRCUIT_BREAKER_TIMEOUT", "SKIFF_PROVIDER_PRIORITY", "SKIFF_SESSION_HEADER");

    private final Map<String, String> env;

    private RoutingSettings(Map<String, String> env) {
        this.env = env;
    }

    static RoutingConfig read(Map<String, String> env, Map<String, Object> section) {
        return new RoutingSettings(env).build(section);
    }

    private RoutingConfig build(Map<String, Object> routing) {
        unknown(routing, "routing.", SECTION_KEYS);
        RoutingConfig d = RoutingConfig.defaults();
        Map<String, Object> r = map(routing.get("retry"), "routing.retry", RETRY_KEYS);
        Map<String, Object> f = map(routing.get("failover"), "routing.failover", FAILOVER_KEYS);
        Map<String, Object> b = map(routing.get("circuit_breaker"), "routing.circuit_breaker", BREAKER_KEYS);

        int maxRetries = nonNegative("RETRY_MAX_RETRIES / routing.retry.max_retries",
                get("RETRY_MAX_RETRIES", r, "max_retries", String.valueOf(d.retry().maxRetries())));
        Duration initial = ConfigLoader.parseDuration("RETRY_INITIAL_BACKOFF / routing.retry.initial_backoff",
                get("RETRY_INITIAL_BACKOFF", r, "initial_backoff", d.retry().initialBackoff().toMillis() + "ms"));
        Duration max = ConfigLoader.parseDuration("RETRY_MAX_BACKOFF / routing.retry.max_backoff",
                get("RETRY_MAX_BACKOFF", r, "max_backoff", d.retry().maxBackoff().toMillis() + "ms"));
        String factorText = get("RETRY_BACKOFF_FACTOR", r, "backoff_factor", String.valueOf(d.retry().factor()));
        double factor;
        try {
            factor = Double.parseDouble(factorText.strip());
        } catch (NumberFormatException e) {
            throw new ConfigException("RETRY_BACKOFF_FACTOR / routing.retry.backoff_factor", "'" + factorText + "' is not a number");
        }
        if (!(factor >= 1 && factor <= 10)) throw new ConfigException("RETRY_BACKOFF_FACTOR / routing.retry.backoff_factor", "'" + factorText + "' must be between 1 and 10");
        Set<Integer> retryOn = statuses("RETRY_ON_STATUSES / routing.retry.on_statuses", get("RETRY_ON_STATUSES", r, "on_statuses", "408,429,502,503,504"));

        boolean failover = bool("FAILOVER_ENABLED / routing.failover.enabled", get("FAILOVER_ENABLED", f, "enabled", "true"));
        Set<Integer> failoverOn = statuses("FAILOVER_RETRY_ON_STATUSES / routing.failover.on_statuses",
                get("FAILOVER_RETRY_ON_STATUSES", f, "on_statuses", "429,5xx"));
        int maxAttempts = nonNegative("FAILOVER_MAX_ATTEMPTS / routing.failover.max_attempts", get("FAILOVER_MAX_ATTEMPTS", f, "max_attempts", "0"));
        String ttft = get("FAILOVER_FIRST_TOKEN_TIMEOUT", f, "first_token_timeout", null);
        Duration firstToken = ttft == null || ttft.isBlank() ? null
                : ConfigLoader.parseDuration("FAILOVER_FIRST_TOKEN_TIMEOUT / routing.failover.first_token_timeout", ttft);

        boolean breaker = bool("CIRCUIT_BREAKER_ENABLED / routing.circuit_breaker.enabled", get("CIRCUIT_BREAKER_ENABLED", b, "enabled", "true"));
        int failures = ConfigLoader.parsePositiveInt("CIRCUIT_BREAKER_FAILURE_THRESHOLD / routing.circuit_breaker.failure_threshold",
                get("CIRCUIT_BREAKER_FAILURE_THRESHOLD", b, "failure_threshold", String.valueOf(d.breaker().failureThreshold())));
        int successes = ConfigLoader.parsePositiveInt("CIRCUIT_BREAKER_SUCCESS_THRESHOLD / routing.circuit_breaker.success_threshold",
                get("CIRCUIT_BREAKER_SUCCESS_THRESHOLD", b, "success_threshold", String.valueOf(d.breaker().successThreshold())));
        Duration open = ConfigLoader.parseDuration("CIRCUIT_BREAKER_TIMEOUT / routing.circuit_breaker.timeout",
                get("CIRCUIT_BREAKER_TIMEOUT", b, "timeout", d.breaker().timeout().toMillis() + "ms"));

        Map<String, List<String>> fallbacks = fallbacks(routing.get("fallbacks"));
        Map<String, RoutingConfig.VirtualModel> virtual = virtualModels(routing.get("virtual_models"));
        for (String name : virtual.keySet()) {
            if (fallbacks.containsKey(name)) {
                throw new ConfigException("routing.fallbacks." + name, "names a virtual model; list its fallbacks as its targets (strategy failover)");
            }
        }
        List<String> priority = list(env.get("SKIFF_PROVIDER_PRIORITY"), routing.get("provider_priority"), "SKIFF_PROVIDER_PRIORITY / routing.provider_priority");
        String session = get("SKIFF_SESSION_HEADER", routing, "session_header", d.sessionHeader()).strip();
        if (!session.matches("[A-Za-z0-9!#$%&'*+.^_`|~-]+")) {
            throw new ConfigException("SKIFF_SESSION_HEADER / routing.session_header", "'" + session + "' is not a header name");
        }
        return new RoutingConfig(new RoutingConfig.Retry(maxRetries, initial, max.compareTo(initial) < 0 ? initial : max, factor, retryOn),
                new RoutingConfig.Failover(failover, failoverOn, maxAttempts, firstToken),
                new RoutingConfig.Breaker(breaker, failures, successes, open), fallbacks, virtual, priority, session);
    }

    private Map<String, List<String>> fallbacks(Object yaml) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        if (yaml != null) {
            if (!(yaml instanceof Map<?, ?> m)) throw new ConfigException("routing.fallbacks", "must be a mapping of model to a list of targets");
            for (Map.Entry<?, ?> e : m.entrySet()) {
                out.put(String.valueOf(e.getKey()), list(null, e.getValue(), "routing.fallbacks." + e.getKey()));
            }
        }
        String json = env.get("FAILOVER_RULES_JSON");
        if (json != null && !json.isBlank()) {
            JsonNode tree = parse("FAILOVER_RULES_JSON", json);
            if (!tree.isObject()) throw new ConfigException("FAILOVER_RULES_JSON", "must be a JSON object of model to a list of targets");
            for (var it = tree.properties().iterator(); it.hasNext(); ) {
                var e = it.next();
                List<String> targets = new ArrayList<>();
                if (!e.getValue().isArray()) throw new ConfigException("FAILOVER_RULES_JSON." + e.getKey(), "must be a list of targets");
                e.getValue().forEach(t -> targets.add(t.asText()));
                out.put(e.getKey(), List.copyOf(targets));
            }
        }
        out.forEach((model, targets) -> {
            if (targets.isEmpty()) throw new ConfigException("routing.fallbacks." + model, "lists no target");
        });
        return out;
    }

    private Map<String, RoutingConfig.VirtualModel> virtualModels(Object yaml) {
        Map<String, RoutingConfig.VirtualModel> out = new LinkedHashMap<>();
        if (yaml != null) {
            if (!(yaml instanceof Map<?, ?> m)) throw new ConfigException("routing.virtual_models", "must be a mapping of name to {strategy, targets}");
            for (Map.Entry<?, ?> e : m.entrySet()) {
                String name = String.valueOf(e.getKey());
                String where = "routing.virtual_models." + name;
                Map<String, Object> v = map(e.getValue(), where, VIRTUAL_KEYS);
                List<RoutingConfig.WeightedTarget> targets = new ArrayList<>();
                if (!(v.get("targets") instanceof List<?> list) || list.isEmpty()) throw new ConfigException(where + ".targets", "must be a non-empty list");
                for (Object t : list) {
                    if (t instanceof Map<?, ?> tm) {
                        Object model = tm.get("model");
                        if (model == null) throw new ConfigException(where + ".targets", "each target needs a model");
                        for (Object k : tm.keySet()) {
                            if (!k.equals("model") && !k.equals("weight")) throw new ConfigException(where + ".targets." + k, "is not a setting; a target has model and weight");
                        }
                        targets.add(new RoutingConfig.WeightedTarget(String.valueOf(model),
                                weight(where + ".targets.weight", tm.get("weight") == null ? "1" : String.valueOf(tm.get("weight")))));
                    } else {
                        targets.add(new RoutingConfig.WeightedTarget(String.valueOf(t), 1));
                    }
                }
                out.put(name, new RoutingConfig.VirtualModel(name, strategy(where + ".strategy", v.get("strategy")), targets));
            }
        }
        String json = env.get("VIRTUAL_MODELS");
        if (json != null && !json.isBlank()) {
            JsonNode tree = parse("VIRTUAL_MODELS", json);
            if (!tree.isArray()) throw new ConfigException("VIRTUAL_MODELS", "must be a JSON array of {source, strategy, targets}");
            for (JsonNode v : tree) {
                String name = v.path("source").asText("");
                if (name.isBlank()) throw new ConfigException("VIRTUAL_MODELS", "an entry has no source (the name clients use)");
                List<RoutingConfig.WeightedTarget> targets = new ArrayList<>();
                JsonNode list = v.has("targets") ? v.get("targets") : v.has("target") ? SharedJson.MAPPER.createArrayNode().add(v.get("target")) : null;
                if (list == null || !list.isArray() || list.isEmpty()) throw new ConfigException("VIRTUAL_MODELS." + name, "has no targets");
                for (JsonNode t : list) {
                    String model = t.isTextual() ? t.asText() : t.path("model").asText("");
                    if (t.hasNonNull("provider") && !model.contains("/")) model = t.get("provider").asText() + "/" + model;
                    if (model.isBlank()) throw new ConfigException("VIRTUAL_MODELS." + name, "a target has no model");
                    targets.add(new RoutingConfig.WeightedTarget(model, weight("VIRTUAL_MODELS." + name + ".weight", t.path("weight").asText("1"))));
                }
                out.put(name, new RoutingConfig.VirtualModel(name, strategy("VIRTUAL_MODELS." + name + ".strategy",
                        v.hasNonNull("strategy") ? v.get("strategy").asText() : null), targets));
            }
        }
        return out;
    }

    private static RoutingConfig.Strategy strategy(String where, Object value) {
        if (value == null) return RoutingConfig.Strategy.FAILOVER;
        return RoutingConfig.Strategy.of(String.valueOf(value)).orElseThrow(() -> new ConfigException(where, "'" + value
                + "' is not a strategy; known: failover, round_robin, least_latency, least_busy, cheapest"));
    }

    private static int weight(String where, String text) {
        int w;
        try {
            w = (int) Math.round(Double.parseDouble(text.strip()));
        } catch (NumberFormatException e) {
            throw new ConfigException(where, "'" + text + "' is not a number");
        }
        if (w < 0 || w > 1000) throw new ConfigException(where, "'" + text + "' must be between 0 and 1000");
        return w;
    }

    private static JsonNode parse(String setting, String json) {
        try {
            return SharedJson.MAPPER.readTree(json);
        } catch (IOException e) {
            throw new ConfigException(setting, "is not valid JSON: " + e.getMessage());
        }
    }

    private String get(String var, Map<String, Object> section, String key, String dflt) {
        String v = env.get(var);
        if (v != null && !v.isBlank()) return v;
        Object o = section.get(key);
        if (o instanceof List<?> l) return String.join(",", l.stream().map(String::valueOf).toList());
        return o != null ? String.valueOf(o) : dflt;
    }

    private static List<String> list(String envValue, Object yaml, String where) {
        List<String> out = new ArrayList<>();
        if (envValue != null && !envValue.isBlank()) {
            for (String s : envValue.split(",")) if (!s.isBlank()) out.add(s.strip());
            return List.copyOf(out);
        }
        if (yaml == null) return List.of();
        if (yaml instanceof List<?> l) {
            for (Object o : l) out.add(String.valueOf(o).strip());
        } else {
            for (String s : String.valueOf(yaml).split(",")) if (!s.isBlank()) out.add(s.strip());
        }
        if (out.stream().anyMatch(String::isEmpty)) throw new ConfigException(where, "has an empty entry");
        return List.copyOf(out);
    }

    private static Map<String, Object> map(Object v, String where, List<String> known) {
        if (v == null) return Map.of();
        if (!(v instanceof Map<?, ?> m)) throw new ConfigException(where, "must be a mapping");
        @SuppressWarnings("unchecked") Map<String, Object> s = (Map<String, Object>) m;
        unknown(s, where + ".", known);
        return s;
    }

    private static void unknown(Map<String, Object> section, String path, List<String> known) {
        for (String key : Names.unknownKeys(section, known)) {
            String near = Names.closest(key, known);
            throw new ConfigException(path + key, "is not a setting" + (near != null ? "; did you mean " + path + near + "?"
                    : "; the settings here are " + String.join(", ", known)));
        }
    }

    private static int nonNegative(String setting, String text) {
        try {
            int n = Integer.parseInt(text.strip());
            if (n < 0 || n > 100) throw new ConfigException(setting, "'" + text + "' must be between 0 and 100");
            return n;
        } catch (NumberFormatException e) {
            throw new ConfigException(setting, "'" + text + "' is not a whole number");
        }
    }

    private static boolean bool(String setting, String text) {
        return switch (text.strip().toLowerCase(java.util.Locale.ROOT)) {
            case "true", "yes", "1", "on" -> true;
            case "false", "no", "0", "off" -> false;
            default -> throw new ConfigException(setting, "'" + text + "' must be true or false");
        };
    }

    /** {@code 429,502,5xx}: exact statuses and classes of a hundred. */
    static Set<Integer> statuses(String setting, String text) {
        Set<Integer> out = new LinkedHashSet<>();
        for (String part : text.split(",")) {
            String p = part.strip().toLowerCase(java.util.Locale.ROOT);
            if (p.isEmpty()) continue;
            if (p.matches("[1-5]xx")) {
                int base = (p.charAt(0) - '0') * 100;
                for (int s = base; s < base + 100; s++) out.add(s);
            } else if (p.matches("[1-5]\\d\\d")) {
                out.add(Integer.parseInt(p));
            } else {
                throw new ConfigException(setting, "'" + part.strip() + "' is not a status (like 429) or a class (like 5xx)");
            }
        }
        return out;
    }
}
