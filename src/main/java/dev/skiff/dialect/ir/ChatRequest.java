package dev.skiff.dialect.ir;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;

/**
 * A chat request in the internal representation.
 *
 * @param model            the model the provider is asked for
 * @param system           system instructions, in order (several system messages become several parts)
 * @param messages         the conversation
 * @param tools            tools offered to the model
 * @param toolChoice       how the model may use them; null leaves the provider's default
 * @param parallelToolCalls false forbids several calls in one turn; null leaves the default
 * @param sampling         sampling and length parameters
 * @param responseFormat   structured output; null for free text
 * @param reasoning        reasoning effort or budget; null for the provider's default
 * @param stream           whether the client wants a stream
 * @param extras           request fields of the client's dialect that the representation has no place
 *                         for, kept so a same-family target can still receive them
 */
public record ChatRequest(String model, List<Part> system, List<Message> messages, List<Tool> tools, ToolChoice toolChoice,
                          Boolean parallelToolCalls, Sampling sampling, ResponseFormat responseFormat, Reasoning reasoning,
                          boolean stream, Map<String, JsonNode> extras) {

    /** A function the model may call; {@code parameters} is its JSON schema. */
    public record Tool(String name, String description, JsonNode parameters, Boolean strict, JsonNode cacheControl) {}

    public sealed interface ToolChoice {
        record Auto() implements ToolChoice {}

        record None() implements ToolChoice {}

        /** The model must call some tool. */
        record Required() implements ToolChoice {}

        record Named(String name) implements ToolChoice {}
    }

    /** Each null when the client did not set it. {@code maxTokens} is the output limit under any of its names. */
    public record Sampling(Double temperature, Double topP, Integer topK, Long seed, Integer maxTokens, List<String> stop,
                           Double presencePenalty, Double frequencyPenalty) {
        public static final Sampling NONE = new Sampling(null, null, null, null, null, List.of(), null, null);
    }

    /** {@code type} is {@code json_object} or {@code json_schema} (with {@code name}, {@code schema}, {@code strict}). */
    public record ResponseFormat(String type, String name, JsonNode schema, Boolean strict) {}

    /** OpenAI's {@code reasoning_effort} ({@code minimal} .. {@code high}), or an explicit token budget. */
    public record Reasoning(String effort, Integer budgetTokens) {}
}
