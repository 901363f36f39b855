package dev.skiff.provider.bedrock;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.BadRequestException;
import dev.skiff.dialect.OpenAiErrors;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.openai.OpenAiChat;
import dev.skiff.provider.ChatAdapter;
import dev.skiff.provider.EmbeddingsAdapter;
import dev.skiff.provider.Provider;
import dev.skiff.provider.ResponseTranslator;
import dev.skiff.upstream.MultiExchange;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * OpenAI embeddings in front of Bedrock's InvokeModel ({@code POST /model/{modelId}/invoke}) for
 * Titan and Cohere embedding models. Titan embeds one text per call, so a batch of N inputs is N
 * calls, and Cohere's batches are split at 96: the calls go out together through a
 * {@link MultiExchange} and their answers come back as one OpenAI list, in input order.
 *
 * <p>The model id goes in the path as for chat, and each call is signed on its own (SigV4 covers the
 * body), or carries the Bedrock API key that {@link Provider#applyHeaders} sets.
 */
public final class BedrockEmbeddingsAdapter implements EmbeddingsAdapter {
    public static final BedrockEmbeddingsAdapter INSTANCE = new BedrockEmbeddingsAdapter();

    private BedrockEmbeddingsAdapter() {}

    /** Never called: Bedrock's requests always go through {@link #prepareFanOut}, even when there is one. */
    @Override
    public ChatAdapter.Upstream prepare(ChatAdapter.Call call, ByteBuf openAiBody, ByteBufAllocator alloc) {
        throw new UnsupportedOperationException("Bedrock embeddings are prepared by prepareFanOut");
    }

    @Override
    public FanOut prepareFanOut(ChatAdapter.Call call, ByteBuf openAiBody, ByteBufAllocator alloc) throws BadRequestException {
        String model = call.upstreamModel();
        BedrockEmbeddingsCodec.Family family = BedrockEmbeddingsCodec.family(model);
        if (family == null) {
            throw new BadRequestException("'" + model + "' is not an embedding model Skiff knows on Bedrock: use an Amazon Titan "
                    + "(amazon.titan-embed-...) or Cohere (cohere.embed-...) model, or a profile of one.", "model");
        }
        JsonNode body;
        try {
            body = OpenAiChat.read(openAiBody);
        } catch (IOException e) {
            throw new BadRequestException("The request body is not valid JSON.", null);
        }
        BedrockEmbeddingsCodec.Request request = BedrockEmbeddingsCodec.read(body, family);

        Provider provider = call.provider();
        String path = provider.path("/model/" + SigV4Signer.encodePathSegment(model) + "/invoke", model);
        List<byte[]> bodies = new ArrayList<>();
        for (ObjectNode b : BedrockEmbeddingsCodec.requestBodies(family, request)) bodies.add(bytes(b));
        // Every head is built (and signed) before any buffer is allocated, so a refusal leaks nothing.
        List<HttpRequest> heads = new ArrayList<>(bodies.size());
        for (byte[] b : bodies) heads.add(head(provider, path, b, call.requestId()));
        List<MultiExchange.Part> parts = new ArrayList<>(bodies.size());
        for (int i = 0; i < bodies.size(); i++) {
            parts.add(new MultiExchange.Part(heads.get(i), alloc.buffer(bodies.get(i).length).writeBytes(bodies.get(i))));
        }
        return new FanOut(parts, responses(family, request.inputs().size(), call.clientModel(), request.base64()),
                ChatAdapter.droppedHeaders(request.dropped()));
    }

    private static HttpRequest head(Provider provider, String path, byte[] body, String requestId) throws BadRequestException {
        HttpRequest head = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, path);
        HttpHeaders h = head.headers();
        provider.applyHeaders(h);
        h.set(HttpHeaderNames.CONTENT_TYPE, BedrockChatAdapter.JSON_TYPE)
                .set(HttpHeaderNames.ACCEPT, BedrockChatAdapter.JSON_TYPE)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        if (requestId != null) h.set("x-request-id", requestId);
        if (provider.apiKey() == null) {
            try {
                BedrockChatAdapter.sign(provider, h, path, body, BedrockChatAdapter.JSON_TYPE, requestId).forEach(h::set);
            } catch (IllegalArgumentException e) {
                throw new BadRequestException("Provider '" + provider.name() + "' has no usable AWS credentials: " + e.getMessage(), "model");
            }
        }
        return head;
    }

    private static byte[] bytes(ObjectNode body) {
        try {
            return OpenAiChat.JSON.writeValueAsBytes(body);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Translates the gathered answers (a JSON array, see {@link MultiExchange}) or the first error,
     * which keeps its status and Bedrock's message in OpenAI's envelope.
     */
    static ResponseTranslator responses(BedrockEmbeddingsCodec.Family family, int inputs, String clientModel, boolean base64) {
        return (status, body, alloc) -> {
            try {
                if (status / 100 != 2) {
                    BedrockConverseCodec.ErrorInfo e = BedrockConverseCodec.parseError(status, body.toString(StandardCharsets.UTF_8));
                    return new ResponseTranslator.Result(status,
                            OpenAiErrors.envelope(alloc, e.message(), OpenAiErrors.typeFor(status), null, e.type()), Usage.NONE,
                            "upstream status " + status);
                }
                BedrockEmbeddingsCodec.Embeddings e = BedrockEmbeddingsCodec.parseAnswers(family, OpenAiChat.read(body), inputs);
                Usage usage = e.inputTokens() < 0 ? Usage.NONE : new Usage(e.inputTokens(), -1, e.inputTokens(), -1, -1);
                return new ResponseTranslator.Result(200, OpenAiChat.write(BedrockEmbeddingsCodec.render(e, clientModel, base64), alloc),
                        usage, null);
            } catch (IOException | RuntimeException e) {
                String message = "The provider's answer could not be translated: " + e.getMessage();
                return new ResponseTranslator.Result(502,
                        OpenAiErrors.envelope(alloc, message, "server_error", null, "upstream_invalid_response"), Usage.NONE, message);
            } finally {
                body.release();
            }
        };
    }
}
