package dev.skiff.dialect;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON types of the top-level request fields each API documents, checked while {@link
 * RequestScan} reads the body anyway. A translation reads fields by type and would otherwise leave a
 * {@code "temperature":"hot"} out without a word; the client gets a 400 naming the field instead.
 * Fields not listed here pass whatever their type (a provider may know fields Skiff does not), and
 * {@code null} passes for every field, as the APIs take it for "not set".
 */
public final class JsonTypes {
    public static final int STRING = 1, NUMBER = 2, INTEGER = 4, BOOLEAN = 8, OBJECT = 16, ARRAY = 32;

    /** Expected kinds by field name; an unknown name expects nothing. */
    public static final class Table {
        private final Map<String, Integer> kinds;

        private Table(Map<String, Integer> kinds) {
            this.kinds = kinds;
        }

        /** The kinds {@code field} may have (a bit set of the constants above), or 0 when any type passes. */
        public int kindsOf(String field) {
            Integer k = kinds.get(field);
            return k == null ? 0 : k;
        }
    }

    public static final Table NONE = new Table(Map.of());

    private static final Object[] SAMPLING = {
            "temperature", NUMBER, "top_p", NUMBER, "tools", ARRAY, "metadata", OBJECT, "service_tier", STRING,
    };

    /** {@code /v1/chat/completions}. */
    public static final Table CHAT = table(SAMPLING,
            "messages", ARRAY, "n", INTEGER, "stop", STRING | ARRAY, "max_tokens", INTEGER, "max_completion_tokens", INTEGER,
            "presence_penalty", NUMBER, "frequency_penalty", NUMBER, "logit_bias", OBJECT, "logprobs", BOOLEAN,
            "top_logprobs", INTEGER, "seed", INTEGER, "tool_choice", STRING | OBJECT, "parallel_tool_calls", BOOLEAN,
            "response_format", OBJECT, "functions", ARRAY, "function_call", STRING | OBJECT, "store", BOOLEAN,
            "reasoning_effort", STRING, "modalities", ARRAY, "audio", OBJECT, "prediction", OBJECT, "web_search_options", OBJECT,
            "verbosity", STRING, "prompt_cache_key", STRING, "safety_identifier", STRING, "user", STRING,
            "stream_options", OBJECT);

    /** {@code /v1/responses}. */
    public static final Table RESPONSES = table(SAMPLING,
            "input", STRING | ARRAY, "instructions", STRING, "max_output_tokens", INTEGER, "max_tool_calls", INTEGER,
            "tool_choice", STRING | OBJECT, "parallel_tool_calls", BOOLEAN, "previous_response_id", STRING, "reasoning", OBJECT,
            "text", OBJECT, "truncation", STRING, "include", ARRAY, "store", BOOLEAN, "background", BOOLEAN,
            "top_logprobs", INTEGER, "prompt", OBJECT, "conversation", STRING | OBJECT, "prompt_cache_key", STRING,
            "safety_identifier", STRING, "user", STRING, "stream_options", OBJECT);

    /** {@code /v1/messages}. */
    public static final Table MESSAGES = table(SAMPLING,
            "messages", ARRAY, "max_tokens", INTEGER, "system", STRING | ARRAY, "top_k", INTEGER, "stop_sequences", ARRAY,
            "tool_choice", OBJECT, "thinking", OBJECT, "mcp_servers", ARRAY);

    /** {@code /v1/messages/count_tokens}: the fields of a message request that count. */
    public static final Table COUNT_TOKENS = table(new Object[0],
            "messages", ARRAY, "system", STRING | ARRAY, "tools", ARRAY, "tool_choice", OBJECT, "thinking", OBJECT,
            "mcp_servers", ARRAY);

    /** {@code /v1/embeddings}. */
    public static final Table EMBEDDINGS = table(new Object[0],
            "input", STRING | ARRAY, "dimensions", INTEGER, "encoding_format", STRING, "user", STRING);

    private JsonTypes() {}

    private static Table table(Object[] shared, Object... pairs) {
        Map<String, Integer> m = new HashMap<>();
        for (Object[] list : new Object[][] {shared, pairs}) {
            for (int i = 0; i < list.length; i += 2) m.put((String) list[i], (Integer) list[i + 1]);
        }
        return new Table(Map.copyOf(m));
    }

    /**
     * Whether the parser's current token (a value's first) is one of {@code kinds}; null always is.
     * An integer may be written with a zero fraction ({@code 100.0}), which every reader takes as one.
     */
    public static boolean accepts(int kinds, JsonParser p) throws IOException {
        JsonToken t = p.currentToken();
        return switch (t) {
            case VALUE_NULL -> true;
            case VALUE_STRING -> (kinds & STRING) != 0;
            case VALUE_TRUE, VALUE_FALSE -> (kinds & BOOLEAN) != 0;
            case START_OBJECT -> (kinds & OBJECT) != 0;
            case START_ARRAY -> (kinds & ARRAY) != 0;
            case VALUE_NUMBER_INT -> (kinds & (NUMBER | INTEGER)) != 0;
            case VALUE_NUMBER_FLOAT -> (kinds & NUMBER) != 0 || (kinds & INTEGER) != 0 && isIntegral(p.getDoubleValue());
            default -> false;
        };
    }

    private static boolean isIntegral(double d) {
        return !Double.isInfinite(d) && d == Math.rint(d);
    }

    /** The refusal for a value of the wrong type: {@code 'temperature' must be a number, not a string.} */
    public static BadRequestException wrongType(String field, int kinds, JsonToken found) {
        return new BadRequestException("'" + field + "' must be " + describe(kinds) + ", not " + describe(found) + ".", field);
    }

    static String describe(int kinds) {
        List<String> names = new ArrayList<>();
        if ((kinds & STRING) != 0) names.add("a string");
        if ((kinds & NUMBER) != 0) names.add("a number");
        else if ((kinds & INTEGER) != 0) names.add("an integer");
        if ((kinds & BOOLEAN) != 0) names.add("a boolean");
        if ((kinds & OBJECT) != 0) names.add("an object");
        if ((kinds & ARRAY) != 0) names.add("an array");
        return names.size() == 1 ? names.getFirst() : String.join(", ", names.subList(0, names.size() - 1)) + " or " + names.getLast();
    }

    private static String describe(JsonToken t) {
        return switch (t) {
            case VALUE_STRING -> "a string";
            case VALUE_NUMBER_INT -> "an integer";
            case VALUE_NUMBER_FLOAT -> "a number with a fraction";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            default -> "a " + t.asString();
        };
    }
}
