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
    private static final Bytes.Needle MODEL_NEEDLE = new Bytes.Needle(MODEL_KEY);
    /** Bodies up to this size are copied with the new name; larger ones are edited in place (BodyEdit). */
    private static final int COPY_UP_TO = 16 << 10;

    private final String clientModel;
    private final byte[] quoted;
    // The model member as the provider wrote it in the first event that had one ("model":"x", its
    // spacing included): a stream repeats it in event after event (every chat chunk), so later events
    // find it by a byte search rather than a parse. Inside a JSON string its quotes would be escaped,
    // so the unescaped bytes can only be the member itself.
    private byte[] member;
    private int memberValueAt; // where the quoted value starts within member
    private Bytes.Needle memberNeedle; // the member as a needle for arrays, when it is short enough to be one
    // The model the provider said answered (a dated snapshot, often), noted from the bytes this class
    // searches anyway: the span of a value it finds, or the client's name when every member had it.
    private String providerModel;

    public AnswerModel(String clientModel) {
        this.clientModel = clientModel;
        this.quoted = Json.quote(clientModel);
    }

    /** A complete JSON answer with its model renamed. Consumes {@code body} (as {@link BodyEdit#apply} does). */
    public ByteBuf body(ByteBuf body, ByteBufAllocator alloc) {
        if (namesNoOtherModel(body, body.readerIndex(), body.writerIndex())) return body;
        return rename(body, body.readerIndex(), body.writerIndex(), alloc);
    }

    /**
     * Whether every {@code "model"} member in the bytes already has the client's name (or there is
     * none): then the answer stays as it is whichever of them is the top-level one, and is not
     * parsed. A client that names the provider's own model (most forwarded answers) gets its answer
     * after one byte search. Inside a JSON string the key's quotes would be escaped, so every match
     * followed by a colon is a member.
     */
    private boolean namesNoOtherModel(ByteBuf buf, int from, int to) {
        boolean named = false;
        for (int at = Bytes.indexOf(buf, from, to, MODEL_NEEDLE); at >= 0; at = Bytes.indexOf(buf, at + 1, to, MODEL_NEEDLE)) {
            int i = Bytes.skipWhitespace(buf, at + MODEL_KEY.length, to);
            if (i >= to || buf.getByte(i) != ':') continue; // the word as a value ("object":"model"), not a key
            i = Bytes.skipWhitespace(buf, i + 1, to);
            if (!equalsQuoted(buf, i, Math.min(to, i + quoted.length))) return false;
            named = true;
        }
        if (named && providerModel == null) providerModel = clientModel;
        return true;
    }

    /** One SSE event with the model in its first {@code data:} line renamed. Consumes {@code event}. */
    public ByteBuf event(ByteBuf event, ByteBufAllocator alloc) {
        int start = event.readerIndex(), end = event.writerIndex();
        if (member != null) {
            int at = Bytes.indexOf(event, start, end, member);
            if (at >= 0) return replace(event, at + memberValueAt, at + member.length, alloc);
        }
        // Most events (text deltas) carry no model at all: one byte search passes them by unparsed.
        if (Bytes.indexOf(event, start, end, MODEL_NEEDLE) < 0) return event;
        int data = SseSplitter.dataStart(event, start, end);
        if (data < 0) return event;
        int nl = event.indexOf(data, end, (byte) '\n');
        int to = nl < 0 ? end : nl;
        long span = find(event, data, to);
        if (span < 0) return event;
        int valueStart = data + (int) (span >>> 32), valueEnd = data + (int) span;
        note(event, valueStart, valueEnd);
        remember(event, data, valueStart, valueEnd);
        return replace(event, valueStart, valueEnd, alloc);
    }

    /** Room {@link #event(byte[], int, int)} may need beyond an event's end: what a renamed value may grow by. */
    public int growth() {
        return quoted.length;
    }

    /**
     * As {@link #event(ByteBuf, ByteBufAllocator)}, for an event copied into {@code a} at {@code [start, end)},
     * with at least {@link #growth()} bytes of room after it: the model is renamed where it lies. Returns the
     * event's new end.
     */
    public int event(byte[] a, int start, int end) {
        if (member != null) {
            int at = memberNeedle != null ? memberNeedle.in(a, start, end) : Bytes.indexOf(a, start, end, member);
            if (at >= 0) return replace(a, end, at + memberValueAt, at + member.length);
        }
        if (MODEL_NEEDLE.in(a, start, end) < 0) return end;
        int data = SseSplitter.dataStart(a, start, end);
        if (data < 0) return end;
        int nl = Bytes.indexOf(a, data, end, (byte) '\n');
        int to = nl < 0 ? end : nl;
        long span;
        try (JsonParser p = Json.FACTORY.createParser(a, data, to - data)) {
            span = find(p);
        } catch (IOException | RuntimeException e) {
            return end; // not JSON after all: left as it is
        }
        if (span < 0) return end;
        int valueStart = data + (int) (span >>> 32), valueEnd = data + (int) span;
        if (providerModel == null && valueEnd - valueStart >= 2 && Bytes.indexOf(a, valueStart, valueEnd, (byte) '\\') < 0) {
            providerModel = new String(a, valueStart + 1, valueEnd - valueStart - 2, StandardCharsets.UTF_8); // as note does
        }
        ByteBuf view = io.netty.buffer.Unpooled.wrappedBuffer(a, start, end - start);
        note(view, valueStart - start, valueEnd - start);
        remember(view, data - start, valueStart - start, valueEnd - start);
        return replace(a, end, valueStart, valueEnd);
    }

    /** Puts the client's name in place of the value at {@code [valueStart, valueEnd)}, moving what follows; the new end. */
    private int replace(byte[] a, int end, int valueStart, int valueEnd) {
        if (valueEnd - valueStart == quoted.length && java.util.Arrays.equals(a, valueStart, valueEnd, quoted, 0, quoted.length)) return end;
        System.arraycopy(a, valueEnd, a, valueStart + quoted.length, end - valueEnd);
        System.arraycopy(quoted, 0, a, valueStart, quoted.length);
        return end - (valueEnd - valueStart) + quoted.length;
    }

    private ByteBuf rename(ByteBuf buf, int from, int to, ByteBufAllocator alloc) {
        long span = find(buf, from, to);
        if (span < 0) return buf;
        note(buf, from + (int) (span >>> 32), from + (int) span);
        return replace(buf, from + (int) (span >>> 32), from + (int) span, alloc);
    }

    private ByteBuf replace(ByteBuf buf, int valueStart, int valueEnd, ByteBufAllocator alloc) {
        if (equalsQuoted(buf, valueStart, valueEnd)) return buf;
        int base = buf.readerIndex();
        int size = buf.readableBytes() - (valueEnd - valueStart) + quoted.length;
        if (size <= COPY_UP_TO) {
            // A stream event or a short answer: one copy costs less than a composite of three parts.
            ByteBuf out = alloc.directBuffer(size).writeBytes(buf, base, valueStart - base).writeBytes(quoted)
                    .writeBytes(buf, valueEnd, buf.writerIndex() - valueEnd);
            buf.release();
            return out;
        }
        return new BodyEdit().replace(valueStart - base, valueEnd - base, quoted).apply(alloc, buf);
    }

    /** Keeps the bytes from the {@code "model"} key to the end of its value, when they are just that. */
    private void remember(ByteBuf buf, int from, int valueStart, int valueEnd) {
        int i = valueStart - 1;
        while (i >= from && isSpace(buf.getByte(i))) i--;
        if (i < from || buf.getByte(i) != ':') return;
        i--;
        while (i >= from && isSpace(buf.getByte(i))) i--;
        int keyStart = i - MODEL_KEY.length + 1;
        if (keyStart < from || !Bytes.startsWith(buf, keyStart, i + 1, MODEL_KEY)) return;
        member = new byte[valueEnd - keyStart];
        buf.getBytes(keyStart, member);
        memberValueAt = valueStart - keyStart;
        memberNeedle = member.length <= Bytes.Needle.MAX_LENGTH ? new Bytes.Needle(member) : null;
    }

    private static boolean isSpace(byte b) {
        return b == ' ' || b == '\t' || b == '\r' || b == '\n';
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
            return find(p);
        } catch (IOException | RuntimeException e) {
            return -1; // not JSON after all (a comment, a truncated line): left as it is
        }
    }

    /** As {@link #find(ByteBuf, int, int)}, from a parser at the start of the bytes. */
    private static long find(JsonParser p) throws IOException {
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
    }

    private static long span(JsonParser p) throws IOException {
        long start = p.currentTokenLocation().getByteOffset();
        p.finishToken();
        long end = p.currentLocation().getByteOffset();
        return start << 32 | end;
    }

    public String clientModel() {
        return clientModel;
    }

    /**
     * The model the provider's answer named (its {@code model} member, before renaming), or null when
     * no answer with one went by. Read for traces and the audit log: no parse of its own.
     */
    public String providerModel() {
        return providerModel;
    }

    /** Keeps the first model value found, decoded from its quoted bytes (a parse only for the rare escaped one). */
    private void note(ByteBuf buf, int valueStart, int valueEnd) {
        if (providerModel != null || valueEnd - valueStart < 2) return;
        if (buf.indexOf(valueStart, valueEnd, (byte) '\\') < 0) {
            providerModel = buf.toString(valueStart + 1, valueEnd - valueStart - 2, StandardCharsets.UTF_8);
            return;
        }
        try (InputStream in = new ByteBufInputStream(buf.slice(valueStart, valueEnd - valueStart)); JsonParser p = Json.FACTORY.createParser(in)) {
            if (p.nextToken() == JsonToken.VALUE_STRING) providerModel = p.getText();
        } catch (IOException | RuntimeException e) {
            // a value we cannot read names no model
        }
    }
}
