package dev.skiff.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.skiff.control.keys.ManagedKey;
import dev.skiff.dialect.BadRequestException;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class IdentificationTest {
    static final ManagedKey KEY = new ManagedKey("key_1", "k", "00", "sk-skiff-abc...", "/acme", 0, 0, List.of("*"), Map.of(), Set.of(), null, 1, 1);
    final Identification id = new Identification("X-Customer");

    @Test
    void userPathsNormalizeAndRefuseEscapes() {
        assertThat(UserPath.normalize("acme//support/bot/")).isEqualTo("/acme/support/bot");
        assertThat(UserPath.normalize("")).isEqualTo("/");
        assertThat(UserPath.normalize("///")).isEqualTo("/");
        assertThatThrownBy(() -> UserPath.normalize("/a/../b")).hasMessageContaining("'..'");
        assertThatThrownBy(() -> UserPath.normalize("/a/./b")).hasMessageContaining("'.'");
        assertThatThrownBy(() -> UserPath.normalize("/a b")).hasMessageContaining("' '");
        assertThatThrownBy(() -> UserPath.normalize("/a%2e%2e")).hasMessageContaining("'%'");
        assertThatThrownBy(() -> UserPath.normalize("/" + "x".repeat(200))).hasMessageContaining("longer than");
        assertThatThrownBy(() -> UserPath.normalize("/a".repeat(40))).hasMessageContaining("segments");
        assertThat(UserPath.beneath("/acme", "/../x".substring(4))).isEqualTo("/acme/x");
        assertThat(UserPath.beneath("/", "team")).isEqualTo("/team");
        assertThat(UserPath.within("/acme/support", "/acme")).isTrue();
        assertThat(UserPath.within("/acmex", "/acme")).isFalse();
    }

    @Test
    void aHeaderPathGoesBeneathTheKeysPathAndIsRemoved() throws Exception {
        HttpHeaders h = new DefaultHttpHeaders().set("X-Skiff-User-Path", "support//bot").set("X-Customer", "u-42").set("Other", "kept");
        Caller c = id.identify(Caller.of(KEY), h);
        assertThat(c.userPath()).isEqualTo("/acme/support/bot");
        assertThat(c.endUser()).isEqualTo("u-42");
        assertThat(c.owner()).isEqualTo("key_1");
        assertThat(c.key()).isSameAs(KEY);
        assertThat(h.names()).containsExactly("Other");
    }

    @Test
    void theGoModelHeaderIsAcceptedAndAnAbsoluteLookingPathCannotEscape() throws Exception {
        HttpHeaders h = new DefaultHttpHeaders().set("X-GoModel-User-Path", "/other-tenant");
        assertThat(id.identify(Caller.of(KEY), h).userPath()).isEqualTo("/acme/other-tenant");
        assertThat(h.isEmpty()).isTrue();
        assertThat(id.identify(Caller.MASTER, new DefaultHttpHeaders().set("X-GoModel-User-Path", "t")).userPath()).isEqualTo("/t");
    }

    @Test
    void noIdentificationHeadersKeepsTheSameCaller() throws Exception {
        Caller c = Caller.of(KEY);
        assertThat(id.identify(c, new DefaultHttpHeaders().set("X-End-User", "not this header"))).isSameAs(c);
    }

    @Test
    void badPathsAndLongEndUsersAreRefused() {
        assertThatThrownBy(() -> id.identify(Caller.of(KEY), new DefaultHttpHeaders().set("X-Skiff-User-Path", "../root")))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("X-Skiff-User-Path").hasMessageContaining("'..'");
        assertThatThrownBy(() -> id.identify(Caller.of(KEY), new DefaultHttpHeaders().set("X-Customer", "u".repeat(257))))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("257 characters").hasMessageContaining("X-Customer");
        assertThatThrownBy(() -> Identification.endUser("u".repeat(300), "body")).isInstanceOf(BadRequestException.class);
    }
}
