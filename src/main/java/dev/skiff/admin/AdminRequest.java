package dev.skiff.admin;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skiff.control.Caller;
import java.util.List;
import java.util.Map;

/**
 * One admin API call as a resource sees it.
 *
 * @param method   the HTTP method, upper case
 * @param segments the path after {@code /admin/v1/<resource>}, split on '/', percent-decoded (empty for the collection)
 * @param query    query parameters, percent-decoded
 * @param body     the JSON body, or null when the request had none
 * @param caller   who makes the call (the master key, or an admin-scoped managed key)
 */
public record AdminRequest(String method, List<String> segments, Map<String, List<String>> query, JsonNode body, Caller caller) {
    public AdminRequest {
        segments = List.copyOf(segments);
        query = Map.copyOf(query);
    }

    /** The first value of query parameter {@code name}, or {@code fallback}. */
    public String param(String name, String fallback) {
        List<String> v = query.get(name);
        return v == null || v.isEmpty() ? fallback : v.getFirst();
    }

    /** The body as an object; refused (400) when it is missing or not one. */
    public com.fasterxml.jackson.databind.node.ObjectNode objectBody() {
        if (body instanceof com.fasterxml.jackson.databind.node.ObjectNode o) return o;
        throw AdminException.badRequest(body == null ? "This call needs a JSON object body." : "The body must be a JSON object.", null);
    }
}
