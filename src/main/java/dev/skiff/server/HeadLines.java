package dev.skiff.server;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The status line and headers of an answer Skiff writes out itself ({@link EncodedResponse}, {@link
 * StreamHead}): a short list of names and values in the order they were added, written as they are.
 * Values must have been checked as the class comment of {@link EncodedResponse} says.
 */
final class HeadLines {
    private static final byte[] HTTP11 = "HTTP/1.1 ".getBytes(StandardCharsets.US_ASCII);

    private CharSequence[] headers = new CharSequence[16]; // name, value, name, value...
    private int size;

    /** Adds a header. */
    void add(CharSequence name, CharSequence value) {
        if (size + 2 > headers.length) headers = Arrays.copyOf(headers, headers.length * 2);
        headers[size++] = name;
        headers[size++] = value;
    }

    /** Replaces every header of that name added before (names compared without case) with this one, or adds it. */
    void set(CharSequence name, CharSequence value) {
        boolean replaced = false;
        for (int i = 0; i < size; ) {
            if (!AsciiString.contentEqualsIgnoreCase(headers[i], name)) {
                i += 2;
            } else if (!replaced) {
                headers[i + 1] = value;
                replaced = true;
                i += 2;
            } else { // a second of the name (a provider may repeat one): gone, as a header map's set does
                remove(i);
            }
        }
        if (!replaced) add(name, value);
    }

    /** Removes every header of that name; whether there was one. */
    boolean remove(CharSequence name) {
        boolean removed = false;
        for (int i = 0; i < size; ) {
            if (AsciiString.contentEqualsIgnoreCase(headers[i], name)) {
                remove(i);
                removed = true;
            } else {
                i += 2;
            }
        }
        return removed;
    }

    private void remove(int i) {
        System.arraycopy(headers, i + 2, headers, i, size - i - 2);
        size -= 2;
    }

    /** Whether a header of that name has that value (both compared without case). */
    boolean has(CharSequence name, CharSequence value) {
        for (int i = 0; i < size; i += 2) {
            if (AsciiString.contentEqualsIgnoreCase(headers[i], name) && AsciiString.contentEqualsIgnoreCase(headers[i + 1], value)) return true;
        }
        return false;
    }

    /** Bytes to reserve for what {@link #writeTo} writes (a guess: the buffer grows if it is short). */
    int estimate() {
        return 96 + size * 24;
    }

    /** The headers as name, value, name, value..., with {@code room} free places at the end. */
    String[] pairs(int room) {
        String[] out = new String[size + room];
        for (int i = 0; i < size; i++) out[i] = headers[i].toString();
        return out;
    }

    /** Writes the status line and the headers, not the empty line that ends them. */
    void writeTo(ByteBuf out, HttpResponseStatus status) {
        DirectCopy.write(out, HTTP11, 0, HTTP11.length);
        DirectCopy.ascii(out, status.codeAsText());
        out.writeByte(' ');
        DirectCopy.ascii(out, status.reasonPhrase());
        crlf(out);
        for (int i = 0; i < size; i += 2) header(out, headers[i], headers[i + 1]);
    }

    static void header(ByteBuf out, CharSequence name, CharSequence value) {
        DirectCopy.ascii(out, name);
        out.writeByte(':').writeByte(' ');
        DirectCopy.ascii(out, value);
        crlf(out);
    }

    static void crlf(ByteBuf out) {
        out.writeByte('\r').writeByte('\n');
    }
}
