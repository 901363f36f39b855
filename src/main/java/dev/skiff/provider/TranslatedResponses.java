package dev.skiff.provider;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import dev.skiff.dialect.ClientDialect;
import dev.skiff.dialect.Egress;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.ir.ChatResponse;
import dev.skiff.dialect.openai.OpenAiChat;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * The {@link ResponseTranslator} every translated provider needs: a success is parsed into the
 * internal representation and written in the client's dialect; an error keeps its status and
 * the provider's message, in the client's error shape; an answer that cannot be read becomes a 502 that
 * says so.
 */
public final class TranslatedResponses {
    /** The provider's error, reduced to what OpenAI's envelope carries. */
    public record ProviderError(String code, String message) {}

    @FunctionalInterface
    public interface Parser {
        ChatResponse parse(JsonNode body) throws IOException;
    }

    @FunctionalInterface
    public interface ErrorParser {
        ProviderError parse(int status, String body);
    }

    private TranslatedResponses() {}

    /** Reads a provider's answer as it is parsed, with no tree of it in between. */
    @FunctionalInterface
    public interface StreamParser {
        ChatResponse parse(JsonParser p) throws IOException;
    }

    public static ResponseTranslator of(Egress egress, Parser parser, ErrorParser errors) {
        return streamed(egress, p -> {
            JsonNode tree = OpenAiChat.JSON.readTree(p);
            if (tree == null || !tree.isObject()) throw new IOException("the answer is not a JSON object");
            return parser.parse(tree);
        }, errors);
    }

    /** As {@link #of}, for a parser that reads the answer's tokens; it must refuse an answer that is not a JSON object. */
    public static ResponseTranslator streamed(Egress egress, StreamParser parser, ErrorParser errors) {
        ClientDialect dialect = egress.dialect();
        return (status, body, alloc) -> {
            try {
                if (status / 100 != 2) {
                    ProviderError e = errors.parse(status, body.toString(StandardCharsets.UTF_8));
                    ByteBuf out = dialect.errorBody(alloc, status, e.message(), null, e.code());
                    return new ResponseTranslator.Result(status, out, Usage.NONE, "upstream status " + status);
                }
                ChatResponse r;
                try (JsonParser p = OpenAiChat.JSON.createParser((InputStream) new ByteBufInputStream(body.duplicate()))) {
                    r = parser.parse(p);
                }
                return new ResponseTranslator.Result(200, egress.response(r, alloc), r.usage(), null, r.model());
            } catch (IOException | RuntimeException e) {
                String message = "The provider's answer could not be translated: " + e.getMessage();
                return new ResponseTranslator.Result(502,
                        dialect.errorBody(alloc, 502, message, null, "upstream_invalid_response"), Usage.NONE, message);
            } finally {
                body.release();
            }
        };
    }

    /** Reads a provider's token count out of its answer. */
    @FunctionalInterface
    public interface CountReader {
        long count(JsonNode body) throws IOException;
    }

    /**
     * For a provider's own token counter: its answer becomes Anthropic's {@code count_tokens} answer,
     * {@code {"input_tokens": n}}; errors as in {@link #of}.
     */
    public static ResponseTranslator counted(ClientDialect dialect, CountReader reader, ErrorParser errors) {
        return (status, body, alloc) -> {
            try {
                if (status / 100 != 2) {
                    ProviderError e = errors.parse(status, body.toString(StandardCharsets.UTF_8));
                    return new ResponseTranslator.Result(status, dialect.errorBody(alloc, status, e.message(), null, e.code()), Usage.NONE,
                            "upstream status " + status);
                }
                JsonNode tree = OpenAiChat.read(body);
                if (tree == null || !tree.isObject()) throw new IOException("the answer is not a JSON object");
                long n = reader.count(tree);
                ByteBuf out = alloc.buffer(32);
                out.writeCharSequence("{\"input_tokens\":" + n + "}", StandardCharsets.US_ASCII);
                return new ResponseTranslator.Result(200, out, Usage.NONE, null);
            } catch (IOException | RuntimeException e) {
                String message = "The provider's token count could not be read: " + e.getMessage();
                return new ResponseTranslator.Result(502, dialect.errorBody(alloc, 502, message, null, "upstream_invalid_response"),
                        Usage.NONE, message);
            } finally {
                body.release();
            }
        };
    }
}
