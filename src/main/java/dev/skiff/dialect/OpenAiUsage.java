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
        for (int i = from; i < n; i++) {
            if (a[i] == '\\') i++;
            else if (a[i] == '"') return i;
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
