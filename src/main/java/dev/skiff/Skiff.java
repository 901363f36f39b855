package dev.skiff;

import dev.skiff.config.Config;
import dev.skiff.control.MasterKeyAuth;
import dev.skiff.control.keys.Keys;
import dev.skiff.store.Database;
import dev.skiff.observe.UsageLog;
import dev.skiff.provider.Provider;
import dev.skiff.routing.ModelCatalog;
import dev.skiff.server.Gateway;
import dev.skiff.server.SkiffServer;
import dev.skiff.server.Transport;
import dev.skiff.store.ResponseStore;
import dev.skiff.upstream.ImageFetcher;
import dev.skiff.upstream.ProxySettings;
import dev.skiff.upstream.UpstreamClient;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** A running gateway: everything wired from one {@link Config}. */
public final class Skiff implements AutoCloseable {
    private final Config config;
    private final EventLoopGroup group;
    private final SkiffServer server;
    private final UsageLog usageLog;
    private final ResponseStore responses;
    private final ModelCatalog catalog;
    private final Transport transport;
    private final Gateway gateway;
    private final Database database;
    private final Keys keys;

    private Skiff(Config config, Transport transport, EventLoopGroup group, SkiffServer server, UsageLog usageLog, ResponseStore responses,
                  ModelCatalog catalog, Gateway gateway, Database database, Keys keys) {
        this.database = database;
        this.keys = keys;
        this.gateway = gateway;
        this.responses = responses;
        this.config = config;
        this.transport = transport;
        this.group = group;
        this.server = server;
        this.usageLog = usageLog;
        this.catalog = catalog;
    }

    public static Skiff start(Config config) throws IOException, InterruptedException {
        return start(config, System.getenv());
    }

    /** Starts with {@code env} as the source of proxy settings (tests pass their own). */
    public static Skiff start(Config config, Map<String, String> env) throws IOException, InterruptedException {
        // In parallel with the rest of start-up, on what is usually an idle core.
        Thread.ofPlatform().name("skiff-ids").daemon(true).start(dev.skiff.dialect.Ids::warmUp);
        Transport transport = Transport.of(config.transport());
        EventLoopGroup group = transport.newGroup(config.ioThreads());
        UsageLog usageLog = UsageLog.open(config.usageLog());
        ResponseStore responses = null;
        Database database = null;
        Keys keys = null;
        try {
            List<Provider> providers = config.providers().stream().map(Provider::new).toList();
            UpstreamClient upstream = new UpstreamClient(transport, config.timeouts(), ProxySettings.fromEnvironment(env),
                    config.tlsCaFile(), providers);
            ModelCatalog catalog = new ModelCatalog(providers);
            ImageFetcher images = new ImageFetcher(transport, (int) config.imageFetchMaxBytes(), config.imageFetchPrivate(), config.tlsCaFile());
            responses = new ResponseStore(config.database(), config.responsesTtl());
            // The control plane's database: PostgreSQL when replicas share it, else the embedded SQLite file.
            database = openDatabase(config);
            keys = Keys.start(database, !config.control().failOpen());
            MasterKeyAuth auth = new MasterKeyAuth(config.masterKey());
            auth.keys(keys.registry());
            Gateway gateway = new Gateway(auth, catalog, upstream, images, usageLog, responses, config.translationMemory());
            gateway.identifyEndUsersBy(config.control().endUserHeader());
            gateway.admin().register(keys.resource());
            SkiffServer server = SkiffServer.start(transport, group, config.host(), config.port(),
                    new SkiffServer.Limits((int) config.maxBodyBytes(), config.headerTimeout(), config.keepAliveTimeout(), config.maxConnections()),
                    gateway);
            catalog.start(upstream, group, config.modelsRefresh());
            gateway.markListening(config.readyTimeout());
            responses.start(sweepInterval(config.responsesTtl()));
            group.schedule(() -> {
                List<String> pending = catalog.pending();
                if (!pending.isEmpty()) {
                    System.err.println("skiff: ready without the first model listing of " + String.join(", ", pending) + ", still pending after "
                            + config.readyTimeout().toMillis() + " ms (SKIFF_READY_TIMEOUT)");
                }
            }, config.readyTimeout().toMillis(), TimeUnit.MILLISECONDS);
            return new Skiff(config, transport, group, server, usageLog, responses, catalog, gateway, database, keys);
        } catch (RuntimeException | InterruptedException | IOException e) {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            usageLog.close();
            if (responses != null) responses.close();
            if (keys != null) keys.close();
            if (database != null) database.close();
            throw e;
        } catch (SQLException e) {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            usageLog.close();
            if (responses != null) responses.close();
            if (keys != null) keys.close();
            if (database != null) database.close();
            throw new IOException("the control-plane database (" + describeDatabase(config) + ") could not be used: " + e.getMessage(), e);
        }
    }

    /** The database keys, usage and limits live in: {@code SKIFF_DATABASE_URL}, else the SQLite file {@code SKIFF_DB}. */
    private static Database openDatabase(Config config) throws SQLException, IOException {
        String url = config.control().databaseUrl();
        return Database.open(url != null ? url : config.database());
    }

    private static String describeDatabase(Config config) {
        String url = config.control().databaseUrl();
        return url != null ? "SKIFF_DATABASE_URL " + dev.skiff.config.Redact.url(url) : "SKIFF_DB " + config.database();
    }

    /** Expired responses go within a quarter of their lifetime, looked for at most hourly and at least every second. */
    static java.time.Duration sweepInterval(java.time.Duration ttl) {
        java.time.Duration quarter = ttl.dividedBy(4);
        if (quarter.compareTo(java.time.Duration.ofHours(1)) > 0) return java.time.Duration.ofHours(1);
        return quarter.compareTo(java.time.Duration.ofSeconds(1)) < 0 ? java.time.Duration.ofSeconds(1) : quarter;
    }

    public int port() {
        return server.port();
    }

    /** Client connections open now. */
    public int connections() {
        return server.connections();
    }

    public Config config() {
        return config;
    }

    /** The admin API, for registering resources (tests register their own). */
    public dev.skiff.admin.AdminApi admin() {
        return gateway.admin();
    }

    /** The control plane's database (keys, usage, limits). */
    public Database database() {
        return database;
    }

    /** Managed keys: the store and the registry requests are checked against. */
    public Keys keys() {
        return keys;
    }

    public ModelCatalog catalog() {
        return catalog;
    }

    public String transportName() {
        return transport.name();
    }

    /**
     * Stops gracefully: no new connections, requests in flight given up to {@code timeout} to finish
     * (see {@link SkiffServer#drain}), then everything closed.
     */
    public void drain(java.time.Duration timeout) {
        try {
            server.drain(timeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        close();
    }

    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

    /** Stops at once; only the first call does anything (a signal and the shutdown hook may both call it). */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) return;
        server.close();
        gateway.admin().close();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        usageLog.close();
        responses.close();
        keys.close();
        database.close();
    }
}
