package dev.skiff.dialect.responses;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.databind.util.TokenBuffer;
import dev.skiff.dialect.Usage;
import dev.skiff.dialect.ir.FinishReason;
import dev.skiff.dialect.openai.OpenAiChat;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;

/**
 * The pieces of a Responses object shared by the complete answer and the stream: the envelope that
 * echoes the request's parameters, the output items, usage and the terminal status.
 */
final class ResponseObject {
    private ResponseObject() {}

    /**
     * The members that change as an answer ends: its status, when it completed (-1: not yet), why it
     * is incomplete, its error, and its usage (null: not known yet).
     */
    record Ending(String status, long completedAt, String incompleteReason, String errorCode, String errorMessage, Usage usage) {
        /** A response still being answered (the stream's opening events). */
        static Ending inProgress() {
            return new Ending("in_progress", -1, null, null, null, null);
        }

        /** A whole answer: completed, or incomplete with its reason (conformance 19). */
        static Ending finished(FinishReason reason, Usage usage, long completedAt) {
            String incomplete = ResponseObject.incompleteReason(reason);
            return new Ending(incomplete == null ? "completed" : "incomplete", incomplete == null ? completedAt : -1, incomplete,
                    null, null, usage);
        }

        /**
         * A failed response with what was output before the failure. The API's error codes are a
         * closed set (the SDKs refuse others when validating): a provider's own code becomes the
         * nearest of them and stays readable at the end of the message.
         */
        static Ending failed(String code, String message, Usage usage) {
            String apiCode = code != null && code.contains("rate_limit") ? "rate_limit_exceeded" : "server_error";
            if (code != null && !code.equals(apiCode)) message = message + " (" + code + ")";
            return new Ending("failed", -1, null, apiCode, message, usage == Usage.NONE ? null : usage);
        }
    }

    /**
     * Writes the object: every top-level member the API returns, in its order, with what the client
     * sent or the API's default. {@code billing} is left out: it is OpenAI's account of who pays
     * OpenAI, which a translated answer has nothing true to say about. {@code output_text} is not a
     * member of the wire object (the SDKs compute it). A complete answer is written straight to its
     * bytes: built as a tree first, it cost a map entry per member and a copy of every echoed value.
     * Nodes are written by their own serializers with one provider for the whole object:
     * {@code JsonGenerator.writeTree} made a provider for each of them.
     */
    static void write(JsonGenerator g, ResponseContext ctx, Ending end, Iterable<? extends JsonNode> output) throws IOException {
        JsonNode req = ctx.request() != null && ctx.request().isObject() ? ctx.request() : NullNode.getInstance();
        SerializerProvider sp = OpenAiChat.JSON.getSerializerProviderInstance();
        g.writeStartObject();
        g.writeStringField("id", ctx.responseId());
        g.writeStringField("object", "response");
        g.writeNumberField("created_at", ctx.createdAt());
        g.writeStringField("status", end.status());
        echo(g, sp, req, "background", BooleanNode.FALSE);
        g.writeFieldName("completed_at");
        if (end.completedAt() >= 0) g.writeNumber(end.completedAt());
        else g.writeNull();
        g.writeFieldName("error");
        if (end.errorCode() != null) {
            g.writeStartObject();
            g.writeStringField("code", end.errorCode());
            g.writeStringField("message", end.errorMessage());
            g.writeEndObject();
        } else {
            g.writeNull();
        }
        echo(g, sp, req, "frequency_penalty", ZERO);
        g.writeFieldName("incomplete_details");
        if (end.incompleteReason() != null) {
            g.writeStartObject();
            g.writeStringField("reason", end.incompleteReason());
            g.writeEndObject();
        } else {
            g.writeNull();
        }
        echo(g, sp, req, "instructions", null);
        echo(g, sp, req, "max_output_tokens", null);
        echo(g, sp, req, "max_tool_calls", null);
        g.writeStringField("model", ctx.clientModel());
        g.writeArrayFieldStart("output");
        for (JsonNode item : output) item.serialize(g, sp);
        g.writeEndArray();
        echo(g, sp, req, "parallel_tool_calls", BooleanNode.TRUE);
        echo(g, sp, req, "presence_penalty", ZERO);
        echo(g, sp, req, "previous_response_id", null);
        echo(g, sp, req, "prompt_cache_key", null);
        echo(g, sp, req, "prompt_cache_retention", null);
        g.writeObjectFieldStart("reasoning");
        echo(g, sp, req.path("reasoning"), "effort", null);
        echo(g, sp, req.path("reasoning"), "summary", null);
        g.writeEndObject();
        echo(g, sp, req, "safety_identifier", null);
        // The tier that served the request: Skiff asks no provider for a special one.
        g.writeStringField("service_tier", "default");
        echo(g, sp, req, "store", BooleanNode.TRUE);
        echo(g, sp, req, "temperature", ONE);
        g.writeObjectFieldStart("text");
        echo(g, sp, req.path("text"), "format", TEXT_FORMAT);
        echo(g, sp, req.path("text"), "verbosity", MEDIUM);
        g.writeEndObject();
        echo(g, sp, req, "tool_choice", AUTO);
        echo(g, sp, req, "tools", NO_TOOLS);
        echo(g, sp, req, "top_logprobs", IntNode.valueOf(0));
        echo(g, sp, req, "top_p", ONE);
        echo(g, sp, req, "truncation", DISABLED);
        g.writeFieldName("usage");
        if (end.usage() != null) writeUsage(g, end.usage());
        else g.writeNull();
        echo(g, sp, req, "user", null);
        echo(g, sp, req, "metadata", NO_METADATA);
        g.writeEndObject();
    }

    /** The object as a tree, for the stream's events: {@link #write} through a token buffer (no text between). */
    static ObjectNode tree(ResponseContext ctx, Ending end, Iterable<? extends JsonNode> output) {
        try (TokenBuffer tokens = new TokenBuffer(OpenAiChat.JSON, false)) {
            write(tokens, ctx, end, output);
            try (JsonParser p = tokens.asParser(OpenAiChat.JSON)) {
                return (ObjectNode) OpenAiChat.JSON.readTree(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
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
    static void writeUsage(JsonGenerator g, Usage u) throws IOException {
        long input = Math.max(0, u.promptTokens());
        long output = Math.max(0, u.completionTokens());
        g.writeStartObject();
        g.writeNumberField("input_tokens", input);
        g.writeObjectFieldStart("input_tokens_details");
        g.writeNumberField("cached_tokens", Math.max(0, u.cachedTokens()));
        if (u.cacheCreationTokens() >= 0) g.writeNumberField("cache_creation_tokens", u.cacheCreationTokens());
        g.writeEndObject();
        g.writeNumberField("output_tokens", output);
        g.writeObjectFieldStart("output_tokens_details");
        g.writeNumberField("reasoning_tokens", Math.max(0, u.reasoningTokens()));
        g.writeEndObject();
        g.writeNumberField("total_tokens", u.totalTokens() >= 0 ? u.totalTokens() : input + output);
        g.writeEndObject();
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

    /** The client's value of {@code field}, else {@code fallback} (null: JSON null), as the API echoes its request. */
    private static void echo(JsonGenerator g, SerializerProvider sp, JsonNode req, String field, JsonNode fallback) throws IOException {
        JsonNode v = req.get(field);
        g.writeFieldName(field);
        if (v != null && !v.isNull()) v.serialize(g, sp);
        else if (fallback != null) fallback.serialize(g, sp);
        else g.writeNull();
    }

    /**
     * The defaults, made once: they are only ever written, never put into a tree that could change
     * them. The decimals especially: parsing a BigDecimal for each, four per response, showed in
     * profiles of the path.
     */
    private static final JsonNode ZERO = decimal("0.0"), ONE = decimal("1.0"),
            TEXT_FORMAT = OpenAiChat.JSON.createObjectNode().put("type", "text"), MEDIUM = TextNode.valueOf("medium"),
            AUTO = TextNode.valueOf("auto"), DISABLED = TextNode.valueOf("disabled"), NO_TOOLS = OpenAiChat.JSON.createArrayNode(),
            NO_METADATA = OpenAiChat.JSON.createObjectNode();

    private static JsonNode decimal(String value) {
        return OpenAiChat.JSON.getNodeFactory().numberNode(new BigDecimal(value));
    }
}
