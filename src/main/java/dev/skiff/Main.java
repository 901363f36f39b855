package dev.skiff;

import dev.skiff.config.Config;
import dev.skiff.config.ConfigException;
import dev.skiff.config.ConfigLoader;
import dev.skiff.config.ProviderConfig;
import dev.skiff.config.Redact;
import io.netty.util.internal.logging.InternalLoggerFactory;
import io.netty.util.internal.logging.JdkLoggerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.Properties;

/** Command-line entry: load configuration, start, and stop cleanly on SIGTERM / Ctrl-C. */
public final class Main {
    private Main() {}

    static final String USAGE = """
            Usage: skiff [--help | --version]

            Skiff serves one OpenAI-compatible endpoint (and Anthropic's Messages API) in front of
            the providers it is given. It is configured by environment variables, optionally on top
            of a YAML file: $SKIFF_CONFIG, or config.yaml in the working directory when it exists.
            The environment wins over the file.

            Main settings (environment / YAML):
              OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, ...   a provider, registered by its key
              OLLAMA_BASE_URL, VLLM_BASE_URL, ...                      a local server, by its base URL
              <PROVIDER>_BASE_URL, <PROVIDER>_MODELS                   its address, models to declare
              PORT / SKIFF_PORT        server.port        port (8080)
              SKIFF_HOST               server.host        address to bind (127.0.0.1; 0.0.0.0 for every interface)
              SKIFF_MASTER_KEY         server.master_key  key clients must send; unset serves openly,
                                                          on a loopback address only unless
              SKIFF_ALLOW_OPEN         server.allow_open  is true
              SKIFF_READY_TIMEOUT      server.ready_timeout  longest /ready waits for first model listings (10s)
              SKIFF_MAX_CONNECTIONS    server.max_connections  client connections at once (10000, fewer if files are short)
              SKIFF_DRAIN_TIMEOUT      server.drain_timeout  on SIGTERM, longest requests get to finish (30s)
              SKIFF_USAGE_LOG          usage_log          stdout, off, or a file (stdout)
              SKIFF_DB                 database           SQLite file for stored responses (data/skiff.db)
              SKIFF_RESPONSES_TTL      responses_ttl      how long stored responses are kept (30d)

            Options:
              -h, --help      print this and exit
              -V, --version   print the version and exit

            Every setting is described in README.md.
            """;

    public static void main(String[] args) throws Exception {
        Integer exit = command(args, System.out, System.err);
        if (exit != null) {
            if (exit != 0) System.exit(exit);
            return;
        }
        // Before the configuration is read: the warm-up runs beside it (see WarmUp).
        WarmUp.start();
        // Netty would otherwise probe for SLF4J and Log4J on every start, failing class look-ups.
        InternalLoggerFactory.setDefaultFactory(JdkLoggerFactory.INSTANCE);
        Config config;
        try {
            config = ConfigLoader.load();
        } catch (ConfigException e) {
            System.err.println("skiff: invalid configuration: " + e.getMessage());
            System.exit(2);
            return;
        }
        Skiff skiff;
        try {
            skiff = Skiff.start(config);
        } catch (Exception e) {
            System.err.println("skiff: cannot start: " + e.getMessage());
            System.exit(1);
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(skiff::close, "skiff-shutdown"));
        stopGracefullyOn("TERM", skiff, config);
        stopGracefullyOn("INT", skiff, config);

        StringBuilder sb = new StringBuilder();
        sb.append("skiff: serving on ").append(config.host()).append(':').append(skiff.port())
                .append(" (").append(skiff.transportName()).append(", ").append(config.ioThreads()).append(" threads, at most ")
                .append(config.maxConnections()).append(" connections)");
        if (ConfigLoader.isLoopback(config.host())) sb.append(", this machine only (SKIFF_HOST=0.0.0.0 serves other machines)");
        if (config.providers().isEmpty()) {
            sb.append("\nskiff: no provider is configured; set e.g. OPENAI_API_KEY, or OLLAMA_BASE_URL for a local server");
        }
        for (ProviderConfig p : config.providers()) {
            sb.append("\nskiff: provider ").append(p.name()).append(" -> ").append(Redact.url(p.baseUrl()));
        }
        sb.append("\nskiff: usage and cost ").append(skiff.usageStore() != null ? "recorded in " + skiff.usageStore().describe()
                : "not stored (SKIFF_USAGE_STORE=off)");
        if (skiff.auditLog() != null) {
            sb.append("\nskiff: audit log (").append(skiff.auditLog().level().id()).append(") recorded in ")
                    .append(skiff.auditLog().store().describe());
        }
        if (skiff.tracer() != null) {
            var t = skiff.tracer().config();
            sb.append("\nskiff: traces exported to ").append(Redact.url(t.endpoint())).append(" (").append(t.json() ? "http/json" : "http/protobuf")
                    .append(", sampler ").append(t.sampler()).append(')');
        }
        for (String w : config.warnings()) sb.append("\nskiff: WARNING: ").append(w);
        if (config.masterKey() == null) {
            sb.append("\nskiff: WARNING: SKIFF_MASTER_KEY is not set: /v1/* is open to ")
                    .append(config.allowOpen() ? "anyone who can reach this port (SKIFF_ALLOW_OPEN=true)"
                            : "every program and user on this machine; a key is needed to serve other machines");
        }
        System.err.println(sb);
    }

    private static final java.util.concurrent.atomic.AtomicBoolean STOPPING = new java.util.concurrent.atomic.AtomicBoolean();

    /**
     * SIGTERM (what orchestrators send) and Ctrl-C drain before exiting 0, where the JVM's default
     * would cut every request at once and exit 143. A second signal exits without waiting.
     */
    private static void stopGracefullyOn(String signal, Skiff skiff, Config config) {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal(signal), s -> {
                if (!STOPPING.compareAndSet(false, true)) {
                    System.err.println("skiff: SIG" + signal + " again: stopping now");
                    System.exit(1);
                    return;
                }
                // Not a daemon (as the signal's thread is): once the event loops stop, the JVM would
                // otherwise exit before the usage log is drained and the status is ours.
                Thread.ofPlatform().name("skiff-drain").daemon(false).start(() -> {
                    System.err.println("skiff: SIG" + signal + ": no new connections; " + skiff.connections()
                            + " open connection(s) have up to " + config.drainTimeout().toMillis() + " ms to finish (SKIFF_DRAIN_TIMEOUT)");
                    skiff.drain(config.drainTimeout());
                    System.err.println("skiff: stopped");
                    System.exit(0);
                });
            });
        } catch (IllegalArgumentException e) {
            // A signal this platform does not have (or one the JVM keeps for itself): the shutdown hook still closes.
        }
    }

    /**
     * The options that answer without starting anything: the exit status once answered, or null
     * when Skiff is to start. Nothing is loaded or bound before this, so it works on any machine.
     */
    static Integer command(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0) return null;
        if (args.length == 1) {
            switch (args[0]) {
                case "-h", "--help", "help" -> {
                    out.print(USAGE);
                    return 0;
                }
                case "-V", "--version", "version" -> {
                    out.println("skiff " + version());
                    return 0;
                }
                default -> {
                }
            }
        }
        err.println("skiff: unknown argument '" + String.join(" ", args) + "'; Skiff takes its settings from the environment");
        err.print(USAGE);
        return 2;
    }

    /** The Maven project version the build wrote into version.properties. */
    static String version() {
        try (InputStream in = Main.class.getResourceAsStream("version.properties")) {
            if (in == null) return "unknown";
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
