package dev.skiff.provider.bedrock;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.BadRequestException;
import dev.skiff.dialect.ir.Dropped;
import dev.skiff.dialect.openai.OpenAiChat;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;

/**
 * OpenAI embeddings to and from the InvokeModel bodies of Bedrock's embedding models, with no I/O:
 * Amazon Titan Text Embeddings (one text per call) and Cohere Embed (a batch of texts per call).
 */
public final class BedrockEmbeddingsCodec {
    /** Titan takes one text per call, so a batch is one call per input: bounded to keep one request's cost in sight. */
    public static final int MAX_TITAN_INPUTS = 64;
    /** Cohere on Bedrock takes at most 96 texts per call; larger batches are split. */
    public static final int COHERE_BATCH = 96;
    /** OpenAI's own limit on inputs per request. */
    public static final int MAX_COHERE_INPUTS = 2048;

    private static final Set<String> READ = Set.of("model", "input", "encoding_format", "dimensions", "input_type");
    private static final Set<String> COHERE_INPUT_TYPES = Set.of("search_document", "search_query", "classification", "clustering");

    /** The request shapes Skiff knows, each with the {@code dimensions} it accepts (empty: none). */
    public enum Family {
        /** amazon.titan-embed-text-v1 and the other Titan embedders: inputText only. */
        TITAN_V1(List.of()),
        /** amazon.titan-embed-text-v2: inputText, dimensions, normalize. */
        TITAN_V2(List.of(256, 512, 1024)),
        /** cohere.embed-english-v3, cohere.embed-multilingual-v3: texts, no output size. */
        COHERE_V3(List.of()),
        /** cohere.embed-v4: texts and output_dimension. */
        COHERE_V4(List.of(256, 512, 1024, 1536));

        final List<Integer> dimensions;

        Family(List<Integer> dimensions) {
            this.dimensions = dimensions;
        }

        boolean titan() {
            return this == TITAN_V1 || this == TITAN_V2;
        }
    }

    /** What the client asked, read and checked. {@code inputType} is Cohere's, null for Titan. */
    public record Request(List<String> inputs, boolean base64, Integer dimensions, String inputType, Dropped dropped) {}

    /** The vectors in input order, and the input tokens (-1 when Bedrock did not say). */
    public record Embeddings(List<ArrayNode> vectors, long inputTokens) {}

    private BedrockEmbeddingsCodec() {}

    /**
     * The family of a Bedrock model id, or null for a model that is not a known embedder. The id may
     * be a foundation-model or inference-profile ARN ({@code arn:aws:bedrock:...:inference-profile/us.cohere.embed-v4:0})
     * or a cross-region profile id ({@code us.cohere.embed-v4:0}): the model's name is found inside.
     */
    public static Family family(String modelId) {
        String id = modelId.startsWith("arn:") ? modelId.substring(modelId.lastIndexOf('/') + 1) : modelId;
        if (named(id, "amazon.titan-embed")) return named(id, "amazon.titan-embed-text-v2") ? Family.TITAN_V2 : Family.TITAN_V1;
        if (named(id, "cohere.embed")) return named(id, "cohere.embed-v4") ? Family.COHERE_V4 : Family.COHERE_V3;
        return null;
    }

    /** Whether {@code id} is {@code name...}, or a region prefix and then {@code name...}. */
    private static boolean named(String id, String name) {
        int at = id.indexOf(name);
        return at == 0 || at > 0 && id.charAt(at - 1) == '.' && id.indexOf('.') == at - 1;
    }

    /** Reads and checks the client's OpenAI embeddings body for {@code family}. */
    public static Request read(JsonNode body, Family family) throws BadRequestException {
        if (body == null || !body.isObject()) throw new BadRequestException("The request body must be a JSON object.", null);
        List<String> inputs = inputs(body.get("input"));
        int max = family.titan() ? MAX_TITAN_INPUTS : MAX_COHERE_INPUTS;
        if (inputs.size() > max) {
            throw new BadRequestException("This Bedrock model takes at most " + max + " inputs per request"
                    + (family.titan() ? " through Skiff (Titan embeds one input per call)" : "") + "; got " + inputs.size() + ".", "input");
        }

        JsonNode format = body.get("encoding_format");
        String encoding = format == null || format.isNull() ? "float" : format.asText();
        if (!encoding.equals("float") && !encoding.equals("base64")) {
            throw new BadRequestException("encoding_format must be float or base64.", "encoding_format");
        }

        Dropped dropped = new Dropped();
        Integer dimensions = null;
        JsonNode d = body.get("dimensions");
        if (d != null && !d.isNull()) {
            if (!d.canConvertToExactIntegral() || d.asInt() <= 0) {
                throw new BadRequestException("dimensions must be a positive integer.", "dimensions");
            }
            if (family.dimensions.isEmpty()) {
                dropped.add("dimensions"); // the model has one output size
            } else if (!family.dimensions.contains(d.asInt())) {
                throw new BadRequestException("This model takes dimensions " + allowed(family.dimensions) + "; got " + d.asInt() + ".",
                        "dimensions");
            } else {
                dimensions = d.asInt();
            }
        }

        // Cohere separates documents from queries; OpenAI has no such field, so a client may send it
        // as an extra one. Documents by default: what an index is built from.
        String inputType = null;
        JsonNode t = body.get("input_type");
        if (!family.titan()) {
            inputType = t == null || t.isNull() ? "search_document" : t.asText();
            if (!COHERE_INPUT_TYPES.contains(inputType)) {
                throw new BadRequestException("input_type must be one of " + String.join(", ", COHERE_INPUT_TYPES.stream().sorted().toList()) + ".",
                        "input_type");
            }
        } else if (t != null) {
            dropped.add("input_type");
        }

        for (var e : body.properties()) if (!READ.contains(e.getKey())) dropped.add(e.getKey()); // user, and anything unknown
        return new Request(inputs, encoding.equals("base64"), dimensions, inputType, dropped);
    }

    /** OpenAI's {@code input}: a string or an array of strings; token ids cannot be embedded by Bedrock. */
    private static List<String> inputs(JsonNode input) throws BadRequestException {
        List<String> out = new ArrayList<>();
        if (input != null && input.isTextual()) {
            out.add(input.asText());
        } else if (input != null && input.isArray()) {
            for (JsonNode i : input) {
                if (!i.isTextual()) {
                    throw new BadRequestException("Bedrock embeds text: 'input' must be a string or an array of strings, not token ids.", "input");
                }
                out.add(i.asText());
            }
        }
        if (out.isEmpty()) throw new BadRequestException("'input' is required: a string or a non-empty array of strings.", "input");
        return out;
    }

    private static String allowed(List<Integer> values) {
        List<String> s = values.stream().map(String::valueOf).toList();
        return String.join(", ", s.subList(0, s.size() - 1)) + " or " + s.getLast();
    }

    /** The InvokeModel bodies, in input order: one per input for Titan, one per batch of up to 96 for Cohere. */
    public static List<ObjectNode> requestBodies(Family family, Request r) {
        List<ObjectNode> out = new ArrayList<>();
        if (family.titan()) {
            for (String text : r.inputs()) {
                ObjectNode b = OpenAiChat.JSON.createObjectNode();
                b.put("inputText", text);
                if (family == Family.TITAN_V2) {
                    if (r.dimensions() != null) b.put("dimensions", r.dimensions());
                    b.put("normalize", true); // OpenAI's vectors have length 1; said explicitly, not left to a default
                }
                out.add(b);
            }
            return out;
        }
        for (int from = 0; from < r.inputs().size(); from += COHERE_BATCH) {
            ObjectNode b = OpenAiChat.JSON.createObjectNode();
            ArrayNode texts = b.putArray("texts");
            r.inputs().subList(from, Math.min(from + COHERE_BATCH, r.inputs().size())).forEach(texts::add);
            b.put("input_type", r.inputType());
            b.putArray("embedding_types").add("float");
            b.put("truncate", "NONE"); // like OpenAI: too long is an error, never a silently shortened text
            if (r.dimensions() != null) b.put("output_dimension", r.dimensions());
            out.add(b);
        }
        return out;
    }

    /**
     * Reads the answers to {@link #requestBodies}, given in the same order as one JSON array, and
     * checks that there is one vector per input.
     */
    public static Embeddings parseAnswers(Family family, JsonNode answers, int inputs) throws IOException {
        if (answers == null || !answers.isArray()) throw new IOException("the answers are not a JSON array");
        List<ArrayNode> vectors = new ArrayList<>(inputs);
        long tokens = 0;
        for (JsonNode a : answers) {
            if (!a.isObject()) throw new IOException("an answer is not a JSON object");
            if (family.titan()) {
                JsonNode v = a.path("embeddingsByType").path("float");
                if (!v.isArray()) v = a.path("embedding");
                vectors.add(vector(v));
                tokens = add(tokens, a.path("inputTextTokenCount"));
            } else {
                // With embedding_types Cohere answers {"float": [[...]]}; without, [[...]].
                JsonNode e = a.path("embeddings");
                if (e.isObject()) e = e.path("float");
                if (!e.isArray()) throw new IOException("an answer has no float embeddings");
                for (JsonNode v : e) vectors.add(vector(v));
                // Bedrock's Cohere answers carry no token count; Cohere's own API puts it here.
                tokens = add(tokens, a.path("meta").path("billed_units").path("input_tokens"));
            }
        }
        if (vectors.size() != inputs) throw new IOException("got " + vectors.size() + " embeddings for " + inputs + " inputs");
        return new Embeddings(vectors, tokens);
    }

    private static ArrayNode vector(JsonNode v) throws IOException {
        if (!v.isArray() || v.isEmpty()) throw new IOException("an embedding is missing or empty");
        for (JsonNode x : v) if (!x.isNumber()) throw new IOException("an embedding holds a value that is not a number");
        return (ArrayNode) v;
    }

    /** Sums counts; one count missing makes the whole unknown (-1), never a smaller number. */
    private static long add(long sum, JsonNode count) {
        if (sum < 0 || !count.canConvertToExactIntegral() || count.asLong() < 0) return -1;
        return sum + count.asLong();
    }

    /**
     * OpenAI's list. {@code usage} must be there for OpenAI's clients; when Bedrock did not count, it
     * shows zeros, as Skiff's chat answers do, and the usage log records the count as not reported.
     */
    public static ObjectNode render(Embeddings e, String clientModel, boolean base64) {
        ObjectNode out = OpenAiChat.JSON.createObjectNode();
        out.put("object", "list");
        ArrayNode data = out.putArray("data");
        for (int i = 0; i < e.vectors().size(); i++) {
            ObjectNode item = data.addObject();
            item.put("object", "embedding");
            item.put("index", i);
            if (base64) item.put("embedding", base64(e.vectors().get(i)));
            else item.set("embedding", e.vectors().get(i));
        }
        out.put("model", clientModel);
        long tokens = Math.max(0, e.inputTokens());
        out.putObject("usage").put("prompt_tokens", tokens).put("total_tokens", tokens);
        return out;
    }

    /** The vector as OpenAI's base64 form: float32 values, little-endian, which its clients decode. */
    public static String base64(JsonNode values) {
        ByteBuffer buf = ByteBuffer.allocate(values.size() * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (JsonNode v : values) buf.putFloat(v.floatValue());
        return Base64.getEncoder().encodeToString(buf.array());
    }
}
