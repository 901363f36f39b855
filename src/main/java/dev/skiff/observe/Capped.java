package dev.skiff.observe;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The first {@code cap} bytes of a body that may arrive in pieces, and its full size. Never copies
 * more than the cap, and grows by doubling, so a short body costs a short array.
 */
public final class Capped {
    private final int cap;
    private byte[] bytes = EMPTY;
    private int length;
    private long total;
    private long reserved; // of the CaptureBudget, released by release()
    /** Whether {@link #bytes} is also another capture's (see {@link #shareIfSame}): copied before either writes to it. */
    private boolean shared;

    private static final byte[] EMPTY = new byte[0];

    public Capped(int cap) {
        this.cap = cap;
    }

    /**
     * A capture of {@code b} (whole, readable bytes) that holds the same array as {@code kept} when
     * {@code b} is what {@code kept} holds, else null. A body forwarded as it came (the provider's answer
     * written to the client, the client's request sent on) is then one array in the heap, not two:
     * a comparison is cheaper on the event loop than an allocation and a copy, and the audit writer
     * stores such a body once. Either capture copies the array before it adds to it.
     */
    public static Capped shareIfSame(Capped kept, ByteBuf b) {
        if (kept == null || kept.truncated() || kept.length != b.readableBytes() || kept.length == 0) return null;
        if (!holds(kept.bytes, kept.length, b)) return null;
        Capped c = new Capped(kept.cap);
        c.bytes = kept.bytes;
        c.length = kept.length;
        c.total = kept.total;
        c.shared = kept.shared = true;
        return c;
    }

    private static final java.lang.invoke.VarHandle LONGS =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);

    /**
     * Whether the first {@code n} bytes of {@code a} are {@code b}'s readable bytes ({@code n} of them),
     * eight at a time. Compared in place: wrapping the array in a buffer to compare two buffers
     * allocated a wrapper on the event loop twice a request at bodies level (measured).
     */
    static boolean holds(byte[] a, int n, ByteBuf b) {
        int from = b.readerIndex(), i = 0;
        if (b.hasArray()) {
            int base = b.arrayOffset() + from;
            return Arrays.equals(a, 0, n, b.array(), base, base + n);
        }
        for (; i + 8 <= n; i += 8) if ((long) LONGS.get(a, i) != b.getLongLE(from + i)) return false;
        for (; i < n; i++) if (a[i] != b.getByte(from + i)) return false;
        return true;
    }

    /** Copies what fits of {@code b}'s readable bytes; {@code b} is left as it was. */
    public void add(ByteBuf b) {
        int readable = b.readableBytes();
        total += readable;
        int take = Math.min(cap - length, readable);
        if (take <= 0) return;
        unshare();
        take = ensure(length + take) - length;
        if (take <= 0) return;
        b.getBytes(b.readerIndex(), bytes, length, take);
        length += take;
    }

    public void add(byte[] b) {
        total += b.length;
        int take = Math.min(cap - length, b.length);
        if (take <= 0) return;
        unshare();
        take = ensure(length + take) - length;
        if (take <= 0) return;
        System.arraycopy(b, 0, bytes, length, take);
        length += take;
    }

    /** An array of its own before writing to it (the other capture's bytes stay as they are). */
    private void unshare() {
        if (!shared) return;
        shared = false;
        byte[] own = EMPTY;
        if (length > 0 && CaptureBudget.tryReserve(length)) {
            reserved += length;
            own = Arrays.copyOf(bytes, length);
        } else {
            length = 0; // no room: what it had is given up with the array, and counted as cut (total stays)
        }
        bytes = own;
    }

    /**
     * Grows the array for {@code need} bytes if the budget allows; returns how many it can hold now. The
     * first piece gets an array of its size: most bodies come whole (a chat request, a provider's answer),
     * and an array with room to spare was copied again to its length when the record was made ({@link #bytes}).
     * A body in pieces grows by doubling from its second piece on.
     */
    private int ensure(int need) {
        if (need <= bytes.length) return need;
        int size = bytes.length == 0 ? need : Math.max(need, Math.min(cap, Math.max(256, bytes.length * 2)));
        if (!CaptureBudget.tryReserve(size - bytes.length)) {
            size = need; // no room to double: exactly what is needed, if even that fits
            if (!CaptureBudget.tryReserve(size - bytes.length)) return bytes.length;
        }
        reserved += size - bytes.length;
        bytes = Arrays.copyOf(bytes, size);
        return need;
    }

    /** Gives the array's bytes back to the budget (the bytes stay readable); once its record is made. */
    public void release() {
        CaptureBudget.release(reserved);
        reserved = 0;
    }

    /** Stops holding the array's share of the budget and returns it: whoever keeps the bytes gives it back (see RequestTrail#handOver). */
    long handOver() {
        long r = reserved;
        reserved = 0;
        return r;
    }

    /** Bytes captured so far. */
    public int length() {
        return length;
    }

    /** The body's whole size, captured or not. */
    public long total() {
        return total;
    }

    public boolean truncated() {
        return total > length;
    }

    /** Whether {@code o} holds the same body: size and bytes kept (a provider body forwarded as the client's). */
    public boolean sameAs(Capped o) {
        if (bytes == o.bytes && length == o.length) return total == o.total; // shared on the event loop
        return total == o.total && Arrays.equals(bytes, 0, length, o.bytes, 0, o.length);
    }

    public byte[] bytes() {
        return length == bytes.length ? bytes : Arrays.copyOf(bytes, length);
    }

    public String text() {
        return new String(bytes, 0, length, StandardCharsets.UTF_8);
    }
}
