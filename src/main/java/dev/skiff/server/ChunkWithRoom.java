package dev.skiff.server;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.DefaultHttpContent;

/**
 * A piece of a stream in a buffer of the writer's own ({@link Gather}'s), with {@link #ROOM_BEFORE}
 * bytes free before its content and the buffer free to grow after it: {@link ServerCodec} writes the
 * chunk's size line and closing line break around the content, in place, and sends one buffer.
 */
final class ChunkWithRoom extends DefaultHttpContent {
    /** Free bytes before the content: the size line of a chunk up to 0xffffff bytes. */
    static final int ROOM_BEFORE = 8;

    ChunkWithRoom(ByteBuf content) {
        super(content);
    }
}
