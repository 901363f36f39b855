package dev.skiff.dialect;

import io.netty.buffer.ByteBuf;

/** Searches over buffer regions, for the few places where bytes are inspected without parsing. */
public final class Bytes {
    private Bytes() {}

    /** Index of {@code needle} in {@code [from, to)} of {@code buf}, or -1. */
    public static int indexOf(ByteBuf buf, int from, int to, byte[] needle) {
        byte first = needle[0];
        int last = to - needle.length;
        outer:
        for (int i = from; i <= last; i++) {
            if (buf.getByte(i) != first) continue;
            for (int j = 1; j < needle.length; j++) {
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

    public static boolean startsWith(ByteBuf buf, int at, int to, byte[] prefix) {
        if (to - at < prefix.length) return false;
        for (int j = 0; j < prefix.length; j++) {
            if (buf.getByte(at + j) != prefix[j]) return false;
        }
        return true;
    }
}
