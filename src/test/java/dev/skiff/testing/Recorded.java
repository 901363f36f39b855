package dev.skiff.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Provider answers recorded as the providers sent them, kept in the repository under
 * {@code src/test/resources/<provider>/} so that a fresh clone tests on its own. Surefire runs with
 * the project directory as the working directory.
 */
public final class Recorded {
    public static final Path ROOT = Path.of("src", "test", "resources");

    private Recorded() {}

    /** The folder of one provider's recordings. */
    public static Path dir(String provider) {
        return ROOT.resolve(provider);
    }

    public static Path path(String provider, String name) {
        return dir(provider).resolve(name);
    }

    public static String read(String provider, String name) {
        try {
            return Files.readString(path(provider, name));
        } catch (IOException e) {
            throw new UncheckedIOException("recording missing: " + path(provider, name).toAbsolutePath(), e);
        }
    }
}
