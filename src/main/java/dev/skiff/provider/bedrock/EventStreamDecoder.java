package dev.skiff.provider.bedrock;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.zip.CRC32;

/**
 * Incremental decoder for {@code application/vnd.amazon.eventstream}, the framing of Bedrock's
 * ConverseStream (and InvokeModelWithResponseStream) response bodies.
 *
 * <p>It is fed the HTTP body as it arrives, in chunks cut anywhere: a chunk may end inside a
 * prelude, a header or a CRC, and may hold several messages. It is not a ChannelHandler because the
 * frames live inside HTTP content, not directly on a channel; the Bedrock adapter calls
 * {@link #decode} from its own handler with each {@code HttpContent}'s buffer.
 *
 * <p>Ownership: {@link #decode} takes ownership of the chunk and always releases it, also when it
 * throws. Bytes of an unfinished message are copied into a buffer the decoder owns; {@link #close}
 * (or {@link #finish}) releases it, so call one of them when the response ends or is abandoned.
 * Decoded messages hold plain arrays, never ByteBufs.
 *
 * <p>Both CRCs are verified. Any error leaves the decoder failed (further input is refused): a
 * framing stream has no resynchronisation point, so guessing on would only produce garbage.
 *
 * <p>Not thread-safe: use it from the channel's event loop.
 */
public final class EventStreamDecoder implements AutoCloseable {
    /** The event stream specification's limit on a whole message. */
    public static final int DEFAULT_MAX_MESSAGE_LENGTH = 16 * 1024 * 1024;
    private static final int PRELUDE_LENGTH = 12;

    private final ByteBufAllocator alloc;
    private final int maxMessageLength;
    /** Bytes of an unfinished message carried over between chunks; null when there are none. */
    private ByteBuf pending;
    private boolean failed;
    private boolean closed;

    public EventStreamDecoder(ByteBufAllocator alloc) {
        this(alloc, DEFAULT_MAX_MESSAGE_LENGTH);
    }

    /** @param maxMessageLength the largest total message length accepted, in bytes (at least 16) */
    public EventStreamDecoder(ByteBufAllocator alloc, int maxMessageLength) {
        this.alloc = Objects.requireNonNull(alloc, "alloc");
        if (maxMessageLength < EventStreamEncoder.OVERHEAD) throw new IllegalArgumentException("maxMessageLength must be at least 16");
        this.maxMessageLength = maxMessageLength;
    }

    /** Decodes what {@code chunk} completes and returns the messages in order (often none). */
    public List<EventStreamMessage> decode(ByteBuf chunk) {
        List<EventStreamMessage> out = new ArrayList<>(2);
        decode(chunk, out::add);
        return out;
    }

    /**
     * Decodes what {@code chunk} completes, handing each message to {@code sink} in order. Takes
     * ownership of {@code chunk}. Throws {@link EventStreamException} on corrupt input; messages
     * completed before the corruption have already been passed to the sink by then.
     */
    public void decode(ByteBuf chunk, Consumer<? super EventStreamMessage> sink) {
        Objects.requireNonNull(chunk, "chunk");
        if (failed || closed) {
            chunk.release();
            throw new IllegalStateException(closed ? "event stream decoder is closed" : "event stream decoder failed earlier");
        }
        // Decode straight from the chunk when nothing is pending (the common case: no copy); otherwise
        // append it to the pending bytes so a message split across chunks becomes contiguous.
        ByteBuf in;
        if (pending == null) {
            in = chunk;
        } else {
            try {
                pending.writeBytes(chunk);
            } finally {
                chunk.release();
            }
            in = pending;
        }
        boolean ok = false;
        try {
            EventStreamMessage message;
            while ((message = decodeOne(in)) != null) sink.accept(message);
            ok = true;
        } finally {
            if (!ok) {
                failed = true;
                if (in == chunk) chunk.release();
                releasePending();
            } else if (in == chunk) {
                if (chunk.isReadable()) {
                    // Keep the unfinished tail; the chunk itself may belong to a pooled, larger buffer.
                    pending = alloc.buffer(Math.max(chunk.readableBytes(), 256));
                    pending.writeBytes(chunk);
                }
                chunk.release();
            } else if (!pending.isReadable()) {
                releasePending(); // between messages: hold no memory
            } else {
                pending.discardSomeReadBytes();
            }
        }
    }

    /** Whether bytes of an unfinished message are waiting for more input. */
    public boolean hasPartialMessage() {
        return pending != null && pending.isReadable();
    }

    /**
     * Ends the stream: releases what is held and throws {@link EventStreamException} if it ended
     * inside a message (a truncated response).
     */
    public void finish() {
        int left = pending == null ? 0 : pending.readableBytes();
        close();
        if (left > 0) throw new EventStreamException("event stream ended inside a message (" + left + " bytes left over)");
    }

    /** Releases what is held; idempotent. */
    @Override
    public void close() {
        closed = true;
        releasePending();
    }

    private void releasePending() {
        if (pending != null) {
            pending.release();
            pending = null;
        }
    }

    /** One message from {@code in}, or null (and nothing consumed) if it is not all there yet. */
    private EventStreamMessage decodeOne(ByteBuf in) {
        if (in.readableBytes() < PRELUDE_LENGTH) return null;
        int start = in.readerIndex();
        long totalLength = in.getUnsignedInt(start);
        long headersLength = in.getUnsignedInt(start + 4);
        long preludeCrc = in.getUnsignedInt(start + 8);
        // The prelude CRC is checked first: a corrupted length must be reported as corruption, not
        // waited on (a flipped high bit would otherwise look like a 2 GB message).
        long actualPreludeCrc = crc32(in, start, 8);
        if (actualPreludeCrc != preludeCrc) {
            throw new EventStreamException(String.format("event stream prelude CRC mismatch: expected %08x, computed %08x",
                    preludeCrc, actualPreludeCrc));
        }
        if (totalLength < EventStreamEncoder.OVERHEAD || totalLength > maxMessageLength) {
            throw new EventStreamException("event stream message length " + totalLength + " is outside 16.." + maxMessageLength);
        }
        if (headersLength > totalLength - EventStreamEncoder.OVERHEAD) {
            throw new EventStreamException("event stream headers length " + headersLength + " does not fit in a message of " + totalLength + " bytes");
        }
        int total = (int) totalLength;
        if (in.readableBytes() < total) return null;

        long messageCrc = in.getUnsignedInt(start + total - 4);
        long actualMessageCrc = crc32(in, start, total - 4);
        if (actualMessageCrc != messageCrc) {
            throw new EventStreamException(String.format("event stream message CRC mismatch: expected %08x, computed %08x",
                    messageCrc, actualMessageCrc));
        }
        int headersStart = start + PRELUDE_LENGTH;
        int payloadStart = headersStart + (int) headersLength;
        Map<String, Object> headers = decodeHeaders(in, headersStart, payloadStart);
        byte[] payload = new byte[start + total - 4 - payloadStart];
        in.getBytes(payloadStart, payload);
        in.skipBytes(total);
        return new EventStreamMessage(headers, payload);
    }

    /** The headers in [{@code from}, {@code to}); every read is bounds-checked against {@code to}. */
    private static Map<String, Object> decodeHeaders(ByteBuf in, int from, int to) {
        Map<String, Object> headers = new LinkedHashMap<>();
        int i = from;
        while (i < to) {
            int nameLength = in.getUnsignedByte(i++);
            need(i, nameLength + 1, to, "header name");
            String name = in.toString(i, nameLength, StandardCharsets.UTF_8);
            i += nameLength;
            int type = in.getUnsignedByte(i++);
            Object value;
            switch (type) {
                case 0 -> value = Boolean.TRUE;
                case 1 -> value = Boolean.FALSE;
                case 2 -> {
                    need(i, 1, to, name);
                    value = in.getByte(i);
                    i += 1;
                }
                case 3 -> {
                    need(i, 2, to, name);
                    value = in.getShort(i);
                    i += 2;
                }
                case 4 -> {
                    need(i, 4, to, name);
                    value = in.getInt(i);
                    i += 4;
                }
                case 5 -> {
                    need(i, 8, to, name);
                    value = in.getLong(i);
                    i += 8;
                }
                case 6, 7 -> {
                    need(i, 2, to, name);
                    int length = in.getUnsignedShort(i);
                    i += 2;
                    need(i, length, to, name);
                    if (type == 6) {
                        byte[] bytes = new byte[length];
                        in.getBytes(i, bytes);
                        value = bytes;
                    } else {
                        value = in.toString(i, length, StandardCharsets.UTF_8);
                    }
                    i += length;
                }
                case 8 -> {
                    need(i, 8, to, name);
                    value = Instant.ofEpochMilli(in.getLong(i));
                    i += 8;
                }
                case 9 -> {
                    need(i, 16, to, name);
                    value = new UUID(in.getLong(i), in.getLong(i + 8));
                    i += 16;
                }
                default -> throw new EventStreamException("event stream header " + name + " has unknown value type " + type);
            }
            headers.put(name, value); // a repeated name keeps the last value
        }
        return headers;
    }

    private static void need(int at, int length, int end, String what) {
        if (length > end - at) throw new EventStreamException("event stream header " + what + " runs past the headers section");
    }

    /** CRC32 (the IEEE/zlib one the specification names) of {@code length} bytes at {@code index}. */
    static long crc32(ByteBuf buf, int index, int length) {
        CRC32 crc = new CRC32();
        if (buf.hasArray()) {
            crc.update(buf.array(), buf.arrayOffset() + index, length);
        } else {
            crc.update(buf.nioBuffer(index, length));
        }
        return crc.getValue();
    }
}
