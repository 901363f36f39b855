package dev.skiff.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Everything Skiff needs to serve, resolved from the YAML file and the environment.
 *
 * @param host           address to bind
 * @param port           port to serve on
 * @param ioThreads      event-loop threads shared by the server and the upstream client
 * @param transport      socket transport: {@code nio}, {@code epoll} or {@code auto}
 * @param maxBodyBytes   largest request body accepted
 * @param masterKey      when set, required on {@code /v1/*}; null serves openly
 * @param allowOpen      serving openly (no master key) on a non-loopback address was asked for explicitly
 * @param timeouts       upstream limits
 * @param modelsRefresh  how often provider model listings are fetched again
 * @param usageLog       {@code stdout}, {@code off}, or a file path for the per-request usage lines
 * @param tlsCaFile      PEM file of CAs trusted for upstream TLS instead of the defaults, or null
 * @param imageFetchMaxBytes largest image Skiff fetches for providers that take no image URLs
 * @param imageFetchPrivate  whether such fetches may reach private and internal addresses
 * @param database       the SQLite file of stored responses, or {@code :memory:}
 * @param responsesTtl   how long a stored response can be read or continued
 * @param readyTimeout   longest {@code /ready} waits for the first model listings
 * @param headerTimeout  longest a client may take to send a request head, or leave a body silent
 * @param keepAliveTimeout longest an idle client connection is kept between requests
 * @param maxConnections most client connections served at once; more are closed as they arrive
 * @param drainTimeout   on SIGTERM, longest in-flight requests are given to finish
 * @param translationMemory heap that translation may use at once, in bytes; 0 for half the maximum heap
 * @param providers      configured providers, in a stable order
 * @param warnings       what the configuration looks wrong in without being unservable, to print at start-up
 * @param routing        retries, failover, circuit breakers and virtual models (see {@link RoutingConfig})
 */
public record Config(String host, int port, int ioThreads, String transport, long maxBodyBytes, String masterKey, boolean allowOpen,
                     Timeouts timeouts,
                     Duration modelsRefresh, String usageLog, Path tlsCaFile, long imageFetchMaxBytes,
                     boolean imageFetchPrivate, String database, Duration responsesTtl, Duration readyTimeout, Duration headerTimeout, Duration keepAliveTimeout,
                     int maxConnections, Duration drainTimeout, List<ProviderConfig> providers,
                     List<String> warnings, long translationMemory, ControlConfig control, RoutingConfig routing) {
    public Config {
        if (routing == null) routing = RoutingConfig.defaults();
        providers = List.copyOf(providers);
        warnings = List.copyOf(warnings);
    }

    @Override
    public String toString() {
        return "Config[" + host + ":" + port + ", ioThreads=" + ioThreads + ", transport=" + transport + ", maxBodyBytes=" + maxBodyBytes
                + ", masterKey=" + (masterKey == null ? "unset" : "set") + (allowOpen ? ", allowOpen" : "") + ", " + timeouts + ", modelsRefresh="
                + modelsRefresh + ", usageLog=" + usageLog + ", database=" + database + ", responsesTtl=" + responsesTtl + ", readyTimeout=" + readyTimeout + ", headerTimeout=" + headerTimeout
                + ", keepAliveTimeout=" + keepAliveTimeout + ", maxConnections=" + maxConnections + ", drainTimeout=" + drainTimeout + ", tlsCaFile=" + tlsCaFile + ", " + control + ", " + routing + ", providers=" + providers + "]";
    }
}
