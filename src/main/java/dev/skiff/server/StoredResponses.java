package dev.skiff.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.config.ProviderType;
import dev.skiff.control.Caller;
import dev.skiff.dialect.ClientDialect;
import dev.skiff.dialect.openai.OpenAiChat;
import dev.skiff.dialect.responses.ResponsesApi;
import dev.skiff.provider.Provider;
import dev.skiff.routing.ModelCatalog;
import dev.skiff.routing.Route;
import dev.skiff.store.ResponseStore;
import dev.skiff.store.StoredResponse;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * {@code GET /v1/responses/{id}}, {@code DELETE /v1/responses/{id}} and
 * {@code GET /v1/responses/{id}/input_items}. Responses Skiff translated are answered from its
 * store. An id it does not know belongs to a provider that stores its own responses (OpenAI): when
 * exactly one such provider is configured the request goes there as it is; otherwise it is a 404.
 */
final class StoredResponses {
    private final ResponseStore store;
    private final ModelCatalog catalog;

    StoredResponses(ResponseStore store, ModelCatalog catalog) {
        this.store = store;
        this.catalog = catalog;
    }

    /** Heap per stored character while a response is read back whole: its text, and its bytes on the way out. */
    static final long READ_COST_PER_CHAR = 3;

    /** Handles the request; returns the proxied call when it went to a provider, else null. Does not consume {@code req}. */
    ProxyCall handle(ChannelHandlerContext ctx, Gateway gateway, FullHttpRequest req, String path, String requestId, boolean keepAlive,
                     Caller caller) {
        String owner = caller.owner();
        String rest = path.substring("/v1/responses/".length());
        boolean inputItems = rest.endsWith("/input_items");
        String id = inputItems ? rest.substring(0, rest.length() - "/input_items".length()) : rest;
        if (id.isEmpty() || id.indexOf('/') >= 0) {
            gateway.reply(ctx, Replies.openAiError(ctx, 404, "Unknown path " + path + ".", "unknown_url", requestId), keepAlive, requestId,
                    "responses", "unknown path");
            return null;
        }
        HttpMethod[] methods = inputItems ? new HttpMethod[] {HttpMethod.GET} : new HttpMethod[] {HttpMethod.GET, HttpMethod.DELETE};
        if (!gateway.allow(ctx, req, ClientDialect.OPENAI_RESPONSES, requestId, keepAlive, methods)) return null;
        boolean delete = req.method().equals(HttpMethod.DELETE);
        QueryStringDecoder query = new QueryStringDecoder(req.uri());

        Provider provider = soleProviderWithOwnStore();
        // Until the store answers, the connection waits on this call (requests are answered in order).
        Route route = new Route(provider, null);
        ProxyCall call = new ProxyCall(ctx, gateway, requestId, keepAlive, Gateway.Endpoint.RESPONSES, route, null, false, false, caller);
        String uri = req.uri();
        // found: present for a stored response, empty for one just deleted, EXPIRED, null for none.
        // Another owner's response is absent, not forbidden: its id is no evidence that it exists.
        java.util.function.BiConsumer<Optional<StoredResponse>, Throwable> answered = (found, error) -> {
            if (call.isFinished()) return;
            if (error != null) {
                call.refuse(500, "The response store could not be read: " + error.getMessage(), null, "store_error");
            } else if (found == EXPIRED) {
                call.refuse(404, "No response found with id '" + id + "': it has expired (this gateway keeps stored responses for "
                        + days(store.ttl()) + ", SKIFF_RESPONSES_TTL).", null, "not_found");
            } else if (found != null) {
                reply(call, delete, id, found, inputItems, query);
            } else if (provider != null) {
                HttpRequest head = new DefaultHttpRequest(HttpVersion.HTTP_1_1, delete ? HttpMethod.DELETE : HttpMethod.GET,
                        provider.path("/responses/" + rest, null) + queryOf(uri));
                provider.applyHeaders(head.headers());
                head.headers().set(HttpHeaderNames.ACCEPT, HttpHeaderValues.APPLICATION_JSON).set(Replies.X_REQUEST_ID, requestId);
                call.start(gateway.upstream(), head, Unpooled.EMPTY_BUFFER);
            } else {
                call.refuse(404, "No response found with id '" + id + "'.", null, "not_found");
            }
        };
        if (delete) {
            store.delete(id, owner).whenComplete((deleted, error) -> ctx.executor().execute(() ->
                    answered.accept(deleted != null && deleted ? Optional.empty() : null, error)));
        } else {
            // A stored response can be large, and each read holds it (and its copy on the way out, or
            // its items as trees): reads reserve translation memory like translations do, or many
            // reads of one large response at once would exhaust the heap.
            gateway.findReserved(ctx, call, id, caller, false, inputItems ? Gateway.HISTORY_COST_PER_CHAR : READ_COST_PER_CHAR, null,
                    (found, error) -> answered.accept(found instanceof ResponseStore.Found.Chain c ? Optional.of(c.last())
                            : found instanceof ResponseStore.Found.Expired ? EXPIRED : null, error));
        }
        return call;
    }

    /** Compared by identity: what a lookup of an expired response answers (a delete that worked answers an empty one). */
    private static final Optional<StoredResponse> EXPIRED = Optional.of(new StoredResponse("", null, 0, null, null, "", "", null));

    /** A retention time as people say it: "30 days", "12 hours". */
    static String days(java.time.Duration ttl) {
        if (ttl.toDays() > 0 && ttl.toHours() % 24 == 0) return ttl.toDays() + (ttl.toDays() == 1 ? " day" : " days");
        if (ttl.toHours() > 0 && ttl.toMinutes() % 60 == 0) return ttl.toHours() + (ttl.toHours() == 1 ? " hour" : " hours");
        if (ttl.toMinutes() > 0 && ttl.toSeconds() % 60 == 0) return ttl.toMinutes() + (ttl.toMinutes() == 1 ? " minute" : " minutes");
        return ttl.toSeconds() + (ttl.toSeconds() == 1 ? " second" : " seconds");
    }

    private static void reply(ProxyCall call, boolean delete, String id, Optional<StoredResponse> found, boolean inputItems,
                              QueryStringDecoder query) {
        try {
            if (delete) {
                ObjectNode out = OpenAiChat.JSON.createObjectNode().put("id", id).put("object", "response.deleted").put("deleted", true);
                call.replyJson(out.toString());
            } else if (inputItems) {
                call.replyJson(inputItemsPage(items(found.orElseThrow().inputItems()), query).toString());
            } else {
                StoredResponse r = found.orElseThrow();
                call.replyJson(r.whole() ? r.response() : ResponsesApi.expandStored(r.response()));
            }
        } catch (IllegalArgumentException e) {
            call.refuse(400, e.getMessage(), null, null);
        } catch (IOException e) {
            call.refuse(500, "A stored response could not be read: " + e.getMessage(), null, "store_error");
        }
    }

    /** The input items as a list page: {@code order} (default desc), {@code limit} (1..100, default 20), {@code after}. */
    static ObjectNode inputItemsPage(List<ObjectNode> items, QueryStringDecoder query) {
        String order = param(query, "order", "desc");
        if (!order.equals("asc") && !order.equals("desc")) throw new IllegalArgumentException("order must be asc or desc.");
        int limit;
        try {
            limit = Integer.parseInt(param(query, "limit", "20"));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("limit must be a number.");
        }
        if (limit < 1 || limit > 100) throw new IllegalArgumentException("limit must be between 1 and 100.");
        List<ObjectNode> ordered = new ArrayList<>(items);
        if (order.equals("desc")) java.util.Collections.reverse(ordered);
        String after = param(query, "after", null);
        int from = 0;
        if (after != null) {
            for (int i = 0; i < ordered.size(); i++) {
                if (after.equals(ordered.get(i).path("id").asText(null))) {
                    from = i + 1;
                    break;
                }
            }
        }
        List<ObjectNode> page = ordered.subList(Math.min(from, ordered.size()), Math.min(from + limit, ordered.size()));
        ObjectNode out = OpenAiChat.JSON.createObjectNode().put("object", "list");
        ArrayNode data = out.putArray("data");
        page.forEach(data::add);
        out.put("first_id", page.isEmpty() ? null : page.getFirst().path("id").asText(null));
        out.put("last_id", page.isEmpty() ? null : page.getLast().path("id").asText(null));
        out.put("has_more", from + limit < ordered.size());
        return out;
    }

    private static String param(QueryStringDecoder q, String name, String fallback) {
        List<String> v = q.parameters().get(name);
        return v == null || v.isEmpty() ? fallback : v.getFirst();
    }

    private static String queryOf(String uri) {
        int q = uri.indexOf('?');
        return q < 0 ? "" : uri.substring(q);
    }

    /** The one configured provider that keeps its own responses (OpenAI), or null when there is none or several. */
    private Provider soleProviderWithOwnStore() {
        Provider only = null;
        for (Provider p : catalog.providers()) {
            if (p.type() != ProviderType.OPENAI) continue;
            if (only != null) return null;
            only = p;
        }
        return only;
    }

    /** Items as stored (a JSON array). */
    static List<ObjectNode> items(String json) throws IllegalArgumentException {
        try {
            JsonNode n = OpenAiChat.JSON.readTree(json);
            List<ObjectNode> out = new ArrayList<>(n.size());
            for (JsonNode item : n) if (item instanceof ObjectNode o) out.add(o);
            return out;
        } catch (IOException e) {
            throw new IllegalArgumentException("a stored item list is not JSON: " + e.getMessage());
        }
    }

    static String json(List<ObjectNode> items) {
        return ResponsesApi.itemsJson(items);
    }

    /**
     * {@link #json} of {@code items}, the {@link ResponsesApi#inputItems} of {@code request} given ids
     * ({@link #withIds}): for a request whose input is a string, written from the string and the id alone.
     */
    static String json(JsonNode request, List<ObjectNode> items) {
        JsonNode given = request.get("input");
        if (given != null && given.isTextual() && items.size() == 1 && items.getFirst().get("id") instanceof JsonNode id && id.isTextual()) {
            return ResponsesApi.textInputJson(given.textValue(), id.textValue());
        }
        return json(items);
    }

    /**
     * The ids of response {@code responseId}'s input items that the store indexes, for
     * {@code item_reference} inputs naming them: those the client gave (an id Skiff made for this
     * response is found through the response it names, {@link ResponsesApi#madeFor}). References are
     * left out, as they are not the items they name.
     */
    static List<String> ids(Iterable<? extends JsonNode> items, String responseId) {
        List<String> ids = new ArrayList<>(2);
        for (JsonNode item : items) {
            JsonNode id = item.get("id");
            if (id != null && id.isTextual() && !"item_reference".equals(item.path("type").asText())
                    && !ResponsesApi.madeFor(id.asText(), responseId)) {
                ids.add(id.asText());
            }
        }
        return ids;
    }

    /** The ids of output items the store indexes: none that Skiff made for the response (see {@link #ids}). */
    static List<String> outputIds(List<String> ids, String responseId) {
        for (String id : ids) {
            if (!ResponsesApi.madeFor(id, responseId)) return ids.stream().filter(i -> !ResponsesApi.madeFor(i, responseId)).toList();
        }
        return List.of();
    }

    /**
     * Gives every input item of response {@code responseId} an id, as the API does, so
     * {@code input_items} pages can name them ({@code after}); items that have one keep it.
     */
    static List<ObjectNode> withIds(List<ObjectNode> items, String responseId) {
        for (int i = 0; i < items.size(); i++) {
            ObjectNode item = items.get(i);
            if (item.hasNonNull("id")) continue;
            String prefix = switch (item.path("type").asText("message")) {
                case "function_call" -> "fc_";
                case "function_call_output" -> "fco_";
                case "reasoning" -> "rs_";
                default -> "msg_";
            };
            item.put("id", ResponsesApi.itemId(prefix, responseId, false, i));
        }
        return items;
    }
}
