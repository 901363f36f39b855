package dev.skiff.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.control.Caller;
import dev.skiff.dialect.openai.OpenAiChat;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The admin API: {@code /admin/v1/<resource>[/...]}, dispatched to the {@link AdminResource} of that
 * name, and {@code GET /admin/v1/openapi.json}, the OpenAPI description merged from every resource's
 * fragment. Authentication happened on the request head (see ClientGate); every call here is an
 * admin's.
 *
 * <p>Resources touch the database, so calls run on a small pool of admin threads, never on an event
 * loop; {@link #submit} completes a future that the connection waits on. The pool's queue is bounded:
 * an admin client that floods it gets 503 rather than a growing heap.
 */
public final class AdminApi implements AutoCloseable {
    public static final String PREFIX = "/admin/v1/";
    private static final int THREADS = 2;
    private static final int QUEUE = 256;

    private final Map<String, AdminResource> resources = new ConcurrentSkipListMap<>();
    private final ThreadPoolExecutor executor;

    public AdminApi() {
        executor = new ThreadPoolExecutor(THREADS, THREADS, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(QUEUE),
                r -> Thread.ofPlatform().name("skiff-admin").daemon(true).unstarted(r));
        executor.allowCoreThreadTimeOut(true); // no threads while nobody administers
    }

    /** Serves {@code resource} at {@code /admin/v1/<name>}; a name can be registered once. */
    public void register(AdminResource resource) {
        if (resource.name().equals("openapi.json") || resources.putIfAbsent(resource.name(), resource) != null) {
            throw new IllegalArgumentException("admin resource '" + resource.name() + "' is registered already");
        }
    }

    /**
     * Runs a call on an admin thread. The future always completes with a reply (errors included),
     * never exceptionally.
     */
    public CompletableFuture<AdminReply> submit(String method, String uri, byte[] body, Caller caller) {
        CompletableFuture<AdminReply> reply = new CompletableFuture<>();
        try {
            executor.execute(() -> reply.complete(handle(method, uri, body, caller)));
        } catch (RejectedExecutionException e) {
            reply.complete(AdminReply.error(503, "The admin API is busy (" + QUEUE + " calls waiting); try again.", "overloaded", null));
        }
        return reply;
    }

    /** Answers a call on the calling thread (blocking). */
    public AdminReply handle(String method, String uri, byte[] body, Caller caller) {
        try {
            QueryStringDecoder q = new QueryStringDecoder(uri);
            String path = q.rawPath();
            if (!path.startsWith(PREFIX)) throw new AdminException(404, "Unknown path " + path + ".", "unknown_url", null);
            List<String> segments = segments(path.substring(PREFIX.length()));
            if (segments.isEmpty()) throw new AdminException(404, "Unknown path " + path + ": admin resources are "
                    + String.join(", ", resources.keySet()) + ".", "unknown_url", null);
            String name = segments.getFirst();
            if (name.equals("openapi.json") && segments.size() == 1) {
                if (!method.equals("GET")) throw methodNotAllowed(method, "GET");
                return AdminReply.ok(openApi());
            }
            AdminResource resource = resources.get(name);
            if (resource == null) {
                throw new AdminException(404, "Unknown admin resource '" + name + "'; there are " + String.join(", ", resources.keySet())
                        + " (see " + PREFIX + "openapi.json).", "unknown_url", null);
            }
            JsonNode json = null;
            if (body != null && body.length > 0) {
                try {
                    json = OpenAiChat.JSON.readTree(body);
                } catch (IOException e) {
                    throw AdminException.badRequest("The request body is not valid JSON: " + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()), null);
                }
            }
            return resource.handle(new AdminRequest(method, segments.subList(1, segments.size()), q.parameters(), json, caller));
        } catch (AdminException e) {
            return AdminReply.error(e);
        } catch (IllegalArgumentException e) { // a malformed percent-encoding in the path or query
            return AdminReply.error(400, "The request path or query is malformed: " + e.getMessage(), "invalid_request", null);
        } catch (Exception | StackOverflowError e) {
            return AdminReply.error(500, "The admin call failed: " + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : ": " + e.getMessage()), "internal_error", null);
        }
    }

    /** A 405 naming the methods that are allowed. */
    public static AdminException methodNotAllowed(String method, String... allowed) {
        return new AdminException(405, "Method " + method + " is not allowed here; use " + String.join(", ", allowed) + ".",
                "method_not_allowed", null);
    }

    private static List<String> segments(String rest) {
        List<String> out = new ArrayList<>();
        for (String s : rest.split("/")) {
            if (!s.isEmpty()) out.add(QueryStringDecoder.decodeComponent(s));
        }
        return out;
    }

    /** The OpenAPI 3.1 description of every registered resource. */
    public ObjectNode openApi() {
        ObjectNode doc = OpenAiChat.JSON.createObjectNode();
        doc.put("openapi", "3.1.0");
        doc.putObject("info").put("title", "Skiff admin API").put("version", "1")
                .put("description", "Managed keys, usage and limits. Authenticate with the master key or an admin-scoped key, "
                        + "as 'Authorization: Bearer <key>' or 'x-api-key'. Errors use the OpenAI error envelope.");
        ObjectNode paths = doc.putObject("paths");
        ObjectNode components = doc.putObject("components");
        ObjectNode schemas = components.putObject("schemas");
        schemas.set("Error", OpenAiChat.JSON.createObjectNode().put("type", "object").set("properties",
                OpenAiChat.JSON.createObjectNode().set("error", OpenAiChat.JSON.createObjectNode().put("type", "object"))));
        components.putObject("securitySchemes").set("bearer", OpenAiChat.JSON.createObjectNode().put("type", "http").put("scheme", "bearer"));
        doc.putArray("security").addObject().putArray("bearer");
        paths.putObject(PREFIX + "openapi.json").putObject("get").put("summary", "This description")
                .putObject("responses").putObject("200").put("description", "The OpenAPI document");
        for (AdminResource r : resources.values()) {
            ObjectNode fragment = r.openApi();
            merge(paths, fragment.path("paths"));
            merge(schemas, fragment.path("components").path("schemas"));
        }
        return doc;
    }

    private static void merge(ObjectNode into, JsonNode from) {
        for (Iterator<Map.Entry<String, JsonNode>> it = from.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (into.get(e.getKey()) instanceof ObjectNode existing && e.getValue() instanceof ObjectNode more) existing.setAll(more);
            else into.set(e.getKey(), e.getValue());
        }
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
