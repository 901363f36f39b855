package dev.skiff.observe.trace;

import dev.skiff.config.ConfigException;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Tracing as the standard OpenTelemetry variables configure it; off unless an OTLP endpoint is set.
 *
 * @param endpoint     the traces URL: {@code OTEL_EXPORTER_OTLP_TRACES_ENDPOINT} as given, else
 *                     {@code OTEL_EXPORTER_OTLP_ENDPOINT} + {@code /v1/traces}; null when tracing is off
 * @param json         {@code http/json} rather than {@code http/protobuf} (the default) from
 *                     {@code OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL}; {@code grpc} is refused
 * @param headers      {@code OTEL_EXPORTER_OTLP_[TRACES_]HEADERS}: {@code k=v,k2=v2}, values percent-decoded
 * @param serviceName  {@code OTEL_SERVICE_NAME}, else {@code service.name} in {@code OTEL_RESOURCE_ATTRIBUTES}, else skiff
 * @param resource     {@code OTEL_RESOURCE_ATTRIBUTES}, service.name set
 * @param sampler      {@code OTEL_TRACES_SAMPLER}: always_on, always_off, traceidratio, parentbased_always_on
 *                     (the default), parentbased_always_off, parentbased_traceidratio
 * @param ratio        {@code OTEL_TRACES_SAMPLER_ARG} for the ratio samplers (1.0 by default)
 * @param timeoutMs    {@code OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT}, 10 s by default
 * @param delayMs      {@code OTEL_BSP_SCHEDULE_DELAY}: longest a span waits before it is exported, 5 s by default
 * @param maxQueue     {@code OTEL_BSP_MAX_QUEUE_SIZE}: spans waiting at most (more are dropped), 2048
 * @param maxBatch     {@code OTEL_BSP_MAX_EXPORT_BATCH_SIZE}: spans per export at most, 512
 * @param captureContent {@code OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true}: request and
 *                     response bodies go into the spans (never otherwise)
 */
public record TraceConfig(URI endpoint, boolean json, Map<String, String> headers, String serviceName, Map<String, String> resource,
                          String sampler, double ratio, int timeoutMs, int delayMs, int maxQueue, int maxBatch, boolean captureContent) {

    public boolean on() {
        return endpoint != null;
    }

    public static TraceConfig from(Map<String, String> env) {
        String tracesEndpoint = blankToNull(env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"));
        String endpoint = blankToNull(env.get("OTEL_EXPORTER_OTLP_ENDPOINT"));
        boolean disabled = "true".equalsIgnoreCase(env.getOrDefault("OTEL_SDK_DISABLED", "").strip())
                || "none".equalsIgnoreCase(env.getOrDefault("OTEL_TRACES_EXPORTER", "").strip());
        URI uri = null;
        if (!disabled && (tracesEndpoint != null || endpoint != null)) {
            String u = tracesEndpoint != null ? tracesEndpoint : (endpoint.endsWith("/") ? endpoint : endpoint + "/") + "v1/traces";
            try {
                uri = URI.create(u);
            } catch (IllegalArgumentException e) {
                throw new ConfigException("OTEL_EXPORTER_OTLP_ENDPOINT", "'" + u + "' is not a URL");
            }
            if (uri.getScheme() == null || !(uri.getScheme().equals("http") || uri.getScheme().equals("https")) || uri.getHost() == null) {
                throw new ConfigException("OTEL_EXPORTER_OTLP_ENDPOINT", "'" + u + "' is not an http:// or https:// URL");
            }
        }
        String protocol = first(env, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf").toLowerCase(Locale.ROOT);
        boolean json = switch (protocol) {
            case "http/protobuf" -> false;
            case "http/json" -> true;
            default -> throw new ConfigException("OTEL_EXPORTER_OTLP_PROTOCOL", "'" + protocol
                    + "' is not supported: Skiff exports http/protobuf or http/json (port 4318 on a collector or the Datadog Agent)");
        };
        Map<String, String> headers = pairs(first(env, "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS", ""));
        Map<String, String> resource = pairs(env.getOrDefault("OTEL_RESOURCE_ATTRIBUTES", ""));
        String service = blankToNull(env.get("OTEL_SERVICE_NAME"));
        if (service == null) service = resource.getOrDefault("service.name", "skiff");
        resource.put("service.name", service);
        String sampler = env.getOrDefault("OTEL_TRACES_SAMPLER", "parentbased_always_on").strip().toLowerCase(Locale.ROOT);
        if (!java.util.Set.of("always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off",
                "parentbased_traceidratio").contains(sampler)) {
            throw new ConfigException("OTEL_TRACES_SAMPLER", "'" + sampler + "' must be always_on, always_off, traceidratio, "
                    + "parentbased_always_on, parentbased_always_off or parentbased_traceidratio");
        }
        double ratio = 1.0;
        String arg = blankToNull(env.get("OTEL_TRACES_SAMPLER_ARG"));
        if (arg != null && sampler.endsWith("traceidratio")) {
            try {
                ratio = Double.parseDouble(arg);
            } catch (NumberFormatException e) {
                ratio = -1;
            }
            if (!(ratio >= 0 && ratio <= 1)) throw new ConfigException("OTEL_TRACES_SAMPLER_ARG", "'" + arg + "' must be a ratio from 0 to 1");
        }
        int timeout = number(env, first(env, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT", "10000"), "OTEL_EXPORTER_OTLP_TIMEOUT");
        int delay = number(env, env.getOrDefault("OTEL_BSP_SCHEDULE_DELAY", "5000"), "OTEL_BSP_SCHEDULE_DELAY");
        int queue = number(env, env.getOrDefault("OTEL_BSP_MAX_QUEUE_SIZE", "2048"), "OTEL_BSP_MAX_QUEUE_SIZE");
        int batch = number(env, env.getOrDefault("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "512"), "OTEL_BSP_MAX_EXPORT_BATCH_SIZE");
        boolean content = "true".equalsIgnoreCase(env.getOrDefault("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "").strip());
        return new TraceConfig(uri, json, headers, service, resource, sampler, ratio, timeout, delay, Math.max(queue, 1),
                Math.max(1, Math.min(batch, queue)), content);
    }

    private static int number(Map<String, String> env, String v, String name) {
        try {
            int n = Integer.parseInt(v.strip());
            if (n <= 0) throw new NumberFormatException();
            return n;
        } catch (NumberFormatException e) {
            throw new ConfigException(name, "'" + v + "' must be a positive whole number");
        }
    }

    private static String first(Map<String, String> env, String a, String b, String fallback) {
        String v = blankToNull(env.get(a));
        if (v == null) v = blankToNull(env.get(b));
        return v == null ? fallback : v.strip();
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.strip();
    }

    /** {@code k=v,k2=v2} with percent-encoded values (the OTel list format). */
    static Map<String, String> pairs(String s) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String item : s.split(",")) {
            int eq = item.indexOf('=');
            if (eq <= 0) continue;
            out.put(item.substring(0, eq).strip(), URLDecoder.decode(item.substring(eq + 1).strip(), StandardCharsets.UTF_8));
        }
        return out;
    }
}
