package dev.skiff.dialect;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * Puts the model name the client asked for into a forwarded answer. A same-dialect answer names the
 * provider's model ({@code claude-sonnet-4-5}, or a dated snapshot), while a translated one names the
 * client's ({@code anthropic/claude-sonnet-4-5}); clients that compare the two, or key caches and
 * pricing on it, need one rule, so every path answers with the client's name.
 *
 * <p>Only the model's string value is replaced (a {@link BodyEdit}), never the rest of the bytes. The
 * model is looked for where the dialects put it: at the top level (chat completions and chunks,
 * Messages, Responses objects, embeddings) or one level down in a top-level {@code message} (Anthropic's
 * {@code message_start}) or {@code response} (the Responses stream's {@code response.*} events).
 */
public final class AnswerModel {
    private static final byte[] MODEL_KEY = "\"model\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] DATA = "data:".getBytes(StandardCharsets.US_ASCII);

    private final String clientModel;
    private final byte[] quoted;

    public AnswerModel(String clientModel) {
        this.clientModel = clientModel;
        this.quoted = Json.quote(clientModel);
    }

    /** A complete JSON answer with its model renamed. Consumes {@code body} (as {@link BodyEdit#apply} does). */
    public ByteBuf body(ByteBuf body, ByteBufAllocator alloc) {
        return rename(body, body.readerIndex(), body.writerIndex(), alloc);
    }

    /** One SSE event with the model in its first {@code data:} line renamed. Consumes {@code event}. */
    public ByteBuf event(ByteBuf event, ByteBufAllocator alloc) {
        int start = event.readerIndex(), end = event.writerIndex();
        // Most events (text deltas) carry no model at all: one byte search passes them by unparsed.
        if (Bytes.indexOf(event, start, end, MODEL_KEY) < 0) return event;
        int data = dataStart(event, start, end);
        if (data < 0) return event;
        int nl = event.indexOf(data, end, (byte) '\n');
        return rename(event, data, nl < 0 ? end : nl, alloc);
    }

    private ByteBuf rename(ByteBuf buf, int from, int to, ByteBufAllocator alloc) {
        long span = find(buf, from, to);
        if (span < 0) return buf;
        int valueStart = from + (int) (span >>> 32), valueEnd = from + (int) span;
        int base = buf.readerIndex();
        if (equalsQuoted(buf, valueStart, valueEnd)) return buf;
        return new BodyEdit().replace(valueStart - base, valueEnd - base, quoted).apply(alloc, buf);
    }

    private boolean equalsQuoted(ByteBuf buf, int start, int end) {
        if (end - start != quoted.length) return false;
        for (int i = 0; i < quoted.length; i++) if (buf.getByte(start + i) != quoted[i]) return false;
        return true;
    }

    /**
     * Where the model's string value (quotes included) lies in {@code [from, to)}, relative to
     * {@code from}, as {@code start << 32 | end}; -1 when there is none or the bytes are not a JSON
     * object. Stops at the first answer, which comes early in every dialect's answers.
     */
    static long find(ByteBuf buf, int from, int to) {
        try (InputStream in = new ByteBufInputStream(buf.slice(from, to - from));
             JsonParser p = Json.FACTORY.createParser(in)) {
            if (p.nextToken() != JsonToken.START_OBJECT) return -1;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken v = p.nextToken();
                if (name.equals("model") && v == JsonToken.VALUE_STRING) return span(p);
                if ((name.equals("message") || name.equals("response")) && v == JsonToken.START_OBJECT) {
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String inner = p.currentName();
                        JsonToken iv = p.nextToken();
                        if (inner.equals("model") && iv == JsonToken.VALUE_STRING) return span(p);
                        p.skipChildren();
                    }
                } else {
                    p.skipChildren();
                }
            }
            return -1;
        } catch (IOException | RuntimeException e) {
            return -1; // not JSON after all (a comment, a truncated line): left as it is
        }
    }

    private static long span(JsonParser p) throws IOException {
        long start = p.currentTokenLocation().getByteOffset();
        p.finishToken();
        long end = p.currentLocation().getByteOffset();
        return start << 32 | end;
    }

    private static int dataStart(ByteBuf event, int start, int end) {
        int line = start;
        while (line < end) {
            if (Bytes.startsWith(event, line, end, DATA)) {
                int p = line + DATA.length;
                return p < end && event.getByte(p) == ' ' ? p + 1 : p;
            }
            int nl = event.indexOf(line, end, (byte) '\n');
            if (nl < 0) return -1;
            line = nl + 1;
        }
        return -1;
    }

    public String clientModel() {
        return clientModel;
    }
}
