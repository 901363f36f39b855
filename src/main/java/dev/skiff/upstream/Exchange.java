package dev.skiff.upstream;

import dev.skiff.config.Timeouts;
import dev.skiff.provider.Provider;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.DecoderResultProvider;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One request to a provider and its response, from connection to the last byte. Lives on a single
 * event loop, so its state needs no synchronization.
 *
 * <p>A reused keep-alive connection may have been closed by the server while idle; when such a
 * connection breaks before any response arrived, the request is sent once more on a fresh one.
 * Timeouts are checked by one timer that is re-armed for the next deadline, not per chunk: the
 * connection's ({@link ConnectionTimer}) once one is attached, so that an exchange on a pooled
 * connection schedules and cancels nothing; the exchange's own while it connects.
 *
 * <p>A streamed request body (passthrough) is not held: its pieces are written as the caller hands
 * them over ({@link #writeBody}), so the one retry is made only while none of its bytes were sent.
 * The response to a streamed request is not decoded (see {@link ContentDecoding}), nor is that of a
 * relayed one (a whole body, passthrough to a provider that signs the body's hash).
 */
public final class Exchange implements Runnable, UpstreamCall {
    private enum Phase { CONNECTING, WAITING, BODY, DONE }

    private final UpstreamClient client;
    private final Provider provider;
    private final EventLoop loop;
    private HttpRequest head; // let go once the response's head arrived: no retry needs it then
    private final Timeouts timeouts;
    private final ExchangeListener listener;
    private final long startNanos;

    private ByteBuf body; // kept until a response arrives, for the one retry
    private final boolean streamed; // the body comes in pieces through writeBody
    private final boolean passEncoded; // the response goes to the client as the provider sent it
    private long streamedBytes;
    private boolean bodyEnded;
    private final ChannelFutureListener breakOnFailure = f -> {
        if (!f.isSuccess() && f.channel() == this.channel) onBroken(f.cause());
    };
    private Phase phase = Phase.CONNECTING;
    private Channel channel;
    private UpstreamClient.UpstreamHandler handler;
    private boolean reused;
    private boolean retried;
    private boolean keepAlive;
    private long writtenNanos;
    private long lastReadNanos;
    private boolean heldBack; // the client is not taking bytes: reading paused on its behalf
    private ScheduledFuture<?> timer;
    private long timerDeadline = Long.MAX_VALUE;

    Exchange(UpstreamClient client, Provider provider, EventLoop loop, HttpRequest head, ByteBuf body, ExchangeListener listener) {
        this(client, provider, loop, head, body, listener, body == null);
    }

    Exchange(UpstreamClient client, Provider provider, EventLoop loop, HttpRequest head, ByteBuf body, ExchangeListener listener,
             boolean passEncoded) {
        this.client = client;
        this.provider = provider;
        this.loop = loop;
        this.head = head;
        this.body = body;
        this.streamed = body == null;
        this.passEncoded = passEncoded || streamed;
        this.listener = listener;
        this.timeouts = client.timeouts();
        this.startNanos = System.nanoTime();
    }

    void start() {
        Channel pooled = client.pool(provider).poll();
        if (pooled != null) {
            attach(pooled, true); // the connection's timer watches the deadlines (see ConnectionTimer)
            return;
        }
        // No connection yet: the exchange's own timer watches connecting and, until one is attached, the rest.
        checkBy(startNanos + Math.min(timeouts.total().toNanos(), timeouts.connect().toNanos() + timeouts.firstByte().toNanos()));
        connect();
    }

    /** Stops the exchange because the client went away: the connection is closed, not pooled. */
    @Override
    public void cancel() {
        if (phase == Phase.DONE) return;
        Channel ch = channel;
        finish();
        if (ch != null) ch.close();
    }

    public boolean isDone() {
        return phase == Phase.DONE;
    }

    /**
     * Pauses or resumes reading from upstream, to follow the client's pace. While paused the idle
     * timeout does not run: the silence is the client's doing, not the provider's, and a slow reader
     * must not see its stream cut with the provider blamed. The total timeout still applies.
     */
    @Override
    public void setAutoRead(boolean autoRead) {
        if (channel == null || phase != Phase.BODY) return;
        channel.config().setAutoRead(autoRead);
        if (autoRead && heldBack) lastReadNanos = System.nanoTime(); // the provider's silence counts from now
        heldBack = !autoRead;
    }

    private void connect() {
        client.connect(provider, loop, (ch, cause) -> {
            if (phase == Phase.DONE) {
                if (ch != null) ch.close();
                return;
            }
            if (ch == null) {
                if (cause instanceof ConnectTimeoutException) {
                    fail(UpstreamFailure.Kind.TIMEOUT, "connecting to " + provider.name() + " timed out after "
                            + timeouts.connect().toMillis() + " ms");
                } else {
                    String what = provider.name() + " is unreachable: ";
                    fail(UpstreamFailure.Kind.UNREACHABLE, what + kindOf(cause), what + describe(cause));
                }
                return;
            }
            attach(ch, false);
        });
    }

    private void attach(Channel ch, boolean wasPooled) {
        listener.onConnected(wasPooled);
        channel = ch;
        reused = wasPooled;
        handler = ch.pipeline().get(UpstreamClient.UpstreamHandler.class);
        handler.current = this;
        phase = Phase.WAITING;
        writtenNanos = System.nanoTime();
        dropOwnTimer(); // the connection's timer takes over from here
        checkBy(Math.min(startNanos + timeouts.total().toNanos(), writtenNanos + timeouts.firstByte().toNanos()));
        ch.pipeline().get(ContentDecoding.class).passEncoded(passEncoded);
        if (streamed) {
            ch.writeAndFlush(head).addListener(breakOnFailure);
            if (bodyEnded) ch.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener(breakOnFailure); // a retry of an empty body
            else listener.onSendable(ch.isWritable());
            return;
        }
        if (HttpUtil.isTransferEncodingChunked(head)) { // Netty's encoder frames the body in chunks
            ch.write(head, ch.voidPromise());
            ch.writeAndFlush(new DefaultLastHttpContent(body.retainedDuplicate())).addListener(breakOnFailure);
            return;
        }
        // Head and body in one buffer and one write (see UpstreamCodec); the body stays kept for the one retry.
        ch.writeAndFlush(UpstreamCodec.encode(ch.alloc(), head, body)).addListener(breakOnFailure);
    }

    /**
     * Sends the next piece of a streamed body; takes ownership. Only once {@link
     * ExchangeListener#onSendable} said the connection is ready; pieces after the exchange ended are
     * dropped.
     */
    public void writeBody(HttpContent piece) {
        if (!streamed || phase == Phase.DONE || phase == Phase.CONNECTING || bodyEnded) {
            piece.release();
            return;
        }
        streamedBytes += piece.content().readableBytes();
        bodyEnded = piece instanceof LastHttpContent;
        if (phase == Phase.WAITING) writtenNanos = System.nanoTime(); // the first-byte wait starts from the last byte sent
        channel.writeAndFlush(piece).addListener(breakOnFailure);
    }

    /** Whether the connection takes more of a streamed body now without queueing it in memory. */
    public boolean isWritable() {
        return channel != null && phase != Phase.DONE && channel.isWritable();
    }

    /** The connection's writability changed: a streamed body's sender paces itself by it. */
    void onWritabilityChanged() {
        if (streamed && phase != Phase.DONE && phase != Phase.CONNECTING && !bodyEnded) listener.onSendable(channel.isWritable());
    }

    void onMessage(Object msg) {
        if (phase == Phase.DONE) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof DecoderResultProvider d && d.decoderResult().isFailure()) {
            // Netty reports a body cut short (the connection closed before the Content-Length or the
            // last chunk arrived) as a last piece with a failed result: it must not pass for the end.
            Throwable cause = d.decoderResult().cause();
            ReferenceCountUtil.release(msg);
            String what = provider.name() + (phase == Phase.BODY ? " closed the connection before the response was complete"
                    : " sent a response that is not valid HTTP");
            fail(UpstreamFailure.Kind.BROKEN, what, what + ": " + describe(cause));
            return;
        }
        if (msg instanceof HttpResponse response) {
            if (response.status().code() == 100) { // an interim response: the real one follows
                ReferenceCountUtil.release(msg);
                return;
            }
            phase = Phase.BODY;
            // The body's reads are timed once a read, when it completes (onReadComplete): a stream's
            // read brings a dozen pieces, and the clock is read once for them.
            lastReadNanos = System.nanoTime();
            checkBy(lastReadNanos + timeouts.idle().toNanos());
            keepAlive = HttpUtil.isKeepAlive(response);
            // A key answered 429/401/403 rests; the pool picks another for the next request.
            provider.reportAnswer(head.headers(), response.status().code(), response.headers());
            // A held stream would keep the request's header map as long as it lasts (a thousand streams:
            // ~1 MB of heap). An interim head (103) is followed by the real one, which reports too.
            if (response.status().code() >= 200) head = null;
            if (body != null) {
                body.release();
                body = null;
            }
            listener.onHead(response);
            if (phase == Phase.DONE) {
                ReferenceCountUtil.release(msg);
                return;
            }
        }
        if (msg instanceof HttpContent content) {
            boolean last = content instanceof LastHttpContent;
            ByteBuf bytes = content.content();
            // The piece's one reference changes hands: releasing an HttpContent releases its bytes, so
            // retaining them for the listener and releasing the piece would be two atomic updates for nothing.
            if (bytes.isReadable()) listener.onContent(bytes);
            else content.release();
            if (last && phase != Phase.DONE) complete();
        }
    }

    /** The connection's read is done (see {@link ExchangeListener#onReadComplete}). */
    void onReadComplete() {
        if (phase != Phase.BODY) return;
        lastReadNanos = System.nanoTime();
        listener.onReadComplete();
    }

    private void complete() {
        Channel ch = channel;
        finish();
        // A response that came before the whole streamed body was sent leaves the request unfinished
        // on the wire: that connection cannot carry another one.
        if (keepAlive && (!streamed || bodyEnded)) {
            ch.config().setAutoRead(true);
            client.pool(provider).offer(ch);
        } else {
            ch.close();
        }
        listener.onEnd();
    }

    /** The connection closed or failed while this exchange owned it. */
    void onBroken(Throwable cause) {
        if (phase == Phase.DONE) return;
        Channel broken = channel;
        if (phase == Phase.WAITING && reused && !retried && streamedBytes == 0) {
            // A pooled connection the server had already closed: the request never got there. (Body
            // bytes of a streamed request are not kept, so once some were sent it cannot be repeated.)
            retried = true;
            detach();
            broken.close();
            phase = Phase.CONNECTING;
            // Without a connection the exchange watches its own deadlines again: the first byte's, as before the retry.
            checkBy(Math.min(startNanos + timeouts.total().toNanos(), writtenNanos + timeouts.firstByte().toNanos()));
            connect();
            return;
        }
        String what = phase == Phase.BODY ? "closed the connection before the response was complete"
                : "closed the connection before responding";
        String message = provider.name() + " " + what;
        fail(UpstreamFailure.Kind.BROKEN, cause == null ? message : message + ": " + kindOf(cause),
                cause == null ? message : message + ": " + describe(cause));
    }

    /** The exchange's own timer fired (no connection carried the check): see {@link #check}. */
    @Override
    public void run() {
        timer = null;
        timerDeadline = Long.MAX_VALUE;
        check();
    }

    /**
     * A timer fired: fails the exchange when the deadline of its phase or the total deadline has
     * passed, else makes sure a timer fires by the next one. A connection's timer may fire early, at
     * a deadline of the exchange before this one on the connection: nothing has passed then.
     */
    void check() {
        if (phase == Phase.DONE) return;
        long now = System.nanoTime();
        long next = startNanos + timeouts.total().toNanos() - now;
        if (next <= 0) {
            fail(UpstreamFailure.Kind.TIMEOUT, provider.name() + " did not finish within " + timeouts.total().toMillis()
                    + " ms (total timeout)");
            return;
        }
        if (phase == Phase.WAITING) {
            long left = writtenNanos + timeouts.firstByte().toNanos() - now;
            if (left <= 0) {
                fail(UpstreamFailure.Kind.TIMEOUT, provider.name() + " sent no response within "
                        + timeouts.firstByte().toMillis() + " ms (first-byte timeout)");
                return;
            }
            next = Math.min(next, left);
        } else if (phase == Phase.BODY) {
            long left = heldBack ? timeouts.idle().toNanos() : lastReadNanos + timeouts.idle().toNanos() - now;
            if (left <= 0) {
                fail(UpstreamFailure.Kind.TIMEOUT, provider.name() + " sent nothing for " + timeouts.idle().toMillis()
                        + " ms (idle timeout)");
                return;
            }
            next = Math.min(next, left);
        } else {
            next = Math.min(next, timeouts.connect().toNanos() + timeouts.firstByte().toNanos());
        }
        checkBy(now + next);
    }

    /**
     * Makes sure a timer fires no later than {@code deadline}: the connection's while one is
     * attached, else the exchange's own. Phases with shorter limits pull it in.
     */
    private void checkBy(long deadline) {
        if (handler != null) {
            handler.timer.checkBy(deadline);
            return;
        }
        if (deadline >= timerDeadline) return;
        if (timer != null) timer.cancel(false);
        long delay = Math.max(deadline - System.nanoTime(), MIN_DELAY_NANOS);
        timerDeadline = System.nanoTime() + delay;
        timer = loop.schedule(this, delay, TimeUnit.NANOSECONDS);
    }

    private void dropOwnTimer() {
        if (timer != null) timer.cancel(false);
        timer = null;
        timerDeadline = Long.MAX_VALUE;
    }

    static final long MIN_DELAY_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    private void fail(UpstreamFailure.Kind kind, String message) {
        fail(kind, message, message);
    }

    private void fail(UpstreamFailure.Kind kind, String message, String detail) {
        Channel ch = channel;
        finish();
        if (ch != null) ch.close();
        listener.onFailure(new UpstreamFailure(kind, message, detail));
    }

    private void finish() {
        phase = Phase.DONE;
        dropOwnTimer(); // a connection's timer stays armed: it checks whichever exchange it finds when it fires
        if (body != null) {
            body.release();
            body = null;
        }
        detach();
    }

    private void detach() {
        if (handler != null && handler.current == this) handler.current = null;
        handler = null;
        channel = null;
    }

    /**
     * What went wrong, for the client: the kind of failure only. The exceptions' own messages name
     * the address connected to ({@code Connection refused: /10.0.0.5:8000}), the proxy, or a
     * certificate's names, none of which is the client's business.
     */
    static String kindOf(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof javax.net.ssl.SSLException) {
                // A certificate not trusted or not for the host: worth saying, without its names.
                for (Throwable d = c; d != null; d = d.getCause()) {
                    if (d instanceof java.security.GeneralSecurityException) return "its TLS certificate was not accepted";
                }
                return "the TLS handshake failed";
            }
            if (c instanceof io.netty.handler.proxy.ProxyConnectException) return "the outbound proxy did not connect it";
            if (c instanceof java.net.UnknownHostException) return "its host name does not resolve";
            if (c instanceof java.net.NoRouteToHostException) return "no route to its host";
            if (c instanceof java.net.ConnectException) return "the connection was refused";
            if (c instanceof io.netty.handler.codec.TooLongFrameException) return "its response head is too large";
        }
        // Netty wraps a TLS failure in a DecoderException: the specific causes above are looked for first.
        if (t instanceof io.netty.handler.codec.DecoderException) return "its response is not valid HTTP";
        if (t instanceof java.nio.channels.ClosedChannelException) return "the connection closed";
        return "the connection failed";
    }

    private static String describe(Throwable t) {
        String m = t.getMessage();
        return m == null || m.isBlank() ? t.getClass().getSimpleName() : m;
    }
}
