package dev.skiff.server;

import dev.skiff.control.limits.Limits;

import dev.skiff.control.Caller;
import dev.skiff.dialect.AnswerModel;
import dev.skiff.dialect.ClientDialect;
import dev.skiff.dialect.ChatStreamFilter;
import dev.skiff.dialect.StreamRelay;
import dev.skiff.dialect.OpenAiErrors;
import dev.skiff.dialect.SseSplitter;
import dev.skiff.dialect.Usage;
import dev.skiff.observe.UsageRecord;
import dev.skiff.provider.ChatAdapter;
import dev.skiff.provider.ResponseTranslator;
import dev.skiff.provider.StreamTranslator;
import dev.skiff.routing.Route;
import dev.skiff.upstream.ExchangeListener;
import dev.skiff.upstream.MultiExchange;
import dev.skiff.upstream.UpstreamCall;
import dev.skiff.upstream.UpstreamClient;
import dev.skiff.upstream.UpstreamFailure;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.concurrent.EventExecutor;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * One proxied request from the moment it is sent upstream: relays the response to the client (a
 * stream piece by piece with one flush per upstream read, anything else whole), turns upstream failures into
 * errors in the client's dialect, and records usage when it ends. Runs on the client's event loop.
 */
final class ProxyCall implements ExchangeListener {
    private static final int MAX_BUFFERED_RESPONSE = 64 << 20;

    private final ChannelHandlerContext ctx;
    private final Gateway gateway;
    private final String requestId;
    private final boolean keepAlive;
    private final Gateway.Endpoint endpoint;
    private Route route; // the current attempt's target
    private Attempts attempts; // null: one attempt, as with no routing configured (the hot path pays nothing)
    private boolean clientWritten; // the stream's head went to the client: no other attempt from here
    private final String clientModel;
    private final boolean stream;
    private final boolean injectedUsage;
    private final ClientDialect dialect;
    private final AnswerModel answerModel; // forwarded answers name the client's model, as translated ones do
    private final long startNanos = System.nanoTime();
    private final Caller caller; // who the request acts for, as the gate authenticated it
    private final dev.skiff.observe.RequestTrail trail; // what the audit log and tracer capture; null when nothing does

    private UpstreamCall exchange;
    private ResponseTranslator translator; // null: same dialect, bytes are forwarded
    private StreamTranslator streamTranslator; // likewise for event streams
    private Map<String, String> extraHeaders = Map.of(); // e.g. the fields a translation dropped
    private Runnable onFinished;
    private int status;
    private long firstByteNanos = -1;
    private long firstContentNanos = -1; // the first byte of the answer's body: a stream's first event
    private boolean finished;
    private boolean over; // finished, and its end written (which may wait for the limits' settlement: see finish)
    private boolean settlingAtTerminal; // a stream's terminal event waits for its limits' settlement (see terminalEvent)
    private Runnable afterSettled; // the call's end, come while it waits

    // a relayed stream
    private boolean streaming;
    private SseSplitter splitter;
    private StreamRelay relay;
    private SseSplitter.ArraySink chatEvents; // a chat relay's events, split and filtered in arrays (see chatEvent)
    private ByteBuf outgoing; // what the stream translator made of the current upstream piece
    private ClientWrites writes; // what the current upstream read brought, sent as one HTTP chunk when it completes
    // a buffered response
    private ByteBuf buffered; // the one piece most answers come in, or a composite of several
    private HttpHeaders upstreamHeaders;
    // what admission holds for this call (translation memory, a waiting place, the body to translate):
    // let go once the upstream request is on its way, and on every end
    private List<Runnable> admission;
    private long admittedBytes; // what the request reserved of the translation memory
    private LimitGate limitGate; // its limits' reservation, or null when none applies
    private Runnable parkedDiscard; // lets go of a request waiting for its limits' decision

    // the end of an answer held until it is stored (see holdUntil)
    private boolean holding;
    private CompositeByteBuf held; // stream bytes that came after the hold began
    private Runnable heldEnd; // how the answer ends, once the hold is released
    private FullHttpResponse heldResponse; // a complete answer waiting in heldEnd
    private String storeFailure; // why storing failed, once it has
    private boolean closeDelimited; // the response has neither Content-Length nor chunks: its end is the connection's

    ProxyCall(ChannelHandlerContext ctx, Gateway gateway, String requestId, boolean keepAlive, Gateway.Endpoint endpoint,
              Route route, String clientModel, boolean stream, boolean injectedUsage, Caller caller) {
        this.caller = caller;
        this.ctx = ctx;
        this.gateway = gateway;
        this.requestId = requestId;
        this.keepAlive = keepAlive;
        this.endpoint = endpoint;
        this.route = route;
        this.clientModel = clientModel;
        this.stream = stream;
        this.injectedUsage = injectedUsage;
        this.dialect = endpoint.dialect;
        this.answerModel = clientModel == null ? null : new AnswerModel(clientModel);
        this.trail = Gateway.currentTrail();
        gateway.observers().started();
    }

    /** Lets the call make further attempts when this one fails before the client has anything. */
    ProxyCall attempting(Attempts a) {
        assert exchange == null : "set before start";
        this.attempts = a;
        return this;
    }

    /** Further attempts, if any, go only to this attempt's provider (see {@link Attempts#stayWithProvider}). */
    void stayWithProvider() {
        if (attempts != null) attempts.stayWithProvider();
    }

    boolean isAttempting(Attempts a) {
        return attempts == a;
    }

    /** Who the request acts for: its usage is theirs. */
    Caller caller() {
        return caller;
    }

    /** For a provider of another dialect: complete responses are translated before they are sent. */
    ProxyCall translatedBy(ResponseTranslator t, StreamTranslator s, Map<String, String> headers) {
        assert exchange == null : "set before start";
        this.translator = t;
        this.streamTranslator = s;
        this.extraHeaders = headers;
        if (s != null) s.limitEvents(gateway.maxTranslatedEventBytes(), gateway::reserveEvent);
        return this;
    }

    /** For a forwarded request that Skiff had to change: the response headers that say what changed. */
    ProxyCall reporting(Map<String, String> headers) {
        assert exchange == null : "set before start";
        this.extraHeaders = headers;
        return this;
    }

    void start(UpstreamClient client, HttpRequest head, ByteBuf body) {
        // A further attempt (admitted already), or a call no limit holds back: sent now, without
        // making the send and discard actions that waiting for a limit's decision needs.
        if (attempts != null && attempts.started() && exchange == null && !finished || !finished && limitGate == null) {
            send(client, head, body); // a further attempt's client span is its own
            return;
        }
        admitted(() -> send(client, head, body), body::release);
    }

    private void send(UpstreamClient client, HttpRequest head, ByteBuf body) {
        if (trail != null) gateway.observers().upstream(trail, head, body, providerName(), baseUrl());
        exchange = client.send(route.provider(), ctx.channel().eventLoop(), head, body, this);
        sent();
        releaseAdmission();
    }

    /** Several requests answered as one (see {@link MultiExchange}), for a provider that takes fewer inputs per call. */
    void start(UpstreamClient client, List<MultiExchange.Part> parts) {
        if (attempts != null && attempts.started() && exchange == null && !finished) {
            if (trail != null && !parts.isEmpty()) gateway.observers().upstream(trail, parts.getFirst().head(), parts.getFirst().body(), providerName(), baseUrl());
            exchange = MultiExchange.send(client, route.provider(), ctx.channel().eventLoop(), ctx.alloc(), parts, this);
            sent();
            releaseAdmission();
            return;
        }
        admitted(() -> {
            if (trail != null && !parts.isEmpty()) gateway.observers().upstream(trail, parts.getFirst().head(), parts.getFirst().body(), providerName(), baseUrl());
            exchange = MultiExchange.send(client, route.provider(), ctx.channel().eventLoop(), ctx.alloc(), parts, this);
            sent();
            releaseAdmission();
        }, () -> parts.forEach(p -> p.body().release()));
    }

    /** An attempt's request went out: counted, and a stream's wait for its first token is timed. */
    private void sent() {
        if (attempts == null || finished) return;
        attempts.sent(route);
        long ttft = attempts.firstTokenNanos();
        if (ttft > 0) attempts.schedule(ctx.executor(), this::firstTokenTimedOut, ttft);
    }

    private void firstTokenTimedOut() {
        if (finished || clientWritten || firstContentNanos >= 0) return;
        if (exchange != null) exchange.cancel();
        exchange = null;
        if (retryAttempt(dev.skiff.routing.Failure.FIRST_TOKEN_TIMEOUT, 0, null)) return;
        failed(new UpstreamFailure(UpstreamFailure.Kind.TIMEOUT, providerName() + " sent no answer within the first-token timeout (FAILOVER_FIRST_TOKEN_TIMEOUT)."));
    }

    /**
     * The current attempt failed before anything reached the client: when the plan has another
     * attempt, this one's state is dropped and the next is sent after its wait (a timer on this
     * event loop). False when the failure is the answer.
     */
    private boolean retryAttempt(dev.skiff.routing.Failure kind, int upstreamStatus, HttpHeaders headers) {
        if (attempts == null || clientWritten || finished) return false;
        long delay = attempts.failed(kind, upstreamStatus, headers);
        if (delay < 0) return false;
        if (exchange != null) exchange.cancel();
        resetAttempt();
        attempts.schedule(ctx.executor(), this::nextAttempt, delay);
        attempts.armDeadline(ctx.executor(), this::deadlinePassed);
        return true;
    }

    /** The request's deadline passed during a later attempt (or the wait before it): it ends now, as a timeout. */
    private void deadlinePassed() {
        if (finished) return;
        attempts.expire();
        attempts.cancelTimer();
        if (exchange != null) exchange.cancel();
        onFailure(new UpstreamFailure(UpstreamFailure.Kind.TIMEOUT, "The request did not finish within its deadline (SKIFF_TOTAL_TIMEOUT) after "
                + attempts.count() + " attempts."));
    }

    private void nextAttempt() {
        if (finished) return;
        route = attempts.route();
        try {
            attempts.redo(this);
        } catch (Throwable t) {
            failInternally(t);
        }
    }

    /** Forgets what the failed attempt left: the next one starts as the first did. */
    private void resetAttempt() {
        exchange = null;
        status = 0;
        upstreamHeaders = null;
        firstByteNanos = -1;
        firstContentNanos = -1;
        streaming = false;
        closeDelimited = false;
        releaseStreamState();
        splitter = null;
        relay = null;
        chatEvents = null;
        if (writes != null) {
            writes.dropHeld();
            writes.release();
        }
        writes = null;
        releaseOutgoing();
        releaseBuffered();
        translator = null;
        streamTranslator = null;
        extraHeaders = Map.of();
    }

    /**
     * The admit stage's last word before the provider is called: {@code send} runs at once when no
     * limit applies or the reservation is admitted, later when Redis has not answered yet, never when
     * it is refused ({@code discard} then lets go of the request).
     */
    private void admitted(Runnable send, Runnable discard) {
        if (finished) { // refused (by limits, say) while the request was prepared
            discard.run();
            return;
        }
        if (limitGate == null) {
            send.run();
            return;
        }
        parkedDiscard = discard;
        if (!limitGate.whenAdmitted(() -> {
            parkedDiscard = null;
            if (finished) discard.run();
            else send.run();
        })) {
            refuseByLimits(limitGate.refusal());
        }
    }

    /** Counts this call against limits: its start waits for {@code gate}'s decision. */
    ProxyCall limitedBy(LimitGate gate) {
        if (gate != null) {
            limitGate = gate;
            gate.attach(this, dialect == ClientDialect.ANTHROPIC_MESSAGES);
        }
        return this;
    }

    /** Over a limit (429), or limits unavailable and failing closed (503): answered before any provider is called. */
    void refuseByLimits(LimitGate.Refusal r) {
        Runnable discard = parkedDiscard;
        parkedDiscard = null;
        if (discard != null) discard.run();
        refuse(r.status(), r.message(), null, r.code(), r.headers());
    }

    /**
     * Something admission holds for this call until the upstream request is sent (the request's tree
     * is garbage then) or the call ends, whichever comes first; runs at once if it has ended.
     */
    void admit(Runnable release) {
        if (finished) {
            release.run();
            return;
        }
        if (admission == null) admission = new java.util.ArrayList<>(3);
        admission.add(release);
    }

    void admittedBytes(long bytes) {
        admittedBytes = bytes;
    }

    long admittedBytes() {
        return admittedBytes;
    }

    private void releaseAdmission() {
        List<Runnable> held = admission;
        if (held == null) return;
        admission = null;
        for (Runnable r : held) r.run();
    }

    /**
     * Holds what is left of the answer (the rest of the stream, or the whole complete answer) until
     * {@code stored} completes: called when the final response object of a stored answer is made, so
     * that the client has the last byte only once the store has committed it. The event loop does not
     * wait; it goes on with other connections and resumes this one when the store's thread is done. If
     * storing fails the answer ends with an error saying so, rather than as if it had been stored.
     */
    void holdUntil(java.util.concurrent.CompletableFuture<?> stored) {
        holding = true;
        stored.whenComplete((ok, error) -> dev.skiff.store.Handoff.execute(ctx.executor(), () -> released(error)));
    }

    private void released(Throwable error) {
        holding = false;
        ByteBuf bytes = held;
        held = null;
        if (finished) { // the client left meanwhile
            if (bytes != null) bytes.release();
            if (heldResponse != null) heldResponse.release();
            heldResponse = null;
            heldEnd = null;
            return;
        }
        if (error != null) {
            Throwable cause = error instanceof java.util.concurrent.CompletionException && error.getCause() != null ? error.getCause() : error;
            storeFailure = "The answer could not be stored (" + cause.getMessage() + "); send store:false to have answers without storing them.";
            if (bytes != null) bytes.release();
        } else if (bytes != null && heldEnd != null) {
            writes.write(new DefaultHttpContent(bytes)); // with the end, once the limits are settled (see finish)
        } else if (bytes != null) {
            writes.writeAndFlushVoid(new DefaultHttpContent(bytes));
        }
        Runnable end = heldEnd;
        heldEnd = null;
        if (end != null) end.run();
    }

    private void holdBytes(ByteBuf bytes) {
        if (held == null) held = ctx.alloc().compositeBuffer(16);
        held.addComponent(true, bytes);
    }

    /** Called once the response is complete or abandoned, to let the connection take its next request. */
    void onFinished(Runnable r) {
        if (over) r.run();
        else onFinished = r; // also while the end waits for the limits' settlement: the next answer goes after it
    }

    boolean isFinished() {
        return finished;
    }

    /** Answers with an error before anything was sent upstream (for instance an image that could not be fetched). */
    void refuse(int httpStatus, String message, String param, String code) {
        refuse(httpStatus, message, param, code, Map.of());
    }

    void refuse(int httpStatus, String message, String param, String code, Map<String, String> headers) {
        if (finished) return;
        FullHttpResponse r = Replies.error(ctx, dialect, httpStatus, message, OpenAiErrors.typeFor(httpStatus), param, code, requestId);
        headers.forEach(r.headers()::set);
        finish(httpStatus, Usage.NONE, message, Replies.closing(r, keepAlive));
    }

    /** Skiff is busy translating other requests: the client may try again in a second. */
    void refuseBusy(String message) {
        refuse(503, message, null, "overloaded", Map.of("retry-after", "1"));
    }

    /**
     * Something Skiff did not expect broke this request (a bug, a stack overflow): the client still
     * gets an answer in its dialect (or, mid-stream, an in-band error) and the usage line is written.
     */
    void failInternally(Throwable t) {
        if (finished) return;
        String message = "Skiff could not handle this request: " + describe(t);
        if (exchange != null) exchange.cancel();
        try {
            if (streaming) {
                onFailure(new UpstreamFailure(UpstreamFailure.Kind.BROKEN, message));
            } else {
                releaseBuffered();
                refuse(500, message, null, "internal_error");
            }
        } catch (Throwable again) {
            // Even the error could not be written (the stream's writer is what broke): closing the
            // connection is the one answer left that cannot leave the client waiting.
            ctx.close();
            finish(streaming ? status : 500, Usage.NONE, message);
        }
    }

    private static String describe(Throwable t) {
        String m = t.getMessage();
        return t.getClass().getSimpleName() + (m == null || m.isBlank() ? "" : ": " + m);
    }

    private void releaseBuffered() {
        if (buffered != null) {
            buffered.release();
            buffered = null;
        }
    }

    boolean injectsUsage() {
        return injectedUsage;
    }

    /**
     * Answers {@code count_tokens} with Skiff's own estimate, for a provider that cannot count: the
     * header says it is one, so it is never taken for the provider's count (conformance 37).
     */
    void replyEstimatedTokens(long tokens) {
        if (finished) return;
        FullHttpResponse r = Replies.json(HttpResponseStatus.OK,
                ("{\"input_tokens\":" + tokens + "}").getBytes(StandardCharsets.US_ASCII), requestId);
        r.headers().set(TOKEN_COUNT, "estimate").set("x-skiff-provider", providerName());
        finish(200, Usage.NONE, null, Replies.closing(r, keepAlive));
    }

    /** Answers with a JSON body Skiff had already (a stored response), without a provider. */
    void replyJson(String json) {
        if (finished) return;
        finish(200, Usage.NONE, null, Replies.closing(Replies.json(HttpResponseStatus.OK, json.getBytes(StandardCharsets.UTF_8), requestId), keepAlive));
    }

    /**
     * Answers with a body Skiff made itself (an admin call): an error status is logged with the
     * message of its envelope.
     */
    void reply(int httpStatus, String contentType, byte[] body) {
        if (finished) return;
        FullHttpResponse r = new io.netty.handler.codec.http.DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                HttpResponseStatus.valueOf(httpStatus), io.netty.buffer.Unpooled.wrappedBuffer(body));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType).setInt(HttpHeaderNames.CONTENT_LENGTH, body.length)
                .set(Replies.X_REQUEST_ID, requestId);
        String error = null;
        if (httpStatus >= 400) {
            try {
                error = dev.skiff.dialect.openai.OpenAiChat.JSON.readTree(body).path("error").path("message").asText(null);
            } catch (java.io.IOException e) {
                error = "HTTP " + httpStatus;
            }
        }
        finish(httpStatus, Usage.NONE, error, Replies.closing(r, keepAlive));
    }

    private String baseUrl() {
        var p = route.provider();
        return p == null ? null : (p.tls() ? "https://" : "http://") + p.host() + ":" + p.port();
    }

    /** The provider's name; null for calls Skiff answered itself. */
    private String providerName() {
        return route.provider() == null ? null : route.provider().name();
    }

    /** Response header on {@code count_tokens}: {@code exact} (the provider counted) or {@code estimate} (Skiff did). */
    static final String TOKEN_COUNT = "x-skiff-token-count";

    /** The client went away: stop the upstream request and free its connection. */
    void cancel() {
        if (finished) return;
        if (exchange != null) exchange.cancel(); // null while work before the upstream request is pending
        // What a stream reported before the client left (Anthropic's input count comes first) is kept.
        Usage seen = !streaming ? Usage.NONE : streamTranslator != null ? streamTranslator.usage() : relay != null ? relay.usage() : Usage.NONE;
        releaseStreamState();
        releaseQueued();
        if (held != null) {
            held.release();
            held = null;
        }
        finish(499, seen, "client closed the connection");
    }

    /** Follows the client's pace: stop reading upstream while the client's socket is full. */
    void clientWritabilityChanged(boolean writable) {
        if (!finished && exchange != null) exchange.setAutoRead(writable);
    }

    @Override
    public void onConnected(boolean reused) {
        if (trail != null) trail.upstreamConnected(reused);
    }

    @Override
    public void onHead(HttpResponse head) {
        try {
            head(head);
        } catch (Throwable t) {
            failInternally(t);
        }
    }

    private void head(HttpResponse head) {
        status = head.status().code();
        firstByteNanos = System.nanoTime();
        if (trail != null) trail.upstreamHead(head, firstByteNanos);
        upstreamHeaders = head.headers();
        String type = head.headers().get(HttpHeaderNames.CONTENT_TYPE);
        // A translated stream is recognized by the request (its framing may be AWS's, not SSE).
        streaming = status / 100 == 2
                && (streamTranslator != null || type != null && type.regionMatches(true, 0, "text/event-stream", 0, 17));
        closeDelimited = status != 204 && status != 304 && !HttpUtil.isContentLengthSet(head) && !HttpUtil.isTransferEncodingChunked(head);
        if (!streaming) {
            // Most answers arrive in one piece: kept as it is, scanned and sent without a composite's indirection.
            buffered = io.netty.buffer.Unpooled.EMPTY_BUFFER;
            return;
        }
        writes = new ClientWrites(ctx);
        if (streamTranslator == null) {
            // Relayed events are gathered off the heap and only scanned: the cap is the one on answers.
            splitter = new SseSplitter(ctx.alloc(), MAX_BUFFERED_RESPONSE);
            relay = endpoint.relay(injectedUsage);
            if (relay instanceof ChatStreamFilter) chatEvents = this::chatEvent;
        }
        Object r;
        CharSequence contentType = streamTranslator != null ? "text/event-stream" : type;
        if (status != 204 && status != 205 && encodable()) {
            // Written out by the codec, with the chunks' framing (see StreamHead); the same headers in the same order.
            StreamHead sh = new StreamHead(head.status());
            HeadLines l = sh.lines();
            l.add(HttpHeaderNames.CONTENT_TYPE, contentType);
            l.add(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
            l.add(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_CACHE);
            decorate(l::set, l::add);
            r = sh;
        } else {
            HttpResponse hr = new DefaultHttpResponse(HttpVersion.HTTP_1_1, head.status());
            hr.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType)
                    .set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED)
                    .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_CACHE);
            decorate(hr.headers());
            r = hr;
        }
        if (attempts != null) {
            writes.hold(r); // written with the first content: until then another attempt is still possible
            return;
        }
        writes.write(r); // the head goes when this read completes, with what it brought of the stream
    }

    /** Whether a stream's head is held back (see {@link #writeHead}). */
    private boolean headHeld() {
        return writes != null && writes.holding();
    }

    /** The held head of a stream goes to the client: from here the answer is this attempt's. */
    private void writeHead() {
        clientWritten = true;
        attempts.commit();
        writes.writeHeld();
    }

    @Override
    public void onContent(ByteBuf content) {
        if (finished) {
            content.release();
            return;
        }
        try {
            content(content);
        } catch (Throwable t) {
            failInternally(t);
        }
    }

    private void content(ByteBuf content) {
        if (firstContentNanos < 0) firstContentNanos = System.nanoTime();
        if (headHeld()) writeHead();
        if (trail != null) trail.upstreamContent(content, firstContentNanos);
        if (!streaming) {
            // A translated answer becomes a tree on the heap: it may take at most what the
            // translation memory could ever grant it.
            long limit = translator != null && status / 100 == 2 ? gateway.maxTranslatedAnswerBytes() : MAX_BUFFERED_RESPONSE;
            if (buffered.readableBytes() + content.readableBytes() > limit) {
                content.release();
                exchange.cancel();
                fail(502, translator != null && status / 100 == 2
                        ? "The provider's answer is larger than " + dev.skiff.dialect.Bytes.describeSize(limit)
                                + ", the most Skiff translates with its translation memory (SKIFF_TRANSLATION_MEMORY); ask for a shorter answer or stream it."
                        : "The upstream response exceeded " + (MAX_BUFFERED_RESPONSE >> 20) + " MB.", "upstream_error");
                return;
            }
            if (!buffered.isReadable()) {
                buffered.release();
                buffered = content;
            } else if (buffered instanceof CompositeByteBuf c) {
                c.addComponent(true, content);
            } else {
                CompositeByteBuf c = ctx.alloc().compositeBuffer(64);
                c.addComponent(true, buffered);
                c.addComponent(true, content);
                buffered = c;
            }
            return;
        }
        if (streamTranslator != null) {
            boolean ended = streamTranslator.ended();
            try {
                outgoing = streamTranslator.onContent(content, ctx.alloc());
            } catch (RuntimeException | StackOverflowError e) {
                // A stream we cannot translate must end visibly, never hang or pass for complete.
                exchange.cancel();
                onFailure(new UpstreamFailure(UpstreamFailure.Kind.BROKEN, "the provider's stream could not be translated: " + e.getMessage()));
                return;
            }
            // What this piece made holds the terminal event: the whole of it waits with that event
            // (it would have left in the same HTTP chunk anyway).
            if (!ended && streamTranslator.ended()) terminalEvent(streamTranslator.usage());
        } else {
            try {
                if (chatEvents == null || !splitter.feed(content, eventArrays()[1], chatEvents)) splitter.feed(content, this::relayEvent);
            } catch (SseSplitter.EventTooLargeException e) {
                exchange.cancel();
                onFailure(new UpstreamFailure(UpstreamFailure.Kind.BROKEN, "the provider's stream was cut: " + e.getMessage()));
                return;
            }
        }
        if (outgoing != null && (holding || storeFailure != null)) {
            if (storeFailure != null) outgoing.release(); // the answer is ending with the store's error
            else holdBytes(outgoing);
            outgoing = null;
        }
        // Queued, and sent when the upstream read is done (onReadComplete): an upstream read that
        // brought several HTTP chunks (an event each, typically) leaves as one HTTP chunk in one write.
        if (outgoing != null) {
            writes.queue(outgoing);
            outgoing = null;
        }
        if (writes.full()) flushPending();
    }

    @Override
    public void onReadComplete() {
        if (!finished) flushPending();
    }

    /**
     * Sends what is queued and flushes; follows the client's pace from there.
     *
     * @return false when the upstream's reads were stopped
     */
    private boolean flushPending() {
        // The client's socket is full: read no more upstream until it drains (clientWritabilityChanged).
        if (writes != null && !writes.flush() && exchange != null) {
            exchange.setAutoRead(false);
            return false;
        }
        return true;
    }

    /**
     * This event loop's arrays for relayed chat streams: [0] the event being renamed and filtered (with
     * room to grow), [1] what an upstream read brought, split into events there (see {@link #chatEvent}).
     */
    private static byte[][] eventArrays() {
        return EVENT_ARRAYS.get();
    }

    private static final io.netty.util.concurrent.FastThreadLocal<byte[][]> EVENT_ARRAYS = new io.netty.util.concurrent.FastThreadLocal<>() {
        @Override
        protected byte[][] initialValue() {
            return new byte[][] {new byte[4096], new byte[ChatStreamFilter.IN_ARRAY_UP_TO]};
        }
    };

    /**
     * One event of a relayed chat stream, at {@code [start, end)} of {@code in}: copied into the event
     * array, renamed and filtered there, and copied into what this read sends. No buffer of its own per
     * event, and every search a plain array's tight loop rather than a checked read per byte of a
     * direct buffer.
     */
    private void chatEvent(byte[] in, int start, int end) {
        ChatStreamFilter chat = (ChatStreamFilter) relay;
        int n = end - start;
        int room = n + (answerModel != null ? answerModel.growth() : 0);
        byte[][] arrays = eventArrays();
        if (arrays[0].length < room) arrays[0] = new byte[Math.max(room, arrays[0].length * 2)];
        byte[] a = arrays[0];
        System.arraycopy(in, start, a, 0, n);
        int to = answerModel != null ? answerModel.event(a, 0, n) : n;
        boolean complete = chat.complete();
        to = chat.filter(a, 0, to);
        if (!complete && chat.complete()) terminalEvent(chat.usage());
        if (to >= 0) writes.queue(a, 0, to);
    }

    private void relayEvent(ByteBuf event) {
        int n = event.readableBytes();
        if (chatEvents != null && n <= ChatStreamFilter.IN_ARRAY_UP_TO) {
            // An event gathered across reads: the same as one that came whole.
            byte[] in = eventArrays()[1];
            event.getBytes(event.readerIndex(), in, 0, n);
            event.release();
            chatEvent(in, 0, n);
            return;
        }
        // The model first, on the event as it came (one contiguous slice): searching it is cheaper
        // than searching what the filter may make of it (two slices around a removed member).
        ByteBuf out = answerModel != null ? answerModel.event(event, ctx.alloc()) : event;
        boolean complete = relay.complete();
        out = relay.filter(out, ctx.alloc());
        if (!complete && relay.complete()) terminalEvent(relay.usage());
        if (out != null) writes.queue(out);
    }

    /**
     * The event on its way to the client is the stream's terminal one ({@code [DONE]},
     * {@code message_stop}, {@code response.completed}, an error): the client takes the answer for
     * complete when it reads it and may send its next request at once, on another connection or to
     * another replica, before the provider's body has ended. So the call's limits are settled here,
     * with the usage the stream reported (all of it comes before its terminal event), and not at the
     * end of the provider's body: in process at once, and the event goes as it would have; with
     * Redis, that event and whatever follows are kept back until Redis has applied the settlement,
     * while what came before it goes out as usual. The call's end (see {@link #finish}) waits for it too.
     */
    private void terminalEvent(Usage usage) {
        if (limitGate == null || settlingAtTerminal) return;
        CompletableFuture<?> settling = limitGate.settle(answeredTarget(), usage, true, status);
        if (settling == null) return;
        settlingAtTerminal = true;
        writes.keepBack();
        settling.whenComplete((r, e) -> {
            EventExecutor loop = ctx.executor();
            if (loop.inEventLoop()) settledAtTerminal();
            else loop.execute(this::settledAtTerminal);
        });
    }

    /** The terminal event's settlement is in the counters: what was kept back goes, and the call's end if it came meanwhile. */
    private void settledAtTerminal() {
        settlingAtTerminal = false;
        if (over) return; // the client left meanwhile: what was kept back is released
        Runnable end = afterSettled;
        afterSettled = null;
        writes.letGo();
        if (end != null) {
            end.run();
            return;
        }
        if (flushPending() && exchange != null) exchange.setAutoRead(true); // kept bytes may have stopped the reads
    }

    /** The target the call's current attempt went to, for the settlement's price; null when nothing but request counts move. */
    private Limits.Target answeredTarget() {
        return route.provider() == null || !limitGate.moves() ? null : new Limits.Target(route.provider().type(), route.upstreamModel());
    }

    private void releaseQueued() {
        if (writes != null) writes.release();
    }

    private void releaseOutgoing() {
        if (outgoing != null) {
            outgoing.release();
            outgoing = null;
        }
    }

    @Override
    public void onEnd() {
        if (finished) return;
        try {
            end();
        } catch (Throwable t) {
            failInternally(t);
        }
    }

    private void end() {
        if (headHeld() && retryAttempt(dev.skiff.routing.Failure.TRANSPORT, status, null)) return; // a stream that ended empty
        if (streaming) {
            writes.writeQueued(); // what this read brought goes before the end
            if (streamTranslator != null) {
                ByteBuf tail;
                try {
                    tail = streamTranslator.onEnd(ctx.alloc());
                } catch (RuntimeException | StackOverflowError e) {
                    onFailure(new UpstreamFailure(UpstreamFailure.Kind.BROKEN, "the provider's stream could not be translated: " + e.getMessage()));
                    return;
                }
                if (holding) {
                    if (tail != null) holdBytes(tail);
                    heldEnd = this::endTranslatedStream;
                    flushPending(); // what came before the hold goes now; no read-complete follows the end
                    return;
                }
                if (tail != null) {
                    if (storeFailure != null) tail.release();
                    else writes.write(new DefaultHttpContent(tail));
                }
                endTranslatedStream();
                return;
            }
            splitter.release();
            if (!relay.complete()) {
                // The HTTP response ended cleanly but the stream did not: without its terminal event
                // ([DONE], message_stop, response.completed) the client would take a cut answer for whole.
                String message = providerName() + " ended the stream before its final event; the answer is incomplete.";
                writes.write(new DefaultHttpContent(dialect.streamError(ctx.alloc(), message, "upstream_error")));
                finish(status, relay.usage(), message, LastHttpContent.EMPTY_LAST_CONTENT);
                return;
            }
            finish(status, relay.usage(), relay.endedInError() ? "the provider ended the stream with an error event" : null,
                    LastHttpContent.EMPTY_LAST_CONTENT);
            return;
        }
        ByteBuf body = buffered;
        buffered = null;
        if (attempts != null && status / 100 != 2) {
            dev.skiff.routing.Failure kind = attempts.classify(status, body);
            if (kind != null && retryAttempt(kind, status, upstreamHeaders)) {
                body.release();
                return;
            }
        }
        if (status / 100 != 2 && !startsLikeJson(body)) {
            replyNonJsonError(body);
            return;
        }
        if (translator == null && closeDelimited && status / 100 == 2 && !dev.skiff.dialect.Json.isComplete(body)) {
            // Framed by the connection's close alone, a body cut short looks whole to HTTP; the one
            // check left is that the JSON ends. (Only such rare responses pay for this extra read.)
            body.release();
            fail(502, providerName() + " closed the connection before the response was complete", "upstream_error",
                    providerName() + " closed the connection before the response was complete: the JSON body ends early");
            return;
        }
        if (translator != null) {
            translateAnswer(body);
            return;
        }
        Usage usage = Usage.NONE;
        if (status / 100 == 2) {
            usage = endpoint.usageOf(body);
            if (answerModel != null) body = answerModel.body(body, ctx.alloc());
        } else if (!looksLikeErrorEnvelope(body)) {
            // JSON from the provider that is not in the client's error shape: its status and text, in
            // the envelope clients parse.
            String text = body.toString(StandardCharsets.UTF_8).strip();
            body.release();
            if (text.length() > 2000) text = text.substring(0, 2000) + "...";
            String message = route.provider().name() + " returned HTTP " + status + ": " + text;
            body = dialect.errorBody(ctx.alloc(), status, message, null, "upstream_error");
        }
        String type = upstreamHeaders.get(HttpHeaderNames.CONTENT_TYPE);
        if (type == null || status / 100 != 2) type = null;
        Object answer = encoded(body, type);
        if (answer == null) {
            FullHttpResponse r = Replies.json(HttpResponseStatus.valueOf(status), body, requestId);
            if (type != null) r.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
            decorate(r.headers());
            answer = Replies.closing(r, keepAlive);
        }
        finish(status, usage, status / 100 == 2 ? null : "upstream status " + status, answer);
    }

    /**
     * The answer as Skiff writes it out itself (see {@link EncodedResponse}): the common case of a
     * forwarded answer, limits' headers included and the audit log's tap reading it as a
     * {@link dev.skiff.observe.WholeAnswer}. Not when a value from the request would need checking
     * that fails (the header map's checks then say so, as before): null. Takes {@code body} when it is not null.
     */
    private EncodedResponse encoded(ByteBuf body, String type) {
        if (!encodable()) return null;
        EncodedResponse r = new EncodedResponse(HttpResponseStatus.valueOf(status), body);
        r.add(HttpHeaderNames.CONTENT_TYPE, type != null ? type : HttpHeaderValues.APPLICATION_JSON);
        decorate(r::set, r::add);
        return r;
    }

    /** Whether the values {@link #decorate} adds from the request may go into a head Skiff writes out itself (see {@link EncodedResponse#headerSafe}). */
    private boolean encodable() {
        if (route.upstreamModel() != null && !EncodedResponse.headerSafe(route.upstreamModel())) return false;
        if (extraHeaders.isEmpty()) return true; // most calls: no iterator over an empty map
        for (String v : extraHeaders.values()) if (!EncodedResponse.headerSafe(v)) return false;
        return true;
    }

    /** Ends a translated stream: with the store's error in place of what was held, if storing failed. */
    private void endTranslatedStream() {
        if (storeFailure != null) writes.write(new DefaultHttpContent(dialect.streamError(ctx.alloc(), storeFailure, "store_error")));
        finish(status, streamTranslator.usage(), storeFailure != null ? storeFailure : streamTranslator.error(), LastHttpContent.EMPTY_LAST_CONTENT);
    }

    /**
     * Skiff is shutting down and the drain deadline passed: a stream ends with an error event the
     * client can read (its 200 is long sent), anything else gets 503.
     */
    void shutDown() {
        if (finished) return;
        if (exchange != null) exchange.cancel();
        String message = "Skiff is shutting down: the request did not finish within SKIFF_DRAIN_TIMEOUT.";
        if (streaming) {
            end(message, "server_shutting_down");
            return;
        }
        fail(503, message, "server_shutting_down");
    }

    @Override
    public void onFailure(UpstreamFailure failure) {
        if (finished) return;
        if (holding) { // the answer was complete and is being stored: it ends once that is done, as it would have
            if (heldEnd == null) heldEnd = () -> onFailure(failure);
            return;
        }
        try {
            failed(failure);
        } catch (Throwable t) {
            // Writing the error broke too: close, so that the client is not left waiting, and log.
            ctx.close();
            finish(streaming ? status : 502, Usage.NONE, failure.message());
        }
    }

    private void failed(UpstreamFailure failure) {
        gateway.observers().upstreamFailed(providerName(), failure.kind().name().toLowerCase(java.util.Locale.ROOT));
        if (attempts != null && !clientWritten) {
            if (retryAttempt(failure.kind() == UpstreamFailure.Kind.TIMEOUT ? dev.skiff.routing.Failure.TIMEOUT : dev.skiff.routing.Failure.TRANSPORT,
                    status, null)) {
                return;
            }
            if (streaming) { // nothing of the stream was written: the client gets a status, not an in-band error
                releaseStreamState();
                if (writes != null) {
                    writes.dropHeld();
                    writes.release();
                }
                writes = null;
                streaming = false;
            }
        }
        String code = switch (failure.kind()) {
            case TIMEOUT -> "upstream_timeout";
            case UNREACHABLE -> "upstream_unreachable";
            case BROKEN -> "upstream_error";
        };
        if (streaming && relay != null && relay.complete()) {
            // The connection broke after the stream's final event: the client has the whole answer.
            releaseStreamState();
            finish(status, relay.usage(), null, LastHttpContent.EMPTY_LAST_CONTENT);
            return;
        }
        if (streaming) {
            end(failure.message(), code, failure.detail());
            return;
        }
        if (buffered != null) {
            buffered.release();
            buffered = null;
        }
        fail(failure.status(), failure.message(), code, failure.detail());
    }

    /** Ends a stream that already started with an in-band error event, then the end of the body. */
    private void end(String message, String code) {
        end(message, code, message);
    }

    /** As {@link #end(String, String)}, with what the log says of it ({@code detail}) apart from what the client reads. */
    private void end(String message, String code, String detail) {
        // The client already has a 200 and part of the stream: say what happened in-band, then end.
        writes.writeQueued();
        releaseStreamState();
        ByteBuf event = streamTranslator != null ? streamTranslator.onFailure(ctx.alloc(), message, code)
                : dialect.streamError(ctx.alloc(), message, code);
        writes.write(new DefaultHttpContent(event));
        finish(status, streamTranslator != null ? streamTranslator.usage() : relay.usage(), detail, LastHttpContent.EMPTY_LAST_CONTENT);
    }

    private void fail(int httpStatus, String message, String code) {
        fail(httpStatus, message, code, message);
    }

    private void fail(int httpStatus, String message, String code, String detail) {
        if (streaming) {
            onFailure(new UpstreamFailure(UpstreamFailure.Kind.BROKEN, message, detail));
            return;
        }
        if (buffered != null) {
            buffered.release();
            buffered = null;
        }
        FullHttpResponse r = Replies.error(ctx, dialect, httpStatus, message, "server_error", null, code, requestId);
        describeAttempts(r.headers());
        finish(httpStatus, Usage.NONE, detail, Replies.closing(r, keepAlive));
    }

    private void releaseStreamState() {
        if (splitter != null) splitter.release();
        if (streamTranslator != null) streamTranslator.release();
    }

    /**
     * Writes and flushes the end of the answer: a stream's last chunk after what is queued, or a
     * whole response. Throws nothing: a write that breaks closes the connection (the client must not
     * wait for an end that will not come), and the error is returned for the log; null when written.
     */
    private String writeLast(Object last) {
        try {
            if (last instanceof HttpResponse || last instanceof EncodedResponse) {
                Replies.flushLast(ctx, last, keepAlive);
            } else {
                var f = writes.writeAndFlush(last);
                if (!keepAlive) f.addListener(ChannelFutureListener.CLOSE);
            }
            return null;
        } catch (Throwable t) {
            ctx.close();
            return "Skiff could not handle this request: " + describe(t);
        }
    }

    static final io.netty.util.AsciiString X_PROVIDER = io.netty.util.AsciiString.cached("x-skiff-provider");
    static final io.netty.util.AsciiString X_MODEL = io.netty.util.AsciiString.cached("x-skiff-model");
    static final io.netty.util.AsciiString X_ATTEMPTS = io.netty.util.AsciiString.cached("x-skiff-attempts");
    private static final io.netty.util.AsciiString ONE = io.netty.util.AsciiString.cached("1");

    /** Says which target answered, and after how many attempts, on an error Skiff wrote for a provider's failure. */
    private void describeAttempts(HttpHeaders h) {
        describeAttempts(h::set);
    }

    private void describeAttempts(java.util.function.BiConsumer<CharSequence, CharSequence> set) {
        if (route.provider() == null) return;
        set.accept(X_PROVIDER, route.provider().name());
        if (route.upstreamModel() != null) set.accept(X_MODEL, route.upstreamModel()); // none for a stored response fetched by id
        set.accept(X_ATTEMPTS, attempts == null || attempts.count() == 1 ? ONE : Integer.toString(attempts.count()));
    }

    /** Headers every relayed response carries: our request id, the provider, its rate-limit state, the attempts. */
    private void decorate(HttpHeaders h) {
        decorate(h::set, h::add);
    }

    /** As {@link #decorate(HttpHeaders)}, into any header list ({@code set} replaces every header of that name). */
    private void decorate(java.util.function.BiConsumer<CharSequence, CharSequence> set,
                          java.util.function.BiConsumer<CharSequence, CharSequence> add) {
        set.accept(Replies.X_REQUEST_ID, requestId);
        if (endpoint == Gateway.Endpoint.COUNT_TOKENS && status / 100 == 2) set.accept(TOKEN_COUNT_HEADER, EXACT);
        describeAttempts(set);
        if (!extraHeaders.isEmpty()) extraHeaders.forEach(set::accept);
        if (!keepAlive) set.accept(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        // Names and values as Netty decoded them: iterating as Strings would copy every header of every answer.
        for (var it = upstreamHeaders.iteratorCharSequence(); it.hasNext(); ) {
            Map.Entry<CharSequence, CharSequence> e = it.next();
            CharSequence name = e.getKey();
            if (startsWith(name, "x-ratelimit-") || startsWith(name, "retry-after") || startsWith(name, "anthropic-ratelimit-")) {
                add.accept(name, e.getValue());
            }
        }
        if (limitGate != null) limitGate.decorate(set); // Skiff's limits are the client's, not the provider's: theirs are replaced
    }

    private static final io.netty.util.AsciiString TOKEN_COUNT_HEADER = io.netty.util.AsciiString.cached(TOKEN_COUNT);
    private static final io.netty.util.AsciiString EXACT = io.netty.util.AsciiString.cached("exact");

    private static boolean startsWith(CharSequence name, String prefix) {
        return io.netty.util.AsciiString.regionMatches(name, true, 0, prefix, 0, prefix.length());
    }

    /**
     * A complete answer of another dialect: it reserves its translation memory like a request does
     * (waiting its turn if need be), is translated, and gives the memory back. Consumes {@code body}.
     */
    private void translateAnswer(ByteBuf body) {
        long tokens;
        try {
            tokens = dev.skiff.dialect.JsonLimits.count(body, "The provider's answer");
        } catch (dev.skiff.dialect.JsonLimits.LimitException e) {
            body.release();
            fail(502, e.getMessage(), "upstream_invalid_response");
            return;
        }
        TranslationBudget budget = gateway.translationBudget();
        long need = TranslationBudget.estimate(body.readableBytes(), tokens);
        if (!budget.couldFit(need)) {
            body.release();
            fail(502, "The provider's answer needs about " + dev.skiff.dialect.Bytes.describeSize(need)
                    + " of memory to translate, more than Skiff's translation memory ("
                    + dev.skiff.dialect.Bytes.describeSize(budget.capacity()) + ", SKIFF_TRANSLATION_MEMORY).", "upstream_invalid_response");
            return;
        }
        ByteBuf[] held = {body}; // until translated, or let go if the call ends first
        Runnable releaseBody = () -> {
            if (held[0] != null) held[0].release();
            held[0] = null;
        };
        admit(releaseBody);
        admit(budget.acquire(need, ctx.executor(), reservation -> {
            if (finished) {
                reservation.release();
                return;
            }
            admit(reservation);
            try {
                ByteBuf answer = held[0];
                held[0] = null;
                ResponseTranslator.Result t = translator.translate(status, answer, ctx.alloc()); // consumes it
                FullHttpResponse r = Replies.json(HttpResponseStatus.valueOf(t.status()), t.body(), requestId);
                decorate(r.headers());
                Runnable send = () -> {
                    heldResponse = null;
                    if (storeFailure != null) {
                        r.release();
                        fail(500, storeFailure, "store_error");
                        return;
                    }
                    if (trail != null) trail.responseModel = t.model();
                    finish(t.status(), t.usage(), t.error(), Replies.closing(r, keepAlive));
                };
                if (holding) { // stored: the answer goes once the store has committed it (see holdUntil)
                    heldResponse = r;
                    heldEnd = send;
                } else {
                    send.run();
                }
            } catch (Throwable e) {
                failInternally(e);
            } finally {
                reservation.release();
            }
        }, () -> {
            releaseBody.run();
            refuseBusy("Skiff is translating other large answers and had no memory free for this one within "
                    + TranslationBudget.DEFAULT_WAIT_MILLIS / 1000 + " s; try again.");
        }));
    }

    /** Runs {@code r} the first time only: a release that several exits may call. */
    static Runnable once(Runnable r) {
        boolean[] done = {false};
        return () -> {
            if (done[0]) return;
            done[0] = true;
            r.run();
        };
    }

    /**
     * An error answered with something other than JSON: an HTML page or text from the provider's
     * proxy or load balancer, which may name hosts, addresses and software behind it. The client
     * gets a short error in its dialect, with the status and the provider's name; the log keeps the
     * start of the text. Takes ownership of {@code body}.
     */
    private void replyNonJsonError(ByteBuf body) {
        String text = body.toString(StandardCharsets.UTF_8).strip().replaceAll("\\s+", " ");
        body.release();
        String type = upstreamHeaders.get(HttpHeaderNames.CONTENT_TYPE);
        String mediaType = type == null ? "" : type.split(";", 2)[0].strip();
        if (!mediaType.matches("[A-Za-z0-9.+-]{1,40}/[A-Za-z0-9.+-]{1,60}")) mediaType = "non-JSON";
        // Not an error status (a redirect, say): the client has nothing to follow, so it is a bad gateway.
        int clientStatus = status >= 400 && status <= 599 ? status : 502;
        String message = providerName() + " answered HTTP " + status
                + (text.isEmpty() ? " with an empty body." : " with a " + mediaType + " body, not a JSON error.");
        FullHttpResponse r = Replies.error(ctx, dialect, clientStatus, message, OpenAiErrors.typeFor(clientStatus), null,
                "upstream_error", requestId);
        decorate(r.headers());
        finish(clientStatus, Usage.NONE, "upstream status " + status
                + (text.isEmpty() ? ", empty body" : ": " + (text.length() > 300 ? text.substring(0, 300) + "..." : text)),
                Replies.closing(r, keepAlive));
    }

    private static boolean startsLikeJson(ByteBuf body) {
        int start = dev.skiff.dialect.Bytes.skipWhitespace(body, body.readerIndex(), body.writerIndex());
        if (start >= body.writerIndex()) return false;
        byte b = body.getByte(start);
        return b == '{' || b == '[';
    }

    private static boolean looksLikeErrorEnvelope(ByteBuf body) {
        int start = dev.skiff.dialect.Bytes.skipWhitespace(body, body.readerIndex(), body.writerIndex());
        if (start >= body.writerIndex() || body.getByte(start) != '{') return false;
        return dev.skiff.dialect.Bytes.indexOf(body, start, body.writerIndex(), ERROR_KEY) >= 0;
    }

    private static final byte[] ERROR_KEY = "\"error\"".getBytes(StandardCharsets.US_ASCII);

    /** Whether the call ended because of its target (which its breaker counts), not the client or Skiff. */
    private boolean upstreamFailed(int finalStatus, String error) {
        if (status == 429 || status >= 500) return true; // the last attempt's upstream status
        if (status == 0) return finalStatus == 502 || finalStatus == 504; // no response: unreachable, broken or timed out
        return status / 100 == 2 && error != null && finalStatus != 499; // an answer the provider broke
    }

    private void finish(int finalStatus, Usage usage, String error) {
        finish(finalStatus, usage, error, null);
    }

    /**
     * Ends the call, with {@code last} (when not null) as what gives the client the end of its answer:
     * a stream's last chunk, after what is written and not flushed yet, or a whole response. The call's
     * limits are settled first, and {@code last} is flushed only once the counters hold the
     * settlement: a client sends its next request as soon as it has read this answer, maybe on another
     * connection, event loop or replica, and that request must be reserved against counters that
     * count this one as it was settled (its real cost, its concurrency slot given back), or it may be
     * refused although the budget has room. In process the settlement is made at once, as before,
     * and nothing waits; with Redis the loop goes on with other work, and this call ends (writes its
     * end, records its usage, lets the connection take its next request) when Redis has applied it.
     * Once here the call counts as finished: nothing else writes to the client meanwhile.
     */
    private void finish(int finalStatus, Usage usage, String error, Object last) {
        if (finished) { // every caller checks first; an end that came too late is not written
            io.netty.util.ReferenceCountUtil.release(last);
            return;
        }
        finished = true;
        CompletableFuture<?> settling = null;
        if (limitGate != null) { // at the price of the target the last attempt went to
            // (no target made when the settlement moves nothing: request counts alone)
            settling = limitGate.settle(answeredTarget(), usage, exchange != null || attempts != null && attempts.count() > 0, finalStatus);
        }
        if (settlingAtTerminal && last != null) { // settled at the stream's terminal event, and not applied yet: after it
            afterSettled = () -> ended(finalStatus, usage, error, last);
            return;
        }
        if (settling == null || last == null) {
            ended(finalStatus, usage, error, last);
            return;
        }
        settling.whenComplete((r, e) -> {
            EventExecutor loop = ctx.executor();
            if (loop.inEventLoop()) ended(finalStatus, usage, error, last);
            else loop.execute(() -> ended(finalStatus, usage, error, last));
        });
    }

    /** The rest of {@link #finish}: the end of the answer goes to the client, the usage is recorded. */
    private void ended(int finalStatus, Usage usage, String error, Object last) {
        over = true;
        if (last != null) {
            String broken = writeLast(last);
            if (broken != null) error = broken;
        }
        releaseAdmission();
        releaseQueued(); // left only when the connection was closed instead of ended
        releaseOutgoing();
        if (parkedDiscard != null) { // the client left while its limits were being checked
            parkedDiscard.run();
            parkedDiscard = null;
        }
        long now = System.nanoTime(); // one reading for the attempt's duration and the request's latency
        if (attempts != null) attempts.finish(finalStatus, error, upstreamFailed(finalStatus, error), now);
        if (trail != null && trail.responseModel == null && finalStatus / 100 == 2) {
            trail.responseModel = streamTranslator != null ? streamTranslator.model() : answerModel != null ? answerModel.providerModel() : null;
        }
        if (trail != null) trail.finish(now); // the request's end, as its latency has it
        gateway.observers().finishedCall(new UsageRecord(System.currentTimeMillis(), requestId, endpoint.usageName,
                providerName(), route.provider() == null ? null : route.provider().type(), clientModel, route.upstreamModel(), stream,
                finalStatus, usage, (now - startNanos) / 1e6, firstByteNanos < 0 ? -1 : (firstByteNanos - startNanos) / 1e6,
                firstContentNanos < 0 ? -1 : (firstContentNanos - startNanos) / 1e6, error, extraHeaders.get(ChatAdapter.DROPPED_HEADER),
                caller, attempts == null ? 1 : attempts.count(), attempts == null ? null : attempts.logCopy()), trail);
        if (onFinished != null) onFinished.run();
    }
}
