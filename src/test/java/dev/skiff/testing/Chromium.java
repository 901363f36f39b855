package dev.skiff.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A headless Chromium driven over the Chrome DevTools Protocol, with nothing but the JDK's WebSocket
 * client: start it, open a page, run JavaScript in it, wait for what the page should show. Each
 * instance has its own fresh profile and debugging port (port 0: Chromium picks one and writes it in
 * the profile's {@code DevToolsActivePort}).
 *
 * <p>Chromium is Debian's package {@code chromium}. {@link #find} looks for it and, when it is missing
 * and the tests run as root with apt-get, installs it once ({@code .ci/run}'s machines); otherwise the
 * caller skips with {@link #MISSING}.
 */
public final class Chromium implements AutoCloseable {
    public static final String MISSING = "Chromium is not installed and could not be installed here (as root: apt-get install chromium; "
            + "or set CHROMIUM to a Chromium or Chrome binary), so the dashboard's browser test is skipped";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static volatile Boolean installTried;

    private final Process process;
    private final Path profile;
    private final WebSocket socket;
    private final AtomicInteger ids = new AtomicInteger();
    private final Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
    private final List<String> consoleErrors = new ArrayList<>();

    /** The Chromium binary to use, installing Debian's package if it can; null when there is none. */
    public static synchronized Path find() {
        Path found = locate();
        if (found != null || Boolean.TRUE.equals(installTried)) return found;
        installTried = true;
        boolean root = "root".equals(System.getProperty("user.name"));
        if (!root || !Files.isExecutable(Path.of("/usr/bin/apt-get"))) return null;
        System.err.println("Chromium: not installed; installing Debian's chromium package for the dashboard test");
        try {
            Process p = new ProcessBuilder("bash", "-c", "(apt-get install -y --no-install-recommends chromium "
                    + "|| (apt-get update && apt-get install -y --no-install-recommends chromium)) >/tmp/skiff-chromium-install.log 2>&1")
                    .inheritIO().start();
            if (!p.waitFor(10, TimeUnit.MINUTES)) p.destroyForcibly();
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
        return locate();
    }

    private static Path locate() {
        String given = System.getenv("CHROMIUM");
        if (given != null && !given.isBlank() && Files.isExecutable(Path.of(given))) return Path.of(given);
        for (String c : List.of("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")) {
            if (Files.isExecutable(Path.of(c))) return Path.of(c);
        }
        return null;
    }

    private Chromium(Process process, Path profile, WebSocket socket) {
        this.process = process;
        this.profile = profile;
        this.socket = socket;
    }

    /** Starts a headless Chromium on a blank page and connects to that page. */
    public static Chromium start(Path binary) throws Exception {
        Path profile = Files.createTempDirectory("skiff-chromium");
        List<String> cmd = List.of(binary.toString(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                "--user-data-dir=" + profile, "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
                "--window-size=1280,1000", "about:blank");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(profile.resolve("chromium.log").toFile()).start();
        Path portFile = profile.resolve("DevToolsActivePort");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(portFile) || Files.readAllLines(portFile).size() < 2) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                p.destroyForcibly();
                throw new IllegalStateException("Chromium did not start: " + Files.readString(profile.resolve("chromium.log")));
            }
            Thread.sleep(50);
        }
        int port = Integer.parseInt(Files.readAllLines(portFile).getFirst().strip());
        HttpClient http = HttpClient.newHttpClient();
        String wsUrl = null;
        while (wsUrl == null && System.nanoTime() < deadline) {
            JsonNode targets = JSON.readTree(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/json/list")).build(),
                    HttpResponse.BodyHandlers.ofString()).body());
            for (JsonNode t : targets) if (t.path("type").asText().equals("page")) wsUrl = t.path("webSocketDebuggerUrl").asText();
            if (wsUrl == null) Thread.sleep(50);
        }
        if (wsUrl == null) throw new IllegalStateException("Chromium opened no page");
        Chromium[] self = new Chromium[1];
        WebSocket ws = http.newWebSocketBuilder().buildAsync(URI.create(wsUrl), new WebSocket.Listener() {
            final StringBuilder partial = new StringBuilder();

            @Override
            public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                partial.append(data);
                if (last) {
                    String message = partial.toString();
                    partial.setLength(0);
                    while (self[0] == null) Thread.onSpinWait();
                    self[0].received(message);
                }
                webSocket.request(1);
                return null;
            }
        }).get(10, TimeUnit.SECONDS);
        Chromium c = new Chromium(p, profile, ws);
        self[0] = c;
        c.call("Page.enable", null);
        c.call("Runtime.enable", null);
        return c;
    }

    private void received(String message) {
        try {
            JsonNode m = JSON.readTree(message);
            if (m.has("id")) {
                CompletableFuture<JsonNode> f = pending.remove(m.get("id").asInt());
                if (f != null) f.complete(m);
            } else if (m.path("method").asText().equals("Runtime.exceptionThrown")) {
                synchronized (consoleErrors) {
                    consoleErrors.add(m.path("params").path("exceptionDetails").toString());
                }
            } else if (m.path("method").asText().equals("Runtime.consoleAPICalled")
                    && m.path("params").path("type").asText().equals("error")) {
                synchronized (consoleErrors) {
                    consoleErrors.add(m.path("params").path("args").toString());
                }
            }
        } catch (IOException e) {
            // not JSON: ignored
        }
    }

    /** Sends one DevTools command and waits for its answer; a protocol error is thrown. */
    public JsonNode call(String method, ObjectNode params) throws Exception {
        int id = ids.incrementAndGet();
        ObjectNode m = JSON.createObjectNode().put("id", id).put("method", method);
        if (params != null) m.set("params", params);
        CompletableFuture<JsonNode> f = new CompletableFuture<>();
        pending.put(id, f);
        socket.sendText(m.toString(), true).get(10, TimeUnit.SECONDS);
        JsonNode r = f.get(30, TimeUnit.SECONDS);
        if (r.has("error")) throw new IllegalStateException(method + ": " + r.get("error"));
        return r.path("result");
    }

    /** Opens a URL in the page. */
    public void navigate(String url) throws Exception {
        call("Page.navigate", JSON.createObjectNode().put("url", url));
    }

    /** Runs a JavaScript expression in the page (promises awaited) and returns its value as JSON. */
    public JsonNode eval(String expression) throws Exception {
        JsonNode r = call("Runtime.evaluate", JSON.createObjectNode().put("expression", expression).put("awaitPromise", true)
                .put("returnByValue", true));
        if (r.has("exceptionDetails")) throw new IllegalStateException("JavaScript failed: " + r.get("exceptionDetails"));
        return r.path("result").path("value");
    }

    /** Waits until a JavaScript expression is truthy in the page; fails with what the page shows. */
    public void waitFor(String expression, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            JsonNode v;
            try {
                v = eval("!!(" + expression + ")");
            } catch (IllegalStateException e) {
                v = null; // a page between two documents
            }
            if (v != null && v.asBoolean()) return;
            if (System.nanoTime() > deadline) {
                String shown;
                try {
                    shown = eval("document.body ? document.body.innerText.slice(0, 2000) : ''").asText();
                } catch (Exception e) {
                    shown = "(unreadable: " + e.getMessage() + ")";
                }
                throw new AssertionError("the page never showed " + expression + "; it shows:\n" + shown + "\nscript errors: " + consoleErrors());
            }
            Thread.sleep(50);
        }
    }

    /** A PNG of the page, for a failing test's evidence. */
    public void screenshot(Path to) throws Exception {
        JsonNode r = call("Page.captureScreenshot", JSON.createObjectNode().put("format", "png"));
        Files.write(to, Base64.getDecoder().decode(r.path("data").asText()));
    }

    /** Script errors and console errors the page reported so far. */
    public List<String> consoleErrors() {
        synchronized (consoleErrors) {
            return List.copyOf(consoleErrors);
        }
    }

    @Override
    public void close() {
        socket.abort();
        process.descendants().forEach(ProcessHandle::destroy); // renderers and helpers this browser started
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // Chromium's helper processes may still hold the profile for a moment; left to the OS's tmp cleanup if so.
        try (var files = Files.walk(profile)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            // best effort
        }
    }
}
