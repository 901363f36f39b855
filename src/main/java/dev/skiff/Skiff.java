package dev.skiff;

import dev.skiff.config.Config;
import dev.skiff.config.ControlConfig;
import dev.skiff.control.limits.Limiter;
import dev.skiff.control.limits.Limits;
import dev.skiff.control.limits.LocalLimiter;
import dev.skiff.control.limits.RedisLimiter;
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
import java.util.concurrent.CompletableFuture;
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
    private final Limits limits;
    private final Gateway gateway;
    private final Database database;
    private final Keys keys;
    private dev.skiff.observe.audit.AuditSwitch audit; // the audit level, changed at runtime; its log made when first on
    private dev.skiff.observe.trace.Tracer tracer; // null while tracing is off

    private Skiff(Config config, Transport transport, EventLoopGroup group, SkiffServer server, UsageLog usageLog, ResponseStore responses,
                  ModelCatalog catalog, Gateway gateway, Database database, Keys keys, Limits limits) {
        this.limits = limits;
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
        // In parallel with the rest of start-up, on what is usually an idle core (Main started it already).
        WarmUp.start();
        // A user's price file and the usage store's place are checked now; the shipped prices are read,
        // and the store's database opened, by the first batch of records (off start-up).
        String pricingFile = config.control().pricingFile();
        dev.skiff.observe.Pricing pricing = pricingFile == null ? null : dev.skiff.observe.Pricing.load(pricingFile);
        Transport transport = Transport.of(config.transport());
        EventLoopGroup group = transport.newGroup(config.ioThreads());
        Limits limits;
        try {
            limits = limits(config, pricing, transport, group);
        } catch (RuntimeException e) {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw e;
        }
        // The control plane's database (opened, migrated, keys and policies read) on a thread of its own,
        // beside the rest of start-up: SQLite's native library and the first queries take as long as
        // everything else together. The port is bound once both are done, so no request is ever
        // admitted or refused without the keys and policies.
        CompletableFuture<Control> control = new CompletableFuture<>();
        Thread.ofPlatform().name("skiff-control-start").daemon(true).start(() -> {
            try {
                control.complete(Control.open(config, limits));
            } catch (Throwable e) {
                control.completeExceptionally(e);
            }
        });
        dev.skiff.observe.UsageStore usageStore = null;
        UsageLog usageLog = null;
        ResponseStore responses = null;
        Control opened = null;
        dev.skiff.observe.audit.AuditSwitch auditSwitch = null;
        dev.skiff.observe.trace.Tracer tracer = null;
        try {
            dev.skiff.observe.audit.AuditConfig audit = dev.skiff.observe.audit.AuditConfig.from(env);
            usageStore = !config.control().usageStore() ? null
                    : dev.skiff.observe.UsageStore.open(config.control().databaseUrl(), config.database())
                            .retain(config.control().usageRetention());
            usageLog = UsageLog.open(config.usageLog(), pricing, usageStore);
            List<Provider> providers = config.providers().stream().map(Provider::new).toList();
            UpstreamClient upstream = new UpstreamClient(transport, config.timeouts(), ProxySettings.fromEnvironment(env),
                    config.tlsCaFile(), providers);
            ModelCatalog catalog = new ModelCatalog(providers);
            ImageFetcher images = new ImageFetcher(transport, (int) config.imageFetchMaxBytes(), config.imageFetchPrivate(), config.tlsCaFile());
            responses = new ResponseStore(config.database(), config.responsesTtl());
            MasterKeyAuth auth = new MasterKeyAuth(config.masterKey());
            Gateway gateway = new Gateway(auth, catalog, upstream, images, usageLog, responses, config.translationMemory());
            gateway.identifyEndUsersBy(config.control().endUserHeader());
            if (usageStore != null) gateway.admin().register(new dev.skiff.observe.UsageResource(usageStore));
            dev.skiff.observe.metrics.MetricsConfig metricsConfig = dev.skiff.observe.metrics.MetricsConfig.from(env);
            dev.skiff.observe.metrics.Metrics metrics = null;
            if (metricsConfig.on()) {
                metrics = metrics(gateway, upstream, usageLog, pricing);
                gateway.observers().add(metrics);
                gateway.metrics(metrics, metricsConfig.open());
            }
            dev.skiff.observe.trace.TraceConfig traceConfig = dev.skiff.observe.trace.TraceConfig.from(env);
            if (traceConfig.on()) {
                // OTLP export (OTEL_EXPORTER_OTLP_ENDPOINT ...): spans leave in batches from a thread of their own.
                tracer = new dev.skiff.observe.trace.Tracer(traceConfig, new dev.skiff.observe.trace.OtlpExporter(traceConfig));
                gateway.observers().tracer(tracer);
            }
            // The audit log at SKIFF_AUDIT's level, changed at runtime through the admin API. Made when the
            // level is first not off: stored beside usage (PostgreSQL when shared, else its own SQLite file),
            // opened by the first record. With usage stored, a request's audit record (bodies too, when the
            // usage file's pages take them) rides in its usage row (one row, not two).
            dev.skiff.observe.UsageStore us = usageStore;
            auditSwitch = new dev.skiff.observe.audit.AuditSwitch(audit, gateway.observers(), usageStore,
                    () -> dev.skiff.observe.audit.AuditStore.open(config.control().databaseUrl(), config.database(), us)).begin();
            gateway.admin().register(new dev.skiff.observe.audit.AuditResource(auditSwitch));
            opened = await(control);
            auth.keys(opened.keys().registry());
            gateway.dashboardSessions().keys(opened.keys().registry()::byId); // a dashboard session ends with its key
            gateway.admin().register(opened.keys().resource());
            gateway.admin().register(new dev.skiff.control.limits.LimitsResource(opened.policies()));
            gateway.admin().register(new dev.skiff.control.limits.WarningsResource(opened.limitStore()));
            gateway.limits(limits);
            if (config.routing().active()) {
                // Prices are read now only when a virtual model picks the cheapest target.
                boolean cheapest = config.routing().virtualModels().values().stream()
                        .anyMatch(v -> v.strategy() == dev.skiff.config.RoutingConfig.Strategy.CHEAPEST);
                dev.skiff.routing.Routing routing = new dev.skiff.routing.Routing(config.routing(), catalog,
                        pricing != null ? pricing : cheapest ? dev.skiff.observe.Pricing.shipped() : null);
                gateway.routing(routing);
                if (metrics != null) {
                    metrics.family("skiff_circuit_breaker_state", "Each target's circuit breaker (provider/model, targets called so far): "
                            + "0 closed, 1 open, 2 half-open.", "target", routing::circuitStates);
                }
                gateway.admin().register(new dev.skiff.routing.RoutingResource(routing));
            }
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
            Skiff skiff = new Skiff(config, transport, group, server, usageLog, responses, catalog, gateway, opened.database(), opened.keys(), limits);
            skiff.audit = auditSwitch;
            skiff.tracer = tracer;
            if (metrics != null && tracer != null) {
                dev.skiff.observe.trace.OtlpExporter x = tracer.exporter();
                metrics.gauge("skiff_trace_spans_exported_total", "Spans exported over OTLP.", x::exported);
                metrics.gauge("skiff_trace_spans_dropped_total", "Spans dropped: the export queue was full, or an export failed.",
                        () -> x.dropped() + x.failed());
            }
            if (metrics != null) {
                metrics.gauge("skiff_client_connections", "Client connections open now.", server::connections);
                metrics.gauge("skiff_audit_dropped_total", "Audit records dropped because the writer was behind.", auditSwitch::dropped);
            }
            return skiff;
        } catch (RuntimeException | InterruptedException | IOException | SQLException e) {
            limits.close(); // before the loops its Redis connections live on
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            if (auditSwitch != null) auditSwitch.close();
            if (tracer != null) tracer.close();
            if (usageLog != null) usageLog.close();
            else if (usageStore != null) usageStore.close();
            if (responses != null) responses.close();
            if (opened == null) {
                // Still opening: whatever it opens is closed once it has.
                control.thenAccept(Control::close);
            } else {
                opened.close();
            }
            switch (e) {
                case SQLException q -> throw new IOException("the control-plane database (" + describeDatabase(config) + ") could not be used: "
                        + q.getMessage(), q);
                case IOException i -> throw i;
                case InterruptedException i -> throw i;
                case RuntimeException r -> throw r;
                default -> throw new IllegalStateException(e);
            }
        }
    }

    /** What start-up reads from the control plane's database: keys and limit policies. */
    private record Control(Database database, Keys keys, dev.skiff.control.limits.LimitStore limitStore,
                           dev.skiff.control.limits.PolicyRegistry policies) implements AutoCloseable {
        static Control open(Config config, Limits limits) throws SQLException, IOException {
            // PostgreSQL when replicas share it, else the embedded SQLite file.
            Database database = openDatabase(config);
            Keys keys = null;
            try {
                keys = Keys.start(database, !config.control().failOpen());
                // Policies from the database, refreshed every 500 ms; the admin API edits them.
                dev.skiff.control.limits.LimitStore limitStore = new dev.skiff.control.limits.LimitStore(database);
                dev.skiff.control.limits.PolicyRegistry policies = dev.skiff.control.limits.PolicyRegistry.start(limitStore, limits);
                limits.closeWith(policies);
                return new Control(database, keys, limitStore, policies);
            } catch (SQLException | IOException | RuntimeException e) {
                if (keys != null) keys.close();
                database.close();
                throw e;
            }
        }

        @Override
        public void close() {
            keys.close();
            database.close();
        }
    }

    /** The control plane once opened; its failure as it was thrown. */
    private static Control await(CompletableFuture<Control> control) throws SQLException, IOException, InterruptedException {
        try {
            return control.get();
        } catch (java.util.concurrent.ExecutionException e) {
            switch (e.getCause()) {
                case SQLException s -> throw s;
                case IOException i -> throw i;
                case RuntimeException r -> throw r;
                case Error r -> throw r;
                default -> throw new IOException(e.getCause());
            }
        }
    }

    /** Metrics of every request, and gauges of what is in flight, pooled and dropped; read when /metrics is scraped. */
    private static dev.skiff.observe.metrics.Metrics metrics(Gateway gateway, UpstreamClient upstream, UsageLog usageLog,
                                                             dev.skiff.observe.Pricing pricing) {
        var m = new dev.skiff.observe.metrics.Metrics(pricing != null ? () -> pricing : dev.skiff.observe.Pricing::shipped);
        m.gauge("skiff_requests_in_flight", "Requests being answered now (calls to providers, admin and usage calls).",
                gateway.observers()::inFlight);
        m.gauge("skiff_usage_dropped_total", "Usage records dropped because the usage writer was behind.", usageLog::dropped);
        m.family("skiff_upstream_connections_opened_total", "Connections opened to each provider.", "provider",
                () -> figure(upstream.poolFigures(), 0));
        m.family("skiff_upstream_connections_reused_total", "Requests sent on a pooled keep-alive connection, by provider.", "provider",
                () -> figure(upstream.poolFigures(), 1));
        m.family("skiff_upstream_connections_idle", "Idle pooled connections to each provider now.", "provider",
                () -> figure(upstream.poolFigures(), 2));
        return m;
    }

    private static Map<String, Long> figure(Map<String, long[]> figures, int i) {
        Map<String, Long> out = new java.util.TreeMap<>();
        figures.forEach((name, f) -> out.put(name, f[i]));
        return out;
    }

    /**
     * Counters in Redis when SKIFF_REDIS_URL names one (shared by replicas), else in this process. A
     * request may count as in flight for as long as an exchange may last, and a minute more.
     */
    private static Limits limits(Config config, dev.skiff.observe.Pricing pricing, Transport transport, EventLoopGroup loops) {
        ControlConfig c = config.control();
        if (c.redisUrl() != null && !"epoll".equals(transport.name()) && System.getProperty("io.lettuce.core.epoll") == null) {
            // Lettuce picks its transport once per process, epoll when Netty's native library is
            // present; on NIO loops it must pick NIO too, or it cannot share them (RedisConnections).
            System.setProperty("io.lettuce.core.epoll", "false");
        }
        Limiter limiter = c.redisUrl() == null ? new LocalLimiter()
                : new RedisLimiter(c.redisUrl(), c.redisPrefix(), java.time.Duration.ofSeconds(2),
                        config.timeouts().total().toMillis() + 60_000, System::currentTimeMillis, loops, transport.socketChannel());
        return new Limits(limiter, c.failOpen(), new dev.skiff.control.limits.PricedCosts(pricing));
    }

    /** The limits of this gateway: its policies, counters and warnings. */
    public Limits limits() {
        return limits;
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
        // Not Duration.dividedBy: it divides through BigDecimal, the only BigDecimal work on the start path.
        if (ttl.compareTo(java.time.Duration.ofHours(4)) > 0) return java.time.Duration.ofHours(1);
        java.time.Duration quarter = java.time.Duration.ofNanos(ttl.toNanos() / 4);
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

    /** Where every request's usage and cost is stored, and queried from. */
    public dev.skiff.observe.UsageStore usageStore() {
        return usageLog.store();
    }

    /** The usage recorder (JSON lines and the store). */
    public UsageLog usageLog() {
        return usageLog;
    }

    /** The tracer (OTEL_EXPORTER_OTLP_ENDPOINT), or null when tracing is off. */
    public dev.skiff.observe.trace.Tracer tracer() {
        return tracer;
    }

    /** The audit log (SKIFF_AUDIT), or null while the level has not been other than off since start. */
    public dev.skiff.observe.audit.AuditLog auditLog() {
        return audit.log();
    }

    /** The audit level now, and what changes it. */
    public dev.skiff.observe.audit.AuditSwitch audit() {
        return audit;
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
        // Before the loops: Redis's connections live on them (the drain has sent every settlement).
        limits.close();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        usageLog.close();
        audit.close();
        if (tracer != null) tracer.close();
        responses.close();
        keys.close();
        database.close();
    }
}
