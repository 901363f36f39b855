package dev.skiff.control.keys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skiff.control.MasterKeyAuth;
import dev.skiff.dialect.openai.OpenAiChat;
import dev.skiff.store.Database;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The key store on SQLite and on the real PostgreSQL, and the registry fed from it. */
class KeyStoreTest {
    @TempDir Path dir;

    @Test
    void sqlite() throws Exception {
        try (Database db = Database.open(dir.resolve("keys.db").toString())) {
            exercise(db);
        }
    }

    @Test
    void postgres() throws Exception {
        try (PostgresSchema schema = new PostgresSchema(); Database db = Database.open(schema.url())) {
            assertThat(db.kind()).isEqualTo(Database.Kind.POSTGRES);
            exercise(db);
        }
    }

    private static void exercise(Database db) throws Exception {
        KeyStore store = new KeyStore(db);
        assertThat(db.migrate("keys")).isZero(); // applied once
        ObjectNode limits = OpenAiChat.JSON.createObjectNode().put("rpm", 60);
        KeyStore.Created a = store.create(new KeyStore.Spec("team a", "/acme/support", 0, List.of("anthropic/*", "gpt-4o"),
                Map.of("team", "support"), Set.of("admin"), limits));
        assertThat(a.secret()).startsWith("sk-skiff-").hasSize("sk-skiff-".length() + 43);
        assertThat(a.key().prefix()).startsWith("sk-skiff-").endsWith("...").hasSizeLessThan(20);
        assertThat(a.secret()).startsWith(a.key().prefix().replace("...", ""));
        // Only the hash is stored: the secret appears in no column.
        try (Connection c = db.connection(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT * FROM skiff_keys")) {
            while (rs.next()) {
                for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) assertThat(String.valueOf(rs.getString(i))).doesNotContain(a.secret());
            }
        }
        ManagedKey read = store.get(a.key().id());
        assertThat(read).isEqualTo(a.key());
        assertThat(read.limits().get("rpm").asInt()).isEqualTo(60);

        KeyStore.Created b = store.create(new KeyStore.Spec("b", "/", 0, List.of("*"), Map.of(), Set.of(), null));
        assertThat(store.list(10, null)).extracting(ManagedKey::id).containsExactlyInAnyOrder(a.key().id(), b.key().id());
        List<ManagedKey> first = store.list(1, null);
        assertThat(first).hasSize(1);
        assertThat(store.list(10, first.getFirst().id())).hasSize(1).doesNotContain(first.getFirst());

        store.create(new KeyStore.Spec("c", "/acme_x", 0, List.of("*"), Map.of(), Set.of(), null));
        store.create(new KeyStore.Spec("d", "/acme/support/bot", 0, List.of("*"), Map.of(), Set.of(), null));
        assertThat(store.list(10, null, "/acme")).extracting(ManagedKey::name).containsExactlyInAnyOrder("team a", "d");
        assertThat(store.list(10, null, "/acme/support/bot")).extracting(ManagedKey::name).containsExactly("d");
        assertThat(store.list(10, null, "/")).hasSize(4);

        KeyRegistry registry = new KeyRegistry();
        assertThat(registry.verdict(a.secret())).isInstanceOf(MasterKeyAuth.Unavailable.class);
        registry.refresh(store);
        assertThat(registry.verdict(a.secret())).isInstanceOfSatisfying(MasterKeyAuth.Allowed.class,
                v -> assertThat(v.caller().key().id()).isEqualTo(a.key().id()));
        assertThat(registry.verdict(a.secret() + "x")).isSameAs(MasterKeyAuth.WRONG_UNKNOWN);

        ManagedKey renamed = store.update(new ManagedKey(b.key().id(), "b2", "ignored", "ignored", "/x", 0, 0, List.of("gpt-4o"), Map.of(),
                Set.of(), null, 0, 0));
        assertThat(renamed.name()).isEqualTo("b2");
        assertThat(renamed.hash()).isEqualTo(b.key().hash()); // the secret cannot be changed by an update
        assertThat(renamed.updatedAt()).isGreaterThan(b.key().updatedAt());

        ManagedKey revoked = store.revoke(a.key().id());
        assertThat(revoked.revoked()).isTrue();
        assertThat(store.revoke(a.key().id()).revokedAt()).isEqualTo(revoked.revokedAt());
        assertThat(store.revoke("key_none")).isNull();
        registry.refresh(store);
        assertThat(registry.verdict(a.secret())).isInstanceOfSatisfying(MasterKeyAuth.Wrong.class,
                w -> assertThat(w.message()).contains("revoked"));
        assertThat(registry.byId(b.key().id()).name()).isEqualTo("b2");

        // The hash is unique: the same hash cannot be stored twice.
        try (Connection c = db.connection(); Statement s = c.createStatement()) {
            assertThatThrownBy(() -> s.execute("INSERT INTO skiff_keys (id, name, hash, prefix, user_path, allowed_models, labels, scopes, "
                    + "created_at, updated_at) VALUES ('key_dup', '', '" + b.key().hash() + "', 'p', '/', '[]', '{}', '[]', 1, 1)"))
                    .isInstanceOf(java.sql.SQLException.class);
        }
    }
}
