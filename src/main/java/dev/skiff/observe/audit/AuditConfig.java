package dev.skiff.observe.audit;

import dev.skiff.config.ConfigException;
import dev.skiff.config.ConfigLoader;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * How requests are audited.
 *
 * @param level        {@code SKIFF_AUDIT}: off (the default), metadata (who, what, status, timings,
 *                     headers) or bodies (also the bodies, each up to {@code maxBodyBytes})
 * @param maxBodyBytes {@code SKIFF_AUDIT_MAX_BODY}: bytes kept of each of the four bodies (client
 *                     request and response, provider request and response); 64 KiB by default
 * @param redact       {@code SKIFF_AUDIT_REDACT}: a regular expression whose matches in bodies and
 *                     header values are replaced by {@code [redacted]} (combine several with |); null for none
 * @param retention    {@code SKIFF_AUDIT_RETENTION}: how long records are kept; 30 days by default
 */
public record AuditConfig(Level level, int maxBodyBytes, Pattern redact, Duration retention) {
    public enum Level {
        OFF, METADATA, BODIES;

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public static final AuditConfig OFF = new AuditConfig(Level.OFF, 64 << 10, null, Duration.ofDays(30));

    public static AuditConfig from(Map<String, String> env) {
        String l = env.getOrDefault("SKIFF_AUDIT", "off").strip().toLowerCase(Locale.ROOT);
        Level level = parseLevel(l);
        if (level == null) throw new ConfigException("SKIFF_AUDIT", "'" + l + "' must be off, metadata or bodies");
        String max = env.get("SKIFF_AUDIT_MAX_BODY");
        int maxBody = max == null || max.isBlank() ? OFF.maxBodyBytes() : (int) ConfigLoader.parseSize("SKIFF_AUDIT_MAX_BODY", max);
        String r = env.get("SKIFF_AUDIT_REDACT");
        Pattern redact = null;
        if (r != null && !r.isBlank()) {
            try {
                redact = Pattern.compile(r);
            } catch (PatternSyntaxException e) {
                throw new ConfigException("SKIFF_AUDIT_REDACT", "'" + r + "' is not a regular expression: " + e.getDescription());
            }
        }
        String ret = env.get("SKIFF_AUDIT_RETENTION");
        Duration retention = ret == null || ret.isBlank() ? OFF.retention() : ConfigLoader.parseDuration("SKIFF_AUDIT_RETENTION", ret);
        return new AuditConfig(level, maxBody, redact, retention);
    }

    /** This configuration at another level. */
    public AuditConfig withLevel(Level l) {
        return l == level ? this : new AuditConfig(l, maxBodyBytes, redact, retention);
    }

    /** The level {@code s} names (as SKIFF_AUDIT takes it), or null when it names none. */
    public static Level parseLevel(String s) {
        return switch (s.strip().toLowerCase(Locale.ROOT)) {
            case "", "off", "false", "0" -> Level.OFF;
            case "metadata", "meta" -> Level.METADATA;
            case "bodies", "body", "full" -> Level.BODIES;
            default -> null;
        };
    }

    public boolean on() {
        return level != Level.OFF;
    }
}
