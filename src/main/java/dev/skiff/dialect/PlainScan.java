package dev.skiff.dialect;

import java.nio.charset.StandardCharsets;

/**
 * {@link RequestScan}'s reading of a plainly written body straight from its bytes, without a Jackson
 * parser: a parser and what it brings (context, name table, text buffer) cost ~900 bytes and most of
 * the scan's time for every request. It reads the same things at the same offsets and checks the
 * same JSON grammar, and answers null for anything it does not read itself, which then goes to the
 * parser as before: a body that is not valid JSON or breaks a rule (every error message comes from
 * the parser's path), names with escapes or beyond ASCII, text read from a value ({@code model},
 * {@code user}, {@code safety_identifier}) with escapes or beyond ASCII, {@code stream_options} and
 * {@code metadata} objects, a {@code max_tokens} that is not a plain integer, a fraction where an
 * integer is checked, deep nesting, long numbers. Strings that are only skipped may hold escapes and
 * any well-formed UTF-8.
 */
final class PlainScan {
    private static final int MAX_DEPTH = 200; // the parser's limit is 1000: deeper bodies are its to judge
    private static final int MAX_NUMBER = 100; // likewise its limit on a number's length (1000)
    private static final int MAX_NAME = 1000;

    /** Names read often, so that matching one makes no String. */
    private static final String[] KNOWN = {"model", "messages", "stream", "max_tokens", "max_completion_tokens",
            "max_output_tokens", "temperature", "top_p", "tools", "tool_choice", "user", "safety_identifier", "n", "stop",
            "seed", "response_format", "input", "instructions", "system", "metadata", "stream_options",
            "parallel_tool_calls", "store", "reasoning_effort", "reasoning", "logprobs", "presence_penalty",
            "frequency_penalty", "previous_response_id", "text", "include", "top_k", "thinking", "dimensions",
            "encoding_format", "prompt_cache_key"};
    private static final byte[][] KNOWN_BYTES = new byte[KNOWN.length][];

    static {
        for (int i = 0; i < KNOWN.length; i++) KNOWN_BYTES[i] = KNOWN[i].getBytes(StandardCharsets.US_ASCII);
    }

    private final byte[] a;
    private final int end;
    private int at;
    private boolean plainText; // the last string value read has neither escapes nor bytes beyond ASCII

    private PlainScan(byte[] a, int end) {
        this.a = a;
        this.end = end;
    }

    /** The scan of {@code a[0, length)}, or null when the parser's path must read it. */
    static RequestScan of(byte[] a, int length, JsonTypes.Table types) {
        try {
            return new PlainScan(a, length).scan(types);
        } catch (Fallback f) {
            return null;
        }
    }

    /** Not for this reader: the parser's path reads the body. */
    private static final class Fallback extends RuntimeException {
        Fallback() {
            super(null, null, false, false);
        }
    }

    private static final Fallback FALLBACK = new Fallback();

    private RequestScan scan(JsonTypes.Table types) {
        skipWs();
        if (at >= end || a[at] != '{') throw FALLBACK;
        int rootStart = at++;
        String model = null;
        int modelStart = -1, modelEnd = -1;
        boolean stream = false;
        long maxTokens = -1;
        String safetyIdentifier = null, user = null;
        skipWs();
        if (peek() == '}') {
            at++;
        } else {
            while (true) {
                String field = name();
                skipWs();
                if (peek() != ':') throw FALLBACK;
                at++;
                skipWs();
                int start = at;
                byte v = peek();
                switch (field) {
                    case "model" -> {
                        if (v != '"') throw FALLBACK;
                        string();
                        if (!plainText) throw FALLBACK;
                        modelStart = start;
                        modelEnd = at;
                        model = new String(a, start + 1, at - start - 2, StandardCharsets.ISO_8859_1);
                    }
                    case "stream" -> {
                        if (v == 't') {
                            literal(TRUE);
                            stream = true;
                        } else if (v == 'f' || v == 'n') {
                            literal(v == 'f' ? FALSE : NULL);
                            stream = false;
                        } else {
                            throw FALLBACK;
                        }
                    }
                    case "stream_options", "metadata" -> throw FALLBACK;
                    case "max_tokens", "max_completion_tokens", "max_output_tokens" -> {
                        if (v == 'n') {
                            literal(NULL);
                        } else {
                            if (number() || at - start > 18) throw FALLBACK; // a fraction, or maybe past a long
                            maxTokens = Math.max(maxTokens, Long.parseLong(new String(a, start, at - start, StandardCharsets.ISO_8859_1)));
                        }
                    }
                    default -> {
                        int kinds = types.kindsOf(field);
                        int found = value(0);
                        if (kinds != 0 && found != 0 && (kinds & found) == 0) throw FALLBACK; // the parser's path says what is wrong
                        if (found == JsonTypes.STRING && (field.equals("safety_identifier") || field.equals("user"))) {
                            if (!plainText) throw FALLBACK;
                            String text = new String(a, start + 1, at - start - 2, StandardCharsets.ISO_8859_1);
                            if (field.equals("user")) user = text;
                            else safetyIdentifier = text;
                        }
                    }
                }
                skipWs();
                byte c = peek();
                at++;
                if (c == '}') break;
                if (c != ',') throw FALLBACK;
                skipWs();
            }
        }
        skipWs();
        if (at != end) throw FALLBACK;
        if (model == null || model.isBlank()) throw FALLBACK;
        return new RequestScan(rootStart, model, modelStart, modelEnd, stream, -1, -1, false, true, null, -1, -1, maxTokens,
                safetyIdentifier != null ? safetyIdentifier : user);
    }

    private byte peek() {
        if (at >= end) throw FALLBACK;
        return a[at];
    }

    private void skipWs() {
        while (at < end) {
            byte c = a[at];
            if (c != ' ' && c != '\n' && c != '\r' && c != '\t') return;
            at++;
        }
    }

    /** A member's name: ASCII without escapes. */
    private String name() {
        if (peek() != '"') throw FALLBACK;
        int start = ++at;
        while (true) {
            byte c = peek();
            if (c == '"') break;
            if (c < 0x20 || c == '\\') throw FALLBACK; // negative: beyond ASCII
            at++;
        }
        int n = at - start;
        at++;
        if (n > MAX_NAME) throw FALLBACK;
        for (int i = 0; i < KNOWN_BYTES.length; i++) {
            byte[] k = KNOWN_BYTES[i];
            if (k.length == n && java.util.Arrays.equals(a, start, start + n, k, 0, n)) return KNOWN[i];
        }
        return new String(a, start, n, StandardCharsets.ISO_8859_1);
    }

    /**
     * Skips one value, checking it; its kind as {@link JsonTypes} names them (a number with a fraction
     * or exponent is {@link JsonTypes#NUMBER}, one without {@link JsonTypes#INTEGER} too), 0 for null.
     */
    private int value(int depth) {
        byte v = peek();
        switch (v) {
            case '"' -> {
                string();
                return JsonTypes.STRING;
            }
            case '{' -> {
                if (depth >= MAX_DEPTH) throw FALLBACK;
                at++;
                skipWs();
                if (peek() == '}') {
                    at++;
                    return JsonTypes.OBJECT;
                }
                while (true) {
                    if (peek() != '"') throw FALLBACK;
                    string();
                    skipWs();
                    if (peek() != ':') throw FALLBACK;
                    at++;
                    skipWs();
                    value(depth + 1);
                    skipWs();
                    byte c = peek();
                    at++;
                    if (c == '}') return JsonTypes.OBJECT;
                    if (c != ',') throw FALLBACK;
                    skipWs();
                }
            }
            case '[' -> {
                if (depth >= MAX_DEPTH) throw FALLBACK;
                at++;
                skipWs();
                if (peek() == ']') {
                    at++;
                    return JsonTypes.ARRAY;
                }
                while (true) {
                    value(depth + 1);
                    skipWs();
                    byte c = peek();
                    at++;
                    if (c == ']') return JsonTypes.ARRAY;
                    if (c != ',') throw FALLBACK;
                    skipWs();
                }
            }
            case 't' -> {
                literal(TRUE);
                return JsonTypes.BOOLEAN;
            }
            case 'f' -> {
                literal(FALSE);
                return JsonTypes.BOOLEAN;
            }
            case 'n' -> {
                literal(NULL);
                return 0;
            }
            default -> {
                return number() ? JsonTypes.NUMBER : JsonTypes.NUMBER | JsonTypes.INTEGER;
            }
        }
    }

    private static final byte[] TRUE = {'t', 'r', 'u', 'e'}, FALSE = {'f', 'a', 'l', 's', 'e'}, NULL = {'n', 'u', 'l', 'l'};

    private void literal(byte[] word) {
        if (end - at < word.length || !java.util.Arrays.equals(a, at, at + word.length, word, 0, word.length)) throw FALLBACK;
        at += word.length;
        delimiter();
    }

    /** What ends a number or a literal: the parser takes nothing else after one. */
    private void delimiter() {
        if (at >= end) return;
        byte c = a[at];
        if (c != ',' && c != '}' && c != ']' && c != ' ' && c != '\n' && c != '\r' && c != '\t') throw FALLBACK;
    }

    /** A number as JSON writes it; whether it has a fraction or an exponent. */
    private boolean number() {
        int start = at;
        if (peekOr() == '-') at++;
        byte c = peekOr();
        if (c == '0') {
            at++;
        } else if (c >= '1' && c <= '9') {
            while (isDigit(peekOr())) at++;
        } else {
            throw FALLBACK;
        }
        boolean fraction = false;
        if (peekOr() == '.') {
            at++;
            if (!isDigit(peekOr())) throw FALLBACK;
            while (isDigit(peekOr())) at++;
            fraction = true;
        }
        c = peekOr();
        if (c == 'e' || c == 'E') {
            at++;
            c = peekOr();
            if (c == '+' || c == '-') at++;
            if (!isDigit(peekOr())) throw FALLBACK;
            while (isDigit(peekOr())) at++;
            fraction = true;
        }
        if (at - start > MAX_NUMBER) throw FALLBACK;
        delimiter();
        return fraction;
    }

    private byte peekOr() {
        return at < end ? a[at] : 0;
    }

    private static boolean isDigit(byte c) {
        return c >= '0' && c <= '9';
    }

    /** Skips a string (at its opening quote), checking its escapes and UTF-8; notes whether it is plain. */
    private void string() {
        at++;
        boolean plain = true;
        while (true) {
            byte c = peek();
            if (c == '"') {
                at++;
                plainText = plain;
                return;
            }
            if (c == '\\') {
                plain = false;
                at++;
                byte e = peek();
                if (e == 'u') {
                    if (end - at < 5) throw FALLBACK;
                    for (int i = 1; i <= 4; i++) if (Character.digit(a[at + i], 16) < 0) throw FALLBACK;
                    at += 5;
                } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
                    at++;
                } else {
                    throw FALLBACK;
                }
            } else if (c >= 0x20) {
                at++;
            } else if (c >= 0) {
                throw FALLBACK; // a control character: the parser refuses it unescaped
            } else {
                plain = false;
                utf8(c & 0xff);
            }
        }
    }

    /** One well-formed UTF-8 sequence of two to four bytes, from its lead byte at {@code at}. */
    private void utf8(int lead) {
        int n;
        int lo = 0x80, hi = 0xbf; // the second byte's range
        if (lead >= 0xc2 && lead <= 0xdf) {
            n = 1;
        } else if (lead >= 0xe0 && lead <= 0xef) {
            n = 2;
            if (lead == 0xe0) lo = 0xa0;
            else if (lead == 0xed) hi = 0x9f;
        } else if (lead >= 0xf0 && lead <= 0xf4) {
            n = 3;
            if (lead == 0xf0) lo = 0x90;
            else if (lead == 0xf4) hi = 0x8f;
        } else {
            throw FALLBACK;
        }
        if (end - at <= n) throw FALLBACK;
        int b = a[at + 1] & 0xff;
        if (b < lo || b > hi) throw FALLBACK;
        for (int i = 2; i <= n; i++) if ((a[at + i] & 0xc0) != 0x80) throw FALLBACK;
        at += n + 1;
    }
}
