package dev.skiff.server;

import dev.skiff.control.Caller;
import dev.skiff.control.Identification;
import dev.skiff.control.MasterKeyAuth;
import dev.skiff.dialect.BadRequestException;
import dev.skiff.dialect.ClientDialect;
import dev.skiff.dialect.OpenAiErrors;
import dev.skiff.dialect.Usage;
import dev.skiff.observe.UsageRecord;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * What one client connection may cost before the gateway does any work for it. It sits right after
 * the HTTP codec and sees every request head before a body is gathered:
 *
 * <ul>
 *   <li>the key (master or managed) is checked on the head, so that an unauthenticated client never
 *       gets {@code 100 Continue} and its body is never gathered: it gets 401 and the connection
 *       closes; the admin API ({@code /admin/}) also needs the master key or an admin-scoped key (403);
 *   <li>a body that says up front it is over the limit gets 413, and a body sent to a path that
 *       does not exist gets 404, both without reading it;
 *   <li>timeouts: a request head must arrive within the header timeout of its first byte (or of the
 *       connection), a body must keep arriving (no silence longer than the header timeout; 408), and a
 *       connection with nothing outstanding is closed after the keep-alive timeout. None of them runs
 *       while a request is being served;
 *   <li>an HTTP/1.0 client, which cannot read chunked encoding, gets streams close-delimited.
 * </ul>
 *
 * <p>A refused request closes the connection: the rest of its body is on the wire. Earlier pipelined
 * requests are answered first, since responses go in order.
 *
 * <p>One timer per connection at most, checked lazily: each request only moves a deadline.
 */
final class ClientGate extends ChannelDuplexHandler {
    /** What the gate needs, shared by every connection of a server. */
    record Settings(Gateway gateway, MasterKeyAuth auth, Identification identification, long maxBodyBytes, long headerTimeoutNanos,
                    long keepAliveTimeoutNanos) {}

    private static final int NONE = 0, HEAD = 1, BODY = 2, IDLE = 3;

    private final Settings settings;
    private ChannelHandlerContext ctx;

    private int outstanding; // request heads taken whose response has not been written whole yet
    private boolean reading; // the body of the last request head is still arriving
    private boolean refused; // a refusal was decided: whatever else the client sends is dropped
    private FullHttpResponse deferredRefusal; // waits for the responses to earlier pipelined requests
    private ClientDialect bodyDialect = ClientDialect.OPENAI_CHAT; // of the request whose body arrives, for a 408
    private String bodyPath = ""; // its path, likewise
    private boolean responding; // a response head was written and its end was not
    private boolean http10; // the last request head was HTTP/1.0
    private boolean closeDelimited; // the response being written ends with the connection
    private boolean draining; // Skiff is shutting down: the connection closes once nothing is outstanding

    private Caller caller = Caller.OPEN; // of the last request head let through

    private int phase = HEAD;
    private long deadline;
    private ScheduledFuture<?> timer;

    ClientGate(Settings settings) {
        this.settings = settings;
    }

    /**
     * Who the request the connection handler is receiving acts for. A head goes on only after the
     * whole previous request did (the codec decodes in order, on this loop), so when the handler
     * takes a request, this is its caller: no per-request state travels with it.
     */
    Caller caller() {
        return caller;
    }

    /** Goes before the HTTP codec: the first byte of a new request head starts the header timeout. */
    final class BytesWatch extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext c, Object msg) {
            if (phase == IDLE) setPhase(HEAD, settings.headerTimeoutNanos());
            c.fireChannelRead(msg);
        }
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        setPhase(HEAD, settings.headerTimeoutNanos());
        ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
        if (deferredRefusal != null) {
            deferredRefusal.release();
            deferredRefusal = null;
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == SkiffServer.Drain.START) {
            draining = true;
            if (outstanding == 0) { // between requests (or within a head not yet complete): nothing to finish
                ctx.close();
                return;
            }
        }
        ctx.fireUserEventTriggered(evt);
    }

    // ---- inbound: request heads and bodies ----

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (refused) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof HttpRequest req) {
            head(ctx, req);
            return;
        }
        if (msg instanceof HttpContent) {
            if (msg instanceof LastHttpContent) {
                reading = false;
                if (phase == BODY) phase = NONE;
            } else if (phase == BODY) {
                deadline = System.nanoTime() + settings.headerTimeoutNanos();
            }
        }
        ctx.fireChannelRead(msg);
    }

    private void head(ChannelHandlerContext ctx, HttpRequest req) {
        outstanding++;
        reading = !(req instanceof LastHttpContent);
        http10 = req.protocolVersion().equals(HttpVersion.HTTP_1_0);
        setPhase(reading ? BODY : NONE, settings.headerTimeoutNanos());
        if (!req.decoderResult().isSuccess()) {
            // The decoder drops everything after a head it could not read, so the connection is done.
            refuse(req, ClientDialect.OPENAI_CHAT, 400, "The HTTP request is malformed.", "bad_request", "unknown");
            return;
        }
        String uri = req.uri();
        String path = Gateway.pathOf(uri);
        boolean passthrough = PassthroughTarget.matches(uri);
        boolean admin = path.startsWith("/admin/");
        if (passthrough || admin || path.startsWith("/v1/")) {
            ClientDialect dialect = Gateway.dialectOf(path);
            String endpoint = passthrough ? "passthrough" : admin ? "admin" : Gateway.endpointName(path);
            MasterKeyAuth.Verdict verdict = settings.auth().check(req.headers());
            // The dashboard's browser: a session cookie stands for the admin key it logged in with.
            if (admin && verdict instanceof MasterKeyAuth.Missing) verdict = settings.gateway().dashboardSessions().check(req.headers(), verdict);
            if (!(verdict instanceof MasterKeyAuth.Allowed allowed)) {
                switch (verdict) {
                    case MasterKeyAuth.Missing m -> refuse(req, dialect, 401,
                            "Missing API key: send it as 'Authorization: Bearer <key>' or 'x-api-key'.", "invalid_api_key", endpoint);
                    case MasterKeyAuth.Wrong w -> refuse(req, dialect, 401, w.message(), "invalid_api_key", endpoint);
                    case MasterKeyAuth.Unavailable u -> refuse(req, dialect, 503, u.message(), "keys_unavailable", endpoint);
                    case MasterKeyAuth.Allowed a -> throw new AssertionError();
                }
                return;
            }
            if (admin && !allowed.caller().isAdmin()) {
                refuse(req, dialect, 403, "This API key may not use the admin API: it needs the 'admin' scope, or use the master key.",
                        "insufficient_permissions", endpoint);
                return;
            }
            Caller who = allowed.caller();
            if (!admin) {
                // identify: a deeper user path and the end user, from headers the provider never sees.
                try {
                    who = settings.identification().identify(who, req.headers());
                } catch (BadRequestException e) {
                    // The key is known: the refusal counts in its usage, at its own path (the refused one is not trusted).
                    refuse(req, dialect, 400, e.getMessage(), "invalid_identification", endpoint, allowed.caller());
                    return;
                }
            }
            caller = who;
            // Passthrough bodies stream on unlimited (except where they are gathered to be signed).
            if (!passthrough && HttpUtil.getContentLength(req, -1L) > settings.maxBodyBytes()) {
                refuse(req, dialect, 413, "The request body is larger than the limit of " + settings.maxBodyBytes() + " bytes.",
                        "request_too_large", endpoint, who);
                return;
            }
            bodyDialect = dialect;
            bodyPath = path;
        } else if (!path.equals("/health") && !path.equals("/ready")
                && (HttpUtil.isTransferEncodingChunked(req) || HttpUtil.getContentLength(req, 0L) > 0)) {
            // A body sent where no endpoint takes one is refused before it is gathered; a bodiless
            // request to an unknown path goes on to the gateway's ordinary 404.
            refuse(req, ClientDialect.OPENAI_CHAT, 404, "Unknown path " + path + ".", "unknown_url", "unknown");
            return;
        } else {
            bodyDialect = ClientDialect.OPENAI_CHAT;
            bodyPath = path;
            caller = Caller.OPEN; // health probes and unknown paths act for nobody
        }
        ctx.fireChannelRead(req);
    }

    /**
     * Answers {@code req} with an error and closes the connection; nothing more is read from it.
     * Refusals are logged here since no call ever exists for them.
     */
    private void refuse(HttpRequest req, ClientDialect dialect, int status, String message, String code, String endpoint) {
        refuse(req, dialect, status, message, code, endpoint, null);
    }

    /** As above, for a request whose key was verified: {@code caller} (null when none was) is who the refusal counts for. */
    private void refuse(HttpRequest req, ClientDialect dialect, int status, String message, String code, String endpoint, Caller caller) {
        String requestId = RequestIds.accept(req.headers().get(Replies.X_REQUEST_ID));
        refused = true;
        reading = false;
        setPhase(NONE, 0);
        FullHttpResponse r = Replies.error(ctx, dialect, status, message, OpenAiErrors.typeFor(status), null, code, requestId);
        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        if (status == 503) r.headers().set(HttpHeaderNames.RETRY_AFTER, "1"); // keys not loaded yet: a moment's wait
        try {
            settings.gateway().observers().refused(req, r, new UsageRecord(System.currentTimeMillis(), requestId, endpoint, null, null, null, null, false,
                    status, Usage.NONE, -1, -1, -1, message, null, caller, 1));
        } finally {
            // Only now: a request read whole carries its body, which the audit trail copies above.
            ReferenceCountUtil.release(req);
        }
        if (outstanding > 1) {
            // Earlier requests are still being answered; this answer follows theirs.
            deferredRefusal = r;
            ctx.channel().config().setAutoRead(false);
            return;
        }
        sendRefusal(r);
    }

    private void sendRefusal(FullHttpResponse r) {
        outstanding--;
        closeAfter(r);
    }

    /**
     * Sends a last response over a connection whose client may still be sending a body. Closing a
     * socket with unread bytes makes the kernel reset it, which can destroy the response before it
     * left: so the response is followed by a FIN (the client reads it whole, then the end), reading
     * stops (nothing more of the body is taken in), and the socket closes a second later.
     */
    private void closeAfter(FullHttpResponse r) {
        ctx.channel().config().setAutoRead(false);
        ctx.writeAndFlush(r).addListener(f -> {
            if (!f.isSuccess() || !(ctx.channel() instanceof io.netty.channel.socket.DuplexChannel duplex)) {
                ctx.close();
                return;
            }
            duplex.shutdownOutput().addListener(done -> ctx.executor().schedule(() -> ctx.close(), LINGER_MS, TimeUnit.MILLISECONDS));
        });
    }

    private static final long LINGER_MS = 1_000;

    // ---- outbound: where responses end ----

    /**
     * Reading is paused (auto-read off) while requests wait their turn, while the client does not
     * read its answers, and while a provider cannot take a passthrough body. The body aggregator
     * asks for one more read whenever a request is incomplete, which would go on gathering behind a
     * pause, request after request: while auto-read is off, only the ones who turn it on again read.
     */
    @Override
    public void read(ChannelHandlerContext ctx) {
        if (ctx.channel().config().isAutoRead()) ctx.read();
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof EncodedResponse whole) { // a head and its end in one
            if (draining && outstanding == 1) whole.closeConnection();
            ctx.write(msg, promise);
            responding = false;
            ended(ctx);
            return;
        }
        if (msg instanceof StreamHead head) { // a stream's head, written out by the codec itself: as below
            responding = true;
            if (draining && outstanding == 1) head.lines().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            if (http10 && head.chunked()) {
                head.closeDelimited();
                closeDelimited = true;
            }
            ctx.write(msg, promise);
            return;
        }
        if (msg instanceof HttpResponse head) {
            if (head.status().codeClass() == io.netty.handler.codec.http.HttpStatusClass.INFORMATIONAL) {
                ctx.write(msg, promise);
                return;
            }
            responding = true;
            // The last answer before a shutdown tells the client not to send another.
            if (draining && outstanding == 1) head.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            if (http10 && HttpUtil.isTransferEncodingChunked(head)) {
                // HTTP/1.0 has no chunked encoding: the body ends where the connection does.
                head.headers().remove(HttpHeaderNames.TRANSFER_ENCODING);
                head.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                closeDelimited = true;
            }
        }
        if (!(msg instanceof LastHttpContent)) {
            ctx.write(msg, promise);
            return;
        }
        ctx.write(msg, promise);
        responding = false;
        if (closeDelimited) {
            closeDelimited = false;
            // After everything written so far, whatever the writer's own promise was.
            ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
        ended(ctx);
    }

    /** A response was written whole: the connection goes idle, closes, or sends a refusal that waited. */
    private void ended(ChannelHandlerContext ctx) {
        if (--outstanding <= 0) {
            outstanding = 0;
            if (draining) {
                ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            } else if (!reading && !refused) {
                setPhase(IDLE, settings.keepAliveTimeoutNanos());
            }
        } else if (outstanding == 1 && deferredRefusal != null) {
            FullHttpResponse r = deferredRefusal;
            deferredRefusal = null;
            ctx.flush();
            sendRefusal(r);
        }
    }

    // ---- the timer ----

    private void setPhase(int phase, long timeoutNanos) {
        this.phase = phase;
        if (phase == NONE) return;
        deadline = System.nanoTime() + timeoutNanos;
        if (timer == null && ctx != null) schedule(timeoutNanos);
    }

    /**
     * Never further ahead than the shortest timeout: a deadline set later is then never earlier than
     * the pending check, so moving a deadline needs no rescheduling.
     */
    private void schedule(long delayNanos) {
        long step = Math.min(delayNanos, Math.min(settings.headerTimeoutNanos(), settings.keepAliveTimeoutNanos()));
        timer = ctx.executor().schedule(this::expire, Math.max(step, 1_000_000L), TimeUnit.NANOSECONDS);
    }

    private void expire() {
        timer = null;
        if (!ctx.channel().isActive() || phase == NONE) return;
        long left = deadline - System.nanoTime();
        if (left > 0) {
            schedule(left);
            return;
        }
        switch (phase) {
            case HEAD -> ctx.close();
            case BODY -> {
                if (!ctx.channel().config().isAutoRead()) {
                    // Skiff stopped reading (backpressure, a request waiting its turn): not the client's stall.
                    setPhase(BODY, settings.headerTimeoutNanos());
                    return;
                }
                bodyStalled();
            }
            case IDLE -> {
                ChannelOutboundBuffer out = ctx.channel().unsafe().outboundBuffer();
                if (out != null && out.totalPendingWriteBytes() > 0) {
                    // The last response is still on its way to a slow reader.
                    setPhase(IDLE, settings.keepAliveTimeoutNanos());
                    return;
                }
                ctx.close();
            }
            default -> {
            }
        }
    }

    private void bodyStalled() {
        refused = true;
        phase = NONE;
        if (outstanding > 1 || responding) { // a response is being written already: a 408 cannot follow it
            ctx.close();
            return;
        }
        String requestId = RequestIds.generate();
        String message = "The request body stopped arriving for " + TimeUnit.NANOSECONDS.toMillis(settings.headerTimeoutNanos())
                + " ms (SKIFF_HEADER_TIMEOUT).";
        String endpoint = PassthroughTarget.matches(bodyPath) ? "passthrough" : Gateway.endpointName(bodyPath);
        FullHttpResponse r = Replies.error(ctx, bodyDialect, 408, message, "invalid_request_error", null, "request_timeout", requestId);
        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        settings.gateway().observers().refused(null, r, new UsageRecord(System.currentTimeMillis(), requestId, endpoint, null, null, null, false,
                408, Usage.NONE, -1, -1, message, null));
        outstanding = 0;
        closeAfter(r);
    }
}
