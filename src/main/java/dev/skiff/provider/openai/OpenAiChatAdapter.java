package dev.skiff.provider.openai;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.config.ProviderType;
import dev.skiff.dialect.Bytes;
import dev.skiff.dialect.ClientDialect;
import dev.skiff.dialect.Egress;
import dev.skiff.dialect.ir.ChatRequest;
import dev.skiff.dialect.ir.Dropped;
import dev.skiff.dialect.openai.OpenAiChat;
import dev.skiff.dialect.openai.OpenAiChatCodec;
import dev.skiff.dialect.openai.OpenAiChatCodec.MaxTokensField;
import dev.skiff.dialect.openai.OpenAiChatCodec.ReasoningEcho;
import dev.skiff.provider.ChatAdapter;
import dev.skiff.provider.JsonFields;
import dev.skiff.provider.ResponseTranslator;
import dev.skiff.provider.TranslatedResponses;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.HttpRequest;
import java.nio.charset.StandardCharsets;

/**
 * OpenAI chat completions as the target of a translation: clients of another dialect (Anthropic
 * Messages, Responses) in front of OpenAI, Azure OpenAI and the servers that copy OpenAI's API. The
 * request is written from the internal representation; the answer, whole or streamed, is read back
 * into it and leaves in the client's dialect. (OpenAI chat clients of these providers take the
 * byte-forwarding path instead and never get here.)
 */
public final class OpenAiChatAdapter implements ChatAdapter {
    public static final OpenAiChatAdapter INSTANCE = new OpenAiChatAdapter();

    private OpenAiChatAdapter() {}

    @Override
    public Upstream prepare(Call call, ChatRequest request, ByteBufAllocator alloc) {
        Prepared p = prepare(request, call.stream(), target(call.provider().type(), call.egress().dialect()), alloc);
        // Azure names the deployment in the path and takes its key as api-key: Provider does both.
        HttpRequest head = ChatAdapter.post(call, "/chat/completions", p.body().readableBytes(), call.stream());
        return new Upstream(head, p.body(), responses(call.egress()),
                call.stream() ? new OpenAiChatStreamTranslator(call.egress().stream()) : null, ChatAdapter.droppedHeaders(p.dropped()));
    }

    /** The upstream body, and what translation had to leave out. */
    public record Prepared(ByteBuf body, Dropped dropped) {}

    /** Writes the chat completions body; {@code stream} is the call's, whatever the representation says. */
    public static Prepared prepare(ChatRequest request, boolean stream, OpenAiChatCodec.Target target, ByteBufAllocator alloc) {
        Dropped dropped = new Dropped();
        ObjectNode body = OpenAiChatCodec.renderRequest(request, target, dropped);
        if (stream) {
            body.put("stream", true);
            body.putObject("stream_options").put("include_usage", true); // conformance 20
        } else {
            body.remove("stream");
            body.remove("stream_options");
        }
        return new Prepared(OpenAiChat.write(body, alloc), dropped);
    }

    /**
     * What a provider type accepts.
     * <ul>
     * <li>Output limit: OpenAI and Azure take {@code max_completion_tokens} (their reasoning models
     *     refuse {@code max_tokens}); the other compatible servers are sent {@code max_tokens}, the
     *     name they all know.</li>
     * <li>Earlier reasoning: DeepSeek refuses a tool-call turn without its {@code reasoning_content},
     *     and vLLM and llama.cpp read it into their chat templates, so they get it back; OpenAI,
     *     Azure and the strict servers (Mistral refuses the member) do not.</li>
     * </ul>
     */
    public static OpenAiChatCodec.Target target(ProviderType type, ClientDialect clientDialect) {
        MaxTokensField max = switch (type) {
            case OPENAI, AZURE -> MaxTokensField.MAX_COMPLETION_TOKENS;
            default -> MaxTokensField.MAX_TOKENS;
        };
        ReasoningEcho echo = switch (type) {
            case DEEPSEEK, VLLM, LLAMACPP -> ReasoningEcho.TEXT;
            default -> ReasoningEcho.NONE;
        };
        return new OpenAiChatCodec.Target(max, echo, clientDialect);
    }

    private static final byte[][] ECHOED_REASONING = {
            "\"reasoning_content\"".getBytes(StandardCharsets.US_ASCII),
            "\"reasoning_signature\"".getBytes(StandardCharsets.US_ASCII),
            "\"redacted_reasoning\"".getBytes(StandardCharsets.US_ASCII)};

    /**
     * Whether a chat request for a provider of {@code type} must be translated rather than relayed as
     * it is: Groq and Mistral refuse an assistant message with a member they do not know ("property
     * 'reasoning_content' is unsupported"), and clients send reasoning back under those names (the
     * AI SDK's openai-compatible provider echoes {@code reasoning_content} even when Groq answered it
     * as {@code reasoning}; Skiff's own answers from other providers carry the signature members).
     * Translation leaves them out and names them in {@code x-skiff-dropped-fields}. Only these
     * providers pay for the byte search, and only a body that has the names is translated.
     */
    public static boolean mustDropEchoedReasoning(ProviderType type, ByteBuf body) {
        if (type != ProviderType.GROQ && type != ProviderType.MISTRAL) return false;
        for (byte[] name : ECHOED_REASONING) {
            if (Bytes.indexOf(body, body.readerIndex(), body.writerIndex(), name) >= 0) return true;
        }
        return false;
    }

    /** Translates the provider's answer (or error) for the client. */
    public static ResponseTranslator responses(Egress egress) {
        return TranslatedResponses.streamed(egress, OpenAiChatCodec::parseResponse, OpenAiChatAdapter::parseError);
    }

    /**
     * OpenAI's error envelope {@code {"error":{"message","type","code"}}}; also the shapes compatible
     * servers use instead ({@code {"error":"..."}}, vLLM's top-level {@code message}). Anything else
     * is passed on as the raw text.
     */
    public static TranslatedResponses.ProviderError parseError(int status, String body) {
        if (JsonFields.isBlank(body)) return new TranslatedResponses.ProviderError(null, "The provider answered HTTP " + status + " with no body.");
        JsonNode root;
        try {
            root = OpenAiChat.JSON.readTree(body);
        } catch (JsonProcessingException e) {
            return new TranslatedResponses.ProviderError(null, body);
        }
        if (root == null || !root.isObject()) return new TranslatedResponses.ProviderError(null, body);
        JsonNode error = root.get("error");
        if (error != null && error.isObject()) {
            String message = JsonFields.textOrNull(error, "message");
            return new TranslatedResponses.ProviderError(code(error), message != null ? message : body);
        }
        if (error != null && error.isTextual()) return new TranslatedResponses.ProviderError(null, error.asText());
        String message = JsonFields.textOrNull(root, "message");
        if (message != null) return new TranslatedResponses.ProviderError(code(root), message);
        return new TranslatedResponses.ProviderError(null, body);
    }

    /** {@code code} when given (a string or, from some servers, a number), else {@code type}. */
    private static String code(JsonNode error) {
        JsonNode code = error.get("code");
        if (code != null && (code.isTextual() || code.isNumber())) return code.asText();
        return JsonFields.textOrNull(error, "type");
    }
}
