package dev.skiff.dialect.openai;

import dev.skiff.dialect.ChatStreamWriter;
import dev.skiff.dialect.ClientDialect;
import dev.skiff.dialect.Egress;
import dev.skiff.dialect.ir.ChatResponse;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/** Answers for a client of {@code /v1/chat/completions}. */
public record OpenAiChatEgress(String clientModel, boolean clientWantsUsage) implements Egress {
    @Override
    public ClientDialect dialect() {
        return ClientDialect.OPENAI_CHAT;
    }

    @Override
    public ByteBuf response(ChatResponse response, ByteBufAllocator alloc) {
        return OpenAiChat.write(OpenAiChat.renderResponse(response, clientModel, System.currentTimeMillis() / 1000), alloc);
    }

    @Override
    public ChatStreamWriter stream() {
        return new OpenAiChatStreamWriter(clientModel, clientWantsUsage);
    }
}
