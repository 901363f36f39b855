package dev.skiff.server;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;

/**
 * What a relaying call writes to its client, coalesced per upstream read: pieces are queued as one
 * {@link Gather} and leave as one HTTP chunk in one write when the read completes ({@link #flush}),
 * or earlier once {@link #MAX_QUEUED} bytes wait. Whatever else is written (a head, an error event,
 * the end) goes after what is queued, and a flush is made only when something was written since the
 * last one. Event-loop only, like the call that owns it.
 *
 * <p>From a stream's terminal event on, what is written may be kept back ({@link #keepBack}) until
 * the call's limits are settled ({@link #letGo}): everything before it goes out as it came.
 */
final class ClientWrites {
    /** Most bytes queued from one upstream read before they are sent anyway. */
    static final int MAX_QUEUED = 64 << 10;

    private final ChannelHandlerContext ctx;
    private Gather queued; // made by the first piece: most answers are not streams
    private boolean unflushed; // written since the last flush
    private Object held; // a stream's head kept back while its call may still try another target (issue 13)
    private ArrayDeque<Object> kept; // written from the terminal event on, while the settlement is on its way: in order
    private int keptBytes;

    ClientWrites(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    /** Queues {@code piece}, taking ownership of it. */
    void queue(ByteBuf piece) {
        if (queued == null) queued = new Gather(ctx.alloc());
        queued.add(piece);
    }

    /** Queues a copy of {@code len} bytes of {@code a} from {@code off}. */
    void queue(byte[] a, int off, int len) {
        if (queued == null) queued = new Gather(ctx.alloc());
        queued.add(a, off, len);
    }

    /** Whether enough is queued that it should be sent now, before the read completes. */
    boolean full() {
        return queued != null && queued.size() >= MAX_QUEUED;
    }

    /**
     * Keeps {@code head} back: it is written before anything else is, but a flush with nothing else
     * to send leaves it held, so that the call can still drop it ({@link #dropHeld}) and try again.
     */
    void hold(Object head) {
        held = head;
    }

    boolean holding() {
        return held != null;
    }

    /** The held head will not be sent: the attempt it belonged to failed before anything reached the client. */
    void dropHeld() {
        held = null;
    }

    /** Writes the held head now, without a flush. */
    void writeHeld() {
        Object h = held;
        if (h == null) return;
        held = null;
        ctx.write(h, ctx.voidPromise());
        unflushed = true;
    }

    /** Writes what is queued as one HTTP chunk, without a flush. */
    void writeQueued() {
        writeHeld();
        if (queued == null) return;
        boolean room = queued.ownsBuffer();
        ByteBuf q = queued.take();
        if (q == null) return;
        send(room ? new ChunkWithRoom(q) : new DefaultHttpContent(q));
    }

    /** Writes {@code msg} after what is queued, without a flush: it goes with the next {@link #flush}. */
    void write(Object msg) {
        writeQueued();
        send(msg);
    }

    private void send(Object msg) {
        if (kept != null) {
            kept.add(msg);
            if (msg instanceof HttpContent c) keptBytes += c.content().readableBytes();
            return;
        }
        ctx.write(msg, ctx.voidPromise());
        unflushed = true;
    }

    /** Writes {@code msg} after what is queued, and flushes; what was kept back goes first. */
    ChannelFuture writeAndFlush(Object msg) {
        letGo();
        writeQueued();
        unflushed = false;
        return ctx.writeAndFlush(msg);
    }

    /** As {@link #writeAndFlush(Object)}, with nothing to wait for; kept back with the rest while {@link #keepBack} holds. */
    void writeAndFlushVoid(Object msg) {
        if (kept != null) {
            write(msg);
            return;
        }
        writeQueued();
        unflushed = false;
        ctx.writeAndFlush(msg, ctx.voidPromise());
    }

    /**
     * From here on nothing reaches the client until {@link #letGo}: what is queued now (the events
     * before the terminal one) is written for the next flush, what is queued or written after is kept.
     */
    void keepBack() {
        writeQueued();
        kept = new ArrayDeque<>(4);
        keptBytes = 0;
    }

    boolean keepingBack() {
        return kept != null;
    }

    /** Writes what was kept back, in order, for the next flush. */
    void letGo() {
        ArrayDeque<Object> k = kept;
        if (k == null) return;
        writeQueued(); // what is queued came after what is kept: kept behind it
        kept = null;
        for (Object msg; (msg = k.poll()) != null; ) {
            ctx.write(msg, ctx.voidPromise());
            unflushed = true;
        }
    }

    /**
     * Sends what is queued and flushes, if anything was written since the last flush.
     *
     * @return whether the client's socket still takes more (and, while bytes are kept back, whether
     *         fewer than {@link #MAX_QUEUED} are): false asks the caller to stop reading upstream
     */
    boolean flush() {
        if (held != null && (queued == null || queued.size() == 0)) return ctx.channel().isWritable(); // nothing to send it with yet
        writeQueued();
        if (unflushed) {
            unflushed = false;
            ctx.flush();
        }
        return ctx.channel().isWritable() && (kept == null || keptBytes < MAX_QUEUED);
    }

    /** Drops what is queued and kept back (the client went away). */
    void release() {
        if (queued != null) queued.release();
        ArrayDeque<Object> k = kept;
        kept = null;
        if (k != null) for (Object msg; (msg = k.poll()) != null; ) ReferenceCountUtil.release(msg);
    }
}
