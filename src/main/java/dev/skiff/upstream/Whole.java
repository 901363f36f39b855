package dev.skiff.upstream;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;

/**
 * Reads an upstream answer that is all there, in one pass over the bytes (and a client's request, the
 * same way: {@link #readRequest}): the answer most providers
 * give a request that is not streamed (HTTP/1.1, a status of 200-599 other than 204 and 304, a body
 * framed by one {@code content-length}, no {@code transfer-encoding}). It becomes one {@link
 * FullHttpResponse} whose body is a slice of the bytes read, and whose trailers are the shared empty
 * map. Netty's decoder would make of it a head, a state machine's worth of line buffers and Strings
 * for the status line, a body piece, and two trips down the pipeline.
 *
 * <p>It gives up (null, nothing read) on anything it does not find exactly as it expects: a head or
 * body not all there yet, a head larger than Netty's decoder takes, a body larger than Netty's decoder
 * would hand over in one piece, folded or empty header lines, a name that is not a token, a value with
 * control characters, a second {@code content-length}, an {@code expect}, a reason phrase that is empty or has blanks around it. Netty's decoder then reads the answer as before,
 * and answers what is wrong with it as before. Header names and values are kept as they came (values
 * without the blanks around them), as Netty's decoder keeps them; the header map does not check them
 * again.
 */
public final class Whole {
    /** "HTTP/1.1", read as one long. */
    private static final long HTTP11 = 0x485454502f312e31L;
    private static final HttpHeadersFactory HEADERS = DefaultHttpHeadersFactory.headersFactory().withValidation(false);
    private static final boolean[] TOKEN = new boolean[128];

    static {
        for (char c = '0'; c <= '9'; c++) TOKEN[c] = true;
        for (char c = 'a'; c <= 'z'; c++) TOKEN[c] = true;
        for (char c = 'A'; c <= 'Z'; c++) TOKEN[c] = true;
        for (char c : "!#$%&'*+-.^_`|~".toCharArray()) TOKEN[c] = true;
    }

    private final int maxStartLine;
    private final int maxHeadBytes;
    private final int maxBodyBytes;
    private int length; // of the body found by the last call of headers
    private int headerCount; // and its header lines, each as four numbers in the head's spans: name at, name length, value at, value length
    /** The head being read, per thread (read at once, by the thread that found it). */
    private static final io.netty.util.concurrent.FastThreadLocal<Head> HEAD = new io.netty.util.concurrent.FastThreadLocal<>() {
        @Override
        protected Head initialValue() {
            return new Head();
        }
    };

    /**
     * For a start line of up to {@code maxStartLine} bytes, header lines of up to {@code maxHeaderBytes}
     * together and a body of up to {@code maxBodyBytes}: what the Netty decoder beside it takes.
     */
    public Whole(int maxStartLine, int maxHeaderBytes, int maxBodyBytes) {
        this.maxStartLine = maxStartLine;
        this.maxHeadBytes = maxStartLine + maxHeaderBytes;
        this.maxBodyBytes = maxBodyBytes;
    }

    /** The answer at {@code in}'s reader index, read (the index moves past it); or null, nothing read. */
    FullHttpResponse read(ByteBuf in) {
        int start = in.readerIndex();
        int end = in.writerIndex();
        // "HTTP/1.1 200 " at the least, then the reason phrase's line.
        if (end - start < 17 || in.getLong(start) != HTTP11) return null;
        int limit = Math.min(end, start + maxHeadBytes);
        int reasonEnd = lineEnd(in, start + 13, Math.min(limit, start + maxStartLine));
        if (reasonEnd < 0) return null;
        Head h = HEAD.get().begin(in, start, reasonEnd + 2);
        byte[] a = h.bytes;
        int o = -start; // a[i + o] is in's byte i
        if (a[8] != ' ' || a[12] != ' ') return null;
        int code = digit(a[9]) * 100 + digit(a[10]) * 10 + digit(a[11]);
        if (code < 200 || code > 599 || code == 204 || code == 304) return null;
        // A reason phrase, without blanks around it (Netty's decoder would trim them).
        if (reasonEnd <= start + 13 || blank(a[13]) || blank(a[reasonEnd - 1 + o])) return null;
        for (int i = 13; i < reasonEnd + o; i++) if (!textByte(a[i])) return null;
        int body = headers(h, reasonEnd + 2, limit);
        if (body < 0) return null;
        HttpHeaders headers = headers(h);
        HttpResponseStatus status = status(code, a, 13, reasonEnd + o);
        return new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body(in, body), headers, EmptyHttpHeaders.INSTANCE);
    }

    /**
     * The request at {@code in}'s reader index, read as {@link #read} reads an answer: HTTP/1.1, a body
     * framed by {@code content-length} (no {@code transfer-encoding}, no {@code expect}), a method of
     * capital letters and a target of visible ASCII; or null, nothing read. {@code target} says whether a
     * request for that target may be read whole (one whose body must come in pieces may not).
     */
    public FullHttpRequest readRequest(ByteBuf in, java.util.function.Predicate<String> target) {
        int start = in.readerIndex();
        int end = in.writerIndex();
        int limit = Math.min(end, start + maxHeadBytes);
        int lineEnd = lineEnd(in, start, Math.min(limit, start + maxStartLine));
        if (lineEnd < 0) return null;
        Head h = HEAD.get().begin(in, start, lineEnd + 2);
        byte[] a = h.bytes;
        int o = -start; // a[i + o] is in's byte i
        int sp = 0, stop = lineEnd + o;
        while (sp <= 16 && sp < stop) {
            byte b = a[sp];
            if (b == ' ') break;
            if (b < 'A' || b > 'Z') return null;
            sp++;
        }
        if (sp == 0 || sp >= stop || a[sp] != ' ') return null;
        int uriEnd = lineEnd + o - 9; // " HTTP/1.1" ends the line
        if (uriEnd <= sp + 1 || a[uriEnd] != ' ' || in.getLong(uriEnd - o + 1) != HTTP11) return null;
        for (int i = sp + 1; i < uriEnd; i++) {
            byte b = a[i];
            if (b <= ' ' || b == 0x7f) return null;
        }
        String uri = new String(a, sp + 1, uriEnd - sp - 1, StandardCharsets.ISO_8859_1);
        if (!target.test(uri)) return null;
        int body = headers(h, lineEnd + 2, limit);
        if (body < 0) return null;
        HttpHeaders headers = headers(h);
        HttpMethod method = HttpMethod.valueOf(new String(a, 0, sp, StandardCharsets.US_ASCII));
        return new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, method, uri, body(in, body), headers, EmptyHttpHeaders.INSTANCE);
    }

    /**
     * Reads the header lines from {@code line} (an index of {@code h}'s buffer), through the empty line
     * that ends them: the index of the body, whose length is then in {@link #length} and all of which is
     * there; or -1. Where each name and value lies is noted in {@code h}, and the header map is made from
     * that only once the whole head was found readable ({@link #headers(Head)}): a streamed answer,
     * given up at its {@code transfer-encoding}, costs no Strings.
     */
    private int headers(Head h, int line, int limit) {
        ByteBuf in = h.in;
        long length = -1;
        int count = 0;
        int o = -h.base;
        while (true) {
            if (line + 1 >= limit) return -1;
            int eol = lineEnd(in, line, limit);
            if (eol < 0) return -1;
            h.cover(eol + 2);
            byte[] a = h.bytes;
            if (a[line + o] == '\r') {
                if (eol != line) return -1;
                line += 2;
                break;
            }
            int colon = line + o, stop = eol + o;
            while (colon < stop) {
                byte b = a[colon];
                if (b == ':') break;
                if (b < 0 || !TOKEN[b]) return -1;
                colon++;
            }
            if (colon == line + o || colon == stop) return -1;
            int from = colon + 1, to = stop;
            while (from < to && blank(a[from])) from++;
            while (to > from && blank(a[to - 1])) to--;
            for (int i = from; i < to; i++) if (!textByte(a[i])) return -1;
            int nameAt = line + o, nameLength = colon - nameAt;
            if (is(a, nameAt, nameLength, "content-length")) {
                if (length >= 0 || from == to || to - from > 9) return -1;
                length = 0;
                for (int i = from; i < to; i++) {
                    int d = a[i] - '0';
                    if (d < 0 || d > 9) return -1;
                    length = length * 10 + d;
                }
            } else if (is(a, nameAt, nameLength, "transfer-encoding") || is(a, nameAt, nameLength, "expect")) {
                return -1;
            }
            int[] spans = h.spans;
            if (4 * count + 4 > spans.length) h.spans = spans = java.util.Arrays.copyOf(spans, spans.length * 2);
            spans[4 * count] = nameAt;
            spans[4 * count + 1] = nameLength;
            spans[4 * count + 2] = from;
            spans[4 * count + 3] = to - from;
            count++;
            line = eol + 2;
        }
        if (length < 0 || length > maxBodyBytes || in.writerIndex() - line < length) return -1;
        this.length = (int) length;
        this.headerCount = count;
        return line;
    }

    /** The header map of the head {@link #headers(Head, int, int)} last read into {@code h}. */
    private HttpHeaders headers(Head h) {
        HttpHeaders headers = HEADERS.newHeaders();
        int[] s = h.spans;
        for (int i = 0; i < 4 * headerCount; i += 4) {
            int name = h.name(s[i], s[i + 1]);
            headers.add(h.names[name], h.value(name, s[i + 2], s[i + 3]));
        }
        return headers;
    }

    /**
     * A thread's copy of the head being read, taken from the buffer a line at a time as the reading gets
     * there (a ByteBuf's own byte reads check its bounds and reference count each time), and the
     * Strings of the names it has seen (and of the values of a few of them), kept so that the same
     * names and values in the next heads are not made again. Names are kept as they came; a String is
     * taken from the cache only when it has exactly the bytes read.
     */
    static final class Head {
        /** Names whose values are kept too: neither secret nor different on every request. */
        private static final java.util.Set<String> SHARED_VALUES = java.util.Set.of(
                "content-type", "content-length", "connection", "host", "accept", "accept-encoding", "content-encoding",
                "user-agent", "cache-control", "vary", "server");
        private static final int NAMES = 64, VALUES = 128, LONGEST = 64;

        byte[] bytes = new byte[1024];
        int[] spans = new int[64];
        ByteBuf in;
        int base; // in's index of bytes[0]
        int have; // bytes copied
        final String[] names = new String[NAMES];
        private final boolean[] sharedValue = new boolean[NAMES];
        private final String[] values = new String[VALUES];

        /** Starts on the head at {@code base} in {@code in}, copying its bytes up to {@code to}. */
        Head begin(ByteBuf in, int base, int to) {
            this.in = in;
            this.base = base;
            this.have = 0;
            cover(to);
            return this;
        }

        /** Makes sure the bytes up to {@code to} (an index of {@link #in}) are copied. */
        void cover(int to) {
            int n = to - base;
            if (n <= have) return;
            if (n > bytes.length) bytes = java.util.Arrays.copyOf(bytes, Math.max(n, 2 * bytes.length));
            in.getBytes(base + have, bytes, have, n - have);
            have = n;
        }

        /** The slot in {@link #names} of the name at {@code at} (an index of {@link #bytes}), made there if it was not. */
        int name(int at, int length) {
            int hash = hash(at, length);
            int slot = hash & (NAMES - 1);
            String known = names[slot];
            if (known == null || !same(known, at, length)) {
                known = new String(bytes, at, length, StandardCharsets.ISO_8859_1);
                names[slot] = known;
                sharedValue[slot] = SHARED_VALUES.contains(known.toLowerCase(java.util.Locale.ROOT));
            }
            return slot;
        }

        /** The value at {@code at} of the header whose name is in slot {@code name}. */
        String value(int name, int at, int length) {
            if (!sharedValue[name] || length > LONGEST) return new String(bytes, at, length, StandardCharsets.ISO_8859_1);
            int slot = (hash(at, length) * 31 + name) & (VALUES - 1);
            String known = values[slot];
            if (known == null || !same(known, at, length)) {
                known = new String(bytes, at, length, StandardCharsets.ISO_8859_1);
                values[slot] = known;
            }
            return known;
        }

        private int hash(int at, int length) {
            int h = length;
            for (int i = at; i < at + length; i++) h = 31 * h + bytes[i];
            return h ^ (h >>> 7) ^ (h >>> 16);
        }

        private boolean same(String s, int at, int length) {
            if (s.length() != length) return false;
            for (int i = 0; i < length; i++) if (s.charAt(i) != (char) (bytes[at + i] & 0xff)) return false;
            return true;
        }
    }

    /** The body of {@link #length} bytes at {@code at}, read. */
    private ByteBuf body(ByteBuf in, int at) {
        ByteBuf body = length == 0 ? Unpooled.EMPTY_BUFFER : in.retainedSlice(at, length);
        in.readerIndex(at + length);
        return body;
    }

    /**
     * Whether a decoder of Netty's that was given {@code in} from {@code from} on, and added what is in
     * {@code out} from {@code before} on, is at the start of a message now ({@code was}: it was before).
     * It returns at the end of each message: after its last piece, read without fault, it is at the start
     * of the next; having taken in part of a head, it is not.
     */
    public static boolean atStart(boolean was, java.util.List<Object> out, int before, ByteBuf in, int from) {
        if (out.size() > before) return out.get(out.size() - 1) instanceof LastHttpContent last && last.decoderResult().isSuccess();
        return was && in.readerIndex() == from;
    }

    /** The index of the CR of the CRLF that ends the line from {@code from}; -1 when there is none before {@code limit}, or a bare LF. */
    private static int lineEnd(ByteBuf in, int from, int limit) {
        int lf = in.indexOf(from, limit, (byte) '\n');
        if (lf <= from || in.getByte(lf - 1) != '\r') return -1;
        return lf - 1;
    }

    private static int digit(byte b) {
        int d = b - '0';
        return d >= 0 && d <= 9 ? d : -1000;
    }

    private static boolean blank(byte b) {
        return b == ' ' || b == '\t';
    }

    /** A byte a header value or reason phrase may hold: visible, blank, or beyond ASCII (obs-text). */
    private static boolean textByte(byte b) {
        return b < 0 || b >= 0x20 && b != 0x7f || b == '\t';
    }

    /** Whether the name at {@code at} is {@code lower}, in any case. */
    private static boolean is(byte[] a, int at, int length, String lower) {
        if (length != lower.length()) return false;
        for (int i = 0; i < length; i++) {
            if ((a[at + i] | 0x20) != lower.charAt(i)) return false;
        }
        return true;
    }

    /** The status with this reason phrase: Netty's own when the phrase is its usual one. */
    private static HttpResponseStatus status(int code, byte[] a, int from, int to) {
        HttpResponseStatus known = HttpResponseStatus.valueOf(code);
        String phrase = known.reasonPhrase();
        if (phrase.length() == to - from) {
            boolean same = true;
            for (int i = 0; i < phrase.length() && same; i++) same = phrase.charAt(i) == a[from + i];
            if (same) return known;
        }
        return HttpResponseStatus.valueOf(code, new String(a, from, to - from, StandardCharsets.ISO_8859_1));
    }
}
