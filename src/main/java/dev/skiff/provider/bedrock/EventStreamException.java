package dev.skiff.provider.bedrock;

import io.netty.handler.codec.CorruptedFrameException;

/**
 * An {@code application/vnd.amazon.eventstream} stream that cannot be decoded: a checksum
 * mismatch, an impossible length or a malformed header. The stream cannot be resynchronised after
 * one (there is no frame marker to search for), so the response has to be abandoned. It is a
 * {@link CorruptedFrameException} so Netty code treats it like any other framing error.
 */
public final class EventStreamException extends CorruptedFrameException {
    public EventStreamException(String message) {
        super(message);
    }
}
