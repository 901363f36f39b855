package dev.skiff.provider.bedrock;

import dev.skiff.dialect.BadRequestException;
import dev.skiff.provider.ChatAdapter;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/** Placeholder until the Bedrock adapter lands: refuses clearly instead of failing obscurely. */
public final class BedrockChatAdapter implements ChatAdapter {
    public static final BedrockChatAdapter INSTANCE = new BedrockChatAdapter();

    private BedrockChatAdapter() {}

    @Override
    public Upstream prepare(Call call, ByteBuf openAiBody, ByteBufAllocator alloc) throws BadRequestException {
        throw new BadRequestException("Provider '" + call.provider().name() + "' is not available yet in this version of Skiff.", "model");
    }
}
