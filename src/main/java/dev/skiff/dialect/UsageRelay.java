package dev.skiff.dialect;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * A same-dialect stream other than OpenAI chat (Anthropic Messages, Responses): every event goes to
 * the client unchanged, and the usage the provider reports in it is taken on the way.
 */
public final class UsageRelay implements StreamRelay {
    private final UsageScan.Accumulator usage = new UsageScan.Accumulator();

    @Override
    public ByteBuf filter(ByteBuf event, ByteBufAllocator alloc) {
        usage.event(event);
        return event;
    }

    @Override
    public Usage usage() {
        return usage.usage();
    }
}
