package dev.skiff.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The store on a real SQLite file. */
class ResponseStoreTest {
    @TempDir
    Path dir;

    private static StoredResponse response(String id) {
        return new StoredResponse(id, 1_700_000_000L, "anthropic", "claude", "{\"id\":\"" + id + "\"}", "[{\"type\":\"message\"}]", "[]");
    }

    @Test
    void aSavedResponseIsFoundAtOnceAndSurvivesReopening() throws Exception {
        Path file = dir.resolve("sub/skiff.db");
        try (ResponseStore store = new ResponseStore(file.toString())) {
            store.save(response("resp_1"));
            // The save is queued, and the read runs after it on the store's thread: no waiting needed.
            assertThat(store.find("resp_1").get(5, TimeUnit.SECONDS)).contains(response("resp_1"));
            assertThat(store.find("resp_2").get(5, TimeUnit.SECONDS)).isEmpty();
        }
        assertThat(Files.exists(file)).isTrue();
        try (ResponseStore again = new ResponseStore(file.toString())) {
            assertThat(again.find("resp_1").get(5, TimeUnit.SECONDS).map(StoredResponse::model)).isEqualTo(Optional.of("claude"));
        }
    }

    @Test
    void closingWritesWhatIsStillQueued() throws Exception {
        Path file = dir.resolve("skiff.db");
        ResponseStore store = new ResponseStore(file.toString());
        for (int i = 0; i < 500; i++) store.save(response("resp_" + i));
        store.close();
        try (ResponseStore again = new ResponseStore(file.toString())) {
            assertThat(again.find("resp_499").get(5, TimeUnit.SECONDS)).isPresent();
            assertThat(again.find("resp_0").get(5, TimeUnit.SECONDS)).isPresent();
        }
    }

    @Test
    void deleteSaysWhetherThereWasOne() throws Exception {
        try (ResponseStore store = new ResponseStore(":memory:")) {
            store.save(response("resp_1"));
            assertThat(store.delete("resp_1").get(5, TimeUnit.SECONDS)).isTrue();
            assertThat(store.delete("resp_1").get(5, TimeUnit.SECONDS)).isFalse();
            assertThat(store.find("resp_1").get(5, TimeUnit.SECONDS)).isEmpty();
        }
    }
}
