package dev.skiff.dialect;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Bounds on the JSON Skiff reads into trees (translated requests, answers and stream events). A
 * tree costs ~60 bytes of heap per token, and the code that walks it recurses once per level: a
 * body of tiny values, or one nested hundreds of levels deep, would exhaust a small heap or a 256 KB
 * thread stack long before the body-size limit. Forwarded bodies are never read into trees and are
 * not bound by these.
 */
public final class JsonLimits {
    /** Deepest nesting of objects and arrays; real requests (tool schemas included) stay far below. */
    public static final int MAX_DEPTH = 64;
    /** Most tokens (names, values, brackets) in one document. */
    public static final long MAX_TOKENS = 400_000;

    /** The constraints the tree reader applies too, as a second guard behind {@link #count}. */
    public static final StreamReadConstraints CONSTRAINTS = StreamReadConstraints.builder()
            .maxNestingDepth(MAX_DEPTH).maxTokenCount(MAX_TOKENS).build();

    // Counting uses Jackson's default constraints, looser than ours, so that ours fire first and say why.
    private static final JsonFactory FACTORY = JsonFactory.builder().build();

    private JsonLimits() {}

    /** What a document exceeds. */
    public static final class LimitException extends Exception {
        LimitException(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Counts the tokens of a JSON document in one pass, without building anything. A document that
     * is not well-formed JSON is counted up to its first error, or about that far: reading it into a
     * tree will say what is wrong.
     *
     * <p>The pass is a scan of the bytes for brackets, strings and scalars, which counts a well-formed
     * document's tokens exactly and costs a fraction of a tokenizer (it ran on every translated request
     * and answer: 5% of a translated request's profile). Only when the scan finds a limit exceeded does
     * Jackson's tokenizer count again, so that a limit is reported exactly where it would stop reading.
     *
     * @param what names the document in the message, e.g. "The request body"
     * @throws LimitException when it nests deeper than {@link #MAX_DEPTH} or has more than {@link #MAX_TOKENS} tokens
     */
    public static long count(ByteBuf body, String what) throws LimitException {
        Scan scan = new Scan();
        int from = body.readerIndex(), to = body.writerIndex();
        if (body.hasArray()) {
            scan.feed(body.array(), body.arrayOffset() + from, body.arrayOffset() + to);
        } else {
            byte[] window = Bytes.window();
            for (int at = from; at < to && !scan.exceeded(); at += window.length) {
                int len = Math.min(window.length, to - at);
                body.getBytes(at, window, 0, len);
                scan.feed(window, 0, len);
            }
        }
        return scan.exceeded() ? tokenize(body, what) : scan.tokens;
    }

    /**
     * The scan {@link #count} makes: tokens are brackets, strings (names and values) and scalars
     * (numbers, true, false, null), seen outside strings; commas, colons and whitespace separate them.
     * Fed in pieces, it keeps its place inside a string or scalar from one to the next.
     */
    private static final class Scan {
        long tokens;
        int depth, maxDepth;
        boolean inString, escaped, inScalar;

        boolean exceeded() {
            return tokens > MAX_TOKENS || maxDepth > MAX_DEPTH;
        }

        void feed(byte[] a, int from, int to) {
            long tokens = this.tokens;
            int depth = this.depth, maxDepth = this.maxDepth;
            boolean inString = this.inString, escaped = this.escaped, inScalar = this.inScalar;
            for (int i = from; i < to; i++) {
                byte b = a[i];
                if (inString) {
                    if (escaped) escaped = false;
                    else if (b == '\\') escaped = true;
                    else if (b == '"') inString = false;
                    continue;
                }
                switch (b) {
                    case '"' -> {
                        inString = true;
                        inScalar = false;
                        tokens++;
                    }
                    case '{', '[' -> {
                        inScalar = false;
                        tokens++;
                        if (++depth > maxDepth) maxDepth = depth;
                    }
                    case '}', ']' -> {
                        inScalar = false;
                        tokens++;
                        depth--;
                    }
                    case ',', ':', ' ', '\t', '\r', '\n' -> inScalar = false;
                    default -> {
                        if (!inScalar) tokens++;
                        inScalar = true;
                    }
                }
            }
            this.tokens = tokens;
            this.depth = depth;
            this.maxDepth = maxDepth;
            this.inString = inString;
            this.escaped = escaped;
            this.inScalar = inScalar;
        }
    }

    /** Jackson's count, stopping at a limit with its message, or at the first malformed token. */
    private static long tokenize(ByteBuf body, String what) throws LimitException {
        long tokens = 0;
        int depth = 0;
        try (InputStream in = new ByteBufInputStream(body.duplicate()); JsonParser p = FACTORY.createParser(in)) {
            JsonToken t;
            while ((t = p.nextToken()) != null) {
                if (++tokens > MAX_TOKENS) {
                    throw new LimitException(what + " has more than " + MAX_TOKENS
                            + " JSON tokens (names, values and brackets), more than Skiff translates.");
                }
                if (t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY) {
                    if (++depth > MAX_DEPTH) {
                        throw new LimitException(what + " nests JSON objects and arrays more than " + MAX_DEPTH
                                + " levels deep, more than Skiff translates.");
                    }
                } else if (t == JsonToken.END_OBJECT || t == JsonToken.END_ARRAY) {
                    depth--;
                }
            }
        } catch (IOException e) {
            // Malformed: counted so far; reading it into a tree will say what is wrong.
        }
        return tokens;
    }

    /** {@link #count} for a client's request: a limit it exceeds is the client's to fix. */
    public static long countRequest(ByteBuf body) throws BadRequestException {
        try {
            return count(body, "The request body");
        } catch (LimitException e) {
            throw new BadRequestException(e.getMessage(), null);
        }
    }
}
