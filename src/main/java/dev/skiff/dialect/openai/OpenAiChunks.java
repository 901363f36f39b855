package dev.skiff.dialect.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.Ids;
import dev.skiff.dialect.Usage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;

/**
 * Writes the events of an OpenAI chat-completion stream for a translated provider: one per delta,
 * the finish chunk, the usage chunk (when the client asked), errors and the terminator.
 */
public final class OpenAiChunks {
    private final String model;
    private final long created = System.currentTimeMillis() / 1000;
    private String id; // the provider's, else one made up at the first chunk

    public OpenAiChunks(String clientModel) {
        this.model = clientModel;
    }

    /** The provider's response id, once known. */
    public void id(String id) {
        if (id != null && !id.isEmpty()) this.id = id;
    }

    public static ObjectNode newDelta() {
        return OpenAiChat.JSON.createObjectNode();
    }

    /** The first chunk, announcing the assistant's turn. */
    public ByteBuf role(ByteBufAllocator alloc) {
        return delta(alloc, newDelta().put("role", "assistant").put("content", ""));
    }

    public ByteBuf delta(ByteBufAllocator alloc, ObjectNode delta) {
        return chunk(alloc, delta, null);
    }

    /** The last chunk with choices: an empty delta and the finish reason. */
    public ByteBuf finish(ByteBufAllocator alloc, String finishReason) {
        return chunk(alloc, newDelta(), finishReason);
    }

    /** The usage-only chunk ({@code choices:[]}), sent only to clients that asked for it. */
    public ByteBuf usage(ByteBufAllocator alloc, Usage usage) {
        ObjectNode c = head();
        c.putArray("choices");
        c.set("usage", OpenAiChat.usage(usage));
        return event(alloc, c);
    }

    public static ByteBuf done(ByteBufAllocator alloc) {
        ByteBuf b = alloc.buffer(16);
        b.writeCharSequence("data: [DONE]\n\n", StandardCharsets.US_ASCII);
        return b;
    }

    /** An in-band error in OpenAI's envelope, for a stream that already started. */
    public static ByteBuf error(ByteBufAllocator alloc, String message, String code) {
        ObjectNode e = OpenAiChat.JSON.createObjectNode();
        e.putObject("error").put("message", message).put("type", "server_error").putNull("param").put("code", code);
        return event(alloc, e);
    }

    /** A chunk with a delta and, on the last one, its finish reason (null otherwise). */
    public ByteBuf chunk(ByteBufAllocator alloc, ObjectNode delta, String finishReason) {
        ObjectNode c = head();
        ObjectNode choice = c.putArray("choices").addObject();
        choice.put("index", 0);
        choice.set("delta", delta);
        choice.putNull("logprobs");
        if (finishReason == null) choice.putNull("finish_reason");
        else choice.put("finish_reason", finishReason);
        return event(alloc, c);
    }

    private ObjectNode head() {
        ObjectNode c = OpenAiChat.JSON.createObjectNode();
        if (id == null) id = Ids.hex("chatcmpl-");
        c.put("id", id).put("object", "chat.completion.chunk").put("created", created).put("model", model);
        return c;
    }

    /** {@code data: <json>\n\n}. */
    public static ByteBuf event(ByteBufAllocator alloc, JsonNode node) {
        ByteBuf buf = alloc.buffer(256);
        buf.writeCharSequence("data: ", StandardCharsets.US_ASCII);
        OpenAiChat.writeTo(node, buf);
        buf.writeCharSequence("\n\n", StandardCharsets.US_ASCII);
        return buf;
    }
}
