package dev.skiff.server;

import dev.skiff.control.MasterKeyAuth;
import dev.skiff.dialect.BadRequestException;
import dev.skiff.dialect.BodyEdit;
import dev.skiff.dialect.Json;
import dev.skiff.dialect.RequestScan;
import dev.skiff.observe.UsageLog;
import dev.skiff.dialect.ir.ChatRequest;
import dev.skiff.dialect.ir.ImageUrls;
import dev.skiff.dialect.openai.OpenAiChat;
import dev.skiff.dialect.openai.OpenAiChatEgress;
import dev.skiff.upstream.ImageFetcher;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import dev.skiff.provider.ChatAdapter;
import dev.skiff.provider.EmbeddingsAdapter;
import dev.skiff.routing.ModelCatalog;
import dev.skiff.routing.ModelRouter;
import dev.skiff.routing.Route;
import dev.skiff.routing.RouteException;
import dev.skiff.upstream.UpstreamClient;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.nio.charset.StandardCharsets;

/**
 * The path of every request, top to bottom: accept, authenticate, identify, admit, guard, route,
 * hand to the provider, relay back, observe. Stages that later work fills in (identity, admission,
 * guardrails) have their place marked here so the order stays visible in one file.
 */
public final class Gateway {
    private static final byte[] HEALTH = "{\"status\":\"ok\"}".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] READY = "{\"status\":\"ready\"}".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] NOT_READY = "{\"status\":\"starting\"}".getBytes(StandardCharsets.US_ASCII);

    /** The OpenAI-compatible endpoints that are proxied, and what they need. */
    enum Endpoint {
        CHAT("/chat/completions", true),
        EMBEDDINGS("/embeddings", false);

        final String upstreamPath;
        final boolean canStream;

        Endpoint(String upstreamPath, boolean canStream) {
            this.upstreamPath = upstreamPath;
            this.canStream = canStream;
        }
    }

    private final MasterKeyAuth auth;
    private final ModelCatalog catalog;
    private final ModelRouter router;
    private final UpstreamClient upstream;
    private final UsageLog usageLog;
    private final ImageFetcher images;
    private final Passthrough passthrough;
    private volatile boolean ready;

    public Gateway(MasterKeyAuth auth, ModelCatalog catalog, UpstreamClient upstream, ImageFetcher images, UsageLog usageLog) {
        this.images = images;
        this.auth = auth;
        this.catalog = catalog;
        this.router = new ModelRouter(catalog);
        this.upstream = upstream;
        this.usageLog = usageLog;
        this.passthrough = new Passthrough(auth, catalog.providers(), upstream, usageLog);
    }

    /** {@code /p/{provider}/...}: requests that stream through unaggregated (see {@link Passthrough}). */
    Passthrough passthrough() {
        return passthrough;
    }

    public void markReady() {
        ready = true;
    }

    UsageLog usageLog() {
        return usageLog;
    }

    /**
     * Handles one request. Returns the proxied call when one was started (the connection then waits
     * for it before the next request), or null when the response was written already.
     * Always consumes {@code req}.
     */
    ProxyCall handle(ChannelHandlerContext ctx, FullHttpRequest req) {
        // accept
        String requestId = RequestIds.accept(req.headers().get(Replies.X_REQUEST_ID));
        boolean keepAlive = HttpUtil.isKeepAlive(req);
        try {
            if (!req.decoderResult().isSuccess()) {
                Replies.send(ctx, Replies.openAiError(ctx, 400, "The HTTP request is malformed.", "bad_request", requestId), false);
                return null;
            }
            String path = pathOf(req.uri());
            switch (path) {
                case "/health" -> {
                    if (allow(ctx, req, requestId, keepAlive, HttpMethod.GET))
                        Replies.send(ctx, Replies.json(HttpResponseStatus.OK, HEALTH, requestId), keepAlive);
                    return null;
                }
                case "/ready" -> {
                    if (allow(ctx, req, requestId, keepAlive, HttpMethod.GET)) {
                        Replies.send(ctx, ready ? Replies.json(HttpResponseStatus.OK, READY, requestId)
                                : Replies.json(HttpResponseStatus.SERVICE_UNAVAILABLE, NOT_READY, requestId), keepAlive);
                    }
                    return null;
                }
                default -> {
                }
            }
            if (!path.startsWith("/v1/")) {
                Replies.send(ctx, Replies.openAiError(ctx, 404, "Unknown path " + path + ".", "unknown_url", requestId), keepAlive);
                return null;
            }

            // authenticate
            MasterKeyAuth.Verdict verdict = auth.check(req.headers());
            if (!(verdict instanceof MasterKeyAuth.Allowed)) {
                String message = verdict instanceof MasterKeyAuth.Missing
                        ? "Missing API key: send it as 'Authorization: Bearer <key>' or 'x-api-key'."
                        : "Incorrect API key provided.";
                Replies.send(ctx, Replies.openAiError(ctx, 401, message, "invalid_request_error", null, "invalid_api_key", requestId), keepAlive);
                return null;
            }

            // identify (tenant, user path, end user), admit (limits, budgets), guard: later stages.

            return switch (path) {
                case "/v1/chat/completions" -> allow(ctx, req, requestId, keepAlive, HttpMethod.POST)
                        ? proxy(ctx, req, Endpoint.CHAT, requestId, keepAlive) : null;
                case "/v1/embeddings" -> allow(ctx, req, requestId, keepAlive, HttpMethod.POST)
                        ? proxy(ctx, req, Endpoint.EMBEDDINGS, requestId, keepAlive) : null;
                case "/v1/models" -> {
                    if (allow(ctx, req, requestId, keepAlive, HttpMethod.GET)) {
                        Replies.send(ctx, Replies.json(HttpResponseStatus.OK, catalog.snapshot().listingJson(), requestId), keepAlive);
                    }
                    yield null;
                }
                default -> {
                    if (path.startsWith("/v1/models/")) {
                        if (allow(ctx, req, requestId, keepAlive, HttpMethod.GET)) retrieveModel(ctx, path, requestId, keepAlive);
                    } else {
                        Replies.send(ctx, Replies.openAiError(ctx, 404, "Unknown path " + path + ".", "unknown_url", requestId), keepAlive);
                    }
                    yield null;
                }
            };
        } finally {
            req.release();
        }
    }

    /** {@code GET /v1/models/{provider}/{model}}: one model of the listing. */
    private void retrieveModel(ChannelHandlerContext ctx, String path, String requestId, boolean keepAlive) {
        String id = QueryStringDecoder.decodeComponent(path.substring("/v1/models/".length()));
        byte[] model = catalog.snapshot().modelJson(id);
        if (model == null) {
            Replies.send(ctx, Replies.openAiError(ctx, 404, "The model '" + id + "' does not exist; ids are provider/model, as /v1/models lists them.",
                    "invalid_request_error", "model", "model_not_found", requestId), keepAlive);
            return;
        }
        Replies.send(ctx, Replies.json(HttpResponseStatus.OK, model, requestId), keepAlive);
    }

    /** Route, rewrite what must change, and start the upstream exchange. */
    private ProxyCall proxy(ChannelHandlerContext ctx, FullHttpRequest req, Endpoint endpoint, String requestId, boolean keepAlive) {
        ByteBuf body = req.content();
        RequestScan scan;
        Route route;
        try {
            scan = RequestScan.of(body);
            if (scan.stream() && !endpoint.canStream) throw new BadRequestException("This endpoint does not stream.", "stream");
            route = router.resolve(scan.model());
        } catch (BadRequestException e) {
            Replies.send(ctx, Replies.openAiError(ctx, 400, e.getMessage(), "invalid_request_error", e.param(), null, requestId), keepAlive);
            return null;
        } catch (RouteException e) {
            Replies.send(ctx, Replies.openAiError(ctx, e.status(), e.getMessage(), "invalid_request_error", "model", e.code(), requestId), keepAlive);
            return null;
        }

        // provider adapter: a provider of another dialect gets a translated request ...
        if (route.provider().chatAdapter() != null) return translated(ctx, req, endpoint, scan, route, requestId, keepAlive);

        // ... while the OpenAI-compatible family takes the client's bytes as they are, with only the
        // model name and the usage request changed.
        BodyEdit edit = new BodyEdit();
        if (!route.upstreamModel().equals(scan.model())) {
            edit.replace(scan.modelStart(), scan.modelEnd(), Json.quote(route.upstreamModel()));
        }
        boolean injectUsage = scan.stream() && !Boolean.TRUE.equals(scan.includeUsage());
        if (injectUsage) askForUsage(scan, edit);
        ByteBuf upstreamBody = edit.apply(ctx.alloc(), body.retain());

        HttpRequest head = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, route.provider().path(endpoint.upstreamPath, route.upstreamModel()));
        HttpHeaders h = head.headers();
        route.provider().applyHeaders(h);
        h.set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, upstreamBody.readableBytes())
                .set(HttpHeaderNames.ACCEPT, scan.stream() ? HttpHeaderValues.TEXT_EVENT_STREAM : HttpHeaderValues.APPLICATION_JSON)
                .set(Replies.X_REQUEST_ID, requestId);

        // relay back and observe: the call writes the response and records usage when it ends.
        ProxyCall call = new ProxyCall(ctx, this, requestId, keepAlive, endpoint, route, scan.model(), scan.stream(), injectUsage);
        call.start(upstream, head, upstreamBody);
        return call;
    }

    /** Chat for a provider that speaks another dialect, through the internal representation. */
    private ProxyCall translated(ChannelHandlerContext ctx, FullHttpRequest req, Endpoint endpoint, RequestScan scan, Route route,
                                 String requestId, boolean keepAlive) {
        EmbeddingsAdapter embeddings = endpoint == Endpoint.EMBEDDINGS ? route.provider().embeddingsAdapter() : null;
        if (endpoint == Endpoint.EMBEDDINGS && embeddings == null) {
            Replies.send(ctx, Replies.openAiError(ctx, 400, "Provider '" + route.provider().name() + "' has no "
                    + endpoint.upstreamPath + " endpoint in Skiff yet.", "invalid_request_error", "model", "unsupported_endpoint", requestId), keepAlive);
            return null;
        }
        ChatAdapter.Call call = new ChatAdapter.Call(route.provider(), scan.model(), route.upstreamModel(), scan.stream(),
                new OpenAiChatEgress(scan.model(), Boolean.TRUE.equals(scan.includeUsage())), req.headers(), requestId);
        ProxyCall proxied = new ProxyCall(ctx, this, requestId, keepAlive, endpoint, route, scan.model(), scan.stream(), false);
        try {
            if (embeddings != null) {
                EmbeddingsAdapter.FanOut fan = embeddings.prepareFanOut(call, req.content(), ctx.alloc());
                if (fan == null) send(proxied, embeddings.prepare(call, req.content(), ctx.alloc()));
                else proxied.translatedBy(fan.responses(), null, fan.headers()).start(upstream, fan.requests());
                return proxied;
            }
            // the client's dialect into the internal representation, then the provider's out of it
            ChatAdapter adapter = route.provider().chatAdapter();
            ChatRequest request = OpenAiChat.parseRequest(req.content(), route.upstreamModel());
            List<String> urls = adapter.inlinesImageUrls() ? ImageUrls.of(request) : List.of();
            if (urls.isEmpty()) {
                send(proxied, adapter.prepare(call, request, ctx.alloc()));
            } else {
                inlineImagesThenSend(ctx, proxied, adapter, call, request, urls);
            }
            return proxied;
        } catch (BadRequestException e) {
            Replies.send(ctx, Replies.openAiError(ctx, 400, e.getMessage(), "invalid_request_error", e.param(), null, requestId), keepAlive);
            return null;
        }
    }

    private void send(ProxyCall proxied, ChatAdapter.Upstream up) {
        proxied.translatedBy(up.responses(), up.stream(), up.headers()).start(upstream, up.head(), up.body());
    }

    private static final int MAX_IMAGE_URLS = 20;
    private static final long MAX_INLINED_BYTES = 10L << 20;

    /**
     * Fetches the images a provider cannot take by URL, then sends. The call is already the
     * connection's current one, so a client that leaves meanwhile finds it and cancels it.
     */
    private void inlineImagesThenSend(ChannelHandlerContext ctx, ProxyCall proxied, ChatAdapter adapter, ChatAdapter.Call call,
                                      ChatRequest request, List<String> urls) throws BadRequestException {
        if (urls.size() > MAX_IMAGE_URLS) {
            throw new BadRequestException("At most " + MAX_IMAGE_URLS + " images can be given by URL to this provider.", "messages");
        }
        Map<String, ImageUrls.Fetched> fetched = new HashMap<>();
        boolean[] failed = {false};
        long[] total = {0};
        for (String url : urls) {
            images.fetch(url, ctx.channel().eventLoop(), (image, error) -> {
                if (failed[0] || proxied.isFinished()) return;
                if (error != null) {
                    failed[0] = true;
                    proxied.refuse(400, "Image '" + (url.length() > 100 ? url.substring(0, 100) + "..." : url) + "': " + error + ".",
                            "messages", "invalid_image_url");
                    return;
                }
                // Inlined images become base64 text in a tree on the heap: bound the whole request too.
                total[0] += image.bytes().length;
                if (total[0] > MAX_INLINED_BYTES) {
                    failed[0] = true;
                    proxied.refuse(400, "The images given by URL add up to more than " + (MAX_INLINED_BYTES >> 20)
                            + " MB, more than Skiff inlines for one request.", "messages", "invalid_image_url");
                    return;
                }
                fetched.put(url, new ImageUrls.Fetched(image.mediaType(), image.bytes()));
                if (fetched.size() < urls.size()) return;
                try {
                    send(proxied, adapter.prepare(call, ImageUrls.inline(request, fetched), ctx.alloc()));
                } catch (BadRequestException e) {
                    proxied.refuse(400, e.getMessage(), e.param(), null);
                }
            });
        }
    }

    /**
     * Streams report usage only when asked; Skiff asks on the client's behalf so that every stream is
     * accounted for, and {@link dev.skiff.dialect.ChatStreamFilter} hides the extra data again.
     */
    private static void askForUsage(RequestScan scan, BodyEdit edit) {
        if (scan.streamOptionsStart() < 0) {
            edit.insert(scan.rootStart() + 1, "\"stream_options\":{\"include_usage\":true},");
        } else if (!scan.streamOptionsIsObject()) {
            edit.replace(scan.streamOptionsStart(), scan.streamOptionsEnd(), "{\"include_usage\":true}".getBytes(StandardCharsets.US_ASCII));
        } else if (scan.hasIncludeUsage()) {
            edit.replace(scan.includeUsageStart(), scan.includeUsageEnd(), "true".getBytes(StandardCharsets.US_ASCII));
        } else {
            edit.insert(scan.streamOptionsStart() + 1, scan.streamOptionsEmpty() ? "\"include_usage\":true" : "\"include_usage\":true,");
        }
    }

    private static boolean allow(ChannelHandlerContext ctx, HttpRequest req, String requestId, boolean keepAlive, HttpMethod method) {
        if (req.method().equals(method)) return true;
        var r = Replies.openAiError(ctx, 405, "Method " + req.method() + " is not allowed here; use " + method + ".",
                "method_not_allowed", requestId);
        r.headers().set(HttpHeaderNames.ALLOW, method.name());
        Replies.send(ctx, r, keepAlive);
        return false;
    }

    private static String pathOf(String uri) {
        int q = uri.indexOf('?');
        String p = q < 0 ? uri : uri.substring(0, q);
        if (p.startsWith("http://") || p.startsWith("https://")) { // absolute-form request target
            int slash = p.indexOf('/', p.indexOf("//") + 2);
            p = slash < 0 ? "/" : p.substring(slash);
        }
        return p.length() > 1 && p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
    }
}
