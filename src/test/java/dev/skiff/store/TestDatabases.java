package dev.skiff.store;

/**
 * Where the integration tests find the real PostgreSQL and Redis: this machine runs both on loopback
 * ({@code .ci/run} starts them when they are not running). Overridable for other machines.
 */
public final class TestDatabases {
    private TestDatabases() {}

    public static String postgresUrl() {
        String url = System.getenv("SKIFF_TEST_POSTGRES_URL");
        return url != null ? url : "postgres://postgres@127.0.0.1:5432/test";
    }

    public static String redisUrl() {
        String url = System.getenv("SKIFF_TEST_REDIS_URL");
        return url != null ? url : "redis://127.0.0.1:6379/15";
    }
}
