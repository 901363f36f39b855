package dev.skiff.observe.trace;

import dev.skiff.config.ProviderType;
import dev.skiff.observe.CallObserver;
import dev.skiff.observe.RequestTrail;
import dev.skiff.observe.UsageRecord;
import io.netty.handler.codec.http.HttpRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Traces requests with the OpenTelemetry GenAI conventions: a SERVER span per request (continuing an
 * incoming W3C {@code traceparent}), and a CLIENT span per call to a provider (each attempt), whose
 * {@code traceparent} the provider receives. Spans are built on the event loop from what the request
 * trail and its usage record already hold, and handed to the {@link OtlpExporter}'s thread when the
 * request ends. Only sampled requests have spans, so an unsampled one costs the sampling decision.
 */
public final class Tracer implements CallObserver, AutoCloseable {
    private final TraceConfig config;
    private final OtlpExporter exporter;
    private final long ratioBound; // trace ids whose low 63 bits are below this are sampled by the ratio samplers

    public Tracer(TraceConfig config, OtlpExporter exporter) {
        this.config = config;
        this.exporter = exporter;
        this.ratioBound = config.ratio() >= 1 ? Long.MAX_VALUE : (long) (config.ratio() * Long.MAX_VALUE);
    }

    public TraceConfig config() {
        return config;
    }

    public OtlpExporter exporter() {
        return exporter;
    }

    /** The request's SERVER span, or null when it is not sampled. */
    public Span startServer(HttpRequest req) {
        long now = epochNanos();
        String[] parent = parse(req.headers().get("traceparent"));
        String traceId = parent != null ? parent[0] : hex(16);
        boolean sampled = parent != null && config.sampler().startsWith("parentbased") ? parent[2].equals("1") : root(traceId);
        if (!sampled) return null;
        Span s = new Span(traceId, hex(8), parent == null ? null : parent[1], Span.Kind.SERVER, true, req.method().name(), now);
        String path = path(req.uri());
        s.name = req.method().name() + " " + route(path);
        s.set("http.request.method", req.method().name()).set("url.path", path).set("http.route", route(path));
        return s;
    }

    private boolean root(String traceId) {
        return switch (config.sampler()) {
            case "always_off", "parentbased_always_off" -> false;
            case "traceidratio", "parentbased_traceidratio" -> (Long.parseUnsignedLong(traceId.substring(16), 16) >>> 1) < ratioBound;
            default -> true;
        };
    }

    /** A CLIENT span for one call to {@code provider}, child of the server span. */
    public Span startClient(RequestTrail t, HttpRequest head, String provider) {
        Span server = t.serverSpan;
        Span c = new Span(server.traceId, hex(8), server.spanId, Span.Kind.CLIENT, true, head.method().name() + " " + provider, epochNanos());
        c.set("http.request.method", head.method().name()).set("skiff.provider", provider);
        String host = head.headers().get("host");
        if (host != null) {
            int colon = host.lastIndexOf(':');
            c.set("server.address", colon > 0 && host.indexOf(']') < colon ? host.substring(0, colon) : host);
        }
        return c;
    }

    @Override
    public void finished(UsageRecord r, RequestTrail t) {
        if (t == null || t.serverSpan == null) return;
        Span server = t.serverSpan;
        // anchored on the server span's own start (taken just after receipt, with the clock's full precision):
        // the millisecond receipt time could put the end before a client span that began within the same millisecond
        long end = server.startEpochNanos + (t.finishedNanos() - t.receivedNanos);
        server.endEpochNanos = Math.max(end, server.startEpochNanos);
        String operation = operation(r.endpoint());
        String provider = providerName(r.providerType(), r.provider());
        server.set("http.response.status_code", (long) r.status()).set("skiff.request_id", r.requestId()).set("skiff.endpoint", r.endpoint())
                .set("skiff.provider", r.provider()).set("skiff.key_id", r.keyId()).set("skiff.user_path", r.userPath())
                .set("skiff.end_user", r.endUser()).set("gen_ai.request.model", r.requestedModel());
        if (r.status() >= 500) error(server, Integer.toString(r.status()), r.error());
        List<Span> spans = new ArrayList<>(2 + (t.earlierClientSpans == null ? 0 : t.earlierClientSpans.size()));
        spans.add(server);
        if (t.earlierClientSpans != null) spans.addAll(t.earlierClientSpans);
        Span c = t.clientSpan;
        if (c != null) {
            c.endEpochNanos = Math.max(end, c.startEpochNanos);
            String model = r.model();
            c.name = (operation != null ? operation : r.endpoint()) + (model != null ? " " + model : "");
            c.set("gen_ai.operation.name", operation).set("gen_ai.provider.name", provider).set("gen_ai.system", provider)
                    .set("gen_ai.request.model", model).set("gen_ai.response.model", r.status() / 100 == 2 ? t.responseModel : null)
                    .set("skiff.provider", r.provider()).set("skiff.stream", r.stream());
            if (r.usage().promptTokens() >= 0) c.set("gen_ai.usage.input_tokens", r.usage().promptTokens());
            if (r.usage().completionTokens() >= 0) c.set("gen_ai.usage.output_tokens", r.usage().completionTokens());
            if (t.upstreamStatus() != 0) c.set("http.response.status_code", (long) t.upstreamStatus());
            if (r.ttftMs() >= 0 && r.stream()) c.set("skiff.time_to_first_token_ms", r.ttftMs());
            if (t.upstreamStatus() == 0 || t.upstreamStatus() >= 400) error(c, t.upstreamStatus() == 0 ? "no_response" : Integer.toString(t.upstreamStatus()), r.error());
            if (config.captureContent()) Content.add(c, t);
            spans.add(c);
        }
        server.set("gen_ai.operation.name", operation).set("gen_ai.provider.name", provider);
        if (r.usage().promptTokens() >= 0) server.set("gen_ai.usage.input_tokens", r.usage().promptTokens());
        if (r.usage().completionTokens() >= 0) server.set("gen_ai.usage.output_tokens", r.usage().completionTokens());
        exporter.export(spans);
    }

    /** Ends the attempt under way as superseded: a retry or a failover starts another. */
    public static void supersede(RequestTrail t) {
        Span c = t.clientSpan;
        if (c == null) return;
        c.endEpochNanos = epochNanos();
        if (t.upstreamStatus() != 0) c.set("http.response.status_code", (long) t.upstreamStatus());
        error(c, t.upstreamStatus() == 0 ? "no_response" : Integer.toString(t.upstreamStatus()), "retried");
        if (t.earlierClientSpans == null) t.earlierClientSpans = new ArrayList<>(2);
        t.earlierClientSpans.add(c);
        t.clientSpan = null;
    }

    private static void error(Span s, String type, String message) {
        s.error = true;
        s.statusMessage = message;
        s.set("error.type", type);
    }

    /** The GenAI operation of an endpoint; null for calls that are not a model operation. */
    static String operation(String endpoint) {
        return switch (endpoint) {
            case "chat", "messages", "responses" -> "chat";
            case "embeddings" -> "embeddings";
            case "count_tokens" -> "count_tokens";
            default -> null;
        };
    }

    /** The convention's well-known provider names where one exists, else the type's own id. */
    static String providerName(ProviderType type, String name) {
        if (type == null) return name;
        return switch (type) {
            case OPENAI -> "openai";
            case ANTHROPIC -> "anthropic";
            case GEMINI -> "gcp.gemini";
            case BEDROCK -> "aws.bedrock";
            case AZURE -> "azure.ai.openai";
            case XAI -> "x_ai";
            case DEEPSEEK -> "deepseek";
            case GROQ -> "groq";
            case MISTRAL -> "mistral_ai";
            default -> type.id();
        };
    }

    private static String path(String uri) {
        int q = uri.indexOf('?');
        return q < 0 ? uri : uri.substring(0, q);
    }

    /** A low-cardinality route for span names: ids in paths become placeholders. */
    static String route(String path) {
        if (path.startsWith("/v1/models/")) return "/v1/models/{model}";
        if (path.startsWith("/v1/responses/")) return path.endsWith("/input_items") ? "/v1/responses/{id}/input_items" : "/v1/responses/{id}";
        if (path.startsWith("/p/")) {
            int slash = path.indexOf('/', 3);
            return "/p/" + (slash < 0 ? path.substring(3) : path.substring(3, slash)) + "/*";
        }
        if (path.startsWith("/admin/v1/")) {
            int slash = path.indexOf('/', 10);
            return slash < 0 ? path : path.substring(0, slash) + "/*";
        }
        return path;
    }

    /** {@code [traceId, parentId, sampled flag "0"|"1"]} of a valid version-00 traceparent, else null. */
    static String[] parse(String h) {
        if (h == null) return null;
        h = h.strip();
        if (h.length() < 55 || h.charAt(2) != '-' || h.charAt(35) != '-' || h.charAt(52) != '-') return null;
        String version = h.substring(0, 2);
        if (version.equals("ff") || !isHex(version) || (version.equals("00") && h.length() != 55)) return null;
        String trace = h.substring(3, 35);
        String parent = h.substring(36, 52);
        String flags = h.substring(53, 55);
        if (!isHex(trace) || !isHex(parent) || !isHex(flags) || trace.equals("0".repeat(32)) || parent.equals("0".repeat(16))) return null;
        return new String[] {trace, parent, (Integer.parseInt(flags, 16) & 1) == 1 ? "1" : "0"};
    }

    private static boolean isHex(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) return false;
        }
        return true;
    }

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    static String hex(int bytes) {
        char[] out = new char[bytes * 2];
        ThreadLocalRandom r = ThreadLocalRandom.current();
        long v = 0;
        for (int i = 0; i < bytes; i++) {
            if (i % 8 == 0) v = r.nextLong();
            int b = (int) (v & 0xff);
            v >>>= 8;
            out[i * 2] = HEX[b >> 4];
            out[i * 2 + 1] = HEX[b & 15];
        }
        String s = new String(out);
        return s.chars().allMatch(ch -> ch == '0') ? hex(bytes) : s;
    }

    static long epochNanos() {
        java.time.Instant now = java.time.Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    @Override
    public void close() {
        exporter.close();
    }
}
