package dev.skiff.store;

/** Package-private parts of {@link Database} that tests elsewhere need. */
public final class DatabaseAccess {
    private DatabaseAccess() {}

    public static String jdbc(String url) {
        return Database.postgresJdbcUrl(url);
    }
}
