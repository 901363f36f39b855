package dev.skiff.config;

/**
 * Settings of the control plane (keys, paths, end users, limits, usage and cost), kept apart from the
 * proxy's own settings so that the two can grow without touching each other.
 *
 * @param databaseUrl   {@code SKIFF_DATABASE_URL}: a PostgreSQL URL shared by replicas; null keeps the
 *                      embedded SQLite file ({@code SKIFF_DB})
 * @param redisUrl      {@code SKIFF_REDIS_URL}: Redis for counters shared by replicas; null counts in process
 * @param redisPrefix   prefix of every Redis key Skiff writes, so that several deployments can share one Redis
 * @param failOpen      whether a request is admitted when the store or Redis cannot be reached
 *                      ({@code SKIFF_LIMITS_FAILURE=open}) or refused ({@code closed})
 * @param endUserHeader the request header that names the calling system's end user
 * @param pricingFile   a YAML file of model prices that overrides the shipped catalog; null for none
 * @param usageStore    whether every request's usage is stored ({@code SKIFF_USAGE_STORE=off} leaves only the usage log)
 * @param usageRetention how long usage rows are kept ({@code SKIFF_USAGE_RETENTION}, 90 days by default);
 *                      {@link java.time.Duration#ZERO} keeps them forever
 */
public record ControlConfig(String databaseUrl, String redisUrl, String redisPrefix, boolean failOpen, String endUserHeader,
                            String pricingFile, boolean usageStore, java.time.Duration usageRetention) {
    public static final java.time.Duration DEFAULT_USAGE_RETENTION = java.time.Duration.ofDays(90);

    public static ControlConfig defaults() {
        return new ControlConfig(null, null, "skiff:", true, "X-End-User", null, true, DEFAULT_USAGE_RETENTION);
    }

    /** With the default retention of usage rows. */
    public ControlConfig(String databaseUrl, String redisUrl, String redisPrefix, boolean failOpen, String endUserHeader, String pricingFile,
                         boolean usageStore) {
        this(databaseUrl, redisUrl, redisPrefix, failOpen, endUserHeader, pricingFile, usageStore, DEFAULT_USAGE_RETENTION);
    }

    /** With usage stored (the default). */
    public ControlConfig(String databaseUrl, String redisUrl, String redisPrefix, boolean failOpen, String endUserHeader, String pricingFile) {
        this(databaseUrl, redisUrl, redisPrefix, failOpen, endUserHeader, pricingFile, true);
    }

    @Override
    public String toString() {
        return "ControlConfig[database=" + (databaseUrl == null ? "sqlite" : Redact.url(databaseUrl)) + ", redis="
                + (redisUrl == null ? "none" : Redact.url(redisUrl)) + ", redisPrefix=" + redisPrefix + ", failure="
                + (failOpen ? "open" : "closed") + ", endUserHeader=" + endUserHeader + ", pricingFile=" + pricingFile + ", usageStore=" + (usageStore ? "on" : "off")
                + ", usageRetention=" + (usageRetention.isZero() ? "forever" : usageRetention) + "]";
    }
}
