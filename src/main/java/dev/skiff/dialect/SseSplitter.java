package dev.skiff.dialect;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.function.Consumer;

/**
 * Cuts a Server-Sent Events byte stream into whole events (each ending with its blank line) as
 * chunks arrive. Events that fall inside one chunk are handed out as slices of it, with no copy; only
 * an event split across chunks is gathered into a buffer of its own.
 *
 * <p>The work is linear in the bytes fed, however an event is split: a gathered event grows its
 * buffer geometrically and is scanned only where new bytes arrived (copying and rescanning the whole
 * pending event for every chunk made one 32 MB event cost over 20 CPU-seconds on an event loop).
 * An event may not grow beyond {@code maxEventBytes}: a provider (or a peer posing as one) could
 * otherwise make Skiff gather one endless event.
 */
public final class SseSplitter {
    /** An event grew beyond the splitter's limit; everything the splitter held is released. */
    public static final class EventTooLargeException extends RuntimeException {
        private final long limit;

        EventTooLargeException(long limit) {
            super("an event of the stream is larger than " + Bytes.describeSize(limit) + ", the most Skiff gathers for one event");
            this.limit = limit;
        }

        public long limit() {
            return limit;
        }
    }

    private final ByteBufAllocator alloc;
    private final int maxEventBytes;
    private ByteBuf pending; // the unfinished event, from its first byte
    private int lineStart; // index in pending where the unfinished line begins

    /** A splitter without a limit on one event's size (beyond what memory allows). */
    public SseSplitter(ByteBufAllocator alloc) {
        this(alloc, Integer.MAX_VALUE);
    }

    public SseSplitter(ByteBufAllocator alloc, int maxEventBytes) {
        this.alloc = alloc;
        this.maxEventBytes = maxEventBytes;
    }

    /**
     * Takes ownership of {@code chunk}; each complete event goes to {@code sink}, which owns it.
     *
     * @throws EventTooLargeException when the unfinished event exceeds the limit
     */
    public void feed(ByteBuf chunk, Consumer<ByteBuf> sink) {
        ByteBuf buf;
        int scanFrom;
        int line;
        if (pending == null) {
            buf = chunk;
            scanFrom = chunk.readerIndex();
            line = scanFrom;
        } else {
            buf = pending;
            pending = null;
            scanFrom = buf.writerIndex();
            line = lineStart;
            try {
                int need = chunk.readableBytes();
                if (buf.writableBytes() < need) {
                    // Doubling keeps the copies linear in the event's size (Netty's own growth
                    // turns to fixed 4 MB steps past 4 MB, which is quadratic for a large event).
                    long wanted = Math.max((long) buf.writerIndex() + need, (long) buf.capacity() * 2);
                    buf.capacity((int) Math.min(wanted, buf.maxCapacity()));
                }
                buf.writeBytes(chunk);
            } catch (RuntimeException e) {
                buf.release();
                throw e;
            } finally {
                chunk.release();
            }
        }
        int end = buf.writerIndex();
        int eventStart = buf.readerIndex();
        try {
            // indexOf scans in bulk (checking the buffer once), unlike a getByte per byte.
            for (int i = buf.indexOf(scanFrom, end, (byte) '\n'); i >= 0; i = buf.indexOf(i + 1, end, (byte) '\n')) {
                int lineLength = i - line;
                if (lineLength > 0 && buf.getByte(i - 1) == '\r') lineLength--;
                line = i + 1;
                if (lineLength == 0) {
                    // A blank line ends an event. A lone blank line (a bare keep-alive) is passed on too.
                    sink.accept(buf.retainedSlice(eventStart, i + 1 - eventStart));
                    eventStart = i + 1;
                }
            }
        } catch (RuntimeException | Error e) {
            buf.release(); // a sink that throws (a stream that cannot be translated) must not leak the chunk
            throw e;
        }
        int left = end - eventStart;
        if (left > maxEventBytes) {
            buf.release();
            throw new EventTooLargeException(maxEventBytes);
        }
        if (left == 0) {
            buf.release();
        } else if (eventStart == buf.readerIndex() && buf != chunk) {
            // Still the same unfinished event: keep gathering into its buffer.
            pending = buf;
            lineStart = line;
        } else {
            // The rest started within this chunk, so copying it costs at most the chunk's size.
            pending = alloc.buffer(Math.max(256, left * 2));
            pending.writeBytes(buf, eventStart, left);
            lineStart = line - eventStart;
            buf.release();
        }
    }

    /** Receives whole events as ranges of the array {@link #feed(ByteBuf, byte[], ArraySink)} copied a chunk into. */
    @FunctionalInterface
    public interface ArraySink {
        /** The event at {@code [start, end)} of {@code a}: its bytes are valid during the call only. */
        void event(byte[] a, int start, int end);
    }

    /**
     * As {@link #feed(ByteBuf, Consumer)}, for a chunk that starts an event and fits in {@code a}: the
     * chunk is copied into {@code a} and its whole events go to {@code sink} as ranges of the array (no
     * buffer per event); an unfinished event at its end is kept as the other form keeps it. Takes
     * ownership of {@code chunk} and returns true; returns false, taking nothing, when an unfinished
     * event is pending or the chunk is larger than the array (the other form is for those).
     *
     * @throws EventTooLargeException when the unfinished event exceeds the limit
     */
    public boolean feed(ByteBuf chunk, byte[] a, ArraySink sink) {
        int n = chunk.readableBytes();
        if (pending != null || n > a.length) return false;
        chunk.getBytes(chunk.readerIndex(), a, 0, n);
        int eventStart = 0, line = 0;
        try {
            for (int i = Bytes.indexOf(a, 0, n, (byte) '\n'); i >= 0; i = Bytes.indexOf(a, i + 1, n, (byte) '\n')) {
                int lineLength = i - line;
                if (lineLength > 0 && a[i - 1] == '\r') lineLength--;
                line = i + 1;
                if (lineLength == 0) {
                    sink.event(a, eventStart, i + 1); // a blank line ends an event (a lone one passes on too)
                    eventStart = i + 1;
                }
            }
        } catch (RuntimeException | Error e) {
            chunk.release();
            throw e;
        }
        chunk.release();
        int left = n - eventStart;
        if (left > maxEventBytes) throw new EventTooLargeException(maxEventBytes);
        if (left > 0) {
            pending = alloc.buffer(Math.max(256, left * 2));
            pending.writeBytes(a, eventStart, left);
            lineStart = line - eventStart;
        }
        return true;
    }

    /** Bytes of an event the stream never finished; empty when it ended cleanly. */
    public boolean hasPartialEvent() {
        return pending != null && pending.isReadable();
    }

    public void release() {
        if (pending != null) {
            pending.release();
            pending = null;
        }
    }

    private static final byte[] DATA = "data:".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    /** As {@link #dataStart(ByteBuf, int, int)}, for an event copied into an array. */
    static int dataStart(byte[] event, int start, int end) {
        int line = start;
        while (line < end) {
            if (Bytes.startsWith(event, line, end, DATA)) {
                int p = line + DATA.length;
                return p < end && event[p] == ' ' ? p + 1 : p;
            }
            int nl = Bytes.indexOf(event, line, end, (byte) '\n');
            if (nl < 0) return -1;
            line = nl + 1;
        }
        return -1;
    }

    /** Position of the payload of the event's first {@code data:} line in {@code [start, end)}, or -1. */
    public static int dataStart(ByteBuf event, int start, int end) {
        int line = start;
        while (line < end) {
            if (Bytes.startsWith(event, line, end, DATA)) {
                int p = line + DATA.length;
                return p < end && event.getByte(p) == ' ' ? p + 1 : p;
            }
            int nl = event.indexOf(line, end, (byte) '\n');
            if (nl < 0) return -1;
            line = nl + 1;
        }
        return -1;
    }
}
