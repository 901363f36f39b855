package dev.skiff.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.admin.AdminApi;
import dev.skiff.config.ProviderType;
import dev.skiff.control.Caller;
import dev.skiff.control.Identification;
import dev.skiff.control.MasterKeyAuth;
import dev.skiff.control.limits.Charge;
import dev.skiff.control.limits.Decision;
import dev.skiff.control.limits.Limits;
import dev.skiff.control.keys.ModelSelectors;
import dev.skiff.dialect.BadRequestException;
import dev.skiff.dialect.BodyEdit;
import dev.skiff.dialect.Bytes;
import dev.skiff.dialect.ChatStreamFilter;
import dev.skiff.dialect.ClientDialect;
import dev.skiff.dialect.Egress;
import dev.skiff.dialect.Json;
import dev.skiff.dialect.JsonLimits;
import dev.skiff.dialect.JsonTypes;
import dev.skiff.dialect.OpenAiUsage;
import dev.skiff.dialect.RequestScan;
import dev.skiff.dialect.StreamRelay;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.UsageRelay;
import dev.skiff.dialect.UsageScan;
import dev.skiff.dialect.anthropic.AnthropicMessages;
import dev.skiff.dialect.anthropic.AnthropicMessagesEgress;
import dev.skiff.dialect.anthropic.MidConversationSystem;
import dev.skiff.dialect.ir.ChatRequest;
import dev.skiff.dialect.ir.Dropped;
import dev.skiff.dialect.ir.ImageUrls;
import dev.skiff.dialect.openai.OpenAiChat;
import dev.skiff.dialect.openai.OpenAiChatEgress;
import dev.skiff.dialect.responses.ResponseContext;
import dev.skiff.dialect.responses.ResponsesApi;
import dev.skiff.dialect.responses.ResponsesEgress;
import dev.skiff.observe.UsageLog;
import dev.skiff.provider.ChatAdapter;
import dev.skiff.provider.EmbeddingsAdapter;
import dev.skiff.provider.Provider;
import dev.skiff.provider.openai.OpenAiChatAdapter;
import dev.skiff.routing.ModelCatalog;
import dev.skiff.routing.ModelRouter;
import dev.skiff.routing.Route;
import dev.skiff.routing.RouteException;
import dev.skiff.store.ResponseStore;
import dev.skiff.store.StoredResponse;
import dev.skiff.upstream.ImageFetcher;
import dev.skiff.upstream.UpstreamClient;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * The path of every request, top to bottom: accept, authenticate, identify, admit, guard, route,
 * hand to the provider, relay back, observe. Stages that later work fills in (identity, admission,
 * guardrails) have their place marked here so the order stays visible in one file.
 */
public final class Gateway {
    private static final byte[] HEALTH = "{\"status\":\"ok\"}".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] READY = "{\"status\":\"ready\"}".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] NOT_READY = "{\"status\":\"starting\"}".getBytes(StandardCharsets.US_ASCII);

    /** The endpoints that reach a provider, the dialect each speaks, and what they need. */
    enum Endpoint {
        CHAT("/chat/completions", true, ClientDialect.OPENAI_CHAT, JsonTypes.CHAT),
        EMBEDDINGS("/embeddings", false, ClientDialect.OPENAI_CHAT, JsonTypes.EMBEDDINGS),
        MESSAGES("/messages", true, ClientDialect.ANTHROPIC_MESSAGES, JsonTypes.MESSAGES),
        COUNT_TOKENS("/messages/count_tokens", false, ClientDialect.ANTHROPIC_MESSAGES, JsonTypes.COUNT_TOKENS),
        RESPONSES("/responses", true, ClientDialect.OPENAI_RESPONSES, JsonTypes.RESPONSES),
        /** Not a provider's: the admin API, answered by Skiff off the event loop (see {@link AdminApi}). */
        ADMIN("/admin", false, ClientDialect.OPENAI_CHAT, null),
        /** Not a provider's either: {@code GET /v1/usage}, the calling key's own usage, from the usage store. */
        USAGE("/usage", false, ClientDialect.OPENAI_CHAT, null);

        final String upstreamPath;
        final boolean canStream;
        final ClientDialect dialect;
        /** The JSON types of the fields this API documents, checked by the request scan. */
        final JsonTypes.Table fieldTypes;
        /** The name the usage log and store record it under (made once, not per request). */
        final String usageName;

        Endpoint(String upstreamPath, boolean canStream, ClientDialect dialect, JsonTypes.Table fieldTypes) {
            this.usageName = name().toLowerCase(java.util.Locale.ROOT);
            this.upstreamPath = upstreamPath;
            this.canStream = canStream;
            this.dialect = dialect;
            this.fieldTypes = fieldTypes;
        }

        /** Whether the provider writes an answer (tokens to reserve for it) rather than counting or embedding. */
        boolean generates() {
            return this == CHAT || this == MESSAGES || this == RESPONSES;
        }

        /** Whether the provider speaks this endpoint's dialect itself, so the client's bytes go as they are. */
        boolean isNativeTo(Provider p) {
            return switch (this) {
                case CHAT, EMBEDDINGS -> p.chatAdapter() == null;
                case MESSAGES, COUNT_TOKENS -> p.type() == ProviderType.ANTHROPIC;
                case RESPONSES -> p.type() == ProviderType.OPENAI;
                case ADMIN, USAGE -> false;
            };
        }

        /** Watches a relayed (same-dialect) stream for usage. */
        StreamRelay relay(boolean injectedUsage) {
            return switch (this) {
                case CHAT -> new ChatStreamFilter(injectedUsage);
                case RESPONSES -> UsageRelay.responses();
                default -> UsageRelay.messages();
            };
        }

        /** Usage in a relayed (same-dialect) complete answer. */
        Usage usageOf(ByteBuf body) {
            return this == CHAT || this == EMBEDDINGS ? OpenAiUsage.scan(body).usage() : UsageScan.of(body);
        }
    }

    private final MasterKeyAuth auth;
    private final ModelCatalog catalog;
    private final ModelRouter router;
    private final UpstreamClient upstream;
    private final UsageLog usageLog;
    private final dev.skiff.observe.Observers observers;
    /**
     * The trail of the request this event loop is handling, while {@link #handle} runs: the replies
     * and calls made synchronously below it pick it up here instead of through every signature.
     */
    private static final io.netty.util.concurrent.FastThreadLocal<dev.skiff.observe.RequestTrail> CURRENT = new io.netty.util.concurrent.FastThreadLocal<>();
    private final ImageFetcher images;
    private final Passthrough passthrough;
    private final ResponseStore responses;
    private final StoredResponses storedResponses;
    private final TranslationBudget budget;
    private volatile Limits limits; // null: no limits stage at all
    private volatile dev.skiff.routing.Routing routing; // null: no retries, failover or virtual models (the router alone)
    private volatile dev.skiff.observe.metrics.Metrics metrics; // null: /metrics is not served
    private volatile dev.skiff.observe.metrics.MetricsConfig.Open metricsOpen = dev.skiff.observe.metrics.MetricsConfig.Open.OFF;
    private final AdminApi admin = new AdminApi();
    private final dev.skiff.admin.DashboardSessions dashboardSessions = new dev.skiff.admin.DashboardSessions();
    private volatile Dashboard dashboard; // made at the first request to /ui: nothing of it at start-up
    private volatile Identification identification = new Identification(Identification.DEFAULT_END_USER_HEADER);
    private volatile boolean listening;
    private volatile long readyDeadline; // System.nanoTime() after which /ready no longer waits for listings

    public Gateway(MasterKeyAuth auth, ModelCatalog catalog, UpstreamClient upstream, ImageFetcher images, UsageLog usageLog,
                   ResponseStore responses) {
        this(auth, catalog, upstream, images, usageLog, responses, 0);
    }

    /** @param translationMemory bytes of heap translation may use at once; 0 for half the maximum heap */
    public Gateway(MasterKeyAuth auth, ModelCatalog catalog, UpstreamClient upstream, ImageFetcher images, UsageLog usageLog,
                   ResponseStore responses, long translationMemory) {
        this.budget = new TranslationBudget(translationMemory > 0 ? translationMemory : TranslationBudget.defaultCapacity());
        this.images = images;
        this.auth = auth;
        this.catalog = catalog;
        this.router = new ModelRouter(catalog);
        this.upstream = upstream;
        this.usageLog = usageLog;
        this.observers = new dev.skiff.observe.Observers(usageLog);
        this.passthrough = new Passthrough(catalog.providers(), upstream, observers);
        this.responses = responses;
        this.storedResponses = new StoredResponses(responses, catalog);
    }

    /** Turns the admit stage on: requests are counted against {@code l}'s policies. */
    public void limits(Limits l) {
        this.limits = l;
        passthrough.limits(l);
    }

    /** Turns routing on (retries, failover, circuit breakers, virtual models); null turns it off. */
    public void routing(dev.skiff.routing.Routing r) {
        this.routing = r;
        passthrough.routing(r);
    }

    public dev.skiff.routing.Routing routing() {
        return routing;
    }

    /** Serves {@code /metrics} from {@code m}, to the master or an admin key, or without a key as {@code open} says. */
    public void metrics(dev.skiff.observe.metrics.Metrics m, dev.skiff.observe.metrics.MetricsConfig.Open open) {
        this.metricsOpen = open;
        this.metrics = m;
    }

    /** {@code /p/{provider}/...}: requests that stream through unaggregated (see {@link Passthrough}). */
    Passthrough passthrough() {
        return passthrough;
    }

    /**
     * The server listens: {@code /ready} answers 200 once every provider's first model listing has
     * ended (or failed), so that a load balancer sends no traffic that would 404 for want of a
     * listing; but after {@code listingsTimeout} regardless, so one dead provider cannot keep the
     * instance out of service.
     */
    public void markListening(java.time.Duration listingsTimeout) {
        readyDeadline = System.nanoTime() + listingsTimeout.toNanos();
        listening = true;
    }

    boolean isReady() {
        return listening && (catalog.firstListingsDone() || System.nanoTime() - readyDeadline >= 0);
    }

    /** Authentication on the request head: the master key, and managed keys once a registry is given. */
    public MasterKeyAuth auth() {
        return auth;
    }

    /** Names the header that carries the end user (ControlConfig.endUserHeader); set before the server starts. */
    public void identifyEndUsersBy(String header) {
        identification = new Identification(header);
    }

    Identification identification() {
        return identification;
    }

    /** The admin API ({@code /admin/v1/...}): resources are registered on it at start-up. */
    public AdminApi admin() {
        return admin;
    }

    UsageLog usageLog() {
        return usageLog;
    }

    /** What observes every request (usage log, metrics, audit log, tracer); observers are added at start-up. */
    public dev.skiff.observe.Observers observers() {
        return observers;
    }

    /** The trail of the request being handled on this thread (see {@link #CURRENT}), or null. */
    static dev.skiff.observe.RequestTrail currentTrail() {
        return CURRENT.get();
    }

    /** The dashboard's browser sessions (see {@link Dashboard}); managed keys are checked against the key registry. */
    public dev.skiff.admin.DashboardSessions dashboardSessions() {
        return dashboardSessions;
    }

    UpstreamClient upstream() {
        return upstream;
    }

    TranslationBudget translationBudget() {
        return budget;
    }

    /** The largest complete answer Skiff translates: one that alone could take the whole translation memory. */
    long maxTranslatedAnswerBytes() {
        return budget.capacity() / TranslationBudget.COST_PER_BYTE;
    }

    /**
     * Reserves the heap one large event of a translated stream takes while it is parsed; null when
     * none is free now. It does not wait: the stream is under way, and holding its event while others
     * finish would stall it for nothing a client could fix, so it fails in-band instead.
     */
    Runnable reserveEvent(ByteBuf event) {
        // An SSE event is "data: {...}": its JSON starts at the first brace.
        int json = event.indexOf(event.readerIndex(), event.writerIndex(), (byte) '{');
        long tokens = 0;
        if (json >= 0) {
            try {
                tokens = JsonLimits.count(event.slice(json, event.writerIndex() - json), "An event");
            } catch (JsonLimits.LimitException e) {
                return () -> {}; // the tree reader refuses it before it costs anything
            }
        }
        return budget.tryReserve(TranslationBudget.estimate(event.readableBytes(), tokens));
    }

    /**
     * The largest event of a translated stream. An unfinished event waits off the heap; only a whole
     * one is parsed, on its event loop, so at most one event per event loop is a tree at any moment:
     * a quarter of what an answer may take keeps even several loops' worst case within the
     * translation memory's reach (real events are a few kilobytes).
     */
    int maxTranslatedEventBytes() {
        return (int) Math.min(Integer.MAX_VALUE, Math.max(64 << 10, maxTranslatedAnswerBytes() / 4));
    }

    /**
     * Handles one request. Returns the proxied call when one was started (the connection then waits
     * for it before the next request), or null when the response was written already.
     * Always consumes {@code req}.
     */
    ProxyCall handle(ChannelHandlerContext ctx, FullHttpRequest req, Caller caller) {
        // accept
        String requestId = RequestIds.accept(req.headers().get(Replies.X_REQUEST_ID));
        boolean keepAlive = HttpUtil.isKeepAlive(req);
        dev.skiff.observe.RequestTrail trail = null;
        try {
            if (!req.decoderResult().isSuccess()) {
                reply(ctx, Replies.openAiError(ctx, 400, "The HTTP request is malformed.", "bad_request", requestId), false, requestId,
                        "unknown", "malformed request");
                return null;
            }
            String path = pathOf(req.uri());
            // Health probes come every few seconds from load balancers: answered, never logged (only their errors are).
            switch (path) {
                case "/health" -> {
                    if (allow(ctx, req, ClientDialect.OPENAI_CHAT, requestId, keepAlive, HttpMethod.GET, HttpMethod.HEAD))
                        Replies.send(ctx, Replies.json(HttpResponseStatus.OK, HEALTH, requestId), keepAlive);
                    return null;
                }
                case "/ready" -> {
                    if (allow(ctx, req, ClientDialect.OPENAI_CHAT, requestId, keepAlive, HttpMethod.GET, HttpMethod.HEAD)) {
                        Replies.send(ctx, isReady() ? Replies.json(HttpResponseStatus.OK, READY, requestId)
                                : Replies.json(HttpResponseStatus.SERVICE_UNAVAILABLE, NOT_READY, requestId), keepAlive);
                    }
                    return null;
                }
                case "/metrics" -> {
                    if (metrics != null) {
                        // Scrapes come every few seconds too: answered and not logged, as health probes (refusals are).
                        if (allow(ctx, req, ClientDialect.OPENAI_CHAT, requestId, keepAlive, HttpMethod.GET)) scrape(ctx, req, requestId, keepAlive);
                        return null;
                    }
                }
                default -> {
                }
            }
            if (Dashboard.matches(path)) { // off the /v1 path: the dashboard costs API requests nothing
                // Its pages and files leave no trail: a trail begun here would capture the answer and never
                // be stored. The admin calls the pages make are observed as any other.
                Dashboard d = dashboard;
                if (d == null) dashboard = d = new Dashboard(dashboardSessions); // a race makes two; either serves
                d.handle(ctx, req, path, requestId, keepAlive, this);
                return null;
            }
            // observe: health probes and dashboard files aside, every request may leave a trail (audit log, trace).
            trail = observers.begin(req);
            if (trail != null) {
                CURRENT.set(trail);
                if (trail.audited()) dev.skiff.observe.audit.AuditTap.attach(ctx, trail);
            }
            if (path.startsWith("/admin/")) return admin(ctx, req, requestId, keepAlive, caller);
            if (!path.startsWith("/v1/")) {
                reply(ctx, Replies.openAiError(ctx, 404, "Unknown path " + path + ".", "unknown_url", requestId), keepAlive, requestId,
                        "unknown", "unknown path");
                return null;
            }
            // Errors from here on come in the dialect of the API the client called (conformance 32).
            ClientDialect dialect = dialectOf(path);

            // authenticate: done on the request head, before the body was read (see ClientGate).

            // identify: who the request acts for (the caller the gate found on the head) scopes what
            // it stores. (User path, end user, admit (limits, budgets), guard: later stages.)

            return switch (path) {
                case "/v1/chat/completions" -> post(ctx, req, Endpoint.CHAT, requestId, keepAlive, caller);
                case "/v1/embeddings" -> post(ctx, req, Endpoint.EMBEDDINGS, requestId, keepAlive, caller);
                case "/v1/messages" -> post(ctx, req, Endpoint.MESSAGES, requestId, keepAlive, caller);
                case "/v1/messages/count_tokens" -> post(ctx, req, Endpoint.COUNT_TOKENS, requestId, keepAlive, caller);
                case "/v1/responses" -> post(ctx, req, Endpoint.RESPONSES, requestId, keepAlive, caller);
                case "/v1/usage" -> allow(ctx, req, dialect, requestId, keepAlive, HttpMethod.GET) ? ownUsage(ctx, req, requestId, keepAlive, caller) : null;
                case "/v1/models" -> {
                    if (allow(ctx, req, dialect, requestId, keepAlive, HttpMethod.GET)) {
                        byte[] listing = catalog.snapshot().listingJson();
                        dev.skiff.routing.Routing r = routing;
                        if (r != null && !r.config().virtualModels().isEmpty()) listing = r.withVirtualModels(listing);
                        if (caller.key() != null && !caller.key().allowedModels().contains("*")) listing = allowedListing(listing, caller);
                        reply(ctx, Replies.json(HttpResponseStatus.OK, listing, requestId), keepAlive, requestId, "models", null);
                    }
                    yield null;
                }
                default -> {
                    if (path.startsWith("/v1/models/")) {
                        if (allow(ctx, req, dialect, requestId, keepAlive, HttpMethod.GET)) retrieveModel(ctx, path, requestId, keepAlive, caller);
                        yield null;
                    }
                    if (path.startsWith("/v1/responses/")) yield storedResponses.handle(ctx, this, req, path, requestId, keepAlive, caller);
                    reply(ctx, Replies.error(ctx, dialect, 404, "Unknown path " + path + ".", "invalid_request_error", null,
                            "unknown_url", requestId), keepAlive, requestId, "unknown", "unknown path");
                    yield null;
                }
            };
        } catch (Throwable t) {
            // A bug or a stack overflow must not leave the client waiting for an answer that never comes.
            internalError(ctx, req.uri(), requestId, t);
            return null;
        } finally {
            // Emptied, not removed: a remove, and the next request's set, each update the thread's
            // set of variables to clear (a map) as well as the slot.
            if (trail != null) CURRENT.set(null);
            req.release();
        }
    }

    /**
     * {@code GET /metrics}: the Prometheus text, rendered here on the event loop (a few hundred lines
     * from counters, well under a millisecond), for the master key or an admin-scoped key, or without
     * a key when SKIFF_METRICS_OPEN allows the scraper's address.
     */
    private void scrape(ChannelHandlerContext ctx, FullHttpRequest req, String requestId, boolean keepAlive) {
        boolean open = switch (metricsOpen) {
            case ANY -> true;
            case LOOPBACK -> ctx.channel().remoteAddress() instanceof java.net.InetSocketAddress a && a.getAddress() != null
                    && a.getAddress().isLoopbackAddress();
            case OFF -> false;
        };
        if (!open) {
            MasterKeyAuth.Verdict v = auth.check(req.headers());
            String refusal = switch (v) {
                case MasterKeyAuth.Allowed a -> a.caller().isAdmin() ? null
                        : "This API key may not read /metrics: it needs the 'admin' scope, or use the master key.";
                case MasterKeyAuth.Missing m -> "Missing API key: /metrics needs the master key or an admin key as 'Authorization: Bearer <key>' "
                        + "(or SKIFF_METRICS_OPEN=loopback for a scraper on this host).";
                case MasterKeyAuth.Wrong w -> w.message();
                case MasterKeyAuth.Unavailable u -> u.message();
            };
            if (refusal != null) {
                int status = v instanceof MasterKeyAuth.Allowed ? 403 : v instanceof MasterKeyAuth.Unavailable ? 503 : 401;
                reply(ctx, Replies.openAiError(ctx, status, refusal, status == 403 ? "insufficient_permissions" : "invalid_api_key", requestId),
                        keepAlive, requestId, "metrics", refusal);
                return;
            }
        }
        byte[] text = metrics.render().getBytes(StandardCharsets.UTF_8);
        FullHttpResponse r = new io.netty.handler.codec.http.DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                Unpooled.wrappedBuffer(text));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8").setInt(HttpHeaderNames.CONTENT_LENGTH, text.length)
                .set(Replies.X_REQUEST_ID, requestId);
        Replies.send(ctx, r, keepAlive);
    }

    /**
     * An admin call (authorized on the head by ClientGate): run on an admin thread, since resources
     * touch the database; the connection waits on the call, and the reply is written back on this
     * channel's event loop.
     */
    private ProxyCall admin(ChannelHandlerContext ctx, FullHttpRequest req, String requestId, boolean keepAlive, Caller caller) {
        ProxyCall call = new ProxyCall(ctx, this, requestId, keepAlive, Endpoint.ADMIN, new Route(null, null), null, false, false, caller);
        byte[] body = io.netty.buffer.ByteBufUtil.getBytes(req.content());
        admin.submit(req.method().name(), req.uri(), body, caller).whenComplete((reply, error) -> ctx.executor().execute(() -> {
            if (error != null) call.refuse(500, "The admin call failed: " + error, null, "internal_error");
            else call.reply(reply.status(), reply.contentType(), reply.body());
        }));
        return call;
    }

    /**
     * {@code GET /v1/usage}: the calling managed key's own usage, with the parameters of
     * {@code /admin/v1/usage}. The master key (or an open server) has no key of its own: 403, pointing
     * to the admin API. The query runs on the usage store's thread; the answer is written back here.
     */
    private ProxyCall ownUsage(ChannelHandlerContext ctx, FullHttpRequest req, String requestId, boolean keepAlive, Caller caller) {
        ProxyCall call = new ProxyCall(ctx, this, requestId, keepAlive, Endpoint.USAGE, new Route(null, null), null, false, false, caller);
        dev.skiff.observe.UsageStore store = usageLog.store();
        if (caller == null || caller.keyId() == null) {
            call.refuse(403, "GET /v1/usage reports a managed key's own usage; this request has no managed key (use /admin/v1/usage with the master key).",
                    null, "not_a_managed_key");
            return call;
        }
        if (store == null) {
            call.refuse(503, "Usage is not stored on this server.", null, "store_unavailable");
            return call;
        }
        dev.skiff.observe.UsageQuery query;
        String format;
        try {
            var params = new io.netty.handler.codec.http.QueryStringDecoder(req.uri()).parameters();
            query = dev.skiff.observe.UsageResource.parse(params, caller.keyId(), System.currentTimeMillis());
            format = params.containsKey("format") ? params.get("format").getFirst() : "json";
        } catch (dev.skiff.admin.AdminException e) {
            call.refuse(e.status(), e.getMessage(), e.param(), e.code());
            return call;
        } catch (IllegalArgumentException e) { // a malformed percent-encoding in the query
            call.refuse(400, "The request query is malformed: " + e.getMessage(), null, "invalid_request");
            return call;
        }
        try {
            store.query(query).whenComplete((result, error) -> ctx.executor().execute(() -> {
                if (error != null) {
                    Throwable cause = error.getCause() != null ? error.getCause() : error;
                    call.refuse(503, "The usage store could not answer: " + cause.getMessage(), null, "store_unavailable");
                    return;
                }
                dev.skiff.admin.AdminReply reply = dev.skiff.observe.UsageResource.render(result, format);
                call.reply(reply.status(), reply.contentType(), reply.body());
            }));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            call.refuse(503, "Too many usage queries are waiting; try again.", null, "overloaded", Map.of("retry-after", "1"));
        }
        return call;
    }

    /** Answers 500 in the client's dialect and logs the request, for a failure no stage expected. */
    void internalError(ChannelHandlerContext ctx, String uri, String requestId, Throwable t) {
        String path = pathOf(uri);
        ClientDialect dialect = dialectOf(path);
        String message = "Skiff could not handle this request: " + t.getClass().getSimpleName()
                + (t.getMessage() == null ? "" : ": " + t.getMessage());
        try {
            // The connection's state is unknown after such a failure: answer, then close it.
            Replies.send(ctx, Replies.error(ctx, dialect, 500, message, "server_error", null, "internal_error", requestId), false);
        } finally {
            observers.finished(new dev.skiff.observe.UsageRecord(System.currentTimeMillis(), requestId,
                    path.startsWith("/p/") ? "passthrough" : endpointName(path), null, null, null, false, 500, Usage.NONE, -1, -1, message, null),
                    CURRENT.get());
        }
    }

    private ProxyCall post(ChannelHandlerContext ctx, FullHttpRequest req, Endpoint endpoint, String requestId, boolean keepAlive,
                           Caller caller) {
        return allow(ctx, req, endpoint.dialect, requestId, keepAlive, HttpMethod.POST)
                ? proxy(ctx, req, endpoint, requestId, keepAlive, caller) : null;
    }

    /** The listing with only the models {@code caller}'s key may use. */
    private static byte[] allowedListing(byte[] listing, Caller caller) {
        try {
            JsonNode tree = OpenAiChat.JSON.readTree(listing);
            if (tree.get("data") instanceof ArrayNode data) {
                for (java.util.Iterator<JsonNode> it = data.iterator(); it.hasNext(); ) {
                    if (!modelAllowed(caller, it.next().path("id").asText(""))) it.remove();
                }
            }
            return OpenAiChat.JSON.writeValueAsBytes(tree);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Whether the caller's key may use a model the listing names {@code provider/model}. */
    private static boolean modelAllowed(Caller caller, String qualifiedId) {
        if (caller.key() == null) return true;
        int slash = qualifiedId.indexOf('/');
        return slash > 0 && ModelSelectors.allows(caller.key().allowedModels(), qualifiedId.substring(0, slash), qualifiedId.substring(slash + 1));
    }

    /** {@code GET /v1/models/{provider}/{model}}: one model of the listing. */
    private void retrieveModel(ChannelHandlerContext ctx, String path, String requestId, boolean keepAlive, Caller caller) {
        String id;
        try {
            id = QueryStringDecoder.decodeComponent(path.substring("/v1/models/".length()));
        } catch (IllegalArgumentException e) { // a '%' not followed by two hex digits
            reply(ctx, Replies.openAiError(ctx, 400, "The model id in the path is not validly percent-encoded: " + e.getMessage() + ".",
                    "invalid_request_error", "model", null, requestId), keepAlive, requestId, "models", "malformed model id");
            return;
        }
        byte[] model = modelAllowed(caller, id) ? catalog.snapshot().modelJson(id) : null; // another key's model is not shown to exist
        if (model == null) {
            reply(ctx, Replies.openAiError(ctx, 404, "The model '" + id + "' does not exist; ids are provider/model, as /v1/models lists them.",
                    "invalid_request_error", "model", "model_not_found", requestId), keepAlive, requestId, "models", "unknown model");
            return;
        }
        reply(ctx, Replies.json(HttpResponseStatus.OK, model, requestId), keepAlive, requestId, "models", null);
    }

    /** Route, then either forward the client's bytes (same dialect) or translate through the internal representation. */
    private ProxyCall proxy(ChannelHandlerContext ctx, FullHttpRequest req, Endpoint endpoint, String requestId, boolean keepAlive,
                            Caller caller) {
        ByteBuf body = req.content();
        RequestScan scan;
        Route route;
        dev.skiff.routing.Plan plan = null;
        dev.skiff.routing.Routing routing = this.routing;
        try {
            scan = RequestScan.of(body, endpoint.fieldTypes);
            if (scan.stream() && !endpoint.canStream) throw new BadRequestException("This endpoint does not stream.", "stream");
            if (routing == null) {
                route = router.resolve(scan.model());
            } else {
                // Only a virtual model reads the session header: other requests skip the lookup.
                String session = routing.isVirtual(scan.model()) ? req.headers().get(routing.config().sessionHeader()) : null;
                plan = allowedPart(routing.plan(scan.model(), session), caller);
                route = plan.first();
                if (!plan.canRetry()) plan = null;
            }
            // identify: the end user the body names, when no header named one (see ClientGate).
            if (caller.endUser() == null && scan.endUser() != null) {
                caller = caller.identified(caller.userPath(), Identification.endUser(scan.endUser(), "body"));
            }
        } catch (BadRequestException e) {
            reply(ctx, Replies.error(ctx, endpoint.dialect, 400, e.getMessage(), "invalid_request_error", e.param(), null, requestId), keepAlive,
                    requestId, endpoint.usageName, e.getMessage(), caller);
            return null;
        } catch (RouteException e) {
            FullHttpResponse refusal = Replies.error(ctx, endpoint.dialect, e.status(), e.getMessage(),
                    e.status() == 503 ? "server_error" : "invalid_request_error", "model", e.code(), requestId);
            // Every target resting: the client may come back once the first can be probed again.
            if (e.status() == 503 && routing != null) {
                refusal.headers().set("retry-after", Math.max(1, routing.breaker().timeoutNanos() / 1_000_000_000L));
            }
            reply(ctx, refusal, keepAlive, requestId, endpoint.usageName, e.getMessage(), caller);
            return null;
        }
        // authorize: a managed key reaches only the models its selectors allow.
        if (caller.key() != null && !ModelSelectors.allows(caller.key().allowedModels(), route.provider().name(), route.upstreamModel())) {
            String message = "This API key may not use the model '" + scan.model() + "' (" + route.provider().name() + "/" + route.upstreamModel()
                    + "); it may use " + String.join(", ", caller.key().allowedModels()) + ".";
            reply(ctx, Replies.error(ctx, endpoint.dialect, 403, message, "permission_error", "model", "model_not_allowed", requestId),
                    keepAlive, requestId, endpoint.usageName, message, caller); // the refusal counts in the key's usage (as an error)
            return null;
        }
        // admit: the request's limits (key, user path, end user), reserved now that the model is
        // known; the provider is called only once they admit it (see LimitGate).
        LimitGate gate = null;
        Limits limits = this.limits;
        JsonNode keyLimits = caller.key() == null ? null : caller.key().limits();
        if (limits != null && !limits.idle(keyLimits)) {
            Limits.Call estimated = new Limits.Call(route.provider().type(), route.upstreamModel(), body.readableBytes(), scan.maxTokens(),
                    endpoint.generates(), plan == null ? List.of() : alternatives(plan));
            List<Charge> charges = limits.charges(caller.keyId(), keyLimits, caller.userPath(), caller.endUser(), estimated);
            if (!charges.isEmpty()) {
                Decision d = limits.reserveNow(charges); // in process: decided at once; null when Redis decides
                if (d != null) {
                    LimitGate.Refusal r = LimitGate.refusal(limits, d, endpoint.dialect == ClientDialect.ANTHROPIC_MESSAGES);
                    if (r != null) {
                        FullHttpResponse refusal = Replies.error(ctx, endpoint.dialect, r.status(), r.message(),
                                dev.skiff.dialect.OpenAiErrors.typeFor(r.status()), null, r.code(), requestId);
                        r.headers().forEach(refusal.headers()::set);
                        reply(ctx, refusal, keepAlive, requestId, endpoint.usageName, r.message(), caller); // the key's usage shows its refusals
                        return null;
                    }
                    gate = LimitGate.decided(limits, d, estimated);
                } else {
                    gate = LimitGate.pending(limits, limits.reserve(charges), ctx.executor(), estimated);
                }
            }
        }
        ProxyCall call;
        Attempts attempts = plan == null ? null : attempts(ctx, req, endpoint, scan, plan, requestId, caller);
        try {
            call = proxy(ctx, req, endpoint, scan, route, requestId, keepAlive, caller, gate, attempts);
        } catch (RuntimeException | Error e) {
            if (gate != null) gate.settle(Usage.NONE, false, 500); // a bug must not hold a concurrency slot for ever
            if (attempts != null) attempts.commit();
            throw e;
        }
        // A path that does not re-send (or no call at all) lets go of what re-sending would have needed.
        if (attempts != null && (call == null || !call.isAttempting(attempts))) attempts.commit();
        if (call == null && gate != null) gate.settle(Usage.NONE, false, 400); // answered without a call: nothing was used
        return call;
    }

    /** The targets after the first a plan may fail over to, for a money budget's estimate. */
    private static List<Limits.Target> alternatives(dev.skiff.routing.Plan plan) {
        List<Route> routes = plan.routes();
        List<Limits.Target> others = new ArrayList<>(routes.size() - 1);
        for (int i = 1; i < routes.size(); i++) others.add(new Limits.Target(routes.get(i).provider().type(), routes.get(i).upstreamModel()));
        return others;
    }

    /**
     * The part of a plan a managed key may use; the whole plan when none of it is allowed, so that
     * the refusal names the model the client asked for.
     */
    private static dev.skiff.routing.Plan allowedPart(dev.skiff.routing.Plan plan, Caller caller) {
        if (caller.key() == null || caller.key().allowedModels().contains("*")) return plan;
        List<Route> allowed = new ArrayList<>(plan.routes().size());
        for (Route r : plan.routes()) {
            if (ModelSelectors.allows(caller.key().allowedModels(), r.provider().name(), r.upstreamModel())) allowed.add(r);
        }
        return allowed.isEmpty() || allowed.size() == plan.routes().size() ? plan : new dev.skiff.routing.Plan(allowed, plan.retries());
    }

    /**
     * What a request needs to be sent again: its body (kept until the answer is committed), its
     * headers, and a way to send it to another target, re-translated when that target speaks
     * another dialect.
     */
    private Attempts attempts(ChannelHandlerContext ctx, FullHttpRequest req, Endpoint endpoint, RequestScan scan, dev.skiff.routing.Plan plan,
                              String requestId, Caller caller) {
        ByteBuf kept = req.content().retainedDuplicate();
        HttpHeaders headers = req.headers();
        return new Attempts(routing, plan, System.nanoTime() + upstream.timeouts().total().toNanos(), scan.stream(), kept::release,
                (call, route) -> redo(ctx, call, headers, kept, endpoint, scan, route, requestId, caller));
    }

    /**
     * Sends a request again, to {@code route}, made for that target as the first attempt was for its
     * own: as the client wrote it when the target speaks its dialect (system turns folded again for
     * Anthropic), else translated; a follow-up reads its conversation from the store again.
     */
    private void redo(ChannelHandlerContext ctx, ProxyCall call, HttpHeaders headers, ByteBuf body, Endpoint endpoint, RequestScan scan,
                      Route route, String requestId, Caller caller) {
        boolean isNative = endpoint.isNativeTo(route.provider())
                && !(endpoint == Endpoint.CHAT && OpenAiChatAdapter.mustDropEchoedReasoning(route.provider().type(), body));
        boolean followUp = isFollowUp(endpoint, body);
        if (isNative && foldsSystemTurns(endpoint, body, headers)) {
            refold(ctx, call, headers, body, endpoint, scan, route, requestId);
            return;
        }
        if (isNative && !followUp) {
            startForward(ctx, call, headers, body.retainedDuplicate(), endpoint, scan, route, requestId);
            return;
        }
        // Translation reads the body into trees again: reserved like the first time, but without waiting.
        TranslationBudget.Reservation reservation;
        try {
            reservation = budget.tryReserve(TranslationBudget.estimate(body.readableBytes(), JsonLimits.countRequest(body)));
        } catch (BadRequestException e) {
            call.refuse(400, e.getMessage(), e.param(), null);
            return;
        }
        if (reservation == null) {
            call.refuseBusy("Skiff had no translation memory free to send this request to its next target; try again.");
            return;
        }
        call.admit(reservation);
        if (followUp) followUp(ctx, call, headers, body, scan, route, isNative, requestId, caller);
        else translated(ctx, call, headers, body, endpoint, scan, route, requestId, caller);
    }

    /** A Responses request continuing a stored conversation: it needs that conversation first. */
    private static boolean isFollowUp(Endpoint endpoint, ByteBuf body) {
        return endpoint == Endpoint.RESPONSES && Bytes.indexOf(body, body.readerIndex(), body.writerIndex(), PREVIOUS_RESPONSE_ID) >= 0;
    }

    /** Messages whose system turns Anthropic takes only at the top (no beta allows them where they are). */
    private static boolean foldsSystemTurns(Endpoint endpoint, ByteBuf body, HttpHeaders headers) {
        return endpoint.dialect == ClientDialect.ANTHROPIC_MESSAGES && MidConversationSystem.mayHave(body)
                && !MidConversationSystem.betaAllows(headers.get(ANTHROPIC_BETA));
    }

    private ProxyCall proxy(ChannelHandlerContext ctx, FullHttpRequest req, Endpoint endpoint, RequestScan scan, Route route,
                            String requestId, boolean keepAlive, Caller caller, LimitGate gate, Attempts attempts) {
        ByteBuf body = req.content();
        boolean isNative = endpoint.isNativeTo(route.provider())
                && !(endpoint == Endpoint.CHAT && OpenAiChatAdapter.mustDropEchoedReasoning(route.provider().type(), body));
        // A follow-up to a response Skiff stored needs that response's conversation first.
        boolean followUp = isFollowUp(endpoint, body);
        // provider adapter: the same dialect takes the client's bytes as they are ...
        if (isNative && foldsSystemTurns(endpoint, body, req.headers())) {
            return forwardFoldingSystemTurns(ctx, req, endpoint, route, requestId, keepAlive, caller, gate, attempts);
        }
        if (isNative && !followUp) {
            return forward(ctx, req.headers(), body.retain(), endpoint, scan, route, requestId, keepAlive, caller, gate, attempts);
        }
        // ... another dialect gets a translated request, once it is admitted to translation memory.
        return admit(ctx, req, endpoint, scan, route, isNative, followUp, requestId, keepAlive, caller, gate, attempts);
    }

    /**
     * A body about to be read into trees: its JSON must stay within {@link JsonLimits}, and the heap
     * it will take is reserved from the translation memory first. A body that could never fit is
     * refused (413); one that does not fit now waits its turn for a moment, then is refused as busy
     * (503, {@code retry-after}). The reservation is let go once the provider's request is sent.
     */
    private ProxyCall admit(ChannelHandlerContext ctx, FullHttpRequest req, Endpoint endpoint, RequestScan scan, Route route, boolean isNative,
                            boolean followUp, String requestId, boolean keepAlive, Caller caller, LimitGate gate, Attempts attempts) {
        ByteBuf body = req.content();
        long need;
        try {
            need = TranslationBudget.estimate(body.readableBytes(), JsonLimits.countRequest(body));
        } catch (BadRequestException e) {
            refuseReserved(ctx, gate, Replies.error(ctx, endpoint.dialect, 400, e.getMessage(), "invalid_request_error", e.param(), null, requestId),
                    keepAlive, requestId, endpointName(pathOf(req.uri())), e.getMessage());
            return null;
        }
        if (!budget.couldFit(need)) {
            refuseReserved(ctx, gate, Replies.error(ctx, endpoint.dialect, 413, "This request would need about " + Bytes.describeSize(need)
                    + " of memory to be translated for " + route.provider().name() + ", more than Skiff's translation memory ("
                    + Bytes.describeSize(budget.capacity()) + ", SKIFF_TRANSLATION_MEMORY, half the heap by default). Send a smaller request.",
                    "invalid_request_error", null, "request_too_large", requestId), keepAlive,
                    requestId, endpointName(pathOf(req.uri())), "translation would need about " + Bytes.describeSize(need));
            return null;
        }
        ProxyCall call = new ProxyCall(ctx, this, requestId, keepAlive, endpoint, route, scan.model(), scan.stream(),
                attempts != null && injectsUsage(endpoint, scan), caller).limitedBy(gate);
        if (attempts != null) call.attempting(attempts);
        call.admittedBytes(need);
        ByteBuf held = body.retain(); // outlives the request while it waits
        Runnable releaseBody = ProxyCall.once(held::release);
        call.admit(releaseBody);
        HttpHeaders headers = req.headers();
        call.admit(budget.acquire(need, ctx.executor(), reservation -> {
            if (call.isFinished()) { // the client left while it waited
                reservation.release();
                return;
            }
            call.admit(reservation);
            try {
                if (followUp) followUp(ctx, call, headers, held, scan, route, isNative, requestId, caller);
                else translated(ctx, call, headers, held, endpoint, scan, route, requestId, caller);
            } catch (Throwable t) {
                call.failInternally(t);
            } finally {
                releaseBody.run();
            }
        }, () -> call.refuseBusy("Skiff is translating other large requests and had no memory free for this one within "
                + TranslationBudget.DEFAULT_WAIT_MILLIS / 1000 + " s; try again.")));
        return call;
    }

    /**
     * Messages to Anthropic with system messages in the conversation but without the beta that lets
     * Anthropic take them there: they join the top-level system, the rest goes as the client wrote it.
     */
    private ProxyCall forwardFoldingSystemTurns(ChannelHandlerContext ctx, FullHttpRequest req, Endpoint endpoint, Route route,
                                                String requestId, boolean keepAlive, Caller caller, LimitGate gate, Attempts attempts) {
        Dropped dropped = new Dropped();
        byte[] folded;
        RequestScan scan;
        try {
            folded = fold(req.content(), dropped);
            if (folded == null) { // the bytes were in a string after all
                scan = RequestScan.of(req.content());
                return forward(ctx, req.headers(), req.content().retain(), endpoint, scan, route, requestId, keepAlive, caller, gate, attempts);
            }
            scan = RequestScan.of(Unpooled.wrappedBuffer(folded));
        } catch (FoldRefusal r) {
            FullHttpResponse refusal = Replies.error(ctx, endpoint.dialect, r.status, r.getMessage(), r.type, r.param, r.code, requestId);
            if (r.status == 503) refusal.headers().set("retry-after", "1");
            refuseReserved(ctx, gate, refusal, keepAlive, requestId, endpointName(pathOf(req.uri())), r.logged);
            return null;
        } catch (BadRequestException e) {
            refuseReserved(ctx, gate, Replies.error(ctx, endpoint.dialect, 400, e.getMessage(), "invalid_request_error", e.param(), null, requestId),
                    keepAlive, requestId, endpointName(pathOf(req.uri())), e.getMessage());
            return null;
        }
        ProxyCall call = forwardingCall(ctx, endpoint, scan, route, requestId, keepAlive, caller, gate, attempts)
                .reporting(Map.of(ChatAdapter.DROPPED_HEADER, dropped.toString()));
        startForward(ctx, call, req.headers(), Unpooled.wrappedBuffer(folded), endpoint, scan, route, requestId);
        return call;
    }

    /** {@link #forwardFoldingSystemTurns} for a further attempt: the kept request is folded again, for this target. */
    private void refold(ChannelHandlerContext ctx, ProxyCall call, HttpHeaders headers, ByteBuf body, Endpoint endpoint, RequestScan scan,
                        Route route, String requestId) {
        Dropped dropped = new Dropped();
        try {
            byte[] folded = fold(body, dropped);
            if (folded == null) {
                startForward(ctx, call, headers, body.retainedDuplicate(), endpoint, scan, route, requestId);
                return;
            }
            RequestScan foldedScan = RequestScan.of(Unpooled.wrappedBuffer(folded));
            call.reporting(Map.of(ChatAdapter.DROPPED_HEADER, dropped.toString())); // the failed attempt's headers were dropped with it
            startForward(ctx, call, headers, Unpooled.wrappedBuffer(folded), endpoint, foldedScan, route, requestId);
        } catch (FoldRefusal r) {
            if (r.status == 503) call.refuseBusy(r.getMessage());
            else call.refuse(r.status, r.getMessage(), r.param, r.code);
        } catch (BadRequestException e) {
            call.refuse(400, e.getMessage(), e.param(), null);
        }
    }

    /** Why a body's system turns could not be folded: the error the client gets. */
    private static final class FoldRefusal extends Exception {
        final int status;
        final String type, param, code, logged;

        FoldRefusal(int status, String message, String type, String param, String code, String logged) {
            super(message, null, false, false);
            this.status = status;
            this.type = type;
            this.param = param;
            this.code = code;
            this.logged = logged;
        }
    }

    /**
     * The body with its mid-conversation system turns joined to the top-level system; null when
     * there were none after all. Folding reads the body into a tree: bounded and reserved like a
     * translation, briefly, without waiting.
     */
    private byte[] fold(ByteBuf body, Dropped dropped) throws FoldRefusal {
        TranslationBudget.Reservation reservation = null;
        try {
            long need = TranslationBudget.estimate(body.readableBytes(), JsonLimits.countRequest(body));
            reservation = budget.tryReserve(need);
            if (reservation == null) {
                boolean busy = budget.couldFit(need);
                throw new FoldRefusal(busy ? 503 : 413, "This request's system messages must be moved for the provider, and that needs about "
                        + Bytes.describeSize(need) + " of Skiff's translation memory, which is " + (busy ? "busy; try again." : "too little."),
                        busy ? "overloaded_error" : "invalid_request_error", null, busy ? "overloaded" : "request_too_large",
                        "no translation memory to fold system messages");
            }
            return MidConversationSystem.fold(body, dropped);
        } catch (BadRequestException e) {
            throw new FoldRefusal(400, e.getMessage(), "invalid_request_error", e.param(), null, e.getMessage());
        } catch (IOException e) {
            throw new FoldRefusal(400, "The request body is not valid JSON.", "invalid_request_error", null, null, "body is not valid JSON");
        } finally {
            if (reservation != null) reservation.release();
        }
    }

    private static final byte[] PREVIOUS_RESPONSE_ID = "\"previous_response_id\"".getBytes(StandardCharsets.US_ASCII);

    /**
     * Same dialect: the body goes as received, with only the model name and the usage request changed.
     * Takes ownership of {@code body}.
     */
    private ProxyCall forward(ChannelHandlerContext ctx, HttpHeaders clientHeaders, ByteBuf body, Endpoint endpoint, RequestScan scan, Route route,
                              String requestId, boolean keepAlive, Caller caller, LimitGate gate, Attempts attempts) {
        ProxyCall call = forwardingCall(ctx, endpoint, scan, route, requestId, keepAlive, caller, gate, attempts);
        startForward(ctx, call, clientHeaders, body, endpoint, scan, route, requestId);
        return call;
    }

    private ProxyCall forwardingCall(ChannelHandlerContext ctx, Endpoint endpoint, RequestScan scan, Route route, String requestId,
                                     boolean keepAlive, Caller caller, LimitGate gate, Attempts attempts) {
        ProxyCall call = new ProxyCall(ctx, this, requestId, keepAlive, endpoint, route, scan.model(), scan.stream(), injectsUsage(endpoint, scan), caller);
        if (attempts != null) call.attempting(attempts);
        return call.limitedBy(gate);
    }

    /** Whether a forwarded stream asks for usage on the client's behalf (and hides it again). */
    private static boolean injectsUsage(Endpoint endpoint, RequestScan scan) {
        return endpoint == Endpoint.CHAT && scan.stream() && !Boolean.TRUE.equals(scan.includeUsage());
    }

    private void startForward(ChannelHandlerContext ctx, ProxyCall call, HttpHeaders clientHeaders, ByteBuf body, Endpoint endpoint,
                              RequestScan scan, Route route, String requestId) {
        BodyEdit edit = new BodyEdit();
        if (!route.upstreamModel().equals(scan.model())) {
            edit.replace(scan.modelStart(), scan.modelEnd(), Json.quote(route.upstreamModel()));
        }
        if (call.injectsUsage()) askForUsage(scan, edit);
        ByteBuf upstreamBody = edit.apply(ctx.alloc(), body);

        HttpRequest head = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, route.provider().path(endpoint.upstreamPath, route.upstreamModel()),
                UNVALIDATED_HEADERS);
        HttpHeaders h = head.headers();
        route.provider().applyHeaders(h);
        h.set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, upstreamBody.readableBytes())
                .set(HttpHeaderNames.ACCEPT, scan.stream() ? HttpHeaderValues.TEXT_EVENT_STREAM : HttpHeaderValues.APPLICATION_JSON)
                .set(Replies.X_REQUEST_ID, requestId);
        if (endpoint.dialect == ClientDialect.ANTHROPIC_MESSAGES) {
            // The client's API version and opt-ins travel with its request (conformance 31).
            String version = clientHeaders.get(ANTHROPIC_VERSION);
            if (version != null) h.set(ANTHROPIC_VERSION, version);
            String beta = clientHeaders.get(ANTHROPIC_BETA);
            if (beta != null) h.set(ANTHROPIC_BETA, beta);
        }
        // relay back and observe: the call writes the response and records usage when it ends.
        call.start(upstream, head, upstreamBody);
    }

    /**
     * Headers of a forwarded request, set without Netty checking each name and value again: the names
     * are Skiff's, and the values are its configuration (checked at start-up), a request id already
     * checked printable ({@link RequestIds#accept}), or the client's headers as the decoder validated them.
     */
    private static final io.netty.handler.codec.http.HttpHeadersFactory UNVALIDATED_HEADERS =
            io.netty.handler.codec.http.DefaultHttpHeadersFactory.headersFactory().withValidation(false);

    private static final String ANTHROPIC_VERSION = "anthropic-version";
    private static final String ANTHROPIC_BETA = "anthropic-beta";

    /** Another dialect: the client's request into the internal representation, the provider's out of it. */
    private void translated(ChannelHandlerContext ctx, ProxyCall proxied, HttpHeaders headers, ByteBuf body, Endpoint endpoint,
                            RequestScan scan, Route route, String requestId, Caller caller) {
        Provider provider = route.provider();
        try {
            switch (endpoint) {
                case EMBEDDINGS -> {
                    EmbeddingsAdapter embeddings = provider.embeddingsAdapter();
                    if (embeddings == null) {
                        proxied.refuse(400, "Provider '" + provider.name() + "' has no " + endpoint.upstreamPath
                                + " endpoint in Skiff yet.", "model", "unsupported_endpoint");
                        return;
                    }
                    ChatAdapter.Call call = call(route, scan, null, headers, requestId);
                    EmbeddingsAdapter.FanOut fan = embeddings.prepareFanOut(call, body, ctx.alloc());
                    if (fan == null) send(proxied, embeddings.prepare(call, body, ctx.alloc()), null);
                    else proxied.translatedBy(fan.responses(), null, fan.headers()).start(upstream, fan.requests());
                }
                case CHAT -> {
                    ChatRequest request = OpenAiChat.parseRequest(body, route.upstreamModel());
                    Egress egress = new OpenAiChatEgress(scan.model(), Boolean.TRUE.equals(scan.includeUsage()));
                    adapt(ctx, proxied, call(route, scan, egress, headers, requestId), request, null);
                }
                case MESSAGES -> {
                    Dropped dropped = new Dropped();
                    ChatRequest request = AnthropicMessages.parseRequest(body, route.upstreamModel(), dropped);
                    adapt(ctx, proxied, call(route, scan, new AnthropicMessagesEgress(scan.model()), headers, requestId), request, dropped);
                }
                case COUNT_TOKENS -> {
                    Dropped dropped = new Dropped();
                    ChatRequest request = AnthropicMessages.parseCountRequest(body, route.upstreamModel(), dropped);
                    ChatAdapter.Call call = call(route, scan, new AnthropicMessagesEgress(scan.model()), headers, requestId);
                    ChatAdapter.Upstream counted = adapterFor(provider).countTokens(call, request, ctx.alloc());
                    if (counted != null) {
                        send(proxied, counted, dropped);
                    } else {
                        proxied.replyEstimatedTokens(AnthropicMessages.estimateTokens(request));
                    }
                }
                case RESPONSES -> resolveThenStartResponses(ctx, proxied, headers, OpenAiChat.read(body), null, List.of(), scan,
                        route, requestId, caller);
            }
        } catch (BadRequestException e) {
            proxied.refuse(400, e.getMessage(), e.param(), null);
        } catch (IOException e) {
            proxied.refuse(400, "The request body is not valid JSON: " + e.getMessage(), null, null);
        }
    }

    private static ChatAdapter adapterFor(Provider provider) {
        // Providers without an adapter of their own speak OpenAI chat.
        return provider.chatAdapter() != null ? provider.chatAdapter() : OpenAiChatAdapter.INSTANCE;
    }

    private static ChatAdapter.Call call(Route route, RequestScan scan, Egress egress, HttpHeaders headers, String requestId) {
        return new ChatAdapter.Call(route.provider(), scan.model(), route.upstreamModel(), scan.stream(), egress, headers, requestId);
    }

    /** Renders the provider's request (fetching image URLs first when the provider needs bytes) and sends it. */
    private void adapt(ChannelHandlerContext ctx, ProxyCall proxied, ChatAdapter.Call call, ChatRequest request, Dropped readDropped)
            throws BadRequestException {
        ChatAdapter adapter = adapterFor(call.provider());
        List<String> urls = adapter.inlinesImageUrls() ? ImageUrls.of(request) : List.of();
        if (urls.isEmpty()) {
            send(proxied, adapter.prepare(call, request, ctx.alloc()), readDropped);
        } else {
            inlineImagesThenSend(ctx, proxied, adapter, call, request, urls, readDropped);
        }
    }

    /**
     * Starts the upstream exchange. {@code readDropped} is what reading the client's request already
     * had to leave out; it is reported together with what writing the provider's request dropped.
     */
    private void send(ProxyCall proxied, ChatAdapter.Upstream up, Dropped readDropped) {
        Map<String, String> headers = up.headers();
        if (readDropped != null && !readDropped.isEmpty()) {
            String written = headers.get(ChatAdapter.DROPPED_HEADER);
            Map<String, String> merged = new HashMap<>(headers);
            merged.put(ChatAdapter.DROPPED_HEADER, written == null ? readDropped.toString() : readDropped + ", " + written);
            headers = merged;
        }
        proxied.translatedBy(up.responses(), up.stream(), headers).start(upstream, up.head(), up.body());
    }

    /**
     * {@code /v1/responses} naming a {@code previous_response_id}: when Skiff stored that response, the
     * conversation so far is read from the store (off the event loop) and the request is translated
     * with it, whatever the provider; an id Skiff does not know goes to a provider that keeps its own
     * responses as it is.
     */
    private void followUp(ChannelHandlerContext ctx, ProxyCall call, HttpHeaders clientHeaders, ByteBuf content, RequestScan scan,
                          Route route, boolean isNative, String requestId, Caller caller) {
        JsonNode tree;
        try {
            tree = OpenAiChat.read(content);
        } catch (IOException e) {
            call.refuse(400, "The request body is not valid JSON.", null, null);
            return;
        }
        JsonNode previous = tree.get("previous_response_id");
        if (previous == null || !previous.isTextual()) {
            if (isNative) startForward(ctx, call, clientHeaders, content.retain(), Endpoint.RESPONSES, scan, route, requestId);
            else translated(ctx, call, clientHeaders, content, Endpoint.RESPONSES, scan, route, requestId, caller);
            return;
        }
        ByteBuf[] held = {isNative ? content.retain() : null}; // outlives the request only if it may be forwarded
        call.admit(() -> { // let go if the call ends (or is refused) before the store answers
            if (held[0] != null) held[0].release();
            held[0] = null;
        });
        HttpHeaders headers = clientHeaders.copy();
        // The conversation so far becomes trees too, and it grows with every turn: it reserves its
        // share of the translation memory like the request did (before it is even loaded), or a long
        // enough chain of follow-ups would exhaust the heap one turn at a time.
        findReserved(ctx, call, previous.asText(), caller, true, HISTORY_COST_PER_CHAR, "previous_response_id", (found, error) -> {
            ByteBuf body = held[0]; // resume owns it now
            held[0] = null;
            try {
                resume(ctx, call, found, error, body, headers, tree, previous.asText(), scan, route, requestId, caller);
            } catch (Throwable t) {
                call.failInternally(t);
            }
        });
    }

    /**
     * Loads a stored response once the memory to use it is reserved ({@code costPerChar} for each of
     * its characters): its size is asked first, so that what waits for memory is not the response
     * itself. {@code then} runs on the call's event loop with the response (empty when there is
     * none) or the store's error; not at all if the call ended meanwhile or was refused for memory.
     */
    void findReserved(ChannelHandlerContext ctx, ProxyCall call, String id, Caller caller, boolean conversation, long costPerChar,
                      String param, java.util.function.BiConsumer<ResponseStore.Found, Throwable> then) {
        responses.size(id, caller.owner(), conversation).whenComplete((size, sizeError) -> ctx.executor().execute(() -> {
            if (call.isFinished()) return;
            if (sizeError != null || size < 0) {
                then.accept(sizeError != null ? null : new ResponseStore.Found.Absent(), sizeError);
                return;
            }
            long need = size * costPerChar;
            if (!budget.couldFit(call.admittedBytes() + need)) {
                String what = param != null ? "The conversation so far (" + param + " '" + id + "', " + Bytes.describeSize(size) + " stored)"
                        : "The stored response '" + id + "' (" + Bytes.describeSize(size) + " with its conversation)";
                call.refuse(413, what + " would need more than Skiff's translation memory (" + Bytes.describeSize(budget.capacity())
                        + ", SKIFF_TRANSLATION_MEMORY) to be read back."
                        + (param != null ? " Start a new conversation, or send it whole without " + param + "." : ""),
                        param, "request_too_large");
                return;
            }
            call.admit(budget.acquire(need, ctx.executor(), reservation -> {
                if (call.isFinished()) {
                    reservation.release();
                    return;
                }
                call.admit(reservation); // until the provider's request is sent, or the answer written
                (conversation ? responses.conversation(id, caller.owner()) : responses.find(id, caller.owner()))
                        .whenComplete((found, error) -> ctx.executor().execute(() -> {
                    if (!call.isFinished()) then.accept(found, error);
                }));
            }, () -> call.refuseBusy("Skiff is translating other large requests and had no memory free to read the stored response within "
                    + TranslationBudget.DEFAULT_WAIT_MILLIS / 1000 + " s; try again.")));
        }));
    }

    /** The conversation a follow-up continues has been looked up (or not): go on with it, on the call's event loop. */
    private void resume(ChannelHandlerContext ctx, ProxyCall call, ResponseStore.Found found, Throwable error, ByteBuf body,
                        HttpHeaders headers, JsonNode tree, String previousId, RequestScan scan, Route route, String requestId,
                        Caller caller) {
        if (call.isFinished()) { // the client left meanwhile
            if (body != null) body.release();
            return;
        }
        if (error != null) {
            if (body != null) body.release();
            call.refuse(500, "The response store could not be read: " + error.getMessage(), null, "store_error");
            return;
        }
        if (found instanceof ResponseStore.Found.Absent && body != null) { // not Skiff's: the provider's own
            call.stayWithProvider(); // which no other provider would know
            startForward(ctx, call, headers, body, Endpoint.RESPONSES, scan, route, requestId);
            return;
        }
        if (body != null) body.release();
        switch (found) {
            case ResponseStore.Found.Chain chain -> {
                try {
                    resolveThenStartResponses(ctx, call, headers, tree, previousId, history(chain), scan, route, requestId, caller);
                } catch (BadRequestException e) {
                    call.refuse(400, e.getMessage(), e.param(), null);
                } catch (IOException | IllegalArgumentException e) {
                    call.refuse(500, "A stored response could not be read: " + e.getMessage(), null, "store_error");
                }
            }
            case ResponseStore.Found.Absent a -> call.refuse(400, "Previous response with id '" + previousId + "' not found "
                    + "(this gateway keeps stored responses for " + StoredResponses.days(responses.ttl()) + ", SKIFF_RESPONSES_TTL).",
                    "previous_response_id", "previous_response_not_found");
            case ResponseStore.Found.Expired e -> call.refuse(400, "Previous response with id '" + previousId + "' has expired: "
                    + "this gateway keeps stored responses for " + StoredResponses.days(e.ttl()) + " (SKIFF_RESPONSES_TTL).",
                    "previous_response_id", "previous_response_not_found");
            case ResponseStore.Found.Broken br -> call.refuse(400, "The conversation of previous response '" + previousId
                    + "' cannot be rebuilt: " + br.reason() + ".", "previous_response_id", "previous_response_not_found");
        }
    }

    /**
     * Heap per stored character of a conversation read back: the parse cost of a body byte, plus a
     * token's cost spread over the ~20 characters a token of stored conversation takes at least.
     */
    static final long HISTORY_COST_PER_CHAR = TranslationBudget.COST_PER_BYTE + TranslationBudget.COST_PER_TOKEN / 20;

    /** The items of a stored conversation, oldest first: each response's input, then its output. */
    private static List<ObjectNode> history(ResponseStore.Found.Chain chain) throws IOException {
        List<ObjectNode> history = new ArrayList<>();
        if (chain.legacyHistory() != null) history.addAll(StoredResponses.items(chain.legacyHistory()));
        for (StoredResponse r : chain.links()) {
            history.addAll(StoredResponses.items(r.inputItems()));
            history.addAll(ResponsesApi.outputItems(OpenAiChat.JSON.readTree(r.response())));
        }
        return history;
    }

    /**
     * {@link #startResponses}, once the request's {@code item_reference} inputs are replaced by the
     * items they name, read from the store (off the event loop). A reference Skiff did not store is
     * refused, as OpenAI refuses one it does not know.
     */
    private void resolveThenStartResponses(ChannelHandlerContext ctx, ProxyCall proxied, HttpHeaders clientHeaders, JsonNode request,
                                           String previousId, List<ObjectNode> history, RequestScan scan, Route route, String requestId,
                                           Caller caller) throws BadRequestException {
        JsonNode input = request == null ? null : request.get("input");
        List<String> refs = new ArrayList<>();
        if (input != null && input.isArray()) {
            for (JsonNode item : input) {
                if (item.path("type").asText().equals("item_reference") && item.path("id").isTextual()) refs.add(item.get("id").asText());
            }
        }
        if (refs.isEmpty()) {
            startResponses(ctx, proxied, clientHeaders, request, null, previousId, history, scan, route, requestId, caller);
            return;
        }
        // The headers outlive the request while the store looks the items up: a copy, as a follow-up's (chat and
        // requests without references use the request's own, with no wait between).
        HttpHeaders headers = clientHeaders.copy();
        responses.findItems(refs, caller.owner()).whenComplete((found, error) -> ctx.executor().execute(() -> {
            if (proxied.isFinished()) return; // the client left meanwhile
            if (error != null) {
                proxied.refuse(500, "The response store could not be read: " + error.getMessage(), null, "store_error");
                return;
            }
            try {
                ArrayNode resolved = OpenAiChat.JSON.createArrayNode();
                for (JsonNode item : input) {
                    if (!item.path("type").asText().equals("item_reference")) {
                        resolved.add(item);
                        continue;
                    }
                    String json = found.get(item.path("id").asText());
                    if (json == null) {
                        throw new BadRequestException("Item with id '" + item.path("id").asText() + "' not found. An item_reference "
                                + "names an item of a response this gateway stored for the same key (store: true) and still keeps ("
                                + StoredResponses.days(responses.ttl()) + ", SKIFF_RESPONSES_TTL); send the item itself otherwise.",
                                "input");
                    }
                    resolved.add(OpenAiChat.JSON.readTree(json));
                }
                ArrayNode asSent = (ArrayNode) input;
                ((ObjectNode) request).set("input", resolved);
                startResponses(ctx, proxied, headers, request, asSent, previousId, history, scan, route, requestId, caller);
            } catch (BadRequestException e) {
                proxied.refuse(400, e.getMessage(), e.param(), null);
            } catch (IOException e) {
                proxied.refuse(500, "A stored item could not be read: " + e.getMessage(), null, "store_error");
            }
        }));
    }

    /**
     * A Responses request translated for any provider; the answer is stored unless the client says
     * {@code store:false}. {@code asSent}: the input as the client sent it when its references were
     * resolved into {@code request}, so that the stored input keeps them as references (the store
     * resolves them when it is read back) instead of copying the items they name at every turn.
     */
    private void startResponses(ChannelHandlerContext ctx, ProxyCall proxied, HttpHeaders clientHeaders, JsonNode request, ArrayNode asSent,
                                String previousId, List<ObjectNode> history, RequestScan scan, Route route, String requestId, Caller caller)
            throws BadRequestException {
        String id = ResponsesApi.newId("resp_");
        List<ObjectNode> input = StoredResponses.withIds(ResponsesApi.inputItems(request), id);
        Dropped dropped = new Dropped();
        // Read from the items just made (the ids given to them mean nothing to the reader), before
        // references are put back into them for the store.
        ChatRequest ir = ResponsesApi.parseRequest(request, input, history, route.upstreamModel(), dropped);
        if (asSent != null && asSent.size() == input.size()) {
            for (int i = 0; i < input.size(); i++) {
                JsonNode given = asSent.get(i);
                if (given.path("type").asText().equals("item_reference")) {
                    input.set(i, OpenAiChat.JSON.createObjectNode().put("type", "item_reference").put("id", given.path("id").asText()));
                }
            }
        }
        long created = System.currentTimeMillis() / 1000;
        ResponseContext context = new ResponseContext(id, scan.model(), created, request);
        // The answer's last bytes wait for the save to commit (see ProxyCall.holdUntil): a client that
        // has the whole answer can continue it, even if Skiff is killed right after.
        ResponsesEgress.Stored onFinal = !request.path("store").asBoolean(true) ? null
                : (json, omitted, outputIds) -> proxied.holdUntil(responses.save(new StoredResponse(id, caller.owner(), created,
                        route.provider().name(), scan.model(), json, StoredResponses.json(request, input), previousId, StoredResponses.ids(input, id),
                        StoredResponses.outputIds(outputIds, id), omitted)));
        ChatAdapter.Call call = new ChatAdapter.Call(route.provider(), scan.model(), route.upstreamModel(), scan.stream(),
                new ResponsesEgress(context, onFinal), clientHeaders, requestId);
        adapt(ctx, proxied, call, ir, dropped);
    }

    private static final int MAX_IMAGE_URLS = 20;
    private static final long MAX_INLINED_BYTES = 10L << 20;
    /**
     * Heap per inlined image byte: the fetched bytes, their base64 text (4/3) and the transient copy
     * base64 encoding makes (4/3 again), rounded up.
     */
    static final long COST_PER_IMAGE_BYTE = 4;

    /**
     * Fetches the images a provider cannot take by URL, then sends. The call is already the
     * connection's current one, so a client that leaves meanwhile finds it and cancels it. The images
     * will sit on the heap, so their largest possible size is reserved from the translation memory
     * first, next to what the request itself reserved.
     */
    private void inlineImagesThenSend(ChannelHandlerContext ctx, ProxyCall proxied, ChatAdapter adapter, ChatAdapter.Call call,
                                      ChatRequest request, List<String> urls, Dropped readDropped) throws BadRequestException {
        if (urls.size() > MAX_IMAGE_URLS) {
            throw new BadRequestException("At most " + MAX_IMAGE_URLS + " images can be given by URL to this provider.", "messages");
        }
        long wanted = Math.min((long) urls.size() * images.maxBytes(), MAX_INLINED_BYTES) * COST_PER_IMAGE_BYTE;
        long reserve = Math.min(wanted, budget.capacity() - proxied.admittedBytes());
        long limit = reserve / COST_PER_IMAGE_BYTE;
        if (reserve < wanted && limit < 1 << 10) { // what is left could not hold even a small image
            proxied.refuse(413, "The request leaves no room in Skiff's translation memory (" + Bytes.describeSize(budget.capacity())
                    + ", SKIFF_TRANSLATION_MEMORY) for the images it gives by URL. Send a smaller request.", "messages", "request_too_large");
            return;
        }
        proxied.admit(budget.acquire(reserve, ctx.executor(), reservation -> {
            if (proxied.isFinished()) {
                reservation.release();
                return;
            }
            proxied.admit(reservation);
            fetchImagesThenSend(ctx, proxied, adapter, call, request, urls, readDropped, limit);
        }, () -> proxied.refuseBusy("Skiff is inlining other images and had no memory free for this request's within "
                + TranslationBudget.DEFAULT_WAIT_MILLIS / 1000 + " s; try again.")));
    }

    private void fetchImagesThenSend(ChannelHandlerContext ctx, ProxyCall proxied, ChatAdapter adapter, ChatAdapter.Call call,
                                     ChatRequest request, List<String> urls, Dropped readDropped, long limit) {
        Map<String, ImageUrls.Fetched> fetched = new HashMap<>();
        boolean[] failed = {false};
        long[] total = {0};
        for (String url : urls) {
            images.fetch(url, ctx.channel().eventLoop(), (image, error) -> {
                if (failed[0] || proxied.isFinished()) return;
                try {
                    if (error != null) {
                        failed[0] = true;
                        proxied.refuse(400, "Image '" + (url.length() > 100 ? url.substring(0, 100) + "..." : url) + "': " + error + ".",
                                "messages", "invalid_image_url");
                        return;
                    }
                    // Inlined images become base64 text in a tree on the heap: bound the whole request too.
                    total[0] += image.bytes().length;
                    if (total[0] > limit) {
                        failed[0] = true;
                        proxied.refuse(400, "The images given by URL add up to more than " + Bytes.describeSize(limit)
                                + ", more than Skiff inlines for one request.", "messages", "invalid_image_url");
                        return;
                    }
                    fetched.put(url, new ImageUrls.Fetched(image.mediaType(), image.bytes()));
                    if (fetched.size() < urls.size()) return;
                    send(proxied, adapter.prepare(call, ImageUrls.inline(request, fetched), ctx.alloc()), readDropped);
                } catch (BadRequestException e) {
                    proxied.refuse(400, e.getMessage(), e.param(), null);
                } catch (Throwable t) {
                    failed[0] = true;
                    proxied.failInternally(t);
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

    boolean allow(ChannelHandlerContext ctx, HttpRequest req, ClientDialect dialect, String requestId, boolean keepAlive,
                  HttpMethod... methods) {
        for (HttpMethod m : methods) if (req.method().equals(m)) return true;
        String allowed = String.join(", ", java.util.Arrays.stream(methods).map(HttpMethod::name).toList());
        var r = Replies.error(ctx, dialect, 405, "Method " + req.method() + " is not allowed here; use " + allowed + ".",
                "invalid_request_error", null, "method_not_allowed", requestId);
        r.headers().set(HttpHeaderNames.ALLOW, allowed);
        String path = pathOf(req.uri());
        reply(ctx, r, keepAlive, requestId, path.equals("/health") || path.equals("/ready") ? path.substring(1) : endpointName(path),
                "method not allowed");
        return false;
    }

    /**
     * Sends a response Skiff wrote itself, no call behind it, and logs it: every request has its
     * line, refusals included. Latency is left out (-1): these take microseconds.
     */
    void reply(ChannelHandlerContext ctx, io.netty.handler.codec.http.FullHttpResponse r, boolean keepAlive, String requestId,
               String endpoint, String error) {
        reply(ctx, r, keepAlive, requestId, endpoint, error, null);
    }

    /**
     * As {@link #reply(ChannelHandlerContext, io.netty.handler.codec.http.FullHttpResponse, boolean, String, String, String)},
     * for a request refused after its limits were reserved ({@code gate}, null when none): they are
     * given back before the client has the refusal (in process at once; to Redis sent, ahead of this
     * replica's next reservation), so that its next request finds them free.
     */
    private void refuseReserved(ChannelHandlerContext ctx, LimitGate gate, io.netty.handler.codec.http.FullHttpResponse r, boolean keepAlive,
                                String requestId, String endpoint, String error) {
        if (gate != null) gate.settle(Usage.NONE, false, r.status().code());
        reply(ctx, r, keepAlive, requestId, endpoint, error);
    }

    /** As {@link #reply(ChannelHandlerContext, io.netty.handler.codec.http.FullHttpResponse, boolean, String, String, String)}, for a refusal of an identified caller: it counts in their usage. */
    void reply(ChannelHandlerContext ctx, io.netty.handler.codec.http.FullHttpResponse r, boolean keepAlive, String requestId,
               String endpoint, String error, Caller caller) {
        var record = new dev.skiff.observe.UsageRecord(System.currentTimeMillis(), requestId, endpoint, null, null, null, null, false,
                r.status().code(), Usage.NONE, -1, -1, -1, error, null, caller, 1);
        Replies.send(ctx, r, keepAlive);
        observers.finished(record, CURRENT.get());
    }

    /** The dialect errors are written in for a path: Anthropic's on {@code /v1/messages}, else OpenAI's. */
    static ClientDialect dialectOf(String path) {
        return path.startsWith("/v1/messages") ? ClientDialect.ANTHROPIC_MESSAGES
                : path.startsWith("/v1/responses") ? ClientDialect.OPENAI_RESPONSES : ClientDialect.OPENAI_CHAT;
    }

    private static final Endpoint[] ENDPOINTS = Endpoint.values();

    /** The endpoint a path names, as the usage log writes it. */
    static String endpointName(String path) {
        for (Endpoint e : ENDPOINTS) {
            if (path.length() == e.upstreamPath.length() + 3 && path.startsWith("/v1") && path.endsWith(e.upstreamPath)) {
                return e.usageName;
            }
        }
        if (path.startsWith("/v1/responses/")) return "responses";
        if (path.equals("/v1/models") || path.startsWith("/v1/models/")) return "models";
        return "unknown";
    }

    static String pathOf(String uri) {
        int q = uri.indexOf('?');
        String p = q < 0 ? uri : uri.substring(0, q);
        if (p.startsWith("http://") || p.startsWith("https://")) { // absolute-form request target
            int slash = p.indexOf('/', p.indexOf("//") + 2);
            p = slash < 0 ? "/" : p.substring(slash);
        }
        return p.length() > 1 && p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
    }
}
