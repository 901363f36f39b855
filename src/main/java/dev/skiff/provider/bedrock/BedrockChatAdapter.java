package dev.skiff.provider.bedrock;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.BadRequestException;
import dev.skiff.dialect.ClientDialect;
import dev.skiff.dialect.Egress;
import dev.skiff.dialect.OpenAiErrors;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.ir.ChatRequest;
import dev.skiff.dialect.ir.ChatResponse;
import dev.skiff.dialect.ir.Dropped;
import dev.skiff.dialect.openai.OpenAiChat;
import dev.skiff.provider.ChatAdapter;
import dev.skiff.provider.Provider;
import dev.skiff.provider.SignedCallIds;
import dev.skiff.provider.ResponseTranslator;
import dev.skiff.provider.TranslatedResponses;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * OpenAI chat in front of Amazon Bedrock's Converse API: {@code POST /model/{modelId}/converse}, or
 * {@code /converse-stream} for streams (an {@code application/vnd.amazon.eventstream} body).
 *
 * <p>The model id is one path segment, percent-encoded with {@link SigV4Signer#encodePathSegment}
 * (ids contain ':', inference profile ARNs '/' and ':').
 *
 * <p>Credentials: with {@code BEDROCK_API_KEY} (a Bedrock API key, sent as {@code Authorization:
 * Bearer}, which {@link Provider#applyHeaders} already sets) nothing is signed. Otherwise the request
 * is signed with SigV4 (service "bedrock", the configured region, access key, secret and optional
 * session token) over exactly what is sent: method, Host, path, body hash, and the headers
 * content-type, accept and x-request-id (sent unchanged, so they can be signed; signing them means a
 * proxy cannot alter them unnoticed). Content-Length is not signed (a hop may re-frame the body).
 */
public final class BedrockChatAdapter implements ChatAdapter {
    public static final BedrockChatAdapter INSTANCE = new BedrockChatAdapter();
    static final String JSON_TYPE = "application/json";
    static final String EVENT_STREAM_TYPE = "application/vnd.amazon.eventstream";

    private BedrockChatAdapter() {}

    @Override
    public boolean inlinesImageUrls() {
        return true; // it takes image bytes, not URLs it would fetch
    }

    @Override
    public Upstream prepare(Call call, ChatRequest request, ByteBufAllocator alloc) throws BadRequestException {
        Prepared p = prepare(request);
        Provider provider = call.provider();
        String endpoint = "/model/" + SigV4Signer.encodePathSegment(call.upstreamModel()) + (call.stream() ? "/converse-stream" : "/converse");
        String path = provider.path(endpoint, call.upstreamModel());
        HttpRequest head = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, path);
        HttpHeaders h = head.headers();
        provider.applyHeaders(h);
        String accept = call.stream() ? EVENT_STREAM_TYPE : JSON_TYPE;
        h.set(HttpHeaderNames.CONTENT_TYPE, JSON_TYPE)
                .set(HttpHeaderNames.ACCEPT, accept)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, p.body().length);
        if (call.requestId() != null) h.set("x-request-id", call.requestId());
        if (provider.apiKey() == null) {
            try {
                sign(provider, h, path, p.body(), accept, call.requestId()).forEach(h::set);
            } catch (IllegalArgumentException e) {
                throw new BadRequestException("Provider '" + provider.name() + "' has no usable AWS credentials: " + e.getMessage(), "model");
            }
        }
        ByteBuf body = alloc.buffer(p.body().length).writeBytes(p.body());
        return new Upstream(head, body, responses(call.egress()),
                call.stream() ? new BedrockStreamTranslator(call.egress().stream(), carriesReasoningInIds(call.egress())) : null,
                ChatAdapter.droppedHeaders(p.dropped()));
    }

    /** The SigV4 headers (Authorization, X-Amz-Date, X-Amz-Content-Sha256, X-Amz-Security-Token) for this request. */
    static Map<String, String> sign(Provider provider, HttpHeaders h, String path, byte[] body, String accept, String requestId) {
        SigV4Signer signer = signer(provider);
        SigV4Signer.Credentials credentials = credentials(provider);
        int q = path.indexOf('?');
        SigV4Signer.Builder b = SigV4Signer.Request.builder("POST", h.get(HttpHeaderNames.HOST), q < 0 ? path : path.substring(0, q))
                .header("content-type", JSON_TYPE)
                .header("accept", accept)
                .body(body);
        if (requestId != null) b.header("x-request-id", requestId);
        return signer.sign(b.build(), credentials).headers();
    }

    /** The SigV4 signer for a Bedrock provider: service "bedrock", the configured region. */
    public static SigV4Signer signer(Provider provider) {
        return new SigV4Signer(provider.settings().getOrDefault("aws_region", "us-east-1"), "bedrock");
    }

    /** The provider's AWS credentials; IllegalArgumentException when the key id or secret is missing. */
    public static SigV4Signer.Credentials credentials(Provider provider) {
        Map<String, String> s = provider.settings();
        return new SigV4Signer.Credentials(s.get("aws_access_key_id"), s.get("aws_secret_access_key"), s.get("aws_session_token"));
    }

    /** The upstream body, and what translation had to leave out. */
    public record Prepared(ChatRequest request, byte[] body, Dropped dropped) {}

    /** Writes the Converse request body. */
    public static Prepared prepare(ChatRequest ir) throws BadRequestException {
        Dropped dropped = new Dropped();
        ObjectNode body = BedrockConverseCodec.renderRequest(ir, dropped);
        try {
            return new Prepared(ir, BedrockConverseCodec.MAPPER.writeValueAsBytes(body), dropped);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Chat clients get Claude's signed reasoning that precedes tool calls inside the calls' ids too
     * (see {@link SignedCallIds}), as from Anthropic's API: many send back ids but not
     * {@code reasoning_content} / {@code reasoning_signature}, and without it the next turn (thinking
     * on) is refused. Messages and Responses clients carry reasoning in blocks and items of their own.
     */
    static boolean carriesReasoningInIds(Egress egress) {
        return egress.dialect() == ClientDialect.OPENAI_CHAT;
    }

    /** Translates Bedrock's answer (or error) into OpenAI's shape for the client. */
    public static ResponseTranslator responses(Egress egress) {
        TranslatedResponses.Parser parser = !carriesReasoningInIds(egress) ? BedrockConverseCodec::parseResponse : body -> {
            ChatResponse r = BedrockConverseCodec.parseResponse(body);
            return new ChatResponse(r.id(), r.model(), SignedCallIds.carryInCallIds(r.content(), SignedCallIds.Origin.BEDROCK),
                    r.finishReason(), r.rawFinishReason(), r.usage());
        };
        return TranslatedResponses.of(egress, parser, (status, text) -> {
            BedrockConverseCodec.ErrorInfo e = BedrockConverseCodec.parseError(status, text);
            return new TranslatedResponses.ProviderError(e.type(), e.message());
        });
    }
}
