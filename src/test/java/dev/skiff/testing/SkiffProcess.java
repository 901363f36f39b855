package dev.skiff.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Skiff as its own process, from this test run's classes, for what only a process shows: signals,
 * exit status, file-descriptor limits. Its output (stdout and stderr together) is kept line by line.
 */
public final class SkiffProcess implements AutoCloseable {
    public final Process process;
    public final int port;
    private final List<String> output = Collections.synchronizedList(new ArrayList<>());
    private final Thread reader;

    private SkiffProcess(Process process, int port, CountDownLatch serving) {
        this.process = process;
        this.port = port;
        this.reader = Thread.ofVirtual().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    output.add(line);
                    if (line.contains("serving on")) serving.countDown();
                }
            } catch (IOException e) {
                // the process ended
            }
        });
    }

    /**
     * Starts Skiff on a free loopback port with these variables (pairs of name, value) and waits until
     * it serves. {@code openFiles} > 0 lowers the process's open-file limit first (through the shell).
     */
    public static SkiffProcess start(int openFiles, String... env) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path dir = Files.createTempDirectory("skiff-process");
        List<String> java = List.of(ProcessHandle.current().info().command().orElseThrow(), "-Xmx64m",
                "--sun-misc-unsafe-memory-access=allow", "-cp", System.getProperty("java.class.path"), "dev.skiff.Main");
        List<String> command = new ArrayList<>();
        if (openFiles > 0) {
            command.addAll(List.of("/bin/sh", "-c", "ulimit -n " + openFiles + " && exec \"$@\"", "sh"));
        }
        command.addAll(java);
        ProcessBuilder pb = new ProcessBuilder(command);
        Map<String, String> e = pb.environment();
        e.keySet().removeIf(k -> k.startsWith("SKIFF_") || k.endsWith("_API_KEY") || k.endsWith("_BASE_URL") || k.equals("PORT"));
        e.put("PORT", String.valueOf(port));
        e.put("SKIFF_HOST", "127.0.0.1");
        e.put("SKIFF_USAGE_LOG", "off");
        e.put("SKIFF_DB", dir.resolve("skiff.db").toString());
        for (int i = 0; i < env.length; i += 2) e.put(env[i], env[i + 1]);
        pb.directory(dir.toFile());
        pb.redirectErrorStream(true);
        CountDownLatch serving = new CountDownLatch(1);
        SkiffProcess p = new SkiffProcess(pb.start(), port, serving);
        if (!serving.await(30, TimeUnit.SECONDS)) {
            p.close();
            throw new AssertionError("Skiff did not start: " + p.output());
        }
        return p;
    }

    /** Waits up to five seconds for its output to contain {@code text}; false if it does not. */
    public boolean awaitOutput(String text) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (output().contains(text)) return true;
            Thread.sleep(20);
        }
        return false;
    }

    /** SIGTERM. Through the handle: {@link Process#destroy()} would also close our end of its output. */
    public void terminate() {
        process.toHandle().destroy();
    }

    /** Everything it printed so far; after it exited, everything. */
    public String output() {
        if (!process.isAlive()) {
            try {
                reader.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (output) {
            return String.join("\n", output);
        }
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }
}
