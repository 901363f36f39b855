package dev.skiff.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The store on a real SQLite file. */
class ResponseStoreTest {
    private static final Duration DAY = Duration.ofDays(1);

    @TempDir
    Path dir;

    private static long now() {
        return System.currentTimeMillis() / 1000;
    }

    private static StoredResponse response(String id, String previous) {
        return response(id, previous, ResponseStore.MASTER, now());
    }

    private static StoredResponse response(String id, String previous, String owner, long createdAt) {
        return new StoredResponse(id, owner, createdAt, "anthropic", "claude", "{\"id\":\"" + id + "\",\"output\":[]}",
                "[{\"type\":\"message\",\"id\":\"in_" + id + "\"}]", previous);
    }

    private static <T> T get(java.util.concurrent.CompletableFuture<T> f) throws Exception {
        return f.get(10, TimeUnit.SECONDS);
    }

    private static List<String> chainIds(ResponseStore.Found found) {
        assertThat(found).isInstanceOf(ResponseStore.Found.Chain.class);
        return ((ResponseStore.Found.Chain) found).links().stream().map(StoredResponse::id).toList();
    }

    @Test
    void aSavedResponseIsFoundAtOnceAndSurvivesReopening() throws Exception {
        Path file = dir.resolve("sub/skiff.db");
        try (ResponseStore store = new ResponseStore(file.toString(), DAY)) {
            store.save(response("resp_1", null));
            // The save is queued, and the read runs after it on the store's thread: no waiting needed.
            assertThat(chainIds(get(store.find("resp_1", ResponseStore.MASTER)))).containsExactly("resp_1");
            assertThat(get(store.find("resp_2", ResponseStore.MASTER))).isInstanceOf(ResponseStore.Found.Absent.class);
        }
        assertThat(Files.exists(file)).isTrue();
        try (ResponseStore again = new ResponseStore(file.toString(), DAY)) {
            var found = (ResponseStore.Found.Chain) get(again.find("resp_1", ResponseStore.MASTER));
            assertThat(found.last().model()).isEqualTo("claude");
            assertThat(found.last().owner()).isEqualTo(ResponseStore.MASTER);
        }
    }

    @Test
    void aSaveCompletesOnlyOnceCommittedSoAnotherConnectionSeesIt() throws Exception {
        Path file = dir.resolve("skiff.db");
        try (ResponseStore store = new ResponseStore(file.toString(), DAY)) {
            get(store.save(response("resp_1", null)));
            try (Connection other = DriverManager.getConnection("jdbc:sqlite:" + file);
                 Statement s = other.createStatement();
                 ResultSet rs = s.executeQuery("SELECT count(*) FROM responses WHERE id = 'resp_1'")) {
                assertThat(rs.getInt(1)).isEqualTo(1);
            }
        }
    }

    /**
     * The promise behind holding an answer: when a save's future completes, its row is already
     * committed, whatever batch it went in. Checked at the moment of completion (on the store's
     * thread, before the event loops are handed anything) through another connection, for saves
     * from several threads, in bursts and one at a time.
     */
    @Test
    void everySaveIsVisibleToAnotherConnectionWhenItsFutureCompletes() throws Exception {
        Path file = dir.resolve("skiff.db");
        try (ResponseStore store = new ResponseStore(file.toString(), DAY)) {
            get(store.save(response("resp_first", null))); // creates the database for the other connection
            List<String> unseen = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
            try (Connection other = DriverManager.getConnection("jdbc:sqlite:" + file);
                 PreparedStatement seen = other.prepareStatement("SELECT count(*) FROM responses WHERE id = ?")) {
                List<java.util.concurrent.CompletableFuture<Void>> saved = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
                Thread[] senders = new Thread[3];
                for (int t = 0; t < senders.length; t++) {
                    int sender = t;
                    senders[t] = Thread.ofPlatform().start(() -> {
                        for (int i = 0; i < 40; i++) {
                            String id = "resp_" + sender + "_" + i;
                            saved.add(store.save(response(id, null)).thenRun(() -> {
                                synchronized (seen) {
                                    try {
                                        seen.setString(1, id);
                                        try (ResultSet rs = seen.executeQuery()) {
                                            if (rs.getInt(1) != 1) unseen.add(id);
                                        }
                                    } catch (java.sql.SQLException e) {
                                        unseen.add(id + ": " + e);
                                    }
                                }
                            }));
                            if (i % 8 == 7) java.util.concurrent.locks.LockSupport.parkNanos((sender + 1) * 700_000L);
                        }
                    });
                }
                for (Thread t : senders) t.join();
                for (var f : List.copyOf(saved)) get(f);
            }
            assertThat(unseen).isEmpty();
        }
    }

    /**
     * One save at a time, each awaited (a lone client): the batch the store expects is the one save,
     * so it is written at once rather than at the linger's end, but for the one batch in
     * {@link ResponseStore#PROBE_EVERY} that expects one more and waits the linger for it.
     */
    @Test
    void aBatchThatHasTheSavesExpectedIsWrittenWithoutWaitingTheLinger() throws Exception {
        try (ResponseStore store = new ResponseStore(dir.resolve("skiff.db").toString(), DAY)) {
            int saves = 4 * ResponseStore.PROBE_EVERY;
            for (int i = 0; i < saves; i++) get(store.save(response("resp_" + i, null)));
            long probes = saves / (ResponseStore.PROBE_EVERY + 1) + 1;
            assertThat(store.earlyFlushes()).isBetween(saves - probes, (long) saves);
            assertThat(chainIds(get(store.find("resp_" + (saves - 1), ResponseStore.MASTER)))).containsExactly("resp_" + (saves - 1));
        }
    }

    /**
     * A batch written early takes the linger's flush it no longer needs off the store's queue: left
     * there, it woke the store's thread once per batch to do nothing. One save at a time, each awaited
     * and quicker than the linger: what waits after each is the one flush scheduled for the next batch.
     */
    @Test
    void aBatchWrittenEarlyLeavesNoFlushOfItsOwnQueued() throws Exception {
        try (ResponseStore store = new ResponseStore(":memory:", DAY)) {
            int most = 0;
            for (int i = 0; i < 4 * ResponseStore.PROBE_EVERY; i++) {
                get(store.save(response("resp_" + i, null)));
                most = Math.max(most, get(store.queuedTasks()));
            }
            assertThat(store.earlyFlushes()).isPositive();
            assertThat(most).isEqualTo(1);
        }
    }

    /**
     * Saves in bursts with quiet spells between them: while saves keep coming the store schedules its
     * own next flush, and stops when one finds nothing; a save after the pause must start it again.
     */
    @Test
    void burstsOfSavesAfterQuietSpellsAreAllCommitted() throws Exception {
        try (ResponseStore store = new ResponseStore(dir.resolve("skiff.db").toString(), DAY)) {
            for (int burst = 0; burst < 4; burst++) {
                List<java.util.concurrent.CompletableFuture<Void>> saved = new java.util.ArrayList<>();
                for (int i = 0; i < 50; i++) {
                    saved.add(store.save(response("resp_" + burst + "_" + i, null)));
                    if (i % 10 == 0) Thread.sleep(1);
                }
                for (var f : saved) get(f);
                Thread.sleep(20); // longer than the linger: the store goes quiet
            }
            assertThat(chainIds(get(store.find("resp_3_49", ResponseStore.MASTER)))).containsExactly("resp_3_49");
        }
    }

    @Test
    void closingWritesWhatIsStillQueued() throws Exception {
        Path file = dir.resolve("skiff.db");
        ResponseStore store = new ResponseStore(file.toString(), DAY);
        for (int i = 0; i < 500; i++) store.save(response("resp_" + i, null));
        store.close();
        try (ResponseStore again = new ResponseStore(file.toString(), DAY)) {
            assertThat(get(again.find("resp_499", ResponseStore.MASTER))).isInstanceOf(ResponseStore.Found.Chain.class);
            assertThat(get(again.find("resp_0", ResponseStore.MASTER))).isInstanceOf(ResponseStore.Found.Chain.class);
        }
    }

    @Test
    void deleteSaysWhetherThereWasOne() throws Exception {
        try (ResponseStore store = new ResponseStore(":memory:", DAY)) {
            store.save(response("resp_1", null));
            assertThat(get(store.delete("resp_1", "tenant-b"))).as("not another owner's to delete").isFalse();
            assertThat(get(store.delete("resp_1", ResponseStore.MASTER))).isTrue();
            assertThat(get(store.delete("resp_1", ResponseStore.MASTER))).isFalse();
            assertThat(get(store.find("resp_1", ResponseStore.MASTER))).isInstanceOf(ResponseStore.Found.Absent.class);
        }
    }

    @Test
    void aConversationIsRebuiltByWalkingTheLinksOldestFirst() throws Exception {
        try (ResponseStore store = new ResponseStore(dir.resolve("skiff.db").toString(), DAY)) {
            store.save(response("resp_a", null));
            store.save(response("resp_b", "resp_a"));
            store.save(response("resp_c", "resp_b"));
            store.save(response("resp_x", "resp_a")); // a branch: continuing resp_a a second way
            assertThat(chainIds(get(store.conversation("resp_c", ResponseStore.MASTER)))).containsExactly("resp_a", "resp_b", "resp_c");
            assertThat(chainIds(get(store.conversation("resp_x", ResponseStore.MASTER)))).containsExactly("resp_a", "resp_x");
            var chain = (ResponseStore.Found.Chain) get(store.conversation("resp_c", ResponseStore.MASTER));
            assertThat(chain.links().get(1).inputItems()).as("each row keeps its own input only").isEqualTo("[{\"type\":\"message\",\"id\":\"in_resp_b\"}]");

            get(store.delete("resp_b", ResponseStore.MASTER));
            assertThat(get(store.conversation("resp_c", ResponseStore.MASTER))).isEqualTo(
                    new ResponseStore.Found.Broken("it continues response 'resp_b', which is no longer stored (it was deleted)"));
        }
    }

    @Test
    void anotherOwnerFindsNothing() throws Exception {
        try (ResponseStore store = new ResponseStore(":memory:", DAY)) {
            store.save(response("resp_t", null, "tenant-a", now()));
            store.save(response("resp_m", null, ResponseStore.MASTER, now()));
            assertThat(get(store.find("resp_t", "tenant-b"))).isInstanceOf(ResponseStore.Found.Absent.class);
            assertThat(get(store.conversation("resp_t", "tenant-b"))).isInstanceOf(ResponseStore.Found.Absent.class);
            assertThat(get(store.find("resp_t", ResponseStore.MASTER))).as("nor does the master key read a tenant's")
                    .isInstanceOf(ResponseStore.Found.Absent.class);
            assertThat(get(store.find("resp_m", null))).as("open serving does not read the master key's")
                    .isInstanceOf(ResponseStore.Found.Absent.class);
            assertThat(chainIds(get(store.find("resp_t", "tenant-a")))).containsExactly("resp_t");
        }
    }

    @Test
    void anExpiredResponseIsReportedAsSuchAndSweptWithItsConversationOnly() throws Exception {
        long old = now() - 3 * 86_400;
        try (ResponseStore store = new ResponseStore(dir.resolve("skiff.db").toString(), DAY)) {
            store.save(response("resp_old", null, ResponseStore.MASTER, old));
            store.save(response("resp_old2", "resp_old", ResponseStore.MASTER, old + 10));
            // A live conversation that began long ago: its start has expired, its end has not.
            store.save(response("resp_start", null, ResponseStore.MASTER, old));
            store.save(response("resp_now", "resp_start", ResponseStore.MASTER, now()));
            // Never continued: no conversation row, swept by its own time.
            store.save(response("resp_lone", null, ResponseStore.MASTER, old));
            store.save(response("resp_fresh", null, ResponseStore.MASTER, now()));

            assertThat(get(store.find("resp_old2", ResponseStore.MASTER))).isEqualTo(new ResponseStore.Found.Expired(DAY));
            assertThat(get(store.conversation("resp_start", ResponseStore.MASTER))).isInstanceOf(ResponseStore.Found.Expired.class);
            assertThat(chainIds(get(store.conversation("resp_now", ResponseStore.MASTER)))).containsExactly("resp_start", "resp_now");

            assertThat(get(store.sweep())).as("resp_old, resp_old2 and resp_lone").isEqualTo(3);
            assertThat(get(store.find("resp_old2", ResponseStore.MASTER))).isInstanceOf(ResponseStore.Found.Absent.class);
            assertThat(get(store.find("resp_lone", ResponseStore.MASTER))).isInstanceOf(ResponseStore.Found.Absent.class);
            assertThat(get(store.find("resp_fresh", ResponseStore.MASTER))).isInstanceOf(ResponseStore.Found.Chain.class);
            assertThat(get(store.findItems(List.of("in_resp_old", "in_resp_old2", "in_resp_lone", "in_resp_now"), ResponseStore.MASTER)))
                    .as("their items went with them").containsOnlyKeys("in_resp_now");
            assertThat(chainIds(get(store.conversation("resp_now", ResponseStore.MASTER)))).containsExactly("resp_start", "resp_now");
            assertThat(get(store.sweep())).isZero();
        }
    }

    /** An id as Skiff makes them ({@code Ids.ordered}): resp_, the time in ms, 32 random hex digits. */
    private static String orderedId(long seconds, char fill) {
        return "resp_" + String.format("%012x", seconds * 1000 + 7) + String.valueOf(fill).repeat(32);
    }

    /** Starts whose ids are in time order are swept by a range of ids, the others by their index; together as before. */
    @Test
    void startsOfBothKindsOfIdAreSweptByTheirTime() throws Exception {
        long old = now() - 3 * 86_400;
        Path file = dir.resolve("skiff.db");
        String lone = orderedId(old, 'a'), start = orderedId(old, 'b'), next = orderedId(now(), 'c'), fresh = orderedId(now(), 'd');
        try (ResponseStore store = new ResponseStore(file.toString(), DAY)) {
            store.save(response(lone, null, ResponseStore.MASTER, old));
            store.save(response(start, null, ResponseStore.MASTER, old));
            store.save(response(next, start, ResponseStore.MASTER, now()));
            store.save(response(fresh, null, ResponseStore.MASTER, now()));
            store.save(response("resp_short", null, ResponseStore.MASTER, old));
            store.save(response("resp_shortfresh", null, ResponseStore.MASTER, now()));
            assertThat(get(store.sweep())).as("the two lone old starts").isEqualTo(2);
            assertThat(get(store.find(lone, ResponseStore.MASTER))).isInstanceOf(ResponseStore.Found.Absent.class);
            assertThat(get(store.find("resp_short", ResponseStore.MASTER))).isInstanceOf(ResponseStore.Found.Absent.class);
            assertThat(chainIds(get(store.conversation(next, ResponseStore.MASTER)))).containsExactly(start, next);
            assertThat(get(store.find(fresh, ResponseStore.MASTER))).isInstanceOf(ResponseStore.Found.Chain.class);
            assertThat(get(store.find("resp_shortfresh", ResponseStore.MASTER))).isInstanceOf(ResponseStore.Found.Chain.class);
            assertThat(get(store.sweep())).isZero();
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file)) {
            assertThat(ResponseStore.explainSweep(c)).as("neither query reads the whole table")
                    .contains("SEARCH r USING INDEX sqlite_autoindex_responses_1 (id>? AND id<?)")
                    .contains("SEARCH r USING INDEX responses_unordered_started_by_created (created_at<?)")
                    .doesNotContain("SCAN r");
        }
    }

    /** Saves that share a commit (none waited for): each follow-up joins the conversation of the one it continues. */
    @Test
    void aChainSavedInOneBatchIsOneConversation() throws Exception {
        Path file = dir.resolve("skiff.db");
        try (ResponseStore store = new ResponseStore(file.toString(), DAY)) {
            store.save(response("resp_b1", null));
            store.save(response("resp_b2", "resp_b1"));
            store.save(response("resp_lone", null));
            get(store.save(response("resp_b3", "resp_b2")));
            get(store.save(response("resp_b4", "resp_b3"))); // in a later batch: found in the table
            assertThat(chainIds(get(store.conversation("resp_b4", ResponseStore.MASTER))))
                    .containsExactly("resp_b1", "resp_b2", "resp_b3", "resp_b4");
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT group_concat(id || '>' || conversation, ' ') FROM (SELECT * FROM responses ORDER BY id)")) {
            assertThat(rs.getString(1)).isEqualTo("resp_b1>resp_b1 resp_b2>resp_b1 resp_b3>resp_b1 resp_b4>resp_b1 resp_lone>resp_lone");
        }
    }

    /** Schema 1, as Skiff wrote it before schema versions: every row with its whole history. */
    @Test
    void aDatabaseOfTheFirstSchemaIsMigratedAndStillServes() throws Exception {
        Path file = dir.resolve("old.db");
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE responses (id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, "
                    + "provider TEXT, model TEXT, response TEXT NOT NULL, input_items TEXT NOT NULL, history TEXT NOT NULL)");
            try (PreparedStatement ins = c.prepareStatement("INSERT INTO responses VALUES (?, ?, 'anthropic', 'claude', ?, ?, ?)")) {
                ins.setString(1, "resp_first");
                ins.setLong(2, now() - 60);
                ins.setString(3, "{\"id\":\"resp_first\",\"output\":[{\"type\":\"message\",\"id\":\"msg_1\"}]}");
                ins.setString(4, "[{\"type\":\"message\",\"id\":\"in_1\"}]");
                ins.setString(5, "[]");
                ins.execute();
                ins.setString(1, "resp_second");
                ins.setLong(2, now() - 30);
                ins.setString(3, "{\"id\":\"resp_second\",\"output\":[]}");
                ins.setString(4, "[{\"type\":\"message\",\"id\":\"in_2\"}]");
                ins.setString(5, "[{\"type\":\"message\",\"id\":\"in_1\"},{\"type\":\"message\",\"id\":\"msg_1\"}]");
                ins.execute();
            }
        }
        try (ResponseStore store = new ResponseStore(file.toString(), DAY)) {
            // Made before owners existed: the master key still reads them; a tenant does not.
            var second = (ResponseStore.Found.Chain) get(store.conversation("resp_second", ResponseStore.MASTER));
            assertThat(second.links()).extracting(StoredResponse::id).containsExactly("resp_second");
            assertThat(second.legacyHistory()).isEqualTo("[{\"type\":\"message\",\"id\":\"in_1\"},{\"type\":\"message\",\"id\":\"msg_1\"}]");
            assertThat(get(store.find("resp_first", "tenant-a"))).isInstanceOf(ResponseStore.Found.Absent.class);
            // A new response continuing a migrated one is stored the new way and rebuilds through it.
            store.save(response("resp_third", "resp_second"));
            var third = (ResponseStore.Found.Chain) get(store.conversation("resp_third", ResponseStore.MASTER));
            assertThat(third.links()).extracting(StoredResponse::id).containsExactly("resp_second", "resp_third");
            assertThat(third.legacyHistory()).isEqualTo(second.legacyHistory());
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT version FROM schema_version")) {
                assertThat(rs.getInt(1)).isEqualTo(ResponseStore.SCHEMA_VERSION);
            }
            try (ResultSet rs = s.executeQuery("SELECT history IS NULL FROM responses WHERE id = 'resp_first'")) {
                assertThat(rs.getBoolean(1)).as("an empty history is not kept").isTrue();
            }
        }
        // Opening again finds the current schema and changes nothing.
        try (ResponseStore store = new ResponseStore(file.toString(), DAY)) {
            assertThat(chainIds(get(store.conversation("resp_third", ResponseStore.MASTER)))).containsExactly("resp_second", "resp_third");
        }
    }

    /** The point of storing items once: 80 turns of 10 KB take about 80 x 10 KB, not 80 x 80 / 2 x 10 KB. */
    @Test
    void aLongConversationTakesSpaceInProportionToItsLength() throws Exception {
        Path file = dir.resolve("skiff.db");
        String tenKb = "x".repeat(10_000);
        try (ResponseStore store = new ResponseStore(file.toString(), DAY)) {
            String previous = null;
            for (int i = 0; i < 80; i++) {
                String id = "resp_" + i;
                store.save(new StoredResponse(id, ResponseStore.MASTER, now(), "anthropic", "claude",
                        "{\"id\":\"" + id + "\",\"output\":[]}", "[{\"type\":\"message\",\"content\":\"" + tenKb + "\"}]", previous));
                previous = id;
            }
            var chain = (ResponseStore.Found.Chain) get(store.conversation("resp_79", ResponseStore.MASTER));
            assertThat(chain.links()).hasSize(80);
        }
        long bytes = Files.size(file) + (Files.exists(Path.of(file + "-wal")) ? Files.size(Path.of(file + "-wal")) : 0);
        System.out.println("80 turns of 10 KB: " + bytes / 1024 + " KB on disk");
        assertThat(bytes).isLessThan(2L * 80 * 10_000);
    }

    /** Schema 2: each row with its own input items and its output inside the response. */
    @Test
    @org.junit.jupiter.api.DisplayName("conformance 39: aDatabaseOfTheSecondSchemaIsSplitIntoItemsAndStillServes")
    void aDatabaseOfTheSecondSchemaIsSplitIntoItemsAndStillServes() throws Exception {
        Path file = dir.resolve("v2.db");
        String response = "{\"id\":\"resp_v2\",\"object\":\"response\",\"output\":[{\"type\":\"reasoning\",\"id\":\"rs_2\","
                + "\"summary\":[],\"encrypted_content\":\"sig\"},{\"type\":\"function_call\",\"id\":\"fc_2\",\"call_id\":\"call_2\","
                + "\"name\":\"ls\",\"arguments\":\"{}\"}],\"usage\":{\"input_tokens\":1}}";
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE responses (id TEXT PRIMARY KEY, owner TEXT, conversation TEXT NOT NULL, previous_id TEXT, "
                    + "created_at INTEGER NOT NULL, provider TEXT, model TEXT, response TEXT NOT NULL, input_items TEXT NOT NULL, history TEXT)");
            s.execute("CREATE TABLE conversations (id TEXT PRIMARY KEY, last_used INTEGER NOT NULL)");
            s.execute("CREATE INDEX conversations_by_last_used ON conversations (last_used)");
            s.execute("CREATE INDEX responses_by_conversation ON responses (conversation)");
            s.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)");
            s.execute("INSERT INTO schema_version VALUES (2)");
            try (PreparedStatement ins = c.prepareStatement("INSERT INTO responses VALUES (?, 'master', ?, ?, ?, 'anthropic', 'claude', ?, ?, NULL)")) {
                ins.setString(1, "resp_v1");
                ins.setString(2, "resp_v1");
                ins.setString(3, null);
                ins.setLong(4, now() - 60);
                ins.setString(5, "{\"id\":\"resp_v1\",\"output\":[{\"type\":\"message\",\"id\":\"msg_1\",\"role\":\"assistant\"}]}");
                ins.setString(6, "[{\"type\":\"message\",\"id\":\"in_1\",\"role\":\"user\"}]");
                ins.execute();
                ins.setString(1, "resp_v2");
                ins.setString(2, "resp_v1");
                ins.setString(3, "resp_v1");
                ins.setLong(4, now() - 30);
                ins.setString(5, response);
                ins.setString(6, "[{\"type\":\"message\",\"id\":\"in_2\",\"role\":\"user\"}]");
                ins.execute();
            }
            s.execute("INSERT INTO conversations VALUES ('resp_v1', " + (now() - 30) + ")");
        }
        try (ResponseStore store = new ResponseStore(file.toString(), DAY)) {
            var chain = (ResponseStore.Found.Chain) get(store.conversation("resp_v2", ResponseStore.MASTER));
            assertThat(chain.links()).extracting(StoredResponse::id).containsExactly("resp_v1", "resp_v2");
            assertThat(chain.last().response()).as("the output is put back where it was").isEqualTo(response);
            assertThat(chain.links().getFirst().inputItems()).isEqualTo("[{\"type\":\"message\",\"id\":\"in_1\",\"role\":\"user\"}]");
            assertThat(get(store.findItems(List.of("rs_2", "fc_2", "in_1", "msg_1", "nope"), ResponseStore.MASTER)))
                    .containsOnlyKeys("rs_2", "fc_2", "in_1", "msg_1");
            assertThat(get(store.findItems(List.of("fc_2"), "tenant-a"))).isEmpty();
            assertThat(get(store.size("resp_v2", ResponseStore.MASTER, false))).isGreaterThanOrEqualTo(response.length());
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT version FROM schema_version")) {
                assertThat(rs.getInt(1)).isEqualTo(ResponseStore.SCHEMA_VERSION);
            }
            try (ResultSet rs = s.executeQuery("SELECT count(*), sum(output) FROM item_ids")) {
                assertThat(rs.getInt(1)).as("in_1, msg_1, in_2, rs_2, fc_2").isEqualTo(5);
                assertThat(rs.getInt(2)).as("msg_1, rs_2, fc_2 are outputs").isEqualTo(3);
            }
            try (ResultSet rs = s.executeQuery("SELECT response FROM responses WHERE id = 'resp_v2'")) {
                assertThat(rs.getString(1)).as("schema 4: the row holds its items again").isEqualTo(response);
            }
            try (ResultSet rs = s.executeQuery("SELECT count(*) FROM sqlite_master WHERE name = 'response_items'")) {
                assertThat(rs.getInt(1)).isZero();
            }
            assertThat(ResponseStore.explainItemLookup(c)).as("an item_reference is an index lookup").contains("SEARCH x USING PRIMARY KEY (item_id=?)");
        }
    }

    /** Schema 3: items in rows of their own (response_items), references kept as references. */
    @Test
    void aDatabaseOfTheThirdSchemaGetsItsItemsBackIntoTheirRows() throws Exception {
        Path file = dir.resolve("v3.db");
        String call = "{\"type\":\"function_call\",\"id\":\"fc_3\",\"call_id\":\"call_3\",\"name\":\"ls\",\"arguments\":\"{}\"}";
        String user = "{\"type\":\"message\",\"id\":\"msg_u3\",\"role\":\"user\",\"content\":\"list\"}";
        String reference = "{\"type\":\"item_reference\",\"id\":\"fc_3\"}";
        String output = "{\"type\":\"function_call_output\",\"id\":\"fco_4\",\"call_id\":\"call_3\",\"output\":\"a.txt\"}";
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE responses (id TEXT PRIMARY KEY, owner TEXT, conversation TEXT NOT NULL, previous_id TEXT, "
                    + "created_at INTEGER NOT NULL, provider TEXT, model TEXT, response TEXT NOT NULL, chars INTEGER NOT NULL, history TEXT)");
            s.execute("CREATE TABLE conversations (id TEXT PRIMARY KEY, last_used INTEGER NOT NULL)");
            s.execute("CREATE INDEX conversations_by_last_used ON conversations (last_used)");
            s.execute("CREATE TABLE response_items (response_id TEXT NOT NULL, output INTEGER NOT NULL, position INTEGER NOT NULL, "
                    + "item_id TEXT, reference TEXT, item TEXT NOT NULL, PRIMARY KEY (response_id, output, position)) WITHOUT ROWID");
            s.execute("CREATE INDEX responses_by_conversation ON responses (conversation)");
            s.execute("CREATE INDEX response_items_by_item ON response_items (item_id) WHERE item_id IS NOT NULL");
            s.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)");
            s.execute("INSERT INTO schema_version VALUES (3)");
            long t = now() - 60;
            s.execute("INSERT INTO responses VALUES ('resp_3', 'tenant-a', 'resp_3', NULL, " + t + ", 'anthropic', 'claude', "
                    + "'{\"id\":\"resp_3\",\"output\":[]}', 100, NULL)");
            s.execute("INSERT INTO responses VALUES ('resp_4', 'tenant-a', 'resp_3', 'resp_3', " + (t + 1) + ", 'anthropic', 'claude', "
                    + "'{\"id\":\"resp_4\",\"output\":[]}', 100, NULL)");
            s.execute("INSERT INTO conversations VALUES ('resp_3', " + (t + 1) + ")");
            s.execute("INSERT INTO response_items VALUES ('resp_3', 0, 0, 'msg_u3', NULL, '" + user + "')");
            s.execute("INSERT INTO response_items VALUES ('resp_3', 1, 0, 'fc_3', NULL, '" + call + "')");
            s.execute("INSERT INTO response_items VALUES ('resp_4', 0, 0, NULL, 'fc_3', '" + reference + "')");
            s.execute("INSERT INTO response_items VALUES ('resp_4', 0, 1, 'fco_4', NULL, '" + output + "')");
        }
        try (ResponseStore store = new ResponseStore(file.toString(), DAY)) {
            var chain = (ResponseStore.Found.Chain) get(store.conversation("resp_4", "tenant-a"));
            assertThat(chain.links()).extracting(StoredResponse::id).containsExactly("resp_3", "resp_4");
            assertThat(chain.links().getFirst().response()).isEqualTo("{\"id\":\"resp_3\",\"output\":[" + call + "]}");
            assertThat(chain.links().getFirst().inputItems()).isEqualTo("[" + user + "]");
            assertThat(chain.last().inputItems()).as("the reference resolved").isEqualTo("[" + call + "," + output + "]");
            assertThat(get(store.findItems(List.of("fc_3", "fco_4", "msg_u3"), "tenant-a"))).containsOnlyKeys("fc_3", "fco_4", "msg_u3");
            // A follow-up stored now continues the migrated conversation.
            get(store.save(new StoredResponse("resp_5", "tenant-a", now(), "anthropic", "claude", "{\"id\":\"resp_5\",\"output\":[]}",
                    "[" + reference + "]", "resp_4")));
            var five = (ResponseStore.Found.Chain) get(store.conversation("resp_5", "tenant-a"));
            assertThat(five.links()).extracting(StoredResponse::id).containsExactly("resp_3", "resp_4", "resp_5");
            assertThat(five.last().inputItems()).isEqualTo("[" + call + "]");
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT conversation FROM responses WHERE id = 'resp_5'")) {
            assertThat(rs.getString(1)).isEqualTo("resp_3");
        }
    }

    /**
     * Schema 4: a rowid table with an index of its ids. Schema 5 is keyed by the id alone, and its
     * rows say how much of the response object they leave out (the old ones: nothing).
     */
    @Test
    void aDatabaseOfTheFourthSchemaIsKeyedByIdAndItsRowsStayWhole() throws Exception {
        Path file = dir.resolve("v4.db");
        try (ResponseStore store = new ResponseStore(file.toString(), DAY)) { // schema 5 made new, then taken back to 4
            get(store.sweep());
        }
        String whole = "{\"id\":\"resp_w\",\"object\":\"response\",\"output\":[{\"type\":\"message\",\"id\":\"msg_w\"}]}";
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            s.execute("DROP TABLE responses");
            s.execute("CREATE TABLE responses (id TEXT PRIMARY KEY, owner TEXT, conversation TEXT NOT NULL, previous_id TEXT, "
                    + "created_at INTEGER NOT NULL, provider TEXT, model TEXT, response TEXT NOT NULL, input_items TEXT NOT NULL, "
                    + "chars INTEGER NOT NULL, history TEXT)");
            s.execute("CREATE INDEX responses_by_conversation ON responses (conversation) WHERE previous_id IS NOT NULL");
            s.execute("CREATE INDEX responses_started_by_created ON responses (created_at) WHERE previous_id IS NULL");
            s.execute("UPDATE schema_version SET version = 4");
            s.execute("INSERT INTO responses VALUES ('resp_w', 'tenant-a', 'resp_w', NULL, " + now() + ", 'vllm', 'm', '" + whole
                    + "', '[]', " + (whole.length() + 2) + ", NULL)");
            s.execute("INSERT INTO item_ids VALUES ('msg_w', 'resp_w', 1)");
        }
        String compact = "{\"id\":\"resp_c\",\"output\":[{\"type\":\"message\",\"id\":\"msg_c\"}]}";
        try (ResponseStore store = new ResponseStore(file.toString(), DAY)) {
            var w = (ResponseStore.Found.Chain) get(store.find("resp_w", "tenant-a"));
            assertThat(w.last().response()).isEqualTo(whole);
            assertThat(w.last().whole()).isTrue();
            get(store.save(new StoredResponse("resp_c", "tenant-a", now(), "vllm", "m", compact, "[]", "resp_w", List.of(),
                    List.of("msg_c"), 1000)));
            var chain = (ResponseStore.Found.Chain) get(store.conversation("resp_c", "tenant-a"));
            assertThat(chain.links()).extracting(StoredResponse::omitted).containsExactly(0, 1000);
            assertThat(chain.last().response()).isEqualTo(compact);
            // what a reader of the whole object reserves memory for counts what the row left out
            assertThat(get(store.size("resp_c", "tenant-a", false))).isEqualTo(compact.length() + 1000 + 2);
            assertThat(get(store.findItems(List.of("msg_w", "msg_c"), "tenant-a"))).containsOnlyKeys("msg_w", "msg_c");
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT version FROM schema_version")) {
                assertThat(rs.getInt(1)).isEqualTo(ResponseStore.SCHEMA_VERSION);
            }
            assertRowidTableWithIdIndex(s);
        }
    }

    /** Schema 7's shape: a rowid table, its ids in an index beside it. */
    private static void assertRowidTableWithIdIndex(Statement s) throws Exception {
        try (ResultSet rs = s.executeQuery("SELECT group_concat(name) FROM sqlite_master WHERE tbl_name = 'responses' AND type = 'index'")) {
            assertThat(rs.getString(1)).as("an index of ids beside the table").contains("sqlite_autoindex_responses_1");
        }
        try (ResultSet rs = s.executeQuery("SELECT sql FROM sqlite_master WHERE name = 'responses'")) {
            assertThat(rs.getString(1)).doesNotContain("WITHOUT ROWID");
        }
    }

    /**
     * Schema 6: keyed by the id (WITHOUT ROWID). Schema 7 is a rowid table with an index of ids; the
     * rows come over as they were (compact and whole, starts and follow-ups, item ids), every read
     * returns what it did, and a new save continues a migrated conversation.
     */
    @Test
    void aDatabaseOfTheSixthSchemaBecomesARowidTableAndStillServes() throws Exception {
        Path file = dir.resolve("v6.db");
        try (ResponseStore store = new ResponseStore(file.toString(), DAY)) { // made new, then taken back to 6
            get(store.sweep());
        }
        long old = now() - 60;
        String start = orderedId(old, 'a'), next = orderedId(old + 1, 'b'), other = "resp_other";
        String startJson = "{\"id\":\"" + start + "\",\"output\":[{\"type\":\"message\",\"id\":\"msg_s\"}]}";
        String nextJson = "{\"id\":\"" + next + "\",\"output\":[{\"type\":\"message\",\"id\":\"msg_n\"}]}";
        String otherJson = "{\"id\":\"resp_other\",\"object\":\"response\",\"output\":[]}";
        String nextInput = "[{\"type\":\"item_reference\",\"id\":\"msg_s\"},{\"type\":\"message\",\"id\":\"msg_i\"}]";
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            s.execute("DROP TABLE responses");
            s.execute("CREATE TABLE responses (id TEXT PRIMARY KEY, owner TEXT, conversation TEXT NOT NULL, previous_id TEXT, "
                    + "created_at INTEGER NOT NULL, provider TEXT, model TEXT, response TEXT NOT NULL, input_items TEXT NOT NULL, "
                    + "chars INTEGER NOT NULL, history TEXT, omitted INTEGER) WITHOUT ROWID");
            s.execute("CREATE INDEX responses_by_conversation ON responses (conversation) WHERE previous_id IS NOT NULL");
            s.execute("CREATE INDEX responses_unordered_started_by_created ON responses (created_at) WHERE previous_id IS NULL AND length(id) <> 49");
            s.execute("UPDATE schema_version SET version = 6");
            s.execute("INSERT INTO responses VALUES ('" + start + "', 'tenant-a', '" + start + "', NULL, " + old + ", 'vllm', 'm', '"
                    + startJson + "', '[]', " + (startJson.length() + 500 + 2) + ", NULL, 500)");
            s.execute("INSERT INTO responses VALUES ('" + next + "', 'tenant-a', '" + start + "', '" + start + "', " + (old + 1)
                    + ", 'vllm', 'm', '" + nextJson + "', '" + nextInput + "', 0, NULL, 700)");
            s.execute("INSERT INTO conversations VALUES ('" + start + "', " + (old + 1) + ")");
            s.execute("INSERT INTO responses VALUES ('resp_other', NULL, 'resp_other', NULL, " + old + ", 'openai', 'gpt', '"
                    + otherJson + "', '[]', " + (otherJson.length() + 2) + ", '[{\"role\":\"user\",\"content\":\"hi\"}]', NULL)");
            s.execute("INSERT INTO item_ids VALUES ('msg_i', '" + next + "', 0), ('msg_s', '" + start + "', 1), ('msg_n', '" + next + "', 1)");
        }
        try (ResponseStore store = new ResponseStore(file.toString(), DAY)) {
            var chain = (ResponseStore.Found.Chain) get(store.conversation(next, "tenant-a"));
            assertThat(chain.links()).extracting(StoredResponse::id).containsExactly(start, next);
            assertThat(chain.links()).extracting(StoredResponse::response).containsExactly(startJson, nextJson);
            assertThat(chain.links()).extracting(StoredResponse::omitted).containsExactly(500, 700);
            assertThat(chain.last().inputItems()).as("the reference resolved to the item it names")
                    .isEqualTo("[{\"type\":\"message\",\"id\":\"msg_s\"},{\"type\":\"message\",\"id\":\"msg_i\"}]");
            assertThat(get(store.find(next, "tenant-b"))).isInstanceOf(ResponseStore.Found.Absent.class);
            var legacy = (ResponseStore.Found.Chain) get(store.conversation(other, null));
            assertThat(legacy.legacyHistory()).isEqualTo("[{\"role\":\"user\",\"content\":\"hi\"}]");
            assertThat(legacy.last().whole()).isTrue();
            assertThat(get(store.findItems(List.of("msg_s", "msg_n", "msg_i"), "tenant-a"))).containsOnlyKeys("msg_s", "msg_n", "msg_i");
            assertThat(get(store.size(start, "tenant-a", false))).isEqualTo(startJson.length() + 500 + 2);
            // a follow-up saved now joins the migrated conversation
            String third = orderedId(now(), 'c');
            get(store.save(response(third, next, "tenant-a", now())));
            assertThat(chainIds(get(store.conversation(third, "tenant-a")))).containsExactly(start, next, third);
            assertThat(get(store.delete(next, "tenant-a"))).isTrue();
            assertThat(get(store.findItems(List.of("msg_i"), "tenant-a"))).isEmpty();
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT version FROM schema_version")) {
                assertThat(rs.getInt(1)).isEqualTo(ResponseStore.SCHEMA_VERSION);
            }
            try (ResultSet rs = s.executeQuery("SELECT count(*), count(DISTINCT conversation) FROM responses")) {
                assertThat(rs.getInt(1)).isEqualTo(3);
                assertThat(rs.getInt(2)).as("the follow-up joined the migrated conversation").isEqualTo(2);
            }
            assertRowidTableWithIdIndex(s);
        }
    }

    /** The gateway lists the item ids it has at hand; the store then reads no JSON to index them. */
    @Test
    void itemIdsGivenByTheCallerAreIndexedAsThoseReadFromTheJson() throws Exception {
        Path file = dir.resolve("skiff.db");
        String input = "[{\"type\":\"message\",\"id\":\"msg_in\",\"role\":\"user\",\"content\":\"hi\"},"
                + "{\"type\":\"item_reference\",\"id\":\"msg_old\"}]";
        String output = "[{\"type\":\"message\",\"id\":\"msg_out\",\"role\":\"assistant\",\"content\":[]}]";
        String response = "{\"id\":\"resp_g\",\"output\":" + output + "}";
        try (ResponseStore store = new ResponseStore(file.toString(), DAY)) {
            get(store.save(new StoredResponse("resp_g", "tenant-a", now(), "vllm", "m", response, input, null,
                    List.of("msg_in"), List.of("msg_out"))));
            get(store.save(new StoredResponse("resp_j", "tenant-a", now(), "vllm", "m", response.replace("resp_g", "resp_j")
                    .replace("msg_out", "msg_out2"), input.replace("msg_in", "msg_in2"), null)));
            assertThat(get(store.findItems(List.of("msg_in", "msg_out", "msg_in2", "msg_out2", "msg_old"), "tenant-a")))
                    .containsOnlyKeys("msg_in", "msg_out", "msg_in2", "msg_out2")
                    .containsEntry("msg_out", output.substring(1, output.length() - 1));
            var g = (ResponseStore.Found.Chain) get(store.find("resp_g", "tenant-a"));
            assertThat(g.last().response()).isEqualTo(response);
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT group_concat(item_id || ':' || output, ' ') FROM (SELECT * FROM item_ids ORDER BY item_id)")) {
            assertThat(rs.getString(1)).isEqualTo("msg_in:0 msg_in2:0 msg_out:1 msg_out2:1");
        }
    }

    /**
     * Ids the gateway made for a response (its prefix, the response id's digits, more) are found in
     * the response they name, with no entry in item_ids; a copy sent back as another response's input
     * is indexed, and serves once the original is gone.
     */
    @Test
    void itemIdsMadeForAResponseAreFoundThroughItWithoutAnIndexEntry() throws Exception {
        Path file = dir.resolve("skiff.db");
        String digits = "0123456789ab" + "c".repeat(32);
        String a = "resp_" + digits, b = "resp_" + "0123456789ab" + "d".repeat(32);
        String in = "{\"type\":\"message\",\"role\":\"user\",\"content\":\"hi\",\"id\":\"msg_" + digits + "00\"}";
        String out = "{\"id\":\"msg_" + digits + "10\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[]}";
        String call = "{\"id\":\"fc_" + digits + "11\",\"type\":\"function_call\",\"call_id\":\"c\",\"name\":\"f\",\"arguments\":\"{}\"}";
        try (ResponseStore store = new ResponseStore(file.toString(), DAY)) {
            get(store.save(new StoredResponse(a, "tenant-a", now(), "vllm", "m", "{\"id\":\"" + a + "\",\"output\":[" + out + "," + call + "]}",
                    "[" + in + "]", null, List.of(), List.of(), 0)));
            assertThat(get(store.findItems(List.of("msg_" + digits + "00", "msg_" + digits + "10", "fc_" + digits + "11",
                    "fc_" + digits + "12", "msg_" + digits), "tenant-a")))
                    .containsOnlyKeys("msg_" + digits + "00", "msg_" + digits + "10", "fc_" + digits + "11")
                    .containsEntry("msg_" + digits + "00", in).containsEntry("fc_" + digits + "11", call);
            assertThat(get(store.findItems(List.of("msg_" + digits + "10"), "tenant-b"))).as("another key's items are not found").isEmpty();
            // b sends a's output back as its input, and refers to a's call: the copy is indexed, the reference resolved
            String refs = "[" + out + ",{\"type\":\"item_reference\",\"id\":\"fc_" + digits + "11\"}]";
            get(store.save(new StoredResponse(b, "tenant-a", now(), "vllm", "m", "{\"id\":\"" + b + "\",\"output\":[]}", refs, null,
                    List.of("msg_" + digits + "10"), List.of(), 0)));
            var found = (ResponseStore.Found.Chain) get(store.conversation(b, "tenant-a"));
            assertThat(found.last().inputItems()).isEqualTo("[" + out + "," + call + "]");
            assertThat(get(store.size(b, "tenant-a", false))).isGreaterThan((long) (out + call).length());
            get(store.delete(a, "tenant-a"));
            assertThat(get(store.findItems(List.of("msg_" + digits + "10", "msg_" + digits + "00"), "tenant-a")))
                    .as("the copy serves; the original's own input is gone with it").containsOnlyKeys("msg_" + digits + "10");
            assertThat(get(store.conversation(b, "tenant-a"))).isEqualTo(new ResponseStore.Found.Broken("response '" + b
                    + "' refers to item 'fc_" + digits + "11', which is no longer stored (its response was deleted)"));
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT group_concat(item_id || ':' || response_id) FROM item_ids")) {
            assertThat(rs.getString(1)).isEqualTo("msg_" + digits + "10:" + b);
        }
    }

    private static StoredResponse withItems(String id, String previous, String owner, String input, String output) {
        return new StoredResponse(id, owner, now(), "anthropic", "claude", "{\"id\":\"" + id + "\",\"output\":" + output + "}", input, previous);
    }

    @Test
    @org.junit.jupiter.api.DisplayName("conformance 39: referencesAreStoredAsReferencesAndResolvedWhenReadBack")
    void referencesAreStoredAsReferencesAndResolvedWhenReadBack() throws Exception {
        Path file = dir.resolve("skiff.db");
        String reasoning = "{\"type\":\"reasoning\",\"id\":\"rs_a\",\"summary\":[],\"encrypted_content\":\"EqQBsig\"}";
        String call = "{\"type\":\"function_call\",\"id\":\"fc_a\",\"call_id\":\"call_a\",\"name\":\"ls\",\"arguments\":\"{}\"}";
        String user = "{\"type\":\"message\",\"id\":\"msg_in\",\"role\":\"user\",\"content\":\"list files\"}";
        try (ResponseStore store = new ResponseStore(file.toString(), DAY)) {
            store.save(withItems("resp_a", null, "tenant-a", "[" + user + "]", "[" + reasoning + "," + call + "]"));
            String refs = "[{\"type\":\"item_reference\",\"id\":\"msg_in\"},{\"type\":\"item_reference\",\"id\":\"rs_a\"},"
                    + "{\"type\":\"item_reference\",\"id\":\"fc_a\"},{\"type\":\"function_call_output\",\"id\":\"fco_b\","
                    + "\"call_id\":\"call_a\",\"output\":\"a.txt\"}]";
            store.save(withItems("resp_b", null, "tenant-a", refs, "[]"));
            var b = (ResponseStore.Found.Chain) get(store.conversation("resp_b", "tenant-a"));
            assertThat(b.last().inputItems()).isEqualTo("[" + user + "," + reasoning + "," + call
                    + ",{\"type\":\"function_call_output\",\"id\":\"fco_b\",\"call_id\":\"call_a\",\"output\":\"a.txt\"}]");
            assertThat(get(store.findItems(List.of("rs_a", "fc_a", "msg_in"), "tenant-a"))).containsEntry("rs_a", reasoning)
                    .containsEntry("fc_a", call).containsEntry("msg_in", user);
            assertThat(get(store.findItems(List.of("rs_a"), "tenant-b"))).as("another key's items are not found").isEmpty();
            assertThat(get(store.size("resp_b", "tenant-a", false))).as("the size counts what the references name")
                    .isGreaterThan((long) (reasoning + call + user).length());

            get(store.delete("resp_a", "tenant-a"));
            assertThat(get(store.conversation("resp_b", "tenant-a"))).isEqualTo(new ResponseStore.Found.Broken(
                    "response 'resp_b' refers to item 'msg_in', which is no longer stored (its response was deleted)"));
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT group_concat(item_id) FROM item_ids WHERE response_id = 'resp_b'")) {
            assertThat(rs.getString(1)).as("a reference is not indexed as the item it names").isEqualTo("fco_b");
        }
    }

    /**
     * The AI SDK's shape with store on: every turn sends the whole conversation again, earlier items
     * as references, plus a new 10 KB message, and gets 10 KB back. Stored, that is about the 80 x 20
     * KB that was new, not the 80 x 80 / 2 x 20 KB that copying what references name would take.
     */
    @Test
    @org.junit.jupiter.api.DisplayName("conformance 39: aLongConversationOfReferencesTakesSpaceInProportionToWhatWasNew")
    void aLongConversationOfReferencesTakesSpaceInProportionToWhatWasNew() throws Exception {
        Path file = dir.resolve("skiff.db");
        String tenKb = "y".repeat(10_000);
        long newContent = 0;
        try (ResponseStore store = new ResponseStore(file.toString(), DAY)) {
            StringBuilder refs = new StringBuilder();
            for (int i = 0; i < 80; i++) {
                String user = "{\"type\":\"message\",\"id\":\"msg_u" + i + "\",\"role\":\"user\",\"content\":\"" + tenKb + "\"}";
                String answer = "{\"type\":\"message\",\"id\":\"msg_a" + i + "\",\"role\":\"assistant\",\"content\":[{\"type\":"
                        + "\"output_text\",\"text\":\"" + tenKb + "\"}]}";
                newContent += user.length() + answer.length();
                store.save(withItems("resp_" + i, null, ResponseStore.MASTER, "[" + refs + user + "]", "[" + answer + "]"));
                refs.append("{\"type\":\"item_reference\",\"id\":\"msg_u").append(i).append("\"},")
                        .append("{\"type\":\"item_reference\",\"id\":\"msg_a").append(i).append("\"},");
            }
            var last = (ResponseStore.Found.Chain) get(store.conversation("resp_79", ResponseStore.MASTER));
            assertThat(last.last().inputItems()).as("all 159 input items, resolved").hasSizeGreaterThan(159 * 10_000);
        }
        long bytes = Files.size(file) + (Files.exists(Path.of(file + "-wal")) ? Files.size(Path.of(file + "-wal")) : 0);
        System.out.println("80 turns of 10 KB in and out, earlier items by reference: " + bytes / 1024 + " KB on disk for "
                + newContent / 1024 + " KB new");
        assertThat(bytes).isLessThan(2 * newContent);
    }
}
