package dev.skiff.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Future;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * A closed-loop HTTP load generator, and the entry point of the benchmark's client-side modes.
 *
 * <pre>
 * LoadGen --url URL [--method POST] [--body JSON | --body-file F] [--header 'k: v']...
 *         [--concurrency 10] [--requests 10000] [--warmup 0] [--stream] [--threads 1]
 *         [--timeout-ms 30000] [--max-seconds 600] [--vary-header 'k: v{n}' --vary-count N]
 * LoadGen coldstart --runs 5 --url URL ... -- CMD ARGS...     (see {@link ColdStart})
 * LoadGen freeport                                             prints a free TCP port on 127.0.0.1
 * </pre>
 *
 * The run prints one line, {@code RESULT rps=... p50_ms=... p90_ms=... p99_ms=... ok=...
 * non2xx=... errors=...}, plus {@code ttfb_*} figures with {@code --stream}; diagnostics go to
 * stderr. With {@code --vary-header}, requests carry that header besides the others, with
 * {@code {n}} replaced by 0 .. N-1 in turn (e.g. a different end user on every request).
 * It exits 0 when at least one request succeeded, 1 otherwise, 2 on bad arguments.
 */
public final class LoadGen {
    static final Set<String> REQUEST_OPTIONS = Set.of("url", "method", "body", "body-file", "header");

    private LoadGen() {}

    public static void main(String[] argv) throws Exception {
        String mode = argv.length > 0 ? argv[0] : "";
        try {
            int code = switch (mode) {
                case "coldstart" -> ColdStart.run(Arrays.copyOfRange(argv, 1, argv.length));
                case "freeport" -> {
                    System.out.println(freePort());
                    yield 0;
                }
                default -> load(argv);
            };
            System.exit(code);
        } catch (IllegalArgumentException e) {
            System.err.println("LoadGen: " + e.getMessage());
            System.exit(2);
        }
    }

    private static int load(String[] argv) throws Exception {
        Set<String> options = new java.util.HashSet<>(REQUEST_OPTIONS);
        options.addAll(Set.of("concurrency", "requests", "warmup", "threads", "timeout-ms", "max-seconds", "vary-header", "vary-count"));
        Args args = Args.parse(argv, options, Set.of("stream"));
        Target target = Target.parse(required(args, "url"));
        int concurrency = args.integer("concurrency", 10);
        int requests = args.integer("requests", 10_000);
        int warmup = args.integer("warmup", 0);
        if (concurrency < 1 || requests < 1 || warmup < 0) {
            throw new IllegalArgumentException("--concurrency and --requests must be positive, --warmup not negative");
        }
        boolean stream = args.flag("stream");
        ByteBuf[] wires = variedRequests(args, target);
        long timeoutNanos = TimeUnit.MILLISECONDS.toNanos(args.integer("timeout-ms", 30_000));
        long maxSeconds = args.integer("max-seconds", 600);

        EventLoopGroup group = Transports.group(args.integer("threads", 1), "loadgen");
        try {
            Bootstrap bootstrap = new Bootstrap()
                    .channel(Transports.socketChannel())
                    .option(ChannelOption.TCP_NODELAY, true)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5_000)
                    .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT);
            List<ClientConnection> connections = new ArrayList<>();
            List<Future<?>> opening = new ArrayList<>();
            for (int i = 0; i < concurrency; i++) {
                ClientConnection connection = new ClientConnection(
                        bootstrap, group.next(), target, wires, i, concurrency, timeoutNanos, asksToClose(args));
                connections.add(connection);
                opening.add(connection.open());
            }
            for (Future<?> open : opening) open.await(10, TimeUnit.SECONDS); // failures are retried per request

            if (warmup > 0) {
                Phase warm = new Phase(warmup, stream);
                if (!runPhase(warm, connections, maxSeconds)) {
                    System.err.println("LoadGen: the warm-up did not finish within " + maxSeconds + " s");
                    System.out.println(warm.resultLine(false));
                    return 1;
                }
            }
            Phase measured = new Phase(requests, stream);
            boolean complete = runPhase(measured, connections, maxSeconds);
            if (measured.firstNon2xx() != null) System.err.println("LoadGen: first non-2xx: " + measured.firstNon2xx());
            if (measured.firstError() != null) System.err.println("LoadGen: first error: " + measured.firstError());
            System.out.println(measured.resultLine(complete));
            connections.forEach(ClientConnection::close);
            return complete && measured.okCount() > 0 ? 0 : 1;
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
        }
    }

    private static boolean runPhase(Phase phase, List<ClientConnection> connections, long maxSeconds)
            throws InterruptedException {
        phase.start();
        for (ClientConnection connection : connections) connection.run(phase);
        return phase.await(maxSeconds, TimeUnit.SECONDS);
    }

    /** The request all modes send, from --url, --method, --body or --body-file and --header. */
    static byte[] requestBytes(Args args, Target target, boolean close) throws IOException {
        return requestBytes(args, target, args.all("header"), close);
    }

    private static byte[] requestBytes(Args args, Target target, List<String> headers, boolean close) throws IOException {
        byte[] body = null;
        if (args.string("body-file", null) != null) {
            body = Files.readAllBytes(Path.of(args.string("body-file", null)));
        } else if (args.string("body", null) != null) {
            body = args.string("body", null).getBytes(StandardCharsets.UTF_8);
        }
        String method = args.string("method", body == null ? "GET" : "POST");
        return HttpWire.request(method, target, headers, body, close);
    }

    /** The request, or with --vary-header one per value of {n}, built ahead so that sending costs the same. */
    private static ByteBuf[] variedRequests(Args args, Target target) throws IOException {
        String varied = args.string("vary-header", null);
        if (varied == null) return new ByteBuf[] {HttpWire.shared(requestBytes(args, target, false))};
        int count = args.integer("vary-count", 1000);
        if (count < 1 || !varied.contains("{n}")) throw new IllegalArgumentException("--vary-header needs {n} in it, and --vary-count >= 1");
        ByteBuf[] out = new ByteBuf[count];
        for (int n = 0; n < count; n++) {
            List<String> headers = new ArrayList<>(args.all("header"));
            headers.add(varied.replace("{n}", Integer.toString(n)));
            out[n] = HttpWire.shared(requestBytes(args, target, headers, false));
        }
        return out;
    }

    private static boolean asksToClose(Args args) {
        return args.all("header").stream()
                .anyMatch(h -> h.replace(" ", "").equalsIgnoreCase("connection:close"));
    }

    static String required(Args args, String name) {
        String value = args.string(name, null);
        if (value == null) throw new IllegalArgumentException("--" + name + " is required");
        return value;
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
