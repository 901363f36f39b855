package dev.skiff.testing;

import dev.skiff.Skiff;
import dev.skiff.config.ConfigLoader;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** A real Skiff on an ephemeral loopback port, configured as a user would: through environment variables. */
public final class TestGateway implements AutoCloseable {
    public final Skiff skiff;
    public final Path usageLog;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    private TestGateway(Skiff skiff, Path usageLog) {
        this.skiff = skiff;
        this.usageLog = usageLog;
    }

    /** Starts with these variables (pairs of name, value), listening on 127.0.0.1:0. */
    public static TestGateway start(String... env) throws Exception {
        Map<String, String> vars = new HashMap<>();
        for (int i = 0; i < env.length; i += 2) vars.put(env[i], env[i + 1]);
        Path dir = Files.createTempDirectory("skiff-test");
        Path log = dir.resolve("usage.jsonl");
        vars.putIfAbsent("PORT", "0");
        vars.putIfAbsent("SKIFF_HOST", "127.0.0.1");
        vars.putIfAbsent("SKIFF_USAGE_LOG", log.toString());
        vars.putIfAbsent("SKIFF_IO_THREADS", "2");
        vars.putIfAbsent("SKIFF_DB", dir.resolve("skiff.db").toString());
        Skiff skiff = Skiff.start(ConfigLoader.load(vars, dir), vars);
        return new TestGateway(skiff, log);
    }

    public String url(String path) {
        return "http://127.0.0.1:" + skiff.port() + path;
    }

    public HttpResponse<String> post(String path, String body, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url(path))).timeout(Duration.ofSeconds(20))
                .POST(HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json");
        for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    public HttpResponse<InputStream> postStreaming(String path, String body, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url(path))).timeout(Duration.ofSeconds(20))
                .POST(HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json");
        for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
    }

    public HttpResponse<String> get(String path, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url(path))).timeout(Duration.ofSeconds(20)).GET();
        for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    public HttpResponse<String> send(String method, String path, String body) throws IOException, InterruptedException {
        HttpRequest r = HttpRequest.newBuilder(URI.create(url(path))).timeout(Duration.ofSeconds(20))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body)).build();
        return http.send(r, HttpResponse.BodyHandlers.ofString());
    }

    /** Any method, with an optional body and headers (pairs of name, value). */
    public HttpResponse<String> request(String method, String path, String body, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url(path))).timeout(Duration.ofSeconds(20))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) b.header("Content-Type", "application/json");
        for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Waits until every provider's listing has been fetched once (ok or error). */
    public TestGateway awaitListings() throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            if (skiff.catalog().snapshot().listings().values().stream().noneMatch(l -> l.status().equals("pending"))) return this;
            Thread.sleep(10);
        }
        throw new AssertionError("model listings never finished");
    }

    /** The usage-log line of a request id, waiting for the asynchronous writer. */
    public String usageLine(String requestId) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.exists(usageLog)) {
                List<String> lines = Files.readAllLines(usageLog, StandardCharsets.UTF_8);
                for (String l : lines) if (l.contains("\"" + requestId + "\"")) return l;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no usage line for " + requestId);
    }

    @Override
    public void close() {
        skiff.close();
        deleteTree(usageLog.getParent()); // the usage log and the database of this gateway only
    }

    private static void deleteTree(Path dir) {
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a leftover temporary folder is not worth failing a test for
        }
    }
}
