package dev.skiff;

import static org.assertj.core.api.Assertions.assertThat;

import dev.skiff.testing.RawClient;
import dev.skiff.testing.SkiffProcess;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Out of file descriptors: Skiff refuses or waits, and serves again once they are back; its event loops never die. */
class FileLimitTest {
    static final int OPEN_FILES = 256;

    /** Opens up to {@code n} connections; those Skiff closes at once, or never accepts, stay in the list all the same. */
    static List<RawClient> flood(int port, int n) {
        List<RawClient> clients = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            try {
                clients.add(new RawClient(port, 2_000));
            } catch (IOException e) {
                break; // the backlog is full too
            }
        }
        return clients;
    }

    static void closeAll(List<RawClient> clients) throws IOException {
        for (RawClient c : clients) c.close();
    }

    static int health(int port) throws IOException {
        try (RawClient c = new RawClient(port, 5_000)) {
            c.send("GET /health HTTP/1.1\r\nhost: x\r\n\r\n");
            return c.read().status();
        }
    }

    @Test
    void acceptFailuresPauseAcceptingAndNeverKillTheEventLoop() throws Exception {
        // A cap above what the descriptors allow: accepting itself fails (EMFILE).
        try (SkiffProcess skiff = SkiffProcess.start(OPEN_FILES, "SKIFF_MAX_CONNECTIONS", "5000", "SKIFF_IO_THREADS", "1")) {
            assertThat(health(skiff.port)).isEqualTo(200);
            List<RawClient> clients = flood(skiff.port, 400);
            assertThat(skiff.awaitOutput("accepting a connection failed")).as("output: %s", skiff.output()).isTrue();
            assertThat(skiff.output()).contains("pausing 100 ms");
            closeAll(clients);
            // Descriptors are back: the one event loop (listener and connections alike) serves again.
            long deadline = System.nanoTime() + 10_000_000_000L;
            int status = 0;
            while (System.nanoTime() < deadline) {
                try {
                    status = health(skiff.port);
                    if (status == 200) break;
                } catch (IOException e) {
                    Thread.sleep(100);
                }
            }
            assertThat(status).as("output: %s", skiff.output()).isEqualTo(200);
            assertThat(skiff.process.isAlive()).isTrue();
        }
    }

    @Test
    void theDefaultCapFollowsTheFileLimit() throws Exception {
        // 256 descriptors: (256 - 128) / 2 = 64 connections; the 65th is closed as it arrives, without an accept failure.
        try (SkiffProcess skiff = SkiffProcess.start(OPEN_FILES)) {
            List<RawClient> clients = flood(skiff.port, 64);
            try {
                for (RawClient c : clients.subList(0, 3)) {
                    c.send("GET /health HTTP/1.1\r\nhost: x\r\n\r\n");
                    assertThat(c.read().status()).isEqualTo(200);
                }
                try (RawClient over = new RawClient(skiff.port)) {
                    assertThat(over.awaitClosed(2_000)).isTrue();
                }
                assertThat(skiff.awaitOutput("over SKIFF_MAX_CONNECTIONS=64")).isTrue();
                assertThat(skiff.output()).contains("at most 64 connections").doesNotContain("accepting a connection failed");
            } finally {
                closeAll(clients);
            }
            // Under the cap again: served.
            Thread.sleep(300);
            assertThat(health(skiff.port)).isEqualTo(200);
        }
    }
}
