package dev.skiff.dialect;

import io.netty.buffer.ByteBuf;

/** Searches over buffer regions, for the few places where bytes are inspected without parsing. */
public final class Bytes {
    private Bytes() {}

    /**
     * The window {@link #indexOf} copies a buffer's bytes into, one per thread: searching a plain array
     * is a tight loop, where searching the buffer costs a bounds-checked call per candidate byte, and a
     * JSON needle starts with a quote, which is every few bytes of a body.
     */
    static final int WINDOW = 2048;

    private static final io.netty.util.concurrent.FastThreadLocal<byte[]> WINDOWS = new io.netty.util.concurrent.FastThreadLocal<>() {
        @Override
        protected byte[] initialValue() {
            return new byte[WINDOW];
        }
    };

    /** Largest copy {@link #readable} makes; larger bodies are read where they lie. */
    static final int MAX_COPY = 64 << 10;

    private static final io.netty.util.concurrent.FastThreadLocal<byte[][]> COPIES = new io.netty.util.concurrent.FastThreadLocal<>() {
        @Override
        protected byte[][] initialValue() {
            return new byte[][] {new byte[WINDOW]};
        }
    };

    /**
     * The readable bytes of {@code buf} as an array to scan, from index 0 (or its backing array's
     * offset) to {@code readableBytes()}: a heap buffer's own array, else this thread's scratch copy
     * (valid until the next call on this thread). Null when the buffer is larger than {@link #MAX_COPY}
     * and has no array: callers then read the buffer itself.
     */
    static byte[] readable(ByteBuf buf) {
        if (buf.hasArray() && buf.arrayOffset() + buf.readerIndex() == 0) return buf.array();
        int n = buf.readableBytes();
        if (n > MAX_COPY) return null;
        byte[][] holder = COPIES.get();
        if (holder[0].length < n) holder[0] = new byte[Math.min(MAX_COPY, Math.max(n, holder[0].length * 2))];
        buf.getBytes(buf.readerIndex(), holder[0], 0, n);
        return holder[0];
    }

    /** This thread's copy window, for scans of buffers without an array (see {@link #indexOf}); its contents are scratch. */
    static byte[] window() {
        return WINDOWS.get();
    }

    /** Index of {@code needle} in {@code [from, to)} of {@code buf}, or -1. */
    public static int indexOf(ByteBuf buf, int from, int to, byte[] needle) {
        if (needle.length == 0) return from <= to ? from : -1;
        return indexOf(buf, from, to, needle, null);
    }

    /**
     * As {@link #indexOf(ByteBuf, int, int, byte[])}, with a needle made once: found by its least common
     * byte, eight bytes at a time, where the plain search stops at every byte equal to the needle's first
     * (a quote, every few bytes of JSON).
     */
    static int indexOf(ByteBuf buf, int from, int to, Needle needle) {
        return indexOf(buf, from, to, needle.bytes, needle);
    }

    /** The search of both: in {@code buf}'s array, or through this thread's window; by {@code fast} when given. */
    private static int indexOf(ByteBuf buf, int from, int to, byte[] needle, Needle fast) {
        int n = needle.length;
        if (to - from < n) return -1;
        if (buf.hasArray()) {
            int base = buf.arrayOffset();
            int at = fast != null ? fast.in(buf.array(), base + from, base + to) : indexOf(buf.array(), base + from, base + to, needle);
            return at < 0 ? -1 : at - base;
        }
        byte[] window = window();
        if (n > WINDOW / 2) return slowIndexOf(buf, from, to, needle);
        // Windows overlap by n - 1 bytes, so a match straddling two of them is found in the second.
        for (int start = from; ; start += WINDOW - n + 1) {
            int len = Math.min(WINDOW, to - start);
            buf.getBytes(start, window, 0, len);
            int at = fast != null ? fast.in(window, 0, len) : indexOf(window, 0, len, needle);
            if (at >= 0) return start + at;
            if (start + len >= to) return -1;
        }
    }

    /** Index of {@code needle} in {@code [from, to)} of {@code a}, or -1. */
    static int indexOf(byte[] a, int from, int to, byte[] needle) {
        byte first = needle[0];
        int last = to - needle.length;
        outer:
        for (int i = from; i <= last; i++) {
            if (a[i] != first) continue;
            for (int j = 1; j < needle.length; j++) {
                if (a[i + j] != needle[j]) continue outer;
            }
            return i;
        }
        return -1;
    }

    /** For needles too long for the window (none on the hot path). */
    private static int slowIndexOf(ByteBuf buf, int from, int to, byte[] needle) {
        int last = to - needle.length;
        outer:
        for (int i = from; i <= last; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (buf.getByte(i + j) != needle[j]) continue outer;
            }
            return i;
        }
        return -1;
    }

    public static int skipWhitespace(ByteBuf buf, int from, int to) {
        int i = from;
        while (i < to) {
            byte b = buf.getByte(i);
            if (b != ' ' && b != '\t' && b != '\r' && b != '\n') break;
            i++;
        }
        return i;
    }

    /** As {@link #skipWhitespace(ByteBuf, int, int)}, in an array. */
    static int skipWhitespace(byte[] a, int from, int to) {
        int i = from;
        while (i < to) {
            byte b = a[i];
            if (b != ' ' && b != '\t' && b != '\r' && b != '\n') break;
            i++;
        }
        return i;
    }

    /** As {@link #startsWith(ByteBuf, int, int, byte[])}, in an array. */
    static boolean startsWith(byte[] a, int at, int to, byte[] prefix) {
        if (to - at < prefix.length) return false;
        for (int j = 0; j < prefix.length; j++) {
            if (a[at + j] != prefix[j]) return false;
        }
        return true;
    }

    /**
     * A needle searched for often in arrays: by its least common byte (eight bytes at a time, see
     * {@link #indexOf(byte[], int, int, byte)}), then compared whole where that byte is. A search by the
     * first byte stops at every quote, which is every few bytes of JSON, where a JSON key starts.
     */
    static final class Needle {
        /** The longest needle. */
        static final int MAX_LENGTH = 127;
        /** Bytes of JSON text in about the order of how often they come, the commonest first. */
        private static final String COMMON = "\":,e_tanoisrl0123456789 {}[]cdumphfgbvy-.kwxzqj";

        private final byte[] bytes;
        private final int anchor; // the index of the byte searched for
        private final byte anchorByte;

        Needle(byte[] bytes) {
            if (bytes.length < 1 || bytes.length > MAX_LENGTH) throw new IllegalArgumentException("a needle of 1 to 127 bytes");
            this.bytes = bytes;
            int best = 0, bestRank = -1;
            for (int i = 0; i < bytes.length; i++) {
                int rank = COMMON.indexOf((char) (bytes[i] & 0xff));
                if (rank < 0) rank = COMMON.length(); // not in the list: rarer than all of it
                if (rank > bestRank) {
                    best = i;
                    bestRank = rank;
                }
            }
            anchor = best;
            anchorByte = bytes[best];
        }

        /** Index of the needle in {@code [from, to)} of {@code a}, or -1. */
        int in(byte[] a, int from, int to) {
            int lastStart = to - bytes.length;
            for (int start = from; start <= lastStart; ) {
                int at = Bytes.indexOf(a, start + anchor, lastStart + anchor + 1, anchorByte);
                if (at < 0) return -1;
                start = at - anchor;
                if (java.util.Arrays.equals(a, start, start + bytes.length, bytes, 0, bytes.length)) return start;
                start++;
            }
            return -1;
        }
    }

    private static final java.lang.invoke.VarHandle LONGS =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);

    /** Index of {@code b} in {@code [from, to)} of {@code a}, or -1; eight bytes at a time. */
    public static int indexOf(byte[] a, int from, int to, byte b) {
        int i = from;
        long pattern = (b & 0xffL) * 0x0101010101010101L;
        for (; i + 8 <= to; i += 8) {
            long x = (long) LONGS.get(a, i) ^ pattern; // a zero byte where b is
            long found = (x - 0x0101010101010101L) & ~x & 0x8080808080808080L;
            if (found != 0) return i + (Long.numberOfTrailingZeros(found) >>> 3);
        }
        for (; i < to; i++) if (a[i] == b) return i;
        return -1;
    }

    private static final long ONES = 0x0101010101010101L, HIGHS = 0x8080808080808080L;
    private static final long QUOTES = '"' * ONES, BACKSLASHES = '\\' * ONES;

    /**
     * Index of the first quote or backslash in {@code [from, to)} of {@code a}, or -1; eight bytes at a
     * time: what ends a JSON string, or escapes its next byte.
     */
    public static int quoteOrBackslash(byte[] a, int from, int to) {
        int i = from;
        for (; i + 8 <= to; i += 8) {
            long w = (long) LONGS.get(a, i);
            long q = w ^ QUOTES, b = w ^ BACKSLASHES; // a zero byte where each is
            // The lowest byte flagged is the first zero byte of either (a borrow only flags bytes above one).
            long found = ((q - ONES) & ~q | (b - ONES) & ~b) & HIGHS;
            if (found != 0) return i + (Long.numberOfTrailingZeros(found) >>> 3);
        }
        for (; i < to; i++) if (a[i] == '"' || a[i] == '\\') return i;
        return -1;
    }

    public static boolean startsWith(ByteBuf buf, int at, int to, byte[] prefix) {
        if (to - at < prefix.length) return false;
        for (int j = 0; j < prefix.length; j++) {
            if (buf.getByte(at + j) != prefix[j]) return false;
        }
        return true;
    }

    /** A byte count as people read it: {@code 16 MB}, {@code 512 KB}, {@code 300 bytes}. */
    public static String describeSize(long bytes) {
        if (bytes >= 1 << 20 && bytes % (1 << 20) == 0) return (bytes >> 20) + " MB";
        if (bytes >= 1 << 20) return String.format(java.util.Locale.ROOT, "%.1f MB", bytes / (double) (1 << 20));
        if (bytes >= 1 << 10) return (bytes >> 10) + " KB";
        return bytes + " bytes";
    }
}
