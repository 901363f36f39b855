package dev.skiff;

import dev.skiff.config.Config;
import dev.skiff.config.ConfigException;
import dev.skiff.config.ConfigLoader;
import dev.skiff.config.ProviderConfig;
import io.netty.util.internal.logging.InternalLoggerFactory;
import io.netty.util.internal.logging.JdkLoggerFactory;

/** Command-line entry: load configuration, start, and stop cleanly on SIGTERM / Ctrl-C. */
public final class Main {
    private Main() {}

    public static void main(String[] args) throws Exception {
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

        StringBuilder sb = new StringBuilder();
        sb.append("skiff: serving on ").append(config.host()).append(':').append(skiff.port())
                .append(" (").append(skiff.transportName()).append(", ").append(config.ioThreads()).append(" threads)");
        if (ConfigLoader.isLoopback(config.host())) sb.append(", this machine only (SKIFF_HOST=0.0.0.0 serves other machines)");
        if (config.providers().isEmpty()) {
            sb.append("\nskiff: no provider is configured; set e.g. OPENAI_API_KEY, or OLLAMA_BASE_URL for a local server");
        }
        for (ProviderConfig p : config.providers()) {
            sb.append("\nskiff: provider ").append(p.name()).append(" -> ").append(p.baseUrl());
        }
        for (String w : config.warnings()) sb.append("\nskiff: WARNING: ").append(w);
        if (config.masterKey() == null) {
            sb.append("\nskiff: WARNING: SKIFF_MASTER_KEY is not set: /v1/* is open to ")
                    .append(config.allowOpen() ? "anyone who can reach this port (SKIFF_ALLOW_OPEN=true)"
                            : "every program and user on this machine; a key is needed to serve other machines");
        }
        System.err.println(sb);
    }
}
