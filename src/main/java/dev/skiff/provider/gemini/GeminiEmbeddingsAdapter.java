package dev.skiff.provider.gemini;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.BadRequestException;
import dev.skiff.dialect.OpenAiErrors;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.ir.Dropped;
import dev.skiff.dialect.openai.OpenAiChat;
import dev.skiff.provider.ChatAdapter;
import dev.skiff.provider.EmbeddingsAdapter;
import dev.skiff.provider.ResponseTranslator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * OpenAI embeddings in front of Gemini's {@code models/{model}:batchEmbedContents}: every input
 * becomes one request of the batch, {@code dimensions} becomes {@code outputDimensionality}, and
 * the vectors come back in OpenAI's list, as floats or, with {@code encoding_format: "base64"}, as
 * little-endian float32 bytes in base64, which is what OpenAI's clients decode.
 */
public final class GeminiEmbeddingsAdapter implements EmbeddingsAdapter {
    public static final GeminiEmbeddingsAdapter INSTANCE = new GeminiEmbeddingsAdapter();

    private GeminiEmbeddingsAdapter() {}

    @Override
    public ChatAdapter.Upstream prepare(ChatAdapter.Call call, ByteBuf openAiBody, ByteBufAllocator alloc) throws BadRequestException {
        JsonNode req;
        try {
            req = OpenAiChat.read(openAiBody);
        } catch (IOException e) {
            throw new BadRequestException("The request body is not valid JSON.", null);
        }
        List<String> inputs = inputs(req.get("input"));
        String format = req.path("encoding_format").asText("float");
        if (!format.equals("float") && !format.equals("base64")) {
            throw new BadRequestException("encoding_format must be float or base64.", "encoding_format");
        }
        Dropped dropped = new Dropped();
        req.properties().forEach(e -> {
            if (!List.of("model", "input", "dimensions", "encoding_format").contains(e.getKey())) dropped.add(e.getKey());
        });

        String model = call.upstreamModel().startsWith("models/") ? call.upstreamModel().substring(7) : call.upstreamModel();
        ObjectNode body = OpenAiChat.JSON.createObjectNode();
        ArrayNode requests = body.putArray("requests");
        for (String text : inputs) {
            ObjectNode r = requests.addObject();
            r.put("model", "models/" + model);
            r.putObject("content").putArray("parts").addObject().put("text", text);
            if (req.hasNonNull("dimensions")) r.put("outputDimensionality", req.get("dimensions").asInt());
        }
        ByteBuf out = OpenAiChat.write(body, alloc);
        String target = GeminiChatAdapter.endpoint(model, false).replace(":generateContent", ":batchEmbedContents");
        HttpRequest head = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, call.provider().path(target, model));
        HttpHeaders h = head.headers();
        call.provider().applyHeaders(h);
        h.set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, out.readableBytes())
                .set(HttpHeaderNames.ACCEPT, HttpHeaderValues.APPLICATION_JSON)
                .set("x-request-id", call.requestId());
        return new ChatAdapter.Upstream(head, out, responses(call.clientModel(), format.equals("base64")), null, ChatAdapter.droppedHeaders(dropped));
    }

    /** OpenAI's {@code input}: a string or an array of strings (token arrays cannot be sent to Gemini). */
    private static List<String> inputs(JsonNode input) throws BadRequestException {
        List<String> out = new ArrayList<>();
        if (input != null && input.isTextual()) {
            out.add(input.asText());
        } else if (input != null && input.isArray()) {
            for (JsonNode i : input) {
                if (!i.isTextual()) throw new BadRequestException("Gemini embeds text: 'input' must be a string or an array of strings.", "input");
                out.add(i.asText());
            }
        }
        if (out.isEmpty()) throw new BadRequestException("'input' is required.", "input");
        return out;
    }

    private static ResponseTranslator responses(String clientModel, boolean base64) {
        return (status, body, alloc) -> {
            try {
                if (status / 100 != 2) {
                    GeminiCodec.ErrorInfo e = GeminiCodec.parseError(status, body.toString(StandardCharsets.UTF_8));
                    return new ResponseTranslator.Result(status,
                            OpenAiErrors.envelope(alloc, e.message(), OpenAiErrors.typeFor(status), null, e.status()), Usage.NONE,
                            "upstream status " + status);
                }
                JsonNode answer = OpenAiChat.read(body);
                ObjectNode out = OpenAiChat.JSON.createObjectNode();
                out.put("object", "list");
                ArrayNode data = out.putArray("data");
                int index = 0;
                for (JsonNode e : answer.path("embeddings")) {
                    ObjectNode item = data.addObject();
                    item.put("object", "embedding");
                    item.put("index", index++);
                    JsonNode values = e.path("values");
                    if (base64) item.put("embedding", base64(values));
                    else item.set("embedding", values);
                }
                out.put("model", clientModel);
                // Gemini reports no token counts for embeddings: say so with zeros, as OpenAI's shape
                // requires the object, and record "not reported" in the usage log.
                out.putObject("usage").put("prompt_tokens", 0).put("total_tokens", 0);
                return new ResponseTranslator.Result(200, OpenAiChat.write(out, alloc), Usage.NONE, null);
            } catch (IOException | RuntimeException e) {
                String message = "The provider's answer could not be translated: " + e.getMessage();
                return new ResponseTranslator.Result(502,
                        OpenAiErrors.envelope(alloc, message, "server_error", null, "upstream_invalid_response"), Usage.NONE, message);
            } finally {
                body.release();
            }
        };
    }

    /** Little-endian float32 values in base64, as OpenAI sends them. */
    static String base64(JsonNode values) {
        ByteBuffer buf = ByteBuffer.allocate(values.size() * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (JsonNode v : values) buf.putFloat((float) v.asDouble());
        return Base64.getEncoder().encodeToString(buf.array());
    }
}
