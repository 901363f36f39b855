package dev.skiff.dialect.anthropic;

import dev.skiff.dialect.ChatStreamWriter;
import dev.skiff.dialect.ClientDialect;
import dev.skiff.dialect.Egress;
import dev.skiff.dialect.ir.ChatResponse;
import dev.skiff.dialect.openai.OpenAiChat;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/** Answers for a client of {@code /v1/messages}, whichever provider served them. */
public record AnthropicMessagesEgress(String clientModel) implements Egress {
    @Override
    public ClientDialect dialect() {
        return ClientDialect.ANTHROPIC_MESSAGES;
    }

    @Override
    public ByteBuf response(ChatResponse response, ByteBufAllocator alloc) {
        return OpenAiChat.write(AnthropicMessages.renderResponse(response, clientModel), alloc);
    }

    @Override
    public ChatStreamWriter stream() {
        return new AnthropicMessagesStreamWriter(clientModel);
    }
}
