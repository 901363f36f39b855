package dev.skiff.provider.gemini;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.BadRequestException;
import dev.skiff.dialect.Egress;
import dev.skiff.dialect.ir.ChatRequest;
import dev.skiff.dialect.ir.Dropped;
import dev.skiff.dialect.openai.OpenAiChat;
import dev.skiff.provider.ChatAdapter;
import dev.skiff.provider.ResponseTranslator;
import dev.skiff.provider.TranslatedResponses;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.HttpRequest;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

/**
 * OpenAI chat in front of Google's Gemini API (the native one, not its OpenAI-compatible endpoint):
 * {@code POST {base}/models/{model}:generateContent}, or {@code :streamGenerateContent?alt=sse} for a
 * stream (ai.google.dev/api/generate-content). The client's request is read into the internal
 * representation and written by {@link GeminiCodec}; answers come back through the same codec, or
 * {@link GeminiStreamTranslator} for streams.
 */
public final class GeminiChatAdapter implements ChatAdapter {

    public static final GeminiChatAdapter INSTANCE = new GeminiChatAdapter();

    private GeminiChatAdapter() {}

    @Override
    public boolean inlinesImageUrls() {
        return true; // it takes image bytes, not URLs it would fetch
    }

    @Override
    public Upstream prepare(Call call, ChatRequest request, ByteBufAllocator alloc) throws BadRequestException {
        Prepared p = prepare(request, alloc);
        HttpRequest head = ChatAdapter.post(call, endpoint(call.upstreamModel(), call.stream()), p.body().readableBytes(), call.stream());
        return new Upstream(head, p.body(), responses(call.egress()),
                call.stream() ? new GeminiStreamTranslator(call.egress().stream()) : null, ChatAdapter.droppedHeaders(p.dropped()));
    }

    /**
     * Gemini counts tokens itself: {@code models/{model}:countTokens} with the whole generateContent
     * request, so system instruction and tools are counted too (conformance 37).
     */
    @Override
    public Upstream countTokens(Call call, ChatRequest request, ByteBufAllocator alloc) throws BadRequestException {
        Dropped dropped = new Dropped();
        ObjectNode inner = GeminiCodec.renderRequest(request, dropped);
        String model = call.upstreamModel().startsWith("models/") ? call.upstreamModel() : "models/" + call.upstreamModel();
        inner.put("model", model);
        ObjectNode body = OpenAiChat.JSON.createObjectNode();
        body.set("generateContentRequest", inner);
        ByteBuf bytes = OpenAiChat.write(body, alloc);
        String endpoint = endpoint(call.upstreamModel(), false).replace(":generateContent", ":countTokens");
        HttpRequest head = ChatAdapter.post(call, endpoint, bytes.readableBytes(), false);
        ResponseTranslator counts = TranslatedResponses.counted(call.egress().dialect(), tree -> {
            if (!tree.has("totalTokens")) throw new java.io.IOException("no totalTokens in the answer");
            return tree.get("totalTokens").asLong();
        }, (status, text) -> {
            GeminiCodec.ErrorInfo e = GeminiCodec.parseError(status, text);
            return new TranslatedResponses.ProviderError(e.status(), e.message());
        });
        return new Upstream(head, bytes, counts, null, ChatAdapter.droppedHeaders(dropped));
    }

    /** {@code /models/{model}:generateContent}, the model encoded as one path segment. */
    static String endpoint(String model, boolean stream) {
        String m = model.startsWith("models/") ? model.substring("models/".length()) : model;
        String encoded = URLEncoder.encode(m, StandardCharsets.UTF_8).replace("+", "%20");
        return "/models/" + encoded + (stream ? ":streamGenerateContent?alt=sse" : ":generateContent");
    }

    /** The upstream body, and what translation had to leave out. */
    public record Prepared(ChatRequest request, ByteBuf body, Dropped dropped) {}

    /** Writes the Gemini request body. */
    public static Prepared prepare(ChatRequest ir, ByteBufAllocator alloc) throws BadRequestException {
        Dropped dropped = new Dropped();
        ObjectNode body = GeminiCodec.renderRequest(ir, dropped);
        return new Prepared(ir, OpenAiChat.write(body, alloc), dropped);
    }

    /** Translates Gemini's answer (or error) into OpenAI's shape for the client; errors keep their status. */
    public static ResponseTranslator responses(Egress egress) {
        return TranslatedResponses.of(egress, GeminiCodec::parseResponse, (status, text) -> {
            GeminiCodec.ErrorInfo e = GeminiCodec.parseError(status, text);
            return new TranslatedResponses.ProviderError(e.status(), e.message());
        });
    }
}
