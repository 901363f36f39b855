package dev.skiff.dialect;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Reads usage from an OpenAI chat completion, chunk or embeddings response in one streaming pass.
 * Only the top-level {@code usage} object is decoded; other members are tokenized and skipped.
 */
public final class OpenAiUsage {
    /** Usage found (or {@link Usage#NONE}) and whether {@code choices} was present and empty. */
    public record Found(Usage usage, boolean choicesEmpty) {}

    private static final Found NOTHING = new Found(Usage.NONE, false);

    private OpenAiUsage() {}

    public static Found scan(ByteBuf json) {
        try (InputStream in = new ByteBufInputStream(json.duplicate());
             JsonParser p = Json.FACTORY.createParser(in)) {
            if (p.nextToken() != JsonToken.START_OBJECT) return NOTHING;
            Usage usage = Usage.NONE;
            boolean choicesEmpty = false;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken v = p.nextToken();
                if (name.equals("usage") && v == JsonToken.START_OBJECT) {
                    usage = readUsage(p);
                } else if (name.equals("choices") && v == JsonToken.START_ARRAY) {
                    choicesEmpty = p.nextToken() == JsonToken.END_ARRAY;
                    if (!choicesEmpty) skipRestOfArray(p);
                } else {
                    p.skipChildren();
                }
            }
            return new Found(usage, choicesEmpty);
        } catch (IOException | RuntimeException e) {
            return NOTHING; // usage is observational: a body we cannot read still goes to the client
        }
    }

    private static void skipRestOfArray(JsonParser p) throws IOException {
        // The parser sits on the first element; skip it and its siblings.
        p.skipChildren();
        while (p.nextToken() != JsonToken.END_ARRAY) p.skipChildren();
    }

    private static Usage readUsage(JsonParser p) throws IOException {
        long prompt = -1, completion = -1, total = -1, cached = -1, reasoning = -1;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken v = p.nextToken();
            switch (name) {
                case "prompt_tokens", "input_tokens" -> prompt = UsageScan.number(p, v);
                case "completion_tokens", "output_tokens" -> completion = UsageScan.number(p, v);
                case "total_tokens" -> total = UsageScan.number(p, v);
                case "prompt_tokens_details", "input_tokens_details" -> cached = UsageScan.detail(p, v, "cached_tokens", cached);
                case "completion_tokens_details", "output_tokens_details" -> reasoning = UsageScan.detail(p, v, "reasoning_tokens", reasoning);
                default -> p.skipChildren();
            }
        }
        return new Usage(prompt, completion, total, cached, reasoning);
    }
}
