package dev.skiff;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MainTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();

    private Integer run(String... args) {
        return Main.command(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @ParameterizedTest
    @ValueSource(strings = {"--help", "-h"})
    void helpPrintsUsageAndExitsZero(String arg) {
        assertThat(run(arg)).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).startsWith("Usage: skiff").contains("SKIFF_CONFIG").contains("config.yaml")
                .contains("OPENAI_API_KEY").contains("SKIFF_MASTER_KEY").contains("SKIFF_HOST");
        assertThat(err.size()).isZero();
    }

    @ParameterizedTest
    @ValueSource(strings = {"--version", "-V"})
    void versionIsTheMavenProjectVersion(String arg) throws IOException {
        Matcher m = Pattern.compile("<artifactId>skiff</artifactId>\\s*<version>([^<]+)</version>").matcher(Files.readString(Path.of("pom.xml")));
        assertThat(m.find()).isTrue();
        assertThat(run(arg)).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("skiff " + m.group(1) + System.lineSeparator());
    }

    @Test
    void unknownArgumentIsRefusedWithTheUsage() {
        assertThat(run("--port", "9000")).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("unknown argument '--port 9000'").contains("Usage: skiff");
    }

    @Test
    void noArgumentsStarts() {
        assertThat(run()).isNull();
    }
}
