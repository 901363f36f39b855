package dev.skiff.provider;

import dev.skiff.dialect.BadRequestException;
import dev.skiff.dialect.Egress;
import dev.skiff.dialect.ir.ChatRequest;
import dev.skiff.dialect.ir.Dropped;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import java.util.Map;

/**
 * Chat completions for a provider that speaks another dialect than OpenAI's. The gateway reads the
 * client's request into the internal representation (whatever its dialect); the adapter writes the
 * provider's request from it and supplies the translators that bring the answer back. Stateless.
 */
public interface ChatAdapter {

    /**
     * What the client asked, as far as the adapter needs it.
     *
     * @param egress how answers go back in the client's dialect, whichever it is
     */
    record Call(Provider provider, String clientModel, String upstreamModel, boolean stream, Egress egress,
                HttpHeaders clientHeaders, String requestId) {}

    /**
     * The upstream request and how to read its answer.
     *
     * @param head      method, target and headers, credentials and Content-Length included
     * @param body      the request body (the caller sends and releases it)
     * @param responses translates a complete (non-stream, or error) answer
     * @param stream    translates the stream, chunk by chunk as it arrives; null when not streaming
     * @param headers   extra headers for the client's response (for instance dropped fields)
     */
    record Upstream(HttpRequest head, ByteBuf body, ResponseTranslator responses, StreamTranslator stream,
                    Map<String, String> headers) {}

    /**
     * Whether images given by URL must be fetched and sent as bytes, because the provider takes no
     * URL it would fetch itself (conformance 26).
     */
    default boolean inlinesImageUrls() {
        return false;
    }

    /**
     * The provider's own token count for a request's input (Anthropic's {@code count_tokens}), or null
     * when the provider has no way to count; the gateway then answers with a marked estimate.
     */
    default Upstream countTokens(Call call, ChatRequest request, ByteBufAllocator alloc) throws BadRequestException {
        return null;
    }

    /** Writes the provider's request for a chat already read into the internal representation. */
    Upstream prepare(Call call, ChatRequest request, ByteBufAllocator alloc) throws BadRequestException;

    /**
     * A JSON POST to the call's provider at {@code endpoint} (relative to its base URL): the provider's
     * credentials, the body's length, an {@code Accept} for a stream or a complete answer, and the
     * request id.
     */
    static HttpRequest post(Call call, String endpoint, int contentLength, boolean stream) {
        HttpRequest head = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, call.provider().path(endpoint, call.upstreamModel()));
        HttpHeaders h = head.headers();
        call.provider().applyHeaders(h);
        h.set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, contentLength)
                .set(HttpHeaderNames.ACCEPT, stream ? HttpHeaderValues.TEXT_EVENT_STREAM : HttpHeaderValues.APPLICATION_JSON)
                .set("x-request-id", call.requestId());
        return head;
    }

    /** Response header naming the request fields a translation could not carry. */
    String DROPPED_HEADER = "x-skiff-dropped-fields";

    /** Headers every response to a translated request carries: the fields it dropped, if any. */
    static Map<String, String> droppedHeaders(Dropped dropped) {
        return dropped.isEmpty() ? Map.of() : Map.of(DROPPED_HEADER, dropped.toString());
    }
}
