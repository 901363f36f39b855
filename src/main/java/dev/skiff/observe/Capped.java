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

    private static final byte[] EMPTY = new byte[0];

    public Capped(int cap) {
        this.cap = cap;
    }

    /** Copies what fits of {@code b}'s readable bytes; {@code b} is left as it was. */
    public void add(ByteBuf b) {
        int readable = b.readableBytes();
        total += readable;
        int take = Math.min(cap - length, readable);
        if (take <= 0) return;
        take = ensure(length + take) - length;
        if (take <= 0) return;
        b.getBytes(b.readerIndex(), bytes, length, take);
        length += take;
    }

    public void add(byte[] b) {
        total += b.length;
        int take = Math.min(cap - length, b.length);
        if (take <= 0) return;
        take = ensure(length + take) - length;
        if (take <= 0) return;
        System.arraycopy(b, 0, bytes, length, take);
        length += take;
    }

    /** Grows the array for {@code need} bytes if the budget allows; returns how many it can hold now. */
    private int ensure(int need) {
        if (need <= bytes.length) return need;
        int size = Math.max(need, Math.min(cap, Math.max(256, bytes.length * 2)));
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
        return total == o.total && Arrays.equals(bytes, 0, length, o.bytes, 0, o.length);
    }

    public byte[] bytes() {
        return length == bytes.length ? bytes : Arrays.copyOf(bytes, length);
    }

    public String text() {
        return new String(bytes, 0, length, StandardCharsets.UTF_8);
    }
}
