package dev.skiff.bench;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.nio.charset.StandardCharsets.UTF_8;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.util.List;

/**
 * Raw HTTP/1.1 bytes, built once and then written many times. Both tools skip Netty's HTTP
 * encoders on the hot path: the mock writes whole prepared responses, the load generator whole
 * prepared requests, so neither spends CPU that the process under test would then have to share.
 */
final class HttpWire {
    private HttpWire() {}

    /** A complete response with a Content-Length body. */
    static ByteBuf fixedResponse(int status, String reason, String contentType, String body) {
        byte[] content = body.getBytes(UTF_8);
        String head = "HTTP/1.1 " + status + " " + reason + "\r\n"
                + "Content-Type: " + contentType + "\r\n"
                + "Content-Length: " + content.length + "\r\n"
                + "\r\n";
        return shared(concat(head.getBytes(US_ASCII), content));
    }

    /**
     * The frames of a chunked {@code text/event-stream} response, one frame per SSE event. The
     * status line and headers ride with the first event and the chunked terminator with the last,
     * so writing and flushing each frame puts every event on the wire at its own moment.
     */
    static ByteBuf[] eventStreamFrames(List<String> events) {
        String head = "HTTP/1.1 200 OK\r\n"
                + "Content-Type: text/event-stream; charset=utf-8\r\n"
                + "Cache-Control: no-cache\r\n"
                + "Transfer-Encoding: chunked\r\n"
                + "\r\n";
        ByteBuf[] frames = new ByteBuf[events.size()];
        for (int i = 0; i < frames.length; i++) {
            ByteArrayOutputStream frame = new ByteArrayOutputStream();
            if (i == 0) frame.writeBytes(head.getBytes(US_ASCII));
            byte[] event = events.get(i).getBytes(UTF_8);
            frame.writeBytes((Integer.toHexString(event.length) + "\r\n").getBytes(US_ASCII));
            frame.writeBytes(event);
            frame.writeBytes("\r\n".getBytes(US_ASCII));
            if (i == frames.length - 1) frame.writeBytes("0\r\n\r\n".getBytes(US_ASCII));
            frames[i] = shared(frame.toByteArray());
        }
        return frames;
    }

    /**
     * A fresh copy of a prepared response with {@code Connection: close} after its status line,
     * for the rare client that asks to close: it then knows the connection ends with this answer.
     */
    static ByteBuf withConnectionClose(ByteBuf prepared) {
        int lineEnd = prepared.indexOf(prepared.readerIndex(), prepared.writerIndex(), (byte) '\n') + 1;
        byte[] header = "Connection: close\r\n".getBytes(US_ASCII);
        ByteBuf copy = Unpooled.directBuffer(prepared.readableBytes() + header.length);
        copy.writeBytes(prepared, prepared.readerIndex(), lineEnd - prepared.readerIndex());
        copy.writeBytes(header);
        copy.writeBytes(prepared, lineEnd, prepared.writerIndex() - lineEnd);
        return copy;
    }

    /** A complete request; a non-null body gets a Content-Length and, unless given, a JSON type. */
    static byte[] request(String method, Target target, List<String> headers, byte[] body, boolean close) {
        StringBuilder head = new StringBuilder(256)
                .append(method).append(' ').append(target.pathAndQuery()).append(" HTTP/1.1\r\n")
                .append("Host: ").append(target.hostHeader()).append("\r\n")
                .append("User-Agent: skiff-bench\r\n");
        boolean typed = false;
        for (String header : headers) {
            int colon = header.indexOf(':');
            if (colon <= 0) throw new IllegalArgumentException("a header looks like 'name: value', got: " + header);
            String name = header.substring(0, colon).trim();
            typed |= name.equalsIgnoreCase("content-type");
            head.append(name).append(": ").append(header.substring(colon + 1).trim()).append("\r\n");
        }
        if (body != null) {
            if (!typed) head.append("Content-Type: application/json\r\n");
            head.append("Content-Length: ").append(body.length).append("\r\n");
        }
        if (close) head.append("Connection: close\r\n");
        head.append("\r\n");
        byte[] headBytes = head.toString().getBytes(UTF_8);
        return body == null ? headBytes : concat(headBytes, body);
    }

    /**
     * A direct buffer that writes never free: callers write {@code buf.duplicate()}, which shares
     * the bytes but has its own indices, so any number of channels on any threads can send it.
     */
    static ByteBuf shared(byte[] bytes) {
        return Unpooled.unreleasableBuffer(Unpooled.directBuffer(bytes.length).writeBytes(bytes));
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
