package dev.skiff.dialect;

import io.netty.buffer.ByteBuf;

/** Searches over buffer regions, for the few places where bytes are inspected without parsing. */
public final class Bytes {
    private Bytes() {}

    /** Index of {@code needle} in {@code [from, to)} of {@code buf}, or -1. */
    public static int indexOf(ByteBuf buf, int from, int to, byte[] needle) {
        byte first = needle[0];
        int last = to - needle.length;
        int i = from;
        outer:
        while (i <= last) {
            i = buf.indexOf(i, last + 1, first); // bulk scan for the first byte, then compare the rest
            if (i < 0) return -1;
            for (int j = 1; j < needle.length; j++) {
                if (buf.getByte(i + j) != needle[j]) {
                    i++;
                    continue outer;
                }
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
