package dev.skiff.dialect;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Reads usage from an OpenAI chat completion, chunk or embeddings response in one streaming pass.
 * Only the top-level {@code usage} object is decoded; other members are tokenized and skipped.
 */
public final class OpenAiUsage {
    /** Usage found (or {@link Usage#NONE}) and whether {@code choices} was present and empty. */
    public record Found(Usage usage, boolean choicesEmpty) {}

    private static final Found NOTHING = new Found(Usage.NONE, false);

    private OpenAiUsage() {}

    public static Found scan(ByteBuf json) {
        byte[] a = Bytes.readable(json);
        if (a == null) return tokenized(json);
        int n = json.readableBytes();
        long found = topLevel(a, n);
        if (found == UNSURE) return tokenized(json);
        int usageAt = (int) (found >>> 1);
        boolean choicesEmpty = (found & 1) != 0;
        if (usageAt == NO_USAGE) return choicesEmpty ? new Found(Usage.NONE, true) : NOTHING;
        Usage plain = new PlainUsage(a, usageAt, n).read();
        if (plain != null) return new Found(plain, choicesEmpty);
        try (JsonParser p = Json.FACTORY.createParser(a, usageAt, n - usageAt)) {
            p.nextToken(); // the usage object's start, found by the scan
            return new Found(readUsage(p), choicesEmpty);
        } catch (IOException | RuntimeException e) {
            return NOTHING;
        }
    }

    private static final long UNSURE = -1;
    private static final int NO_USAGE = (1 << 30) - 1;
    private static final byte[] USAGE = "usage".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final byte[] CHOICES = "choices".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    /**
     * Where the top-level {@code usage} object starts and whether {@code choices} is an empty array,
     * found by a scan of the bytes (brackets and strings), as {@code usageAt << 1 | choicesEmpty}
     * ({@link #NO_USAGE} for no usage object); the last of a repeated member counts, as in a parse.
     * The tokenizer only reads the usage object then, not the choices before it, which are most of
     * an answer (a full parse was 9% of a chat request's profile). {@link #UNSURE} when the bytes are
     * not one complete object (truncated, or not an object at all): the caller parses them instead.
     * Well-formed answers read as a parse reads them; inside an object that is malformed elsewhere
     * (a missing colon among the choices), the usage object is still read where a parse gave up.
     */
    static long topLevel(byte[] a, int n) {
        int i = skipSpace(a, 0, n);
        if (i >= n || a[i] != '{') return UNSURE;
        int usageAt = NO_USAGE;
        boolean choicesEmpty = false, keyNext = true;
        int depth = 0;
        for (; i < n; i++) {
            byte b = a[i];
            switch (b) {
                case '"' -> {
                    int start = i + 1;
                    i = stringEnd(a, start, n);
                    if (i >= n) return UNSURE;
                    if (depth != 1 || !keyNext) break;
                    keyNext = false;
                    boolean usage = equals(a, start, i, USAGE), choices = !usage && equals(a, start, i, CHOICES);
                    if (!usage && !choices) break;
                    int v = skipSpace(a, i + 1, n);
                    if (v >= n || a[v] != ':') return UNSURE;
                    v = skipSpace(a, v + 1, n);
                    if (v >= n) return UNSURE;
                    if (usage && a[v] == '{') usageAt = v;
                    if (choices && a[v] == '[') {
                        int next = skipSpace(a, v + 1, n);
                        choicesEmpty = next < n && a[next] == ']';
                    }
                }
                case '{', '[' -> {
                    depth++;
                    keyNext = b == '{' && depth == 1;
                }
                case '}', ']' -> {
                    if (--depth == 0) return skipSpace(a, i + 1, n) == n ? (long) usageAt << 1 | (choicesEmpty ? 1 : 0) : UNSURE;
                }
                case ',' -> keyNext = depth == 1;
                default -> {}
            }
        }
        return UNSURE;
    }

    /** The index of the quote that ends the string whose contents start at {@code from}, or {@code n}. */
    private static int stringEnd(byte[] a, int from, int n) {
        for (int i = from; i < n; i += 2) { // past an escape and the byte it escapes
            i = Bytes.quoteOrBackslash(a, i, n);
            if (i < 0) return n;
            if (a[i] == '"') return i;
        }
        return n;
    }

    private static int skipSpace(byte[] a, int from, int n) {
        int i = from;
        while (i < n && (a[i] == ' ' || a[i] == '\t' || a[i] == '\r' || a[i] == '\n')) i++;
        return i;
    }

    private static boolean equals(byte[] a, int from, int to, byte[] word) {
        return to - from == word.length && java.util.Arrays.equals(a, from, to, word, 0, word.length);
    }

    /** The same answer from a full parse: for bodies the scan is unsure of, and as the reference in tests. */
    static Found tokenized(ByteBuf json) {
        try (InputStream in = new ByteBufInputStream(json.duplicate());
             JsonParser p = Json.FACTORY.createParser(in)) {
            if (p.nextToken() != JsonToken.START_OBJECT) return NOTHING;
            Usage usage = Usage.NONE;
            boolean choicesEmpty = false;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken v = p.nextToken();
                if (name.equals("usage") && v == JsonToken.START_OBJECT) {
                    usage = readUsage(p);
                } else if (name.equals("choices") && v == JsonToken.START_ARRAY) {
                    choicesEmpty = p.nextToken() == JsonToken.END_ARRAY;
                    if (!choicesEmpty) skipRestOfArray(p);
                } else {
                    p.skipChildren();
                }
            }
            return new Found(usage, choicesEmpty);
        } catch (IOException | RuntimeException e) {
            return NOTHING; // usage is observational: a body we cannot read still goes to the client
        }
    }

    private static void skipRestOfArray(JsonParser p) throws IOException {
        // The parser sits on the first element; skip it and its siblings.
        p.skipChildren();
        while (p.nextToken() != JsonToken.END_ARRAY) p.skipChildren();
    }

    /**
     * Reads a usage object written the way providers write it (ASCII names without escapes, integer
     * counts, nested detail objects) straight from the bytes: making a Jackson parser for these few
     * members cost about as much as reading them. Anything else (a fraction, an escape, a long or
     * malformed number, non-ASCII text) makes {@link #read} answer null, and the caller parses the
     * object with Jackson as before, so both read every object alike.
     */
    static final class PlainUsage {
        private final byte[] a;
        private final int n;
        private int i;

        PlainUsage(byte[] a, int at, int n) {
            this.a = a;
            this.i = at;
            this.n = n;
        }

        /** The usage of the object at the start, or null when it is not plain (see above). */
        Usage read() {
            long prompt = -1, completion = -1, total = -1, cached = -1, reasoning = -1;
            if (!open()) return null;
            for (int key; (key = nextKey()) != END; ) {
                if (key == BAIL) return null;
                if (is(PROMPT_TOKENS) || is(INPUT_TOKENS)) prompt = number();
                else if (is(COMPLETION_TOKENS) || is(OUTPUT_TOKENS)) completion = number();
                else if (is(TOTAL_TOKENS)) total = number();
                else if (is(PROMPT_DETAILS) || is(INPUT_DETAILS)) cached = detail(CACHED_TOKENS, cached);
                else if (is(COMPLETION_DETAILS) || is(OUTPUT_DETAILS)) reasoning = detail(REASONING_TOKENS, reasoning);
                else if (!skip(0)) return null;
                if (i < 0) return null;
            }
            return new Usage(prompt, completion, total, cached, reasoning);
        }

        private static final int KEY = 0, END = -1, BAIL = -2;
        private static final long NOT_PLAIN = Long.MIN_VALUE;

        /** Past the object's opening brace, ready for {@link #nextKey}. */
        private boolean open() {
            i = space(i);
            if (i >= n || a[i] != '{') return false;
            i = space(i + 1);
            if (i < n && a[i] == '}') {
                first = false;
                empty = true;
            } else {
                first = true;
                empty = false;
            }
            return true;
        }

        // Where the reader is in the innermost open object: before its first member, or in one with no
        // members. A nested object is read whole within a member of its parent, and leaves both false,
        // which is the parent's state there, so one pair serves every level.
        private boolean first, empty;
        private int keyFrom, keyTo; // the name nextKey found

        /**
         * {@link #KEY} for the next member (its name in keyFrom, keyTo; the position past its colon),
         * {@link #END} past the closing brace, {@link #BAIL} for anything not plain.
         */
        private int nextKey() {
            if (empty) {
                empty = false;
                i++;
                return END;
            }
            i = space(i);
            if (i >= n) return BAIL;
            if (!first) {
                if (a[i] == '}') {
                    i++;
                    return END;
                }
                if (a[i] != ',') return BAIL;
                i = space(i + 1);
            }
            first = false;
            int end = plainString(i);
            if (end < 0) return BAIL;
            keyFrom = i + 1;
            keyTo = end;
            i = space(end + 1);
            if (i >= n || a[i] != ':') return BAIL;
            i = space(i + 1);
            return KEY;
        }

        /** An integer count, -1 for another plain value (skipped); sets i to -1 when not plain. */
        private long number() {
            long v = integer();
            if (v == NOT_PLAIN) {
                if (!skip(0)) i = -1;
                return -1;
            }
            return v;
        }

        /** {@code field} of the object here (the last one if repeated), else {@code current}. */
        private long detail(byte[] field, long current) {
            if (i >= n || a[i] != '{') {
                if (!skip(0)) i = -1;
                return current;
            }
            if (!open()) {
                i = -1;
                return current;
            }
            long found = current;
            for (int key; (key = nextKey()) != END; ) {
                if (key == BAIL) {
                    i = -1;
                    return current;
                }
                if (is(field)) found = number();
                else if (!skip(1)) i = -1;
                if (i < 0) return current;
            }
            return found;
        }

        /** A plain integer here, position past it; {@link #NOT_PLAIN} (position unchanged) otherwise. */
        private long integer() {
            int j = i;
            boolean negative = j < n && a[j] == '-';
            if (negative) j++;
            int digits = j;
            long v = 0;
            while (j < n && a[j] >= '0' && a[j] <= '9') v = v * 10 + (a[j++] - '0');
            int count = j - digits;
            // No leading zeros (a parse rejects them), and few enough digits that a long cannot overflow.
            if (count == 0 || count > 18 || (count > 1 && a[digits] == '0') || !delimiter(j)) return NOT_PLAIN;
            i = j;
            return negative ? -v : v;
        }

        /** Moves past a plain value (nested objects up to a few levels); false when it is not plain. */
        private boolean skip(int depth) {
            if (i >= n || depth > 4) return false;
            byte b = a[i];
            if (b == '"') {
                int end = plainString(i);
                if (end < 0) return false;
                i = end + 1;
                return true;
            }
            if (b == '{') {
                if (!open()) return false;
                for (int key; (key = nextKey()) != END; ) {
                    if (key == BAIL || !skip(depth + 1)) return false;
                }
                return true;
            }
            if (integer() != NOT_PLAIN) return true;
            for (byte[] word : LITERALS) {
                if (i + word.length <= n && java.util.Arrays.equals(a, i, i + word.length, word, 0, word.length) && delimiter(i + word.length)) {
                    i += word.length;
                    return true;
                }
            }
            return false; // arrays, fractions and the rest: the parser reads them
        }

        /** The index of the closing quote of the ASCII, escape-free string opening at {@code q}, or -1. */
        private int plainString(int q) {
            if (q >= n || a[q] != '"') return -1;
            for (int j = q + 1; j < n; j++) {
                byte b = a[j];
                if (b == '"') return j;
                if (b == '\\' || b < 0x20) return -1; // escapes, controls, and (negative) non-ASCII bytes
            }
            return -1;
        }

        private boolean delimiter(int j) {
            if (j >= n) return false;
            byte b = a[j];
            return b == ',' || b == '}' || b == ']' || b == ' ' || b == '\t' || b == '\r' || b == '\n';
        }

        private int space(int from) {
            return skipSpace(a, from, n);
        }

        private boolean is(byte[] word) {
            return OpenAiUsage.equals(a, keyFrom, keyTo, word);
        }

        private static final byte[][] LITERALS = {ascii("null"), ascii("true"), ascii("false")};
        private static final byte[] PROMPT_TOKENS = ascii("prompt_tokens"), INPUT_TOKENS = ascii("input_tokens"),
                COMPLETION_TOKENS = ascii("completion_tokens"), OUTPUT_TOKENS = ascii("output_tokens"),
                TOTAL_TOKENS = ascii("total_tokens"), PROMPT_DETAILS = ascii("prompt_tokens_details"),
                INPUT_DETAILS = ascii("input_tokens_details"), COMPLETION_DETAILS = ascii("completion_tokens_details"),
                OUTPUT_DETAILS = ascii("output_tokens_details"), CACHED_TOKENS = ascii("cached_tokens"),
                REASONING_TOKENS = ascii("reasoning_tokens");

        private static byte[] ascii(String s) {
            return s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        }
    }

    private static Usage readUsage(JsonParser p) throws IOException {
        long prompt = -1, completion = -1, total = -1, cached = -1, reasoning = -1;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken v = p.nextToken();
            switch (name) {
                case "prompt_tokens", "input_tokens" -> prompt = UsageScan.number(p, v);
                case "completion_tokens", "output_tokens" -> completion = UsageScan.number(p, v);
                case "total_tokens" -> total = UsageScan.number(p, v);
                case "prompt_tokens_details", "input_tokens_details" -> cached = UsageScan.detail(p, v, "cached_tokens", cached);
                case "completion_tokens_details", "output_tokens_details" -> reasoning = UsageScan.detail(p, v, "reasoning_tokens", reasoning);
                default -> p.skipChildren();
            }
        }
        return new Usage(prompt, completion, total, cached, reasoning);
    }
}
