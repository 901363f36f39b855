package dev.skiff.dialect;

import dev.skiff.dialect.ir.FinishReason;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * Writes a streamed answer in the client's dialect (OpenAI chat chunks, Responses events, Anthropic
 * Messages events) from what a provider's stream translator reads out of the provider's framing.
 * Translators call these in the order things arrive; each call returns the bytes for the client
 * (whole SSE events) or null when there is nothing to send yet. A writer holds the state its dialect
 * needs (open blocks, sequence numbers) and lives on one event loop; one per stream.
 *
 * <p>Calls a translator makes: {@code start} once, when the provider's answer begins (a writer also
 * starts by itself if content comes first); then any number of content calls; then exactly one of
 * {@code finish} or {@code error}. Tool calls are numbered by {@code index} from 0 in the order they
 * start; argument fragments name the call they belong to, and may interleave between calls.
 */
public interface ChatStreamWriter {
    /**
     * The answer begins.
     *
     * @param id    the provider's response id, or null
     * @param usage what is known of usage so far (input tokens, from providers that say at the start); {@link Usage#NONE} if nothing
     */
    ByteBuf start(ByteBufAllocator alloc, String id, Usage usage);

    /** Answer text. */
    ByteBuf text(ByteBufAllocator alloc, String text);

    /** Visible reasoning text. */
    ByteBuf thinking(ByteBufAllocator alloc, String text);

    /** The signature that closes the current reasoning, to be sent back byte-identical on the next turn. */
    ByteBuf thinkingSignature(ByteBufAllocator alloc, String signature);

    /** A whole piece of encrypted reasoning. */
    ByteBuf redactedThinking(ByteBufAllocator alloc, String data);

    /** A tool call starts; {@code arguments} is its JSON text so far ("" when it comes in fragments later). */
    ByteBuf toolCall(ByteBufAllocator alloc, int index, String id, String name, String arguments);

    /** A fragment of a started tool call's arguments. */
    ByteBuf toolArguments(ByteBufAllocator alloc, int index, String fragment);

    /** The provider signalled it is alive (a ping) without content: keeps idle clients and proxies from timing out. */
    ByteBuf keepAlive(ByteBufAllocator alloc);

    /**
     * The answer ended normally: closes what is open, then writes the dialect's terminal events.
     *
     * @param reason    normalized finish reason
     * @param rawReason the provider's own word for it, or null
     * @param usage     the final usage, or {@link Usage#NONE}
     */
    ByteBuf finish(ByteBufAllocator alloc, FinishReason reason, String rawReason, Usage usage);

    /** The answer failed after the stream started: an in-band error in the dialect; nothing follows it. */
    ByteBuf error(ByteBufAllocator alloc, String message, String code);
}
