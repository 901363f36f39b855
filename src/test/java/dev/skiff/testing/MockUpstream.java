package dev.skiff.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A scriptable provider on a real loopback socket. Each path gets a handler; every request is kept
 * for assertions. Handlers run on virtual threads, so they may sleep to script timing.
 */
public final class MockUpstream implements AutoCloseable {
    /** What the mock received; {@code path} is decoded, {@code rawPath} as it was on the wire (for signature checks). */
    public record Received(String method, String path, String query, Map<String, List<String>> headers, String body, String rawPath) {
        public String header(String name) {
            for (var e : headers.entrySet()) {
                if (e.getKey().equalsIgnoreCase(name)) return e.getValue().getFirst();
            }
            return null;
        }
    }

    @FunctionalInterface
    public interface Handler {
        void handle(Received request, Reply reply) throws Exception;
    }

    private final HttpServer server;
    private final Map<String, Handler> handlers = new ConcurrentHashMap<>();
    private final LinkedBlockingQueue<Received> received = new LinkedBlockingQueue<>();
    /** Writes that failed because the peer (Skiff) had closed the connection. */
    public final AtomicInteger brokenWrites = new AtomicInteger();

    static {
        // Chunks must leave when flushed, not when Nagle allows: timing tests depend on it.
        System.setProperty("sun.net.httpserver.nodelay", "true");
    }

    public MockUpstream() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 512);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/", this::dispatch);
        server.start();
        models("gpt-4o-mini");
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
    }

    public MockUpstream on(String path, Handler handler) {
        handlers.put(path, handler);
        return this;
    }

    /** Serves {@code GET /v1/models} with these ids. */
    public MockUpstream models(String... ids) {
        StringBuilder sb = new StringBuilder("{\"object\":\"list\",\"data\":[");
        for (int i = 0; i < ids.length; i++) {
            if (i > 0) sb.append(',');
            sb.append("{\"id\":\"").append(ids[i]).append("\",\"object\":\"model\",\"created\":1700000000,\"owned_by\":\"mock\"}");
        }
        String body = sb.append("]}").toString();
        return on("/v1/models", (req, reply) -> reply.json(200, body));
    }

    /** What was received so far and not taken, in order. */
    public List<Received> received() {
        return List.copyOf(received);
    }

    /** Forgets what was received so far. */
    public void clearReceived() {
        received.clear();
    }

    /** The requests received so far and not yet taken, model listings left out; none are waited for. */
    public java.util.List<Received> receivedSoFar() {
        return received.stream().filter(r -> !r.path().endsWith("/models")).toList();
    }

    /** The next request received, waiting up to five seconds. */
    public Received take() throws InterruptedException {
        Received r = received.poll(5, TimeUnit.SECONDS);
        if (r == null) throw new AssertionError("the mock upstream received no request");
        return r;
    }

    /** The next request to {@code path}, skipping others (model listings, for instance). */
    public Received take(String path) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < deadline) {
            Received r = received.poll(100, TimeUnit.MILLISECONDS);
            if (r != null && r.path().equals(path)) return r;
        }
        throw new AssertionError("the mock upstream received no request to " + path);
    }

    private void dispatch(HttpExchange ex) throws IOException {
        try (ex) {
            String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            Received r = new Received(ex.getRequestMethod(), ex.getRequestURI().getPath(), ex.getRequestURI().getRawQuery(), Map.copyOf(ex.getRequestHeaders()), body,
                    ex.getRequestURI().getRawPath());
            received.add(r);
            Handler h = handlers.get(r.path());
            Reply reply = new Reply(ex);
            if (h == null) {
                reply.json(404, "{\"error\":{\"message\":\"no such path\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":null}}");
                return;
            }
            h.handle(r, reply);
        } catch (IOException e) {
            brokenWrites.incrementAndGet();
        } catch (Exception e) {
            throw new IOException(e);
        }
    }

    /** Ways to answer. */
    public final class Reply {
        private final HttpExchange ex;
        private OutputStream stream;

        Reply(HttpExchange ex) {
            this.ex = ex;
        }

        public void header(String name, String value) {
            ex.getResponseHeaders().add(name, value);
        }

        public void json(int status, String body) throws IOException {
            send(status, "application/json", body);
        }

        public void send(int status, String contentType, String body) throws IOException {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", contentType);
            ex.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
            if (bytes.length > 0) ex.getResponseBody().write(bytes);
        }

        /** Sends bytes as they are, with whatever headers were set before. */
        public void raw(int status, byte[] bytes) throws IOException {
            ex.sendResponseHeaders(status, bytes.length);
            ex.getResponseBody().write(bytes);
        }

        /** Starts a chunked event stream; then {@link #chunk} as often as wanted. */
        public void startStream() throws IOException {
            startStream("text/event-stream");
        }

        /** Starts a chunked stream of this content type (Bedrock's binary event streams, for instance). */
        public void startStream(String contentType) throws IOException {
            ex.getResponseHeaders().set("Content-Type", contentType);
            ex.sendResponseHeaders(200, 0);
            stream = ex.getResponseBody();
        }

        /** Writes bytes as one chunk and flushes it. */
        public void chunk(byte[] bytes) throws IOException {
            stream.write(bytes);
            stream.flush();
        }

        /** Writes raw bytes as one chunk and flushes it. */
        public void chunk(String text) throws IOException {
            stream.write(text.getBytes(StandardCharsets.UTF_8));
            stream.flush();
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
