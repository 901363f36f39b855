package dev.skiff.control.keys;

import static org.assertj.core.api.Assertions.assertThat;

import dev.skiff.control.MasterKeyAuth;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class KeyRegistryTest {
    static final String SECRET = KeySecrets.generate();

    static ManagedKey key(long updatedAt, long revokedAt, long expiresAt) {
        return new ManagedKey("key_1", "k", KeySecrets.hex(KeySecrets.hash(SECRET)), KeySecrets.display(SECRET), "/", expiresAt, revokedAt,
                List.of("*"), Map.of(), Set.of(), null, 1, updatedAt);
    }

    @Test
    void anOlderCopyOfAKeyNeverReplacesANewerOne() {
        KeyRegistry r = new KeyRegistry();
        assertThat(r.apply(List.of(key(10, 10, 0)))).isEqualTo(1); // revoked at 10
        assertThat(r.apply(List.of(key(5, 0, 0)))).isZero(); // a refresh that read it before the revocation
        assertThat(r.byId("key_1").revoked()).isTrue();
        assertThat(r.apply(List.of(key(10, 10, 0)))).isZero(); // the same again changes nothing
    }

    @Test
    void verdictsSayWhyAKeyIsRefused() {
        KeyRegistry r = new KeyRegistry();
        r.apply(List.of(key(1, 0, 0)));
        assertThat(r.verdict(SECRET)).isInstanceOf(MasterKeyAuth.Unavailable.class); // not loaded from a store yet
        r.setLoadedForTest();
        MasterKeyAuth.Verdict ok = r.verdict(SECRET);
        assertThat(ok).isInstanceOf(MasterKeyAuth.Allowed.class);
        assertThat(r.verdict(SECRET)).isSameAs(ok); // made once per key, not per request
        assertThat(r.verdict("not-a-skiff-key")).isSameAs(MasterKeyAuth.WRONG_UNKNOWN);
        assertThat(r.verdict(SECRET.substring(0, SECRET.length() - 1) + (SECRET.endsWith("A") ? "B" : "A"))).isSameAs(MasterKeyAuth.WRONG_UNKNOWN);
        r.apply(List.of(key(2, 0, 1_000)));
        assertThat(((MasterKeyAuth.Wrong) r.verdict(SECRET)).message()).contains("expired at 1970-01-01T00:00:01Z");
        r.apply(List.of(key(3, 2_000, 0)));
        assertThat(((MasterKeyAuth.Wrong) r.verdict(SECRET)).message()).contains("revoked");
    }

    @Test
    void aSecretVerifiedAMomentAgoIsRefusedOnceItsKeyIsRotated() {
        KeyRegistry r = new KeyRegistry();
        r.apply(List.of(key(1, 0, 0)));
        r.setLoadedForTest();
        for (int i = 0; i < 3; i++) assertThat(r.verdict(SECRET)).isInstanceOf(MasterKeyAuth.Allowed.class); // remembered by this thread
        String rotated = KeySecrets.generate();
        r.apply(List.of(new ManagedKey("key_1", "k", KeySecrets.hex(KeySecrets.hash(rotated)), KeySecrets.display(rotated), "/", 0, 0,
                List.of("*"), Map.of(), Set.of(), null, 1, 2)));
        assertThat(r.verdict(SECRET)).isSameAs(MasterKeyAuth.WRONG_UNKNOWN); // the old secret is not taken from memory
        assertThat(r.verdict(rotated)).isInstanceOf(MasterKeyAuth.Allowed.class);
    }

    @Test
    void secretsAreLongRandomAndBase62() {
        String a = KeySecrets.generate(), b = KeySecrets.generate();
        assertThat(a).isNotEqualTo(b).matches("sk-skiff-[0-9A-Za-z]{43}");
        assertThat(KeySecrets.base62(new byte[32])).isEqualTo("0".repeat(43));
        byte[] max = new byte[32];
        java.util.Arrays.fill(max, (byte) 0xff);
        assertThat(KeySecrets.base62(max)).hasSize(43); // 62^43 > 2^256: always fits
    }

    @Test
    void aStaleSnapshotRefusesManagedKeysOnlyWhenFailingClosed() {
        KeyRegistry r = new KeyRegistry();
        r.apply(List.of(key(1, 0, 0)));
        r.setLoadedForTest();
        r.expireFreshnessForTest();
        assertThat(r.verdict(SECRET)).isInstanceOf(MasterKeyAuth.Allowed.class); // failing open: the last snapshot holds
        r.failClosed(true);
        assertThat(r.verdict(SECRET)).isInstanceOfSatisfying(MasterKeyAuth.Unavailable.class,
                u -> assertThat(u.message()).contains("SKIFF_LIMITS_FAILURE=closed"));
    }
}
