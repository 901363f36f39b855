package dev.skiff.observe.metrics;

import dev.skiff.config.ConfigException;
import java.util.Locale;
import java.util.Map;

/**
 * {@code SKIFF_METRICS}: whether {@code /metrics} is served (on by default); {@code SKIFF_METRICS_OPEN}:
 * who may scrape it without a key: {@code off} (the default: the master key or an admin-scoped key,
 * as {@code Authorization: Bearer}), {@code loopback} (no key from 127.0.0.1 or ::1, e.g. an agent
 * beside Skiff), or {@code any} (no key from anywhere; for a port only the scraper can reach).
 */
public record MetricsConfig(boolean on, Open open) {
    public enum Open { OFF, LOOPBACK, ANY }

    public static MetricsConfig from(Map<String, String> env) {
        String m = env.getOrDefault("SKIFF_METRICS", "on").strip().toLowerCase(Locale.ROOT);
        boolean on = switch (m) {
            case "", "on", "true", "1" -> true;
            case "off", "false", "0" -> false;
            default -> throw new ConfigException("SKIFF_METRICS", "'" + m + "' must be on or off");
        };
        String o = env.getOrDefault("SKIFF_METRICS_OPEN", "off").strip().toLowerCase(Locale.ROOT);
        Open open = switch (o) {
            case "", "off", "false", "0" -> Open.OFF;
            case "loopback", "true", "1" -> Open.LOOPBACK;
            case "any" -> Open.ANY;
            default -> throw new ConfigException("SKIFF_METRICS_OPEN", "'" + o + "' must be off, loopback or any");
        };
        return new MetricsConfig(on, open);
    }
}
