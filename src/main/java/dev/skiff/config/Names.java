package dev.skiff.config;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The names of Skiff's settings, and what is close to one of them. A typo in a setting's name is
 * otherwise silent: the setting keeps its default and nothing says why. Unknown YAML keys are an
 * error (the file is Skiff's alone); a near-miss environment variable is only a warning, because
 * the environment is shared with other programs.
 */
final class Names {
    private Names() {}

    /** YAML keys, by section; {@code ""} is the top level, {@code "providers.*"} any provider. */
    static final Map<String, List<String>> YAML_KEYS = Map.of(
            "", List.of("server", "timeouts", "providers", "models_refresh", "usage_log", "tls_ca_file", "image_fetch_max_bytes",
                    "image_fetch_private", "database", "responses_ttl", "control", "key_cooldown", "routing"),
            "server", List.of("host", "port", "io_threads", "transport", "max_body_bytes", "master_key", "allow_open", "ready_timeout",
                    "header_timeout", "keepalive_timeout", "max_connections", "drain_timeout", "translation_memory"),
            "timeouts", List.of("connect", "first_byte", "idle", "total"),
            "control", List.of("database_url", "redis_url", "redis_prefix", "limits_failure", "end_user_header", "pricing_file", "usage_store", "usage_retention"),
            "providers.*", List.of("type", "api_key", "api_keys", "base_url", "models", "api_version", "key_cooldown"));

    /** Every SKIFF_ variable Skiff or its scripts read. */
    static final Set<String> SKIFF_VARIABLES = Set.of("SKIFF_CONFIG", "SKIFF_HOST", "SKIFF_PORT", "SKIFF_IO_THREADS", "SKIFF_TRANSPORT",
            "SKIFF_MAX_BODY_BYTES", "SKIFF_MASTER_KEY", "SKIFF_ALLOW_OPEN", "SKIFF_READY_TIMEOUT", "SKIFF_HEADER_TIMEOUT",
            "SKIFF_KEEPALIVE_TIMEOUT", "SKIFF_MAX_CONNECTIONS", "SKIFF_DRAIN_TIMEOUT", "SKIFF_CONNECT_TIMEOUT",
            "SKIFF_FIRST_BYTE_TIMEOUT", "SKIFF_IDLE_TIMEOUT", "SKIFF_TOTAL_TIMEOUT", "SKIFF_MODELS_REFRESH", "SKIFF_USAGE_LOG", "SKIFF_DB",
            "SKIFF_RESPONSES_TTL", "SKIFF_TRANSLATION_MEMORY", "SKIFF_KEY_COOLDOWN",
            "SKIFF_DATABASE_URL", "SKIFF_REDIS_URL", "SKIFF_REDIS_PREFIX", "SKIFF_LIMITS_FAILURE", "SKIFF_END_USER_HEADER", "SKIFF_PRICING_FILE", "SKIFF_USAGE_STORE",
            "SKIFF_USAGE_RETENTION",
            "SKIFF_TLS_CA_FILE", "SKIFF_IMAGE_FETCH_MAX_BYTES", "SKIFF_IMAGE_FETCH_PRIVATE", "SKIFF_PROVIDER_PRIORITY", "SKIFF_SESSION_HEADER",
            // observability (read by observe.audit.AuditConfig and observe.metrics.MetricsConfig)
            "SKIFF_AUDIT", "SKIFF_AUDIT_MAX_BODY", "SKIFF_AUDIT_REDACT", "SKIFF_AUDIT_RETENTION", "SKIFF_METRICS", "SKIFF_METRICS_OPEN",
            // read by bin/skiff and the build scripts, not by the JVM
            "SKIFF_HEAP", "SKIFF_DIRECT_MEMORY", "SKIFF_JAVA_OPTS", "SKIFF_AOT", "SKIFF_LAUNCHER", "SKIFF_DIST_AOT");

    /** The known name closest to {@code name}, if it is close enough to be a typo of it; else null. */
    static String closest(String name, Collection<String> known) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String k : known) {
            int d = distance(fold(name), fold(k));
            if (d < bestDistance) {
                best = k;
                bestDistance = d;
            }
        }
        // Same letters once case and separators are ignored, or one or two edits on a name long enough
        // that two edits do not make any short name look like any other.
        return best != null && (bestDistance == 0 || bestDistance <= Math.min(2, (fold(best).length() - 1) / 3)) ? best : null;
    }

    /**
     * For an environment variable that starts with a provider's prefix but is not one of its
     * settings, the setting it was probably meant to be ({@code OPENAI_KEY} is {@code OPENAI_API_KEY},
     * {@code ANTHROPIC_BASEURL} is {@code ANTHROPIC_BASE_URL}); null when it looks like nothing of ours.
     * {@code rest} is the name after the prefix and its underscore.
     */
    static String providerNearMiss(String prefix, String rest, List<String> keys) {
        // The name may carry an instance ("EAST_KEY"): try the whole of it, then every tail after an underscore.
        for (int i = 0; i <= rest.length(); i = rest.indexOf('_', i) + 1) {
            String instance = rest.substring(0, i);
            String tail = rest.substring(i);
            for (String key : keys) {
                if (tail.equals(key)) continue;
                // Typos count only in the whole name: after an instance, "SMALL_FAST_MODEL" is another program's.
                boolean typo = i == 0 && closest(tail, List.of(key)) != null;
                if (typo || fold(tail).equals(fold(key)) || alias(tail).equals(key)) return prefix + "_" + instance + key;
            }
            if (rest.indexOf('_', i) < 0) break;
        }
        return null;
    }

    /** Other gateways' and SDKs' words for the same settings. */
    private static String alias(String tail) {
        return switch (tail) {
            case "KEY", "APIKEY" -> "API_KEY";
            case "URL", "API_BASE", "API_URL" -> "BASE_URL";
            default -> tail;
        };
    }

    private static String fold(String s) {
        return s.toLowerCase(Locale.ROOT).replace("_", "").replace("-", "").replace(".", "");
    }

    /** Levenshtein distance. */
    static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1], cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    /** The keys of {@code section} that are not settings, each with its likely intended name. */
    static List<String> unknownKeys(Map<String, Object> section, List<String> known) {
        List<String> out = new ArrayList<>();
        for (Object k : section.keySet()) {
            String key = String.valueOf(k);
            if (!known.contains(key)) out.add(key);
        }
        return out;
    }
}
