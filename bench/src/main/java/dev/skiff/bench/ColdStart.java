package dev.skiff.bench;

import static java.nio.charset.StandardCharsets.US_ASCII;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Cold start: the time from launching a server process to its first successful answer to a real
 * (proxied) request, which is what a user of a freshly started or autoscaled gateway waits for.
 *
 * <pre>
 * LoadGen coldstart [--runs 5] --url URL [--body JSON | --body-file F] [--header 'k: v']...
 *                   [--port-env PORT] [--timeout-s 30] [--log FILE] -- CMD ARGS...
 * </pre>
 *
 * When the URL contains {@code {port}}, each run gets a fresh free port, passed to the command in
 * the environment variable named by {@code --port-env} and substituted in the URL and arguments,
 * so no run can be answered by a leftover of the previous one. The request is sent every ~2 ms
 * over a new connection until one gets HTTP 200; the process tree is then stopped.
 * Prints each run and {@code RESULT coldstart_median_ms=... runs=[...]}.
 */
final class ColdStart {
    private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(2);

    private ColdStart() {}

    static int run(String[] argv) throws Exception {
        Set<String> options = new HashSet<>(LoadGen.REQUEST_OPTIONS);
        options.addAll(Set.of("runs", "port-env", "timeout-s", "log"));
        Args args = Args.parse(argv, options, Set.of());
        String url = LoadGen.required(args, "url");
        List<String> command = args.rest();
        if (command.isEmpty()) throw new IllegalArgumentException("coldstart needs a command after --");
        int runs = args.integer("runs", 5);
        long timeoutNanos = TimeUnit.SECONDS.toNanos(args.integer("timeout-s", 30));
        String portEnv = args.string("port-env", "PORT");
        String log = args.string("log", null);

        List<Double> results = new ArrayList<>();
        for (int run = 1; run <= runs; run++) {
            String port = url.contains("{port}") ? Integer.toString(LoadGen.freePort()) : null;
            Target target = Target.parse(fill(url, port));
            byte[] request = LoadGen.requestBytes(args, target, true);
            ProcessBuilder builder = new ProcessBuilder(command.stream().map(a -> fill(a, port)).toList());
            if (port != null) builder.environment().put(portEnv, port);
            builder.redirectErrorStream(true);
            builder.redirectOutput(log == null ? ProcessBuilder.Redirect.DISCARD
                    : ProcessBuilder.Redirect.appendTo(new File(log)));

            long launched = System.nanoTime();
            Process process = builder.start();
            try {
                String failure = awaitOk(process, target, request, launched, timeoutNanos);
                if (failure != null) {
                    System.out.println("run " + run + ": failed: " + failure);
                    System.out.println("RESULT coldstart_median_ms=nan runs=" + format(results) + " failed_run=" + run);
                    return 1;
                }
                double ms = (System.nanoTime() - launched) / 1e6;
                results.add(ms);
                System.out.println("run " + run + ": " + String.format(Locale.ROOT, "%.1f", ms) + " ms");
            } finally {
                stop(process);
            }
        }
        double[] sorted = results.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        double median = sorted.length % 2 == 1 ? sorted[sorted.length / 2]
                : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
        System.out.println("RESULT coldstart_median_ms=" + String.format(Locale.ROOT, "%.1f", median)
                + " runs=" + format(results));
        return 0;
    }

    /** Polls until an HTTP 200 arrives; returns null then, or why it never did. */
    private static String awaitOk(Process process, Target target, byte[] request, long launched, long timeoutNanos) {
        String last = "no connection accepted";
        while (System.nanoTime() - launched < timeoutNanos) {
            if (!process.isAlive()) return "the process exited with status " + process.exitValue() + " (" + last + ")";
            try {
                int status = exchange(target, request);
                if (status == 200) return null;
                last = "last status " + status;
            } catch (ConnectException e) {
                last = "no connection accepted";
            } catch (IOException e) {
                last = e.toString();
            }
            LockSupport.parkNanos(POLL_NANOS);
        }
        return "no HTTP 200 within " + TimeUnit.NANOSECONDS.toSeconds(timeoutNanos) + " s (" + last + ")";
    }

    /** One request on a fresh connection; returns the status code of the answer. */
    private static int exchange(Target target, byte[] request) throws IOException {
        try (Socket socket = new Socket()) {
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(target.host(), target.port()), 1_000);
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(request);
            out.flush();
            return readStatus(socket.getInputStream());
        }
    }

    /** Reads "HTTP/1.1 200 ..." up to its end of line and returns the code; the rest is not needed. */
    private static int readStatus(InputStream in) throws IOException {
        byte[] line = new byte[64];
        int n = 0;
        int b;
        while (n < line.length && (b = in.read()) != -1 && b != '\n') line[n++] = (byte) b;
        String[] parts = new String(line, 0, n, US_ASCII).trim().split(" ");
        if (parts.length < 2 || !parts[0].startsWith("HTTP/")) throw new IOException("not an HTTP response");
        try {
            int status = Integer.parseInt(parts[1]);
            return status == 100 ? readStatusAfterContinue(in) : status;
        } catch (NumberFormatException e) {
            throw new IOException("bad status line");
        }
    }

    private static int readStatusAfterContinue(InputStream in) throws IOException {
        // Skip the blank line that ends the interim response, then read the final status line.
        int b;
        while ((b = in.read()) != -1 && b != '\n') { /* rest of the blank line */ }
        return readStatus(in);
    }

    /** SIGTERM to the whole tree, then SIGKILL whatever is still there after 10 s. */
    private static void stop(Process process) throws InterruptedException {
        List<ProcessHandle> tree = new ArrayList<>(process.descendants().toList());
        tree.forEach(ProcessHandle::destroy);
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        for (ProcessHandle child : tree) {
            if (child.isAlive()) child.destroyForcibly();
        }
    }

    private static String fill(String text, String port) {
        return port == null ? text : text.replace("{port}", port);
    }

    private static String format(List<Double> runs) {
        return Arrays.toString(runs.stream().map(v -> String.format(Locale.ROOT, "%.1f", v)).toArray())
                .replace(" ", "");
    }
}
