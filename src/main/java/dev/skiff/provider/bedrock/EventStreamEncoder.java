package dev.skiff.provider.bedrock;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * Builds {@code application/vnd.amazon.eventstream} frames: the tests use it to produce streams
 * for the decoder, and a mock Bedrock upstream can use it to answer ConverseStream requests.
 *
 * <p>Frame layout (all integers big-endian): total length (4), headers length (4), CRC32 of the
 * previous 8 bytes (4), headers, payload, CRC32 of everything before it (4). A header is its name
 * length (1), the UTF-8 name, a type byte and the value; see {@link EventStreamMessage} for the
 * Java type each wire type maps to.
 */
public final class EventStreamEncoder {
    /** 12-byte prelude plus the 4-byte message CRC: the size of a frame with no headers and no payload. */
    static final int OVERHEAD = 16;

    private EventStreamEncoder() {}

    /** A ConverseStream-style event: {@code :event-type}, JSON content type, message type "event". */
    public static EventStreamMessage event(String eventType, String json) {
        Map<String, Object> h = new LinkedHashMap<>();
        h.put(EventStreamMessage.EVENT_TYPE, eventType);
        h.put(EventStreamMessage.CONTENT_TYPE, "application/json");
        h.put(EventStreamMessage.MESSAGE_TYPE, "event");
        return new EventStreamMessage(h, json.getBytes(StandardCharsets.UTF_8));
    }

    /** A modelled error mid-stream, e.g. {@code exception("throttlingException", "{\"message\":\"...\"}")}. */
    public static EventStreamMessage exception(String exceptionType, String json) {
        Map<String, Object> h = new LinkedHashMap<>();
        h.put(EventStreamMessage.EXCEPTION_TYPE, exceptionType);
        h.put(EventStreamMessage.CONTENT_TYPE, "application/json");
        h.put(EventStreamMessage.MESSAGE_TYPE, "exception");
        return new EventStreamMessage(h, json.getBytes(StandardCharsets.UTF_8));
    }

    /** The frame as a byte array (for tests and for writing to non-Netty outputs). */
    public static byte[] encode(EventStreamMessage message) {
        ByteBuf buf = encode(UnpooledByteBufAllocator.DEFAULT, message);
        try {
            return ByteBufUtil.getBytes(buf);
        } finally {
            buf.release();
        }
    }

    /** The frame in a new buffer from {@code alloc}; the caller owns (and must release) it. */
    public static ByteBuf encode(ByteBufAllocator alloc, EventStreamMessage message) {
        Map<String, Object> headers = message.headers();
        byte[] payload = message.payload();
        // Sizing pass first: it validates every header, so nothing is allocated for a bad message.
        int headersLength = 0;
        for (Map.Entry<String, Object> h : headers.entrySet()) headersLength += headerSize(h.getKey(), h.getValue());
        long total = (long) OVERHEAD + headersLength + payload.length;
        if (total > Integer.MAX_VALUE) throw new IllegalArgumentException("message too large: " + total + " bytes");

        ByteBuf buf = alloc.buffer((int) total);
        try {
            int start = buf.writerIndex();
            buf.writeInt((int) total);
            buf.writeInt(headersLength);
            buf.writeInt((int) EventStreamDecoder.crc32(buf, start, 8));
            for (Map.Entry<String, Object> h : headers.entrySet()) writeHeader(buf, h.getKey(), h.getValue());
            buf.writeBytes(payload);
            buf.writeInt((int) EventStreamDecoder.crc32(buf, start, buf.writerIndex() - start));
            return buf;
        } catch (RuntimeException e) {
            buf.release();
            throw e;
        }
    }

    private static int headerSize(String name, Object value) {
        int nameLength = name.getBytes(StandardCharsets.UTF_8).length;
        if (nameLength == 0 || nameLength > 255) throw new IllegalArgumentException("header name must be 1-255 UTF-8 bytes: '" + name + "'");
        int valueSize = switch (value) {
            case Boolean b -> 0;
            case Byte b -> 1;
            case Short s -> 2;
            case Integer i -> 4;
            case Long l -> 8;
            case byte[] bytes -> 2 + checkedLength(name, bytes.length);
            case String s -> 2 + checkedLength(name, s.getBytes(StandardCharsets.UTF_8).length);
            case Instant t -> 8;
            case UUID u -> 16;
            case null -> throw new IllegalArgumentException("header " + name + " has a null value");
            default -> throw new IllegalArgumentException("header " + name + " has a value of unsupported type " + value.getClass().getName());
        };
        return 1 + nameLength + 1 + valueSize;
    }

    private static int checkedLength(String name, int length) {
        if (length > 0xffff) throw new IllegalArgumentException("header " + name + " value is over 65535 bytes");
        return length;
    }

    private static void writeHeader(ByteBuf buf, String name, Object value) {
        byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
        buf.writeByte(nameBytes.length);
        buf.writeBytes(nameBytes);
        switch (value) {
            case Boolean b -> buf.writeByte(b ? 0 : 1);
            case Byte b -> buf.writeByte(2).writeByte(b);
            case Short s -> buf.writeByte(3).writeShort(s);
            case Integer i -> buf.writeByte(4).writeInt(i);
            case Long l -> buf.writeByte(5).writeLong(l);
            case byte[] bytes -> buf.writeByte(6).writeShort(bytes.length).writeBytes(bytes);
            case String s -> {
                byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
                buf.writeByte(7).writeShort(utf8.length).writeBytes(utf8);
            }
            case Instant t -> buf.writeByte(8).writeLong(t.toEpochMilli());
            case UUID u -> buf.writeByte(9).writeLong(u.getMostSignificantBits()).writeLong(u.getLeastSignificantBits());
            default -> throw new IllegalStateException("validated in headerSize");
        }
    }
}
