package dev.skiff.provider;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skiff.dialect.Bytes;
import dev.skiff.dialect.SseSplitter;
import dev.skiff.dialect.openai.OpenAiChat;
import io.netty.buffer.ByteBufInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;

/**
 * A {@link StreamTranslator} for providers that stream Server-Sent Events: the body is cut into
 * whole events as it arrives, each is translated, and what one read produced leaves together.
 */
public abstract class SseStreamTranslator implements StreamTranslator {
    private SseSplitter splitter;
    private ByteBuf pending;
    private int maxEventBytes = Integer.MAX_VALUE;
    private EventMemory memory = EventMemory.UNACCOUNTED;
    private String model; // the first one an event named: read off the tree each event is parsed into anyway

    @Override
    public final void limitEvents(int maxBytes, EventMemory memory) {
        this.maxEventBytes = maxBytes;
        this.memory = memory;
    }

    private static final byte[] DATA = "data:".getBytes(StandardCharsets.US_ASCII);

    /**
     * Translates one event's data, parsed as JSON; {@code data} is null for an event without data
     * (a comment, a keep-alive) or whose data is not JSON. Returns the bytes for the client, or null.
     */
    protected abstract ByteBuf onData(JsonNode data, ByteBufAllocator alloc);

    /**
     * OpenAI's {@code data: [DONE]} terminator, which is not JSON. By default it is like any event
     * without JSON data; translators for streams that end with it override this.
     */
    protected ByteBuf onDone(ByteBufAllocator alloc) {
        return onData(null, alloc);
    }

    private ByteBuf onEvent(ByteBuf event, ByteBufAllocator alloc) {
        Runnable reserved = null;
        if (event.readableBytes() > RESERVE_ABOVE) {
            reserved = memory.tryReserve(event);
            if (reserved == null) {
                int size = event.readableBytes();
                event.release();
                throw new IllegalStateException("Skiff had no translation memory free for an event of " + Bytes.describeSize(size));
            }
        }
        try {
            JsonNode data;
            boolean done;
            try {
                if (onlyDone(event)) { // the terminator: not parsed (a failed parse builds an exception, stack trace and all)
                    data = null;
                    done = true;
                } else {
                    data = data(event);
                    done = data == null && isDone(event); // looked for only when the data is not JSON
                }
            } finally {
                event.release();
            }
            if (model == null && data != null) model = modelOf(data);
            return done ? onDone(alloc) : onData(data, alloc);
        } finally {
            if (reserved != null) reserved.run();
        }
    }

    private static final byte[] DONE = "[DONE]".getBytes(StandardCharsets.US_ASCII);

    @Override
    public String model() {
        return model;
    }

    /**
     * Where the dialects name the model in a stream: at the top of an event (chat chunks), in
     * Anthropic's {@code message_start} message, in a Responses event's response, or Gemini's
     * {@code modelVersion}.
     */
    static String modelOf(JsonNode data) {
        JsonNode m = data.get("model");
        if (m == null) m = data.path("message").get("model");
        if (m == null) m = data.path("response").get("model");
        if (m == null) m = data.get("modelVersion");
        return m != null && m.isTextual() && !m.asText().isEmpty() ? m.asText() : null;
    }

    /** Whether the event's data is the {@code [DONE]} terminator. */
    static boolean isDone(ByteBuf event) {
        int end = event.writerIndex();
        for (int line = event.readerIndex(); line < end; ) {
            int eol = event.indexOf(line, end, (byte) '\n');
            int lineEnd = eol < 0 ? end : eol;
            if (lineEnd > line && event.getByte(lineEnd - 1) == '\r') lineEnd--;
            if (Bytes.startsWith(event, line, lineEnd, DATA)) {
                int from = line + DATA.length;
                if (from < lineEnd && event.getByte(from) == ' ') from++;
                if (lineEnd - from == DONE.length && Bytes.startsWith(event, from, lineEnd, DONE)) return true;
            }
            line = (eol < 0 ? end : eol) + 1;
        }
        return false;
    }

    /** Whether the event's data is one line, {@code [DONE]}: what {@link #data} could only fail to parse. */
    static boolean onlyDone(ByteBuf event) {
        int end = event.writerIndex();
        boolean done = false;
        for (int line = event.readerIndex(); line < end; ) {
            int eol = event.indexOf(line, end, (byte) '\n');
            int lineEnd = eol < 0 ? end : eol;
            if (lineEnd > line && event.getByte(lineEnd - 1) == '\r') lineEnd--;
            if (Bytes.startsWith(event, line, lineEnd, DATA)) {
                if (done) return false; // a second data line: the joined value decides
                int from = line + DATA.length;
                if (from < lineEnd && event.getByte(from) == ' ') from++;
                if (lineEnd - from != DONE.length || !Bytes.startsWith(event, from, lineEnd, DONE)) return false;
                done = true;
            }
            line = (eol < 0 ? end : eol) + 1;
        }
        return done;
    }

    /**
     * The event's data as JSON. Several {@code data:} lines are one value joined by newlines, as the
     * SSE format says; the usual single line is parsed in place, without a copy.
     */
    static JsonNode data(ByteBuf event) {
        int end = event.writerIndex();
        ByteBuf joined = null;
        ByteBuf single = null;
        for (int line = event.readerIndex(); line < end; ) {
            int eol = event.indexOf(line, end, (byte) '\n');
            int lineEnd = eol < 0 ? end : eol;
            if (Bytes.startsWith(event, line, lineEnd, DATA)) {
                int from = line + DATA.length;
                if (from < lineEnd && event.getByte(from) == ' ') from++;
                ByteBuf payload = event.slice(from, lineEnd - from);
                if (single == null) {
                    single = payload;
                } else {
                    if (joined == null) joined = Unpooled.buffer().writeBytes(single);
                    joined.writeByte('\n').writeBytes(payload);
                }
            }
            line = lineEnd + 1;
        }
        if (single == null) return null;
        try (InputStream in = new ByteBufInputStream(joined != null ? joined : single)) {
            return OpenAiChat.JSON.readTree(in);
        } catch (IOException e) {
            return null;
        }
    }

    @Override
    public final ByteBuf onContent(ByteBuf content, ByteBufAllocator alloc) {
        if (splitter == null) splitter = new SseSplitter(alloc, maxEventBytes);
        splitter.feed(content, event -> collect(onEvent(event, alloc)));
        return takeCollected();
    }

    /**
     * At the end of the body: translates a last event that lacks its closing blank line, so it is
     * not lost, and returns what it produced (or null). Releases the splitter.
     */
    protected final ByteBuf finishPartialEvent(ByteBufAllocator alloc) {
        if (splitter != null && splitter.hasPartialEvent()) {
            splitter.feed(Unpooled.wrappedBuffer(new byte[] {'\n', '\n'}), event -> collect(onEvent(event, alloc)));
        }
        release();
        return takeCollected();
    }

    @Override
    public void release() {
        if (splitter != null) splitter.release();
    }

    private void collect(ByteBuf out) {
        if (out == null) return;
        if (pending == null) {
            pending = out;
        } else {
            pending.writeBytes(out);
            out.release();
        }
    }

    private ByteBuf takeCollected() {
        ByteBuf out = pending;
        pending = null;
        return out;
    }
}
