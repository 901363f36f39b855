package dev.skiff.provider.openai;

import dev.skiff.dialect.ChatStreamWriter;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.ir.FinishReason;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** A writer that logs each call, one line per call, and returns the line as the bytes for the client. */
final class RecordingWriter implements ChatStreamWriter {
    final List<String> calls = new ArrayList<>();

    private ByteBuf log(ByteBufAllocator alloc, String line) {
        calls.add(line);
        ByteBuf b = alloc.buffer();
        b.writeCharSequence(line + "\n", StandardCharsets.UTF_8);
        return b;
    }

    @Override
    public ByteBuf start(ByteBufAllocator alloc, String id, Usage usage) {
        return log(alloc, "start " + id);
    }

    @Override
    public ByteBuf text(ByteBufAllocator alloc, String text) {
        return log(alloc, "text " + text);
    }

    @Override
    public ByteBuf thinking(ByteBufAllocator alloc, String text) {
        return log(alloc, "thinking " + text);
    }

    @Override
    public ByteBuf thinkingSignature(ByteBufAllocator alloc, String signature) {
        return log(alloc, "signature " + signature);
    }

    @Override
    public ByteBuf redactedThinking(ByteBufAllocator alloc, String data) {
        return log(alloc, "redacted " + data);
    }

    @Override
    public ByteBuf toolCall(ByteBufAllocator alloc, int index, String id, String name, String arguments) {
        return log(alloc, "toolCall " + index + " " + id + " " + name + " " + arguments);
    }

    @Override
    public ByteBuf toolArguments(ByteBufAllocator alloc, int index, String fragment) {
        return log(alloc, "toolArguments " + index + " " + fragment);
    }

    @Override
    public ByteBuf keepAlive(ByteBufAllocator alloc) {
        return log(alloc, "keepAlive");
    }

    @Override
    public ByteBuf finish(ByteBufAllocator alloc, FinishReason reason, String rawReason, Usage usage) {
        return log(alloc, "finish " + reason + " " + rawReason + " " + usage);
    }

    @Override
    public ByteBuf error(ByteBufAllocator alloc, String message, String code) {
        return log(alloc, "error " + code + " " + message);
    }
}
