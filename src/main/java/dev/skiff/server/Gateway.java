package dev.skiff.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.config.ProviderType;
import dev.skiff.control.MasterKeyAuth;
import dev.skiff.dialect.BadRequestException;
import dev.skiff.dialect.BodyEdit;
import dev.skiff.dialect.Bytes;
import dev.skiff.dialect.ChatStreamFilter;
import dev.skiff.dialect.ClientDialect;
import dev.skiff.dialect.Egress;
import dev.skiff.dialect.Json;
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
        RESPONSES("/responses", true, ClientDialect.OPENAI_RESPONSES, JsonTypes.RESPONSES);

        final String upstreamPath;
        final boolean canStream;
        final ClientDialect dialect;
        /** The JSON types of the fields this API documents, checked by the request scan. */
        final JsonTypes.Table fieldTypes;

        Endpoint(String upstreamPath, boolean canStream, ClientDialect dialect, JsonTypes.Table fieldTypes) {
            this.upstreamPath = upstreamPath;
            this.canStream = canStream;
            this.dialect = dialect;
            this.fieldTypes = fieldTypes;
        }

        /** Whether the provider speaks this endpoint's dialect itself, so the client's bytes go as they are. */
        boolean isNativeTo(Provider p) {
            return switch (this) {
                case CHAT, EMBEDDINGS -> p.chatAdapter() == null;
                case MESSAGES, COUNT_TOKENS -> p.type() == ProviderType.ANTHROPIC;
                case RESPONSES -> p.type() == ProviderType.OPENAI;
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
    private final ImageFetcher images;
    private final Passthrough passthrough;
    private final ResponseStore responses;
    private final StoredResponses storedResponses;
    private volatile boolean listening;
    private volatile long readyDeadline; // System.nanoTime() after which /ready no longer waits for listings

    public Gateway(MasterKeyAuth auth, ModelCatalog catalog, UpstreamClient upstream, ImageFetcher images, UsageLog usageLog,
                   ResponseStore responses) {
        this.images = images;
        this.auth = auth;
        this.catalog = catalog;
        this.router = new ModelRouter(catalog);
        this.upstream = upstream;
        this.usageLog = usageLog;
        this.passthrough = new Passthrough(catalog.providers(), upstream, usageLog);
        this.responses = responses;
        this.storedResponses = new StoredResponses(responses, catalog);
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

    MasterKeyAuth auth() {
        return auth;
    }

    UsageLog usageLog() {
        return usageLog;
    }

    UpstreamClient upstream() {
        return upstream;
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
                default -> {
                }
            }
            if (!path.startsWith("/v1/")) {
                reply(ctx, Replies.openAiError(ctx, 404, "Unknown path " + path + ".", "unknown_url", requestId), keepAlive, requestId,
                        "unknown", "unknown path");
                return null;
            }
            // Errors from here on come in the dialect of the API the client called (conformance 32).
            ClientDialect dialect = dialectOf(path);

            // authenticate: done on the request head, before the body was read (see ClientGate).

            // identify (tenant, user path, end user), admit (limits, budgets), guard: later stages.

            return switch (path) {
                case "/v1/chat/completions" -> post(ctx, req, Endpoint.CHAT, requestId, keepAlive);
                case "/v1/embeddings" -> post(ctx, req, Endpoint.EMBEDDINGS, requestId, keepAlive);
                case "/v1/messages" -> post(ctx, req, Endpoint.MESSAGES, requestId, keepAlive);
                case "/v1/messages/count_tokens" -> post(ctx, req, Endpoint.COUNT_TOKENS, requestId, keepAlive);
                case "/v1/responses" -> post(ctx, req, Endpoint.RESPONSES, requestId, keepAlive);
                case "/v1/models" -> {
                    if (allow(ctx, req, dialect, requestId, keepAlive, HttpMethod.GET)) {
                        reply(ctx, Replies.json(HttpResponseStatus.OK, catalog.snapshot().listingJson(), requestId), keepAlive, requestId,
                                "models", null);
                    }
                    yield null;
                }
                default -> {
                    if (path.startsWith("/v1/models/")) {
                        if (allow(ctx, req, dialect, requestId, keepAlive, HttpMethod.GET)) retrieveModel(ctx, path, requestId, keepAlive);
                        yield null;
                    }
                    if (path.startsWith("/v1/responses/")) yield storedResponses.handle(ctx, this, req, path, requestId, keepAlive);
                    reply(ctx, Replies.error(ctx, dialect, 404, "Unknown path " + path + ".", "invalid_request_error", null,
                            "unknown_url", requestId), keepAlive, requestId, "unknown", "unknown path");
                    yield null;
                }
            };
        } finally {
            req.release();
        }
    }

    private ProxyCall post(ChannelHandlerContext ctx, FullHttpRequest req, Endpoint endpoint, String requestId, boolean keepAlive) {
        return allow(ctx, req, endpoint.dialect, requestId, keepAlive, HttpMethod.POST) ? proxy(ctx, req, endpoint, requestId, keepAlive) : null;
    }

    /** {@code GET /v1/models/{provider}/{model}}: one model of the listing. */
    private void retrieveModel(ChannelHandlerContext ctx, String path, String requestId, boolean keepAlive) {
        String id = QueryStringDecoder.decodeComponent(path.substring("/v1/models/".length()));
        byte[] model = catalog.snapshot().modelJson(id);
        if (model == null) {
            reply(ctx, Replies.openAiError(ctx, 404, "The model '" + id + "' does not exist; ids are provider/model, as /v1/models lists them.",
                    "invalid_request_error", "model", "model_not_found", requestId), keepAlive, requestId, "models", "unknown model");
            return;
        }
        reply(ctx, Replies.json(HttpResponseStatus.OK, model, requestId), keepAlive, requestId, "models", null);
    }

    /** Route, then either forward the client's bytes (same dialect) or translate through the internal representation. */
    private ProxyCall proxy(ChannelHandlerContext ctx, FullHttpRequest req, Endpoint endpoint, String requestId, boolean keepAlive) {
        ByteBuf body = req.content();
        RequestScan scan;
        Route route;
        try {
            scan = RequestScan.of(body, endpoint.fieldTypes);
            if (scan.stream() && !endpoint.canStream) throw new BadRequestException("This endpoint does not stream.", "stream");
            route = router.resolve(scan.model());
        } catch (BadRequestException e) {
            reply(ctx, Replies.error(ctx, endpoint.dialect, 400, e.getMessage(), "invalid_request_error", e.param(), null, requestId), keepAlive,
                    requestId, endpoint.name().toLowerCase(java.util.Locale.ROOT), e.getMessage());
            return null;
        } catch (RouteException e) {
            reply(ctx, Replies.error(ctx, endpoint.dialect, e.status(), e.getMessage(), "invalid_request_error", "model", e.code(), requestId),
                    keepAlive, requestId, endpoint.name().toLowerCase(java.util.Locale.ROOT), e.getMessage());
            return null;
        }
        boolean isNative = endpoint.isNativeTo(route.provider());

        // A follow-up to a response Skiff stored needs that response's conversation first.
        if (endpoint == Endpoint.RESPONSES && Bytes.indexOf(body, body.readerIndex(), body.writerIndex(), PREVIOUS_RESPONSE_ID) >= 0) {
            return followUp(ctx, req, scan, route, isNative, requestId, keepAlive);
        }
        // provider adapter: the same dialect takes the client's bytes as they are ...
        if (isNative && endpoint.dialect == ClientDialect.ANTHROPIC_MESSAGES && MidConversationSystem.mayHave(body)
                && !MidConversationSystem.betaAllows(req.headers().get(ANTHROPIC_BETA))) {
            return forwardFoldingSystemTurns(ctx, req, endpoint, route, requestId, keepAlive);
        }
        if (isNative) return forward(ctx, req.headers(), body.retain(), endpoint, scan, route, requestId, keepAlive);
        // ... another dialect gets a translated request.
        return translated(ctx, req, endpoint, scan, route, requestId, keepAlive);
    }

    /**
     * Messages to Anthropic with system messages in the conversation but without the beta that lets
     * Anthropic take them there: they join the top-level system, the rest goes as the client wrote it.
     */
    private ProxyCall forwardFoldingSystemTurns(ChannelHandlerContext ctx, FullHttpRequest req, Endpoint endpoint, Route route,
                                                String requestId, boolean keepAlive) {
        Dropped dropped = new Dropped();
        byte[] folded;
        RequestScan scan;
        try {
            folded = MidConversationSystem.fold(req.content(), dropped);
            if (folded == null) { // the bytes were in a string after all
                scan = RequestScan.of(req.content());
                return forward(ctx, req.headers(), req.content().retain(), endpoint, scan, route, requestId, keepAlive);
            }
            scan = RequestScan.of(Unpooled.wrappedBuffer(folded));
        } catch (IOException | BadRequestException e) {
            Replies.send(ctx, Replies.error(ctx, endpoint.dialect, 400, "The request body is not valid JSON.", "invalid_request_error", null,
                    null, requestId), keepAlive);
            return null;
        }
        ProxyCall call = forwardingCall(ctx, endpoint, scan, route, requestId, keepAlive)
                .reporting(Map.of(ChatAdapter.DROPPED_HEADER, dropped.toString()));
        startForward(ctx, call, req.headers(), Unpooled.wrappedBuffer(folded), endpoint, scan, route, requestId);
        return call;
    }

    private static final byte[] PREVIOUS_RESPONSE_ID = "\"previous_response_id\"".getBytes(StandardCharsets.US_ASCII);

    /**
     * Same dialect: the body goes as received, with only the model name and the usage request changed.
     * Takes ownership of {@code body}.
     */
    private ProxyCall forward(ChannelHandlerContext ctx, HttpHeaders clientHeaders, ByteBuf body, Endpoint endpoint, RequestScan scan, Route route,
                              String requestId, boolean keepAlive) {
        ProxyCall call = forwardingCall(ctx, endpoint, scan, route, requestId, keepAlive);
        startForward(ctx, call, clientHeaders, body, endpoint, scan, route, requestId);
        return call;
    }

    private ProxyCall forwardingCall(ChannelHandlerContext ctx, Endpoint endpoint, RequestScan scan, Route route, String requestId,
                                     boolean keepAlive) {
        boolean injectUsage = endpoint == Endpoint.CHAT && scan.stream() && !Boolean.TRUE.equals(scan.includeUsage());
        return new ProxyCall(ctx, this, requestId, keepAlive, endpoint, route, scan.model(), scan.stream(), injectUsage);
    }

    private void startForward(ChannelHandlerContext ctx, ProxyCall call, HttpHeaders clientHeaders, ByteBuf body, Endpoint endpoint,
                              RequestScan scan, Route route, String requestId) {
        BodyEdit edit = new BodyEdit();
        if (!route.upstreamModel().equals(scan.model())) {
            edit.replace(scan.modelStart(), scan.modelEnd(), Json.quote(route.upstreamModel()));
        }
        if (call.injectsUsage()) askForUsage(scan, edit);
        ByteBuf upstreamBody = edit.apply(ctx.alloc(), body);

        HttpRequest head = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, route.provider().path(endpoint.upstreamPath, route.upstreamModel()));
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

    private static final String ANTHROPIC_VERSION = "anthropic-version";
    private static final String ANTHROPIC_BETA = "anthropic-beta";

    /** Another dialect: the client's request into the internal representation, the provider's out of it. */
    private ProxyCall translated(ChannelHandlerContext ctx, FullHttpRequest req, Endpoint endpoint, RequestScan scan, Route route,
                                 String requestId, boolean keepAlive) {
        Provider provider = route.provider();
        ProxyCall proxied = new ProxyCall(ctx, this, requestId, keepAlive, endpoint, route, scan.model(), scan.stream(), false);
        try {
            switch (endpoint) {
                case EMBEDDINGS -> {
                    EmbeddingsAdapter embeddings = provider.embeddingsAdapter();
                    if (embeddings == null) {
                        proxied.refuse(400, "Provider '" + provider.name() + "' has no " + endpoint.upstreamPath
                                + " endpoint in Skiff yet.", "model", "unsupported_endpoint");
                        return proxied;
                    }
                    ChatAdapter.Call call = call(route, scan, null, req, requestId);
                    EmbeddingsAdapter.FanOut fan = embeddings.prepareFanOut(call, req.content(), ctx.alloc());
                    if (fan == null) send(proxied, embeddings.prepare(call, req.content(), ctx.alloc()), null);
                    else proxied.translatedBy(fan.responses(), null, fan.headers()).start(upstream, fan.requests());
                }
                case CHAT -> {
                    ChatRequest request = OpenAiChat.parseRequest(req.content(), route.upstreamModel());
                    Egress egress = new OpenAiChatEgress(scan.model(), Boolean.TRUE.equals(scan.includeUsage()));
                    adapt(ctx, proxied, call(route, scan, egress, req, requestId), request, null);
                }
                case MESSAGES -> {
                    Dropped dropped = new Dropped();
                    ChatRequest request = AnthropicMessages.parseRequest(req.content(), route.upstreamModel(), dropped);
                    adapt(ctx, proxied, call(route, scan, new AnthropicMessagesEgress(scan.model()), req, requestId), request, dropped);
                }
                case COUNT_TOKENS -> {
                    Dropped dropped = new Dropped();
                    ChatRequest request = AnthropicMessages.parseCountRequest(req.content(), route.upstreamModel(), dropped);
                    ChatAdapter.Call call = call(route, scan, new AnthropicMessagesEgress(scan.model()), req, requestId);
                    ChatAdapter.Upstream counted = adapterFor(provider).countTokens(call, request, ctx.alloc());
                    if (counted != null) {
                        send(proxied, counted, dropped);
                    } else {
                        proxied.replyEstimatedTokens(AnthropicMessages.estimateTokens(request));
                    }
                }
                case RESPONSES -> resolveThenStartResponses(ctx, proxied, req.headers().copy(), OpenAiChat.read(req.content()), List.of(), scan,
                        route, requestId);
            }
            return proxied;
        } catch (BadRequestException e) {
            proxied.refuse(400, e.getMessage(), e.param(), null);
            return proxied;
        } catch (IOException e) {
            proxied.refuse(400, "The request body is not valid JSON: " + e.getMessage(), null, null);
            return proxied;
        }
    }

    private static ChatAdapter adapterFor(Provider provider) {
        // Providers without an adapter of their own speak OpenAI chat.
        return provider.chatAdapter() != null ? provider.chatAdapter() : OpenAiChatAdapter.INSTANCE;
    }

    private static ChatAdapter.Call call(Route route, RequestScan scan, Egress egress, FullHttpRequest req, String requestId) {
        return new ChatAdapter.Call(route.provider(), scan.model(), route.upstreamModel(), scan.stream(), egress, req.headers(), requestId);
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
    private ProxyCall followUp(ChannelHandlerContext ctx, FullHttpRequest req, RequestScan scan, Route route, boolean isNative,
                               String requestId, boolean keepAlive) {
        JsonNode tree;
        try {
            tree = OpenAiChat.read(req.content());
        } catch (IOException e) {
            reply(ctx, Replies.error(ctx, ClientDialect.OPENAI_RESPONSES, 400, "The request body is not valid JSON.",
                    "invalid_request_error", null, null, requestId), keepAlive, requestId, "responses", "body is not valid JSON");
            return null;
        }
        JsonNode previous = tree.get("previous_response_id");
        if (previous == null || !previous.isTextual()) {
            return isNative ? forward(ctx, req.headers(), req.content().retain(), Endpoint.RESPONSES, scan, route, requestId, keepAlive)
                    : translated(ctx, req, Endpoint.RESPONSES, scan, route, requestId, keepAlive);
        }
        ProxyCall call = forwardingCall(ctx, Endpoint.RESPONSES, scan, route, requestId, keepAlive);
        ByteBuf body = isNative ? req.content().retain() : null; // outlives the request only if it may be forwarded
        HttpHeaders headers = req.headers().copy();
        responses.find(previous.asText()).whenComplete((found, error) -> ctx.executor().execute(() -> {
            if (call.isFinished()) { // the client left meanwhile
                if (body != null) body.release();
                return;
            }
            if (error != null) {
                if (body != null) body.release();
                call.refuse(500, "The response store could not be read: " + error.getMessage(), null, "store_error");
            } else if (found.isPresent()) {
                if (body != null) body.release();
                try {
                    StoredResponse prev = found.get();
                    List<ObjectNode> history = new ArrayList<>(StoredResponses.items(prev.history()));
                    history.addAll(StoredResponses.items(prev.inputItems()));
                    history.addAll(ResponsesApi.outputItems(OpenAiChat.JSON.readTree(prev.response())));
                    resolveThenStartResponses(ctx, call, headers, tree, history, scan, route, requestId);
                } catch (BadRequestException e) {
                    call.refuse(400, e.getMessage(), e.param(), null);
                } catch (IOException e) {
                    call.refuse(500, "A stored response could not be read: " + e.getMessage(), null, "store_error");
                }
            } else if (body != null) {
                startForward(ctx, call, headers, body, Endpoint.RESPONSES, scan, route, requestId);
            } else {
                call.refuse(400, "Previous response with id '" + previous.asText() + "' not found.", "previous_response_id",
                        "previous_response_not_found");
            }
        }));
        return call;
    }

    /**
     * {@link #startResponses}, once the request's {@code item_reference} inputs are replaced by the
     * items they name, read from the store (off the event loop). A reference Skiff did not store is
     * refused, as OpenAI refuses one it does not know.
     */
    private void resolveThenStartResponses(ChannelHandlerContext ctx, ProxyCall proxied, HttpHeaders clientHeaders, JsonNode request,
                                           List<ObjectNode> history, RequestScan scan, Route route, String requestId)
            throws BadRequestException {
        JsonNode input = request == null ? null : request.get("input");
        List<String> refs = new ArrayList<>();
        if (input != null && input.isArray()) {
            for (JsonNode item : input) {
                if (item.path("type").asText().equals("item_reference") && item.path("id").isTextual()) refs.add(item.get("id").asText());
            }
        }
        if (refs.isEmpty()) {
            startResponses(ctx, proxied, clientHeaders, request, history, scan, route, requestId);
            return;
        }
        responses.findItems(refs).whenComplete((found, error) -> ctx.executor().execute(() -> {
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
                        throw new BadRequestException("Item with id '" + item.path("id").asText() + "' not found.", "input");
                    }
                    resolved.add(OpenAiChat.JSON.readTree(json));
                }
                ((ObjectNode) request).set("input", resolved);
                startResponses(ctx, proxied, clientHeaders, request, history, scan, route, requestId);
            } catch (BadRequestException e) {
                proxied.refuse(400, e.getMessage(), e.param(), null);
            } catch (IOException e) {
                proxied.refuse(500, "A stored item could not be read: " + e.getMessage(), null, "store_error");
            }
        }));
    }

    /** A Responses request translated for any provider; the answer is stored unless the client says {@code store:false}. */
    private void startResponses(ChannelHandlerContext ctx, ProxyCall proxied, HttpHeaders clientHeaders, JsonNode request,
                                List<ObjectNode> history, RequestScan scan, Route route, String requestId) throws BadRequestException {
        List<ObjectNode> input = StoredResponses.withIds(ResponsesApi.inputItems(request));
        Dropped dropped = new Dropped();
        ChatRequest ir = ResponsesApi.parseRequest(request, history, route.upstreamModel(), dropped);
        String id = ResponsesApi.newId("resp_");
        long created = System.currentTimeMillis() / 1000;
        ResponseContext context = new ResponseContext(id, scan.model(), created, request);
        Consumer<ObjectNode> onFinal = !request.path("store").asBoolean(true) ? r -> {}
                : r -> responses.save(new StoredResponse(id, created, route.provider().name(), scan.model(), r.toString(),
                        StoredResponses.json(input), StoredResponses.json(history)));
        ChatAdapter.Call call = new ChatAdapter.Call(route.provider(), scan.model(), route.upstreamModel(), scan.stream(),
                new ResponsesEgress(context, onFinal), clientHeaders, requestId);
        adapt(ctx, proxied, call, ir, dropped);
    }

    private static final int MAX_IMAGE_URLS = 20;
    private static final long MAX_INLINED_BYTES = 10L << 20;

    /**
     * Fetches the images a provider cannot take by URL, then sends. The call is already the
     * connection's current one, so a client that leaves meanwhile finds it and cancels it.
     */
    private void inlineImagesThenSend(ChannelHandlerContext ctx, ProxyCall proxied, ChatAdapter adapter, ChatAdapter.Call call,
                                      ChatRequest request, List<String> urls, Dropped readDropped) throws BadRequestException {
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
                    send(proxied, adapter.prepare(call, ImageUrls.inline(request, fetched), ctx.alloc()), readDropped);
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
        usageLog.record(new dev.skiff.observe.UsageRecord(System.currentTimeMillis(), requestId, endpoint, null, null, null, false,
                r.status().code(), Usage.NONE, -1, -1, error, null));
        Replies.send(ctx, r, keepAlive);
    }

    /** The dialect errors are written in for a path: Anthropic's on {@code /v1/messages}, else OpenAI's. */
    static ClientDialect dialectOf(String path) {
        return path.startsWith("/v1/messages") ? ClientDialect.ANTHROPIC_MESSAGES
                : path.startsWith("/v1/responses") ? ClientDialect.OPENAI_RESPONSES : ClientDialect.OPENAI_CHAT;
    }

    /** The endpoint a path names, as the usage log writes it. */
    static String endpointName(String path) {
        for (Endpoint e : Endpoint.values()) {
            if (path.length() == e.upstreamPath.length() + 3 && path.startsWith("/v1") && path.endsWith(e.upstreamPath)) {
                return e.name().toLowerCase(java.util.Locale.ROOT);
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
