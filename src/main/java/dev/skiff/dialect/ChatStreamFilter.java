package dev.skiff.dialect;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;

/**
 * Watches an OpenAI chat-completion event stream on its way to the client: takes the usage from it,
 * notes the {@code [DONE]} terminator, and, when Skiff itself asked upstream for usage, removes what
 * that added (the usage-only final chunk and the {@code "usage":null} members) so the client sees
 * exactly the stream it asked for.
 */
public final class ChatStreamFilter implements StreamRelay {
    private static final byte[] USAGE_KEY = "\"usage\"".getBytes(StandardCharsets.US_ASCII);
    private static final Bytes.Needle USAGE_NEEDLE = new Bytes.Needle(USAGE_KEY);
    private static final byte[] DONE = "[DONE]".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] NULL = "null".getBytes(StandardCharsets.US_ASCII);

    private final boolean hideInjectedUsage;
    private Usage usage = Usage.NONE;
    private boolean done;

    /** @param hideInjectedUsage true when the client did not ask for usage and Skiff did */
    public ChatStreamFilter(boolean hideInjectedUsage) {
        this.hideInjectedUsage = hideInjectedUsage;
    }

    public Usage usage() {
        return usage;
    }

    /** Whether the {@code data: [DONE]} terminator went by. */
    public boolean sawDone() {
        return done;
    }

    @Override
    public boolean complete() {
        return done;
    }

    /** Takes ownership of one whole event; returns what to send (maybe the same buffer), or null to drop it. */
    public ByteBuf filter(ByteBuf event, ByteBufAllocator alloc) {
        int start = event.readerIndex();
        int end = event.writerIndex();
        int data = SseSplitter.dataStart(event, start, end);
        if (data < 0) return event; // comments, keep-alives and other fields pass untouched
        if (Bytes.startsWith(event, data, end, DONE)) {
            done = true;
            return event;
        }
        // The bytes "usage" may also be a string value (content that says "usage"); the member is
        // the occurrence followed by a colon.
        int key = data, value = -1;
        while ((key = Bytes.indexOf(event, key, end, USAGE_KEY)) >= 0) {
            int colon = Bytes.skipWhitespace(event, key + USAGE_KEY.length, end);
            if (colon < end && event.getByte(colon) == ':') {
                value = Bytes.skipWhitespace(event, colon + 1, end);
                break;
            }
            key++;
        }
        if (value < 0 || value >= end) return event;
        byte first = event.getByte(value);
        if (first == '{') {
            OpenAiUsage.Found found = OpenAiUsage.scan(event.slice(data, end - data));
            if (found.usage() != Usage.NONE) usage = found.usage();
            if (hideInjectedUsage && found.choicesEmpty()) {
                event.release();
                return null;
            }
            return event;
        }
        if (hideInjectedUsage && first == 'n' && Bytes.startsWith(event, value, end, NULL)) {
            return withoutMember(event, key, value + NULL.length, alloc);
        }
        return event;
    }

    /**
     * As {@link #filter(ByteBuf, ByteBufAllocator)}, for an event copied into {@code a} at {@code [start, end)}
     * (up to {@link #IN_ARRAY_UP_TO} bytes): a relayed stream's events are scanned in one plain array, and a
     * member to hide is cut out where it lies, with no buffer of its own. Returns the event's new end, or -1
     * to drop it.
     */
    public int filter(byte[] a, int start, int end) {
        int data = SseSplitter.dataStart(a, start, end);
        if (data < 0) return end; // comments, keep-alives and other fields pass untouched
        if (Bytes.startsWith(a, data, end, DONE)) {
            done = true;
            return end;
        }
        int key = data, value = -1;
        while ((key = USAGE_NEEDLE.in(a, key, end)) >= 0) {
            int colon = Bytes.skipWhitespace(a, key + USAGE_KEY.length, end);
            if (colon < end && a[colon] == ':') {
                value = Bytes.skipWhitespace(a, colon + 1, end);
                break;
            }
            key++;
        }
        if (value < 0 || value >= end) return end;
        byte first = a[value];
        if (first == '{') {
            OpenAiUsage.Found found = OpenAiUsage.scan(io.netty.buffer.Unpooled.wrappedBuffer(a, data, end - data));
            if (found.usage() != Usage.NONE) usage = found.usage();
            return hideInjectedUsage && found.choicesEmpty() ? -1 : end;
        }
        if (hideInjectedUsage && first == 'n' && Bytes.startsWith(a, value, end, NULL)) {
            int from = key, to = value + NULL.length;
            int before = from - 1;
            while (before >= start && isSpace(a[before])) before--;
            if (before >= start && a[before] == ',') {
                from = before;
            } else {
                int after = Bytes.skipWhitespace(a, to, end);
                if (after < end && a[after] == ',') to = after + 1;
            }
            System.arraycopy(a, to, a, from, end - to);
            return end - (to - from);
        }
        return end;
    }

    /** Largest event {@link #filter(byte[], int, int)} is given; larger ones go through the buffer form. */
    public static final int IN_ARRAY_UP_TO = 16 << 10;

    /** Removes the member spanning {@code [keyStart, valueEnd)} together with the comma that joins it. */
    private static ByteBuf withoutMember(ByteBuf event, int keyStart, int valueEnd, ByteBufAllocator alloc) {
        int from = keyStart;
        int to = valueEnd;
        int before = from - 1;
        while (before >= event.readerIndex() && isSpace(event.getByte(before))) before--;
        if (before >= event.readerIndex() && event.getByte(before) == ',') {
            from = before;
        } else {
            int after = Bytes.skipWhitespace(event, to, event.writerIndex());
            if (after < event.writerIndex() && event.getByte(after) == ',') to = after + 1;
        }
        int head = from - event.readerIndex(), tail = event.writerIndex() - to;
        ByteBuf out;
        if (head + tail <= 16 << 10) {
            // The bytes around the member, copied: an event is a few hundred bytes, and a copy costs
            // less than a composite of two slices does to build and to write.
            out = alloc.directBuffer(head + tail).writeBytes(event, event.readerIndex(), head).writeBytes(event, to, tail);
        } else {
            // A large event: two views of the original bytes, no copy.
            out = alloc.compositeBuffer(2).addComponent(true, event.retainedSlice(event.readerIndex(), head))
                    .addComponent(true, event.retainedSlice(to, tail));
        }
        event.release();
        return out;
    }

    private static boolean isSpace(byte b) {
        return b == ' ' || b == '\t' || b == '\r' || b == '\n';
    }
}
