package dev.skiff.provider;

import com.fasterxml.jackson.databind.JsonNode;

/** Reading provider JSON leniently: a field of the wrong type counts as absent. */
public final class JsonFields {
    private JsonFields() {}

    /** The field's text, or null when absent or not a string. */
    public static String textOrNull(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v != null && v.isTextual() ? v.asText() : null;
    }

    /** A token count, or -1 ("not reported") when absent or not a number. */
    public static long count(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v != null && v.isNumber() ? v.asLong() : -1;
    }

    public static boolean isBlank(String s) {
        return s == null || s.isBlank();
    }
}
