package dev.skiff.dialect;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/** The one Jackson factory (thread-safe, buffer-recycling) and small writing helpers. */
public final class Json {
    public static final JsonFactory FACTORY = JsonFactory.builder().build();

    private Json() {}

    /** A writer callback that may throw Jackson's checked IOException. */
    @FunctionalInterface
    public interface Writer {
        void write(JsonGenerator g) throws IOException;
    }

    /** Writes JSON straight into a pooled buffer, avoiding an intermediate byte array. */
    public static ByteBuf write(ByteBufAllocator alloc, Writer writer) {
        ByteBuf buf = alloc.buffer(256);
        try (JsonGenerator g = FACTORY.createGenerator((java.io.OutputStream) new ByteBufOutputStream(buf))) {
            writer.write(g);
        } catch (IOException e) {
            buf.release();
            throw new UncheckedIOException(e);
        }
        return buf;
    }

    /** Whether {@code body} holds one whole JSON value and nothing after it; does not consume it. */
    public static boolean isComplete(ByteBuf body) {
        try (java.io.InputStream in = new io.netty.buffer.ByteBufInputStream(body.duplicate());
             com.fasterxml.jackson.core.JsonParser p = FACTORY.createParser(in)) {
            if (p.nextToken() == null) return false;
            p.skipChildren();
            return p.nextToken() == null;
        } catch (IOException e) {
            return false;
        }
    }

    /** The JSON string literal, quotes included, as UTF-8 bytes. */
    public static byte[] quote(String s) {
        // Most values (model names, every request's) are printable ASCII with nothing to escape: copied
        // as they are, without the encoder's buffers.
        int n = s.length();
        byte[] plain = new byte[n + 2];
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
                plain = null;
                break;
            }
            plain[i + 1] = (byte) c;
        }
        if (plain != null) {
            plain[0] = '"';
            plain[n + 1] = '"';
            return plain;
        }
        return encoded(s);
    }

    /** {@link #quote} by Jackson's encoder, whatever the value holds. */
    static byte[] encoded(String s) {
        byte[] inner = JsonStringEncoder.getInstance().quoteAsUTF8(s);
        byte[] out = new byte[inner.length + 2];
        out[0] = '"';
        System.arraycopy(inner, 0, out, 1, inner.length);
        out[out.length - 1] = '"';
        return out;
    }
}
