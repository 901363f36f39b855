package dev.skiff.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skiff.testing.RawClient;
import dev.skiff.testing.RawUpstream;
import dev.skiff.testing.TestGateway;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Chaos: a fault-injecting upstream against every front door, streamed and not, with retries and
 * failover configured. Whatever the provider does (resets before or after its headers, 5xx, 429 with
 * Retry-After, stalls before its headers or mid-stream, malformed events, a slow drip, a truncated
 * body), every request ends within its deadline with an answer in its client's dialect, is
 * recorded once with its attempts, and leaves no connection or file descriptor behind.
 *
 * <p>The requests run at once (one virtual thread each), so the suite takes about one deadline.
 */
class ChaosTest {
    static final ObjectMapper JSON = new ObjectMapper();
    /** SKIFF_TOTAL_TIMEOUT: the request's deadline, retries included. */
    static final long DEADLINE_MS = 4000;
    /** What a response may take beyond the deadline: writing the error, scheduling on a loaded machine. */
    static final long SLACK_MS = 2500;

    enum Fault {
        RESET_BEFORE_HEADERS, RESET_AFTER_HEADERS, STATUS_500, STATUS_429_RETRY_AFTER_THEN_OK, STATUS_503_ALWAYS, STALL_BEFORE_HEADERS,
        STALL_MID_STREAM, MALFORMED_SSE, SLOW_DRIP, TRUNCATED_BODY
    }

    /** A front door: the path the client calls, the model it names, the dialect its errors come in. */
    record Door(String name, String path, String model, boolean anthropicErrors) {}

    static final List<Door> DOORS = List.of(
            new Door("chat", "/v1/chat/completions", "openai/gpt-4o-mini", false),
            new Door("chat-to-anthropic", "/v1/chat/completions", "anthropic/claude-x", false), // translated
            new Door("responses", "/v1/responses", "openai/gpt-4o-mini", false),
            new Door("messages", "/v1/messages", "anthropic/claude-x", true),
            new Door("passthrough", "/p/openai/chat/completions", "gpt-4o-mini", false));

    static ChaosUpstream upstream;
    static TestGateway gw;

    @BeforeAll
    static void start() throws Exception {
        upstream = new ChaosUpstream();
        gw = TestGateway.start("OPENAI_API_KEY", "k", "OPENAI_BASE_URL", upstream.baseUrl(),
                "ANTHROPIC_API_KEY", "k", "ANTHROPIC_BASE_URL", upstream.baseUrl(),
                "SKIFF_FIRST_BYTE_TIMEOUT", "1s", "SKIFF_IDLE_TIMEOUT", "1s", "SKIFF_TOTAL_TIMEOUT", DEADLINE_MS + "ms",
                "RETRY_MAX_RETRIES", "1", "RETRY_INITIAL_BACKOFF", "10ms", "RETRY_MAX_BACKOFF", "2s",
                "CIRCUIT_BREAKER_ENABLED", "false").awaitListings();
    }

    @AfterAll
    static void stop() throws IOException {
        if (gw != null) gw.close();
        if (upstream != null) upstream.close();
    }

    static long openFiles() throws IOException {
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    record Outcome(String id, Door door, Fault fault, boolean stream, RawClient.Response response, long millis, Throwable error) {}

    @Test
    void everyFaultAtEveryDoorEndsInTimeInTheClientsDialectRecordedOnceWithoutLeaks() throws Exception {
        // Warm up (class loading, first connections) so that the baseline is the steady state.
        request(new Door("warm", "/v1/chat/completions", "openai/gpt-4o-mini", false), Fault.SLOW_DRIP, false, "chaos-warm");
        Thread.sleep(300);
        long filesBefore = openFiles();

        List<Future<Outcome>> running = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (Door door : DOORS) {
                for (Fault fault : Fault.values()) {
                    for (boolean stream : new boolean[] {false, true}) {
                        String id = "chaos-" + door.name() + "-" + fault.name().toLowerCase(Locale.ROOT) + "-" + (stream ? "stream" : "whole");
                        running.add(pool.submit(() -> request(door, fault, stream, id)));
                    }
                }
            }
        }
        List<String> problems = new ArrayList<>();
        Map<String, Outcome> outcomes = new HashMap<>();
        for (Future<Outcome> f : running) {
            Outcome o = f.get();
            outcomes.put(o.id(), o);
            if (o.error() != null) {
                // Passthrough relays in the provider's framing: a response broken after its head ends with
                // the connection, short of its end, which the client reads as an error (here: the reader's).
                boolean cutShort = o.door().name().equals("passthrough") && o.error() instanceof Exception && o.millis() <= DEADLINE_MS + SLACK_MS;
                if (!cutShort) problems.add(o.id() + ": no answer (" + o.error() + ") after " + o.millis() + " ms");
                continue;
            }
            if (o.millis() > DEADLINE_MS + SLACK_MS) problems.add(o.id() + ": took " + o.millis() + " ms");
            check(o, problems);
        }
        // Recorded once each, with its attempts.
        List<String> lines = usageLines();
        for (String id : outcomes.keySet()) {
            List<JsonNode> mine = new ArrayList<>();
            for (String l : lines) if (l.contains("\"" + id + "\"")) mine.add(JSON.readTree(l));
            if (mine.size() != 1) {
                problems.add(id + ": recorded " + mine.size() + " times");
                continue;
            }
            JsonNode line = mine.getFirst();
            if (line.has("attempt_log") && line.get("attempt_log").size() != line.get("attempts").asInt()) {
                problems.add(id + ": attempts " + line.get("attempts") + " but " + line.get("attempt_log").size() + " listed");
            }
        }
        // Retries did happen where they should: a 429 with Retry-After then a success.
        for (Door d : DOORS) {
            if (d.name().equals("passthrough")) continue; // a POST is not replayed through passthrough
            for (String mode : List.of("whole", "stream")) {
                Outcome o = outcomes.get("chaos-" + d.name() + "-status_429_retry_after_then_ok-" + mode);
                if (o.response() != null && o.response().status() != 200) problems.add(o.id() + ": status " + o.response().status() + ", not retried");
                else if (o.response() != null && !"2".equals(o.response().header("x-skiff-attempts"))) {
                    problems.add(o.id() + ": x-skiff-attempts " + o.response().header("x-skiff-attempts"));
                }
            }
        }
        assertThat(problems).isEmpty();

        // No connection or file descriptor left behind, once the upstream's own sockets have closed.
        long deadline = System.nanoTime() + 10_000_000_000L;
        long after = openFiles();
        while (after > filesBefore + 2 && System.nanoTime() < deadline) {
            Thread.sleep(100);
            after = openFiles();
        }
        assertThat(after).as("open files after the chaos (before: %d)", filesBefore).isLessThanOrEqualTo(filesBefore + 2);
        assertThat(upstream.open.get()).as("upstream connections still open").isZero();
    }

    /** What a response must be, fault by fault. */
    static void check(Outcome o, List<String> problems) {
        RawClient.Response r = o.response();
        String body = r.body();
        if (o.fault() == Fault.SLOW_DRIP) {
            if (r.status() != 200) problems.add(o.id() + ": slow drip answered " + r.status() + ": " + body);
            else if (o.stream() && body.contains("\"error\"") && !o.door().name().equals("passthrough")) problems.add(o.id() + ": slow drip stream errored: " + body);
            return;
        }
        if (o.stream() && !o.door().name().equals("passthrough")
                && (o.fault() == Fault.RESET_AFTER_HEADERS || o.fault() == Fault.RESET_BEFORE_HEADERS || o.fault() == Fault.STALL_BEFORE_HEADERS)) {
            // Nothing of the stream reached the client: it was retried, and its failure is a status, not an in-band event.
            if (r.status() < 500) problems.add(o.id() + ": status " + r.status() + " for a stream that never started: " + body);
            if (!"2".equals(r.header("x-skiff-attempts"))) problems.add(o.id() + ": x-skiff-attempts " + r.header("x-skiff-attempts"));
        }
        if (r.status() == 200 && o.door().name().equals("passthrough")) {
            // Passthrough relays the provider's bytes: a broken answer ends short of its framing (the
            // connection closes), and a malformed one is the provider's to answer for.
            return;
        }
        if (r.status() == 200 && o.fault() == Fault.MALFORMED_SSE && !o.stream() && !o.door().name().equals("chat-to-anthropic")) {
            // A complete, well-framed body of the client's own dialect is relayed as it came (Skiff
            // does not parse what it forwards); translated ones are parsed, and refused (checked below).
            return;
        }
        if (r.status() == 200) {
            // Only a stream whose head went out can end in error with a 200: then the error is in-band.
            if (!o.stream() && o.fault() != Fault.STATUS_429_RETRY_AFTER_THEN_OK) problems.add(o.id() + ": 200 for a failed answer: " + body);
            if (o.stream() && o.fault() != Fault.STATUS_429_RETRY_AFTER_THEN_OK && !o.door().name().equals("passthrough") && !body.contains("error")) {
                problems.add(o.id() + ": a broken stream ended without an error event: " + body);
            }
            return;
        }
        if (r.status() < 400) {
            problems.add(o.id() + ": status " + r.status());
            return;
        }
        if (o.door().name().equals("passthrough") && r.status() != 502 && r.status() != 504) return; // the provider's own error, relayed
        try {
            JsonNode tree = JSON.readTree(body);
            boolean dialectOk = o.door().anthropicErrors() ? "error".equals(tree.path("type").asText()) && tree.path("error").has("type")
                    : tree.path("error").has("message");
            if (!dialectOk) problems.add(o.id() + ": error not in the client's dialect: " + body);
        } catch (IOException e) {
            problems.add(o.id() + ": error body is not JSON: " + body);
        }
    }

    static Outcome request(Door door, Fault fault, boolean stream, String id) {
        String body = door.path().equals("/v1/responses")
                ? "{\"model\":\"" + door.model() + "\",\"input\":\"hi\"" + (stream ? ",\"stream\":true" : "") + ",\"store\":false}"
                : "{\"model\":\"" + door.model() + "\",\"max_tokens\":10" + (stream ? ",\"stream\":true" : "")
                        + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        // The fault travels to the upstream in the request id, which Skiff passes on.
        long start = System.nanoTime();
        try (RawClient c = new RawClient(gw.skiff.port(), (int) (DEADLINE_MS + SLACK_MS + 2000))) {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            c.send("POST " + door.path() + " HTTP/1.1\r\nHost: skiff\r\nContent-Type: application/json\r\nConnection: close\r\n"
                    + "X-Request-ID: " + id + "\r\nContent-Length: " + bytes.length + "\r\n\r\n");
            c.send(bytes);
            RawClient.Response r = c.read();
            return new Outcome(id, door, fault, stream, r, (System.nanoTime() - start) / 1_000_000, null);
        } catch (Throwable t) {
            return new Outcome(id, door, fault, stream, null, (System.nanoTime() - start) / 1_000_000, t);
        }
    }

    static List<String> usageLines() throws Exception {
        long deadline = System.nanoTime() + 5_000_000_000L;
        int expected = DOORS.size() * Fault.values().length * 2;
        List<String> lines = List.of();
        while (System.nanoTime() < deadline) {
            lines = Files.exists(gw.usageLog) ? Files.readAllLines(gw.usageLog, StandardCharsets.UTF_8) : List.of();
            if (lines.stream().filter(l -> l.contains("\"chaos-") && !l.contains("chaos-warm")).count() >= expected) break;
            Thread.sleep(50);
        }
        Thread.sleep(200); // a duplicate would come right after
        return Files.readAllLines(gw.usageLog, StandardCharsets.UTF_8);
    }

    /**
     * The faulty provider: reads a request and misbehaves as its request id says. Every response
     * closes its connection, so that what stays open afterwards is a leak.
     */
    static final class ChaosUpstream implements AutoCloseable {
        final ServerSocket server;
        final AtomicInteger open = new AtomicInteger();
        final Map<String, AtomicInteger> attempts = new ConcurrentHashMap<>();

        ChaosUpstream() throws IOException {
            server = new ServerSocket(0, 256, InetAddress.getLoopbackAddress());
            Thread.ofVirtual().start(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket s = server.accept();
                        open.incrementAndGet();
                        Thread.ofVirtual().start(() -> {
                            try (s) {
                                serve(s);
                            } catch (Exception e) {
                                // the peer left, or the script reset the connection
                            } finally {
                                open.decrementAndGet();
                            }
                        });
                    } catch (IOException e) {
                        return;
                    }
                }
            });
        }

        String baseUrl() {
            return "http://127.0.0.1:" + server.getLocalPort() + "/v1";
        }

        void serve(Socket s) throws Exception {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            String head = RawUpstream.readRequest(in);
            String path = head.substring(head.indexOf(' ') + 1, head.indexOf(' ', head.indexOf(' ') + 1));
            if (head.startsWith("GET ")) {
                send(out, 200, "application/json", "{\"object\":\"list\",\"data\":[]}");
                return;
            }
            String id = header(head, "x-request-id");
            Fault fault = id == null || id.equals("chaos-warm") ? Fault.SLOW_DRIP : faultOf(id);
            boolean stream = id != null && id.endsWith("-stream");
            int attempt = attempts.computeIfAbsent(id == null ? "" : id, k -> new AtomicInteger()).incrementAndGet();
            String sseHead = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";
            switch (fault) {
                case RESET_BEFORE_HEADERS -> reset(s);
                case RESET_AFTER_HEADERS -> {
                    write(out, stream ? sseHead : "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 400\r\nconnection: close\r\n\r\n");
                    Thread.sleep(20);
                    reset(s);
                }
                case STATUS_500 -> send(out, 500, "application/json", path.endsWith("/messages")
                        ? "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"boom\"}}"
                        : "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}");
                case STATUS_503_ALWAYS -> send(out, 503, "text/html", "<html>maintenance</html>");
                case STATUS_429_RETRY_AFTER_THEN_OK -> {
                    if (attempt == 1) {
                        write(out, "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\n"
                                + "content-length: 60\r\n\r\n" + pad("{\"error\":{\"message\":\"slow down\",\"type\":\"rate_limit\"}}", 60));
                    } else {
                        answer(out, path, stream, false);
                    }
                }
                case STALL_BEFORE_HEADERS -> awaitClose(s, in);
                case STALL_MID_STREAM -> {
                    if (stream) {
                        write(out, sseHead);
                        chunk(out, firstEvent(path));
                    } else {
                        write(out, "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 400\r\nconnection: close\r\n\r\n{\"id\":");
                    }
                    awaitClose(s, in);
                }
                case MALFORMED_SSE -> {
                    if (stream) {
                        write(out, sseHead);
                        chunk(out, "data: {\"not json\n\nevent: ???\ndata: }}}}\n\n");
                        write(out, "0\r\n\r\n");
                    } else {
                        send(out, 200, "application/json", "{\"id\": [unclosed");
                    }
                }
                case SLOW_DRIP -> answer(out, path, stream, true);
                case TRUNCATED_BODY -> {
                    if (stream) {
                        write(out, sseHead);
                        chunk(out, firstEvent(path));
                        write(out, "0\r\n\r\n"); // a clean end without the final event
                    } else {
                        write(out, "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\nconnection: close\r\n\r\n{\"id\":\"x\",\"choi");
                    }
                }
            }
        }

        /** The fault a request id names: {@code chaos-<door>-<fault>-<whole|stream>}. */
        static Fault faultOf(String id) {
            for (Fault f : Fault.values()) if (id.contains("-" + f.name().toLowerCase(Locale.ROOT) + "-")) return f;
            return Fault.SLOW_DRIP;
        }

        static String pad(String s, int n) {
            return s + " ".repeat(Math.max(0, n - s.length()));
        }

        /** A well-formed answer in the dialect of {@code path}; dripped a few bytes at a time when {@code drip}. */
        static void answer(OutputStream out, String path, boolean stream, boolean drip) throws Exception {
            if (!stream) {
                String body = whole(path);
                byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
                write(out, "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: " + bytes.length + "\r\nconnection: close\r\n\r\n");
                for (int i = 0; i < bytes.length; i += drip ? 40 : bytes.length) {
                    out.write(bytes, i, Math.min(drip ? 40 : bytes.length, bytes.length - i));
                    out.flush();
                    if (drip) Thread.sleep(15);
                }
                return;
            }
            write(out, "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n");
            for (String event : events(path)) {
                if (drip) {
                    for (int i = 0; i < event.length(); i += 40) {
                        chunk(out, event.substring(i, Math.min(event.length(), i + 40)));
                        Thread.sleep(15);
                    }
                } else {
                    chunk(out, event);
                }
            }
            write(out, "0\r\n\r\n");
        }

        static String whole(String path) {
            if (path.endsWith("/messages")) {
                return "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-x\",\"content\":[{\"type\":\"text\","
                        + "\"text\":\"hello\"}],\"stop_reason\":\"end_turn\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}";
            }
            if (path.endsWith("/responses")) {
                return "{\"id\":\"resp_1\",\"object\":\"response\",\"created_at\":1,\"status\":\"completed\",\"model\":\"gpt-4o-mini\",\"output\":[{\"type\":"
                        + "\"message\",\"id\":\"msg_1\",\"role\":\"assistant\",\"status\":\"completed\",\"content\":[{\"type\":\"output_text\",\"text\":\"hello\","
                        + "\"annotations\":[]}]}],\"usage\":{\"input_tokens\":3,\"output_tokens\":1,\"total_tokens\":4}}";
            }
            return "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,"
                    + "\"message\":{\"role\":\"assistant\",\"content\":\"hello\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,"
                    + "\"completion_tokens\":1,\"total_tokens\":4}}";
        }

        static String firstEvent(String path) {
            return events(path).getFirst();
        }

        static List<String> events(String path) {
            if (path.endsWith("/messages")) {
                return List.of(
                        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","
                                + "\"model\":\"claude-x\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":0}}}\n\n",
                        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
                        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hello\"}}\n\n",
                        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
                        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":1}}\n\n",
                        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
            }
            if (path.endsWith("/responses")) {
                return List.of(
                        "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"in_progress\",\"output\":[]}}\n\n",
                        "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,\"delta\":\"hello\"}\n\n",
                        "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":" + whole(path) + "}\n\n");
            }
            return List.of(
                    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"hel\"}}]}\n\n",
                    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\n",
                    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}\n\n",
                    "data: [DONE]\n\n");
        }

        static void reset(Socket s) throws IOException {
            s.setSoLinger(true, 0);
            s.close();
        }

        /** Holds the connection until Skiff gives up on it (or ten seconds pass). */
        static void awaitClose(Socket s, InputStream in) throws IOException {
            s.setSoTimeout(10_000);
            try {
                while (in.read() != -1) {
                    // drain
                }
            } catch (java.net.SocketTimeoutException e) {
                // Skiff never closed it: the open-connection count shows it
            }
        }

        static void send(OutputStream out, int status, String type, String body) throws IOException {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            write(out, "HTTP/1.1 " + status + " X\r\ncontent-type: " + type + "\r\ncontent-length: " + bytes.length + "\r\nconnection: close\r\n\r\n");
            out.write(bytes);
            out.flush();
        }

        static void chunk(OutputStream out, String text) throws IOException {
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            write(out, Integer.toHexString(bytes.length) + "\r\n");
            out.write(bytes);
            write(out, "\r\n");
        }

        static void write(OutputStream out, String text) throws IOException {
            RawUpstream.write(out, text);
        }

        static String header(String head, String name) {
            for (String line : head.split("\r\n")) {
                int colon = line.indexOf(':');
                if (colon > 0 && line.substring(0, colon).strip().equalsIgnoreCase(name)) return line.substring(colon + 1).strip();
            }
            return null;
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }
}
