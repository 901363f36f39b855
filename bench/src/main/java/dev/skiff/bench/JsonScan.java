package dev.skiff.bench;

import static java.nio.charset.StandardCharsets.US_ASCII;

import io.netty.buffer.ByteBuf;

/**
 * Just enough JSON reading for the mock to pick its answer: is {@code "key": true} present, and
 * how many items does {@code "input"} hold. A real parser would cost the mock more CPU than the
 * gateway it is measuring; these scans touch a few hundred bytes and allocate nothing.
 */
final class JsonScan {
    private JsonScan() {}

    /** True when {@code "key"} is followed, after optional whitespace and a colon, by {@code true}. */
    static boolean isTrue(ByteBuf json, String key) {
        int at = valueStart(json, key, json.readerIndex());
        while (at >= 0) {
            if (startsWith(json, at, "true")) return true;
            at = valueStart(json, key, at);
        }
        return false;
    }

    /** How many inputs an embeddings request has: the length of an {@code "input"} array, else 1. */
    static int inputCount(ByteBuf json) {
        int at = valueStart(json, "input", json.readerIndex());
        if (at < 0 || json.getByte(at) != '[') return 1;
        int depth = 0;
        int items = 0;
        boolean inString = false;
        boolean sawValue = false;
        for (int i = at; i < json.writerIndex(); i++) {
            byte b = json.getByte(i);
            if (inString) {
                if (b == '\\') i++;
                else if (b == '"') inString = false;
                continue;
            }
            switch (b) {
                case '"' -> inString = true;
                case '[', '{' -> depth++;
                case ']', '}' -> depth--;
                case ',' -> {
                    if (depth == 1) items++;
                }
                default -> {}
            }
            if (depth == 0) return sawValue ? items + 1 : 0;
            if (depth >= 1 && i > at && !isSpace(b)) sawValue = true;
        }
        return Math.max(items, 1);
    }

    /** Index of the first non-blank byte of the value of {@code "key"} found from {@code from}, or -1. */
    private static int valueStart(ByteBuf json, String key, int from) {
        byte[] quoted = ('"' + key + '"').getBytes(US_ASCII);
        int end = json.writerIndex();
        for (int i = json.indexOf(from, end, (byte) '"'); i >= 0; i = json.indexOf(i + 1, end, (byte) '"')) {
            if (!matches(json, i, quoted)) continue;
            int j = skipSpace(json, i + quoted.length);
            if (j < end && json.getByte(j) == ':') {
                j = skipSpace(json, j + 1);
                if (j < end) return j;
            }
        }
        return -1;
    }

    private static boolean matches(ByteBuf json, int at, byte[] bytes) {
        if (at + bytes.length > json.writerIndex()) return false;
        for (int k = 0; k < bytes.length; k++) {
            if (json.getByte(at + k) != bytes[k]) return false;
        }
        return true;
    }

    private static boolean startsWith(ByteBuf json, int at, String word) {
        return matches(json, at, word.getBytes(US_ASCII));
    }

    private static int skipSpace(ByteBuf json, int at) {
        while (at < json.writerIndex() && isSpace(json.getByte(at))) at++;
        return at;
    }

    private static boolean isSpace(byte b) {
        return b == ' ' || b == '\t' || b == '\n' || b == '\r';
    }
}
