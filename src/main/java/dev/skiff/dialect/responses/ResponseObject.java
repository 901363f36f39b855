package dev.skiff.dialect.responses;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.ir.FinishReason;
import dev.skiff.dialect.openai.OpenAiChat;
import java.math.BigDecimal;

/**
 * The pieces of a Responses object shared by the complete answer and the stream: the envelope that
 * echoes the request's parameters, the output items, usage and the terminal status.
 */
final class ResponseObject {
    private ResponseObject() {}

    /**
     * Every top-level member the API returns, in its order, with what the client sent or the API's
     * default. {@code billing} is left out: it is OpenAI's account of who pays OpenAI, which a translated
     * answer has nothing true to say about. {@code output_text} is not a member of the wire object (the
     * SDKs compute it).
     */
    static ObjectNode envelope(ResponseContext ctx, String status) {
        JsonNode req = ctx.request() != null && ctx.request().isObject() ? ctx.request() : NullNode.getInstance();
        ObjectNode r = OpenAiChat.JSON.createObjectNode();
        r.put("id", ctx.responseId());
        r.put("object", "response");
        r.put("created_at", ctx.createdAt());
        r.put("status", status);
        r.set("background", echo(req, "background", JsonNodeFactory.instance.booleanNode(false)));
        r.putNull("completed_at");
        r.putNull("error");
        r.set("frequency_penalty", echo(req, "frequency_penalty", ZERO));
        r.putNull("incomplete_details");
        r.set("instructions", echo(req, "instructions", null));
        r.set("max_output_tokens", echo(req, "max_output_tokens", null));
        r.set("max_tool_calls", echo(req, "max_tool_calls", null));
        r.put("model", ctx.clientModel());
        r.putArray("output");
        r.set("parallel_tool_calls", echo(req, "parallel_tool_calls", JsonNodeFactory.instance.booleanNode(true)));
        r.set("presence_penalty", echo(req, "presence_penalty", ZERO));
        r.set("previous_response_id", echo(req, "previous_response_id", null));
        r.set("prompt_cache_key", echo(req, "prompt_cache_key", null));
        r.set("prompt_cache_retention", echo(req, "prompt_cache_retention", null));
        ObjectNode reasoning = r.putObject("reasoning");
        reasoning.set("effort", echo(req.path("reasoning"), "effort", null));
        reasoning.set("summary", echo(req.path("reasoning"), "summary", null));
        r.set("safety_identifier", echo(req, "safety_identifier", null));
        // The tier that served the request: Skiff asks no provider for a special one.
        r.put("service_tier", "default");
        r.set("store", echo(req, "store", JsonNodeFactory.instance.booleanNode(true)));
        r.set("temperature", echo(req, "temperature", ONE));
        ObjectNode text = r.putObject("text");
        text.set("format", echo(req.path("text"), "format", OpenAiChat.JSON.createObjectNode().put("type", "text")));
        text.set("verbosity", echo(req.path("text"), "verbosity", JsonNodeFactory.instance.textNode("medium")));
        r.set("tool_choice", echo(req, "tool_choice", JsonNodeFactory.instance.textNode("auto")));
        r.set("tools", echo(req, "tools", OpenAiChat.JSON.createArrayNode()));
        r.set("top_logprobs", echo(req, "top_logprobs", JsonNodeFactory.instance.numberNode(0)));
        r.set("top_p", echo(req, "top_p", ONE));
        r.set("truncation", echo(req, "truncation", JsonNodeFactory.instance.textNode("disabled")));
        r.putNull("usage");
        r.set("user", echo(req, "user", null));
        r.set("metadata", echo(req, "metadata", OpenAiChat.JSON.createObjectNode()));
        return r;
    }

    /** Makes the envelope the final object: its status, output, usage and, when cut short, why. */
    static void complete(ObjectNode r, ArrayNode output, FinishReason reason, Usage usage, long completedAt) {
        String incomplete = incompleteReason(reason);
        r.put("status", incomplete == null ? "completed" : "incomplete");
        if (incomplete == null) r.put("completed_at", completedAt);
        else r.putObject("incomplete_details").put("reason", incomplete);
        r.set("output", output);
        r.set("usage", usage(usage));
    }

    /**
     * Makes the envelope a failed response with what was output before the failure. The API's error
     * codes are a closed set (the SDKs refuse others when validating): a provider's own code becomes
     * the nearest of them and stays readable at the end of the message.
     */
    static void fail(ObjectNode r, ArrayNode output, String code, String message, Usage usage) {
        String apiCode = code != null && code.contains("rate_limit") ? "rate_limit_exceeded" : "server_error";
        if (code != null && !code.equals(apiCode)) message = message + " (" + code + ")";
        r.put("status", "failed");
        r.putObject("error").put("code", apiCode).put("message", message);
        r.set("output", output);
        if (usage != Usage.NONE) r.set("usage", usage(usage));
    }

    /**
     * The Responses {@code incomplete_details.reason} for a finish, or null for a complete answer
     * (conformance 19: the reverse of how chat reads a Responses status).
     */
    static String incompleteReason(FinishReason reason) {
        return switch (reason) {
            case LENGTH -> "max_output_tokens";
            case CONTENT_FILTER -> "content_filter";
            case STOP, TOOL_CALLS -> null;
        };
    }

    /** Counts a provider did not report are written as 0, the API having no way to say "unknown". */
    static ObjectNode usage(Usage u) {
        ObjectNode n = OpenAiChat.JSON.createObjectNode();
        long input = Math.max(0, u.promptTokens());
        long output = Math.max(0, u.completionTokens());
        n.put("input_tokens", input);
        ObjectNode inputDetails = n.putObject("input_tokens_details");
        inputDetails.put("cached_tokens", Math.max(0, u.cachedTokens()));
        if (u.cacheCreationTokens() >= 0) inputDetails.put("cache_creation_tokens", u.cacheCreationTokens());
        n.put("output_tokens", output);
        n.putObject("output_tokens_details").put("reasoning_tokens", Math.max(0, u.reasoningTokens()));
        n.put("total_tokens", u.totalTokens() >= 0 ? u.totalTokens() : input + output);
        return n;
    }

    static ObjectNode messageItem(String id, String status) {
        ObjectNode item = OpenAiChat.JSON.createObjectNode();
        item.put("id", id);
        item.put("type", "message");
        item.put("status", status);
        item.putArray("content");
        item.put("role", "assistant");
        return item;
    }

    static ObjectNode outputText(String text) {
        ObjectNode part = OpenAiChat.JSON.createObjectNode();
        part.put("type", "output_text");
        part.putArray("annotations");
        part.putArray("logprobs");
        part.put("text", text);
        return part;
    }

    static ObjectNode functionCallItem(String id, String status, String callId, String name, String arguments) {
        ObjectNode item = OpenAiChat.JSON.createObjectNode();
        item.put("id", id);
        item.put("type", "function_call");
        item.put("status", status);
        item.put("arguments", arguments);
        item.put("call_id", callId);
        item.put("name", name);
        return item;
    }

    private static JsonNode echo(JsonNode req, String field, JsonNode fallback) {
        JsonNode v = req.get(field);
        if (v != null && !v.isNull()) return v.deepCopy();
        return fallback == null ? NullNode.getInstance() : fallback;
    }

    /**
     * The defaults echoed as decimals, made once: value nodes cannot change, so every response can
     * share them (parsing a BigDecimal for each, four per response, showed in profiles of the path).
     */
    private static final JsonNode ZERO = decimal("0.0"), ONE = decimal("1.0");

    private static JsonNode decimal(String value) {
        return OpenAiChat.JSON.getNodeFactory().numberNode(new BigDecimal(value));
    }
}
