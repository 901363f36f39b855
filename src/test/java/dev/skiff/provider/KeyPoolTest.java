package dev.skiff.provider;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Rotation and rest of a provider's keys, on a clock the test moves. */
class KeyPoolTest {
    final AtomicLong clock = new AtomicLong(-5_000_000_000L); // nanoTime may be negative: the pool must not care
    final List<String> log = new ArrayList<>();

    KeyPool pool(int n) {
        List<AsciiString> values = new ArrayList<>();
        for (int i = 1; i <= n; i++) values.add(AsciiString.of("Bearer sk-" + i));
        return new KeyPool("openai", HttpHeaderNames.AUTHORIZATION, values, Duration.ofSeconds(60), clock::get, log::add);
    }

    void advance(Duration d) {
        clock.addAndGet(d.toNanos());
    }

    static HttpHeaders sentWith(KeyPool.Key k) {
        return new DefaultHttpHeaders().set(HttpHeaderNames.AUTHORIZATION, k.headerValue());
    }

    static HttpHeaders retryAfter(String v) {
        return new DefaultHttpHeaders().set("retry-after", v);
    }

    List<Integer> picks(KeyPool p, int n) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(p.pick().index() + 1);
        return out;
    }

    @Test
    void requestsTakeTheKeysInTurn() {
        assertThat(picks(pool(3), 7)).containsExactly(1, 2, 3, 1, 2, 3, 1);
    }

    @Test
    void aKeyAnswered429RestsForRetryAfterAndIsSkippedMeanwhile() {
        KeyPool p = pool(3);
        KeyPool.Key first = p.pick();
        boolean otherReady = p.report(sentWith(first), 429, retryAfter("30"));
        assertThat(otherReady).as("the hook tells retry logic that another key is ready").isTrue();
        assertThat(p.restLeft(0)).isEqualTo(Duration.ofSeconds(30));
        assertThat(picks(p, 6)).containsExactly(2, 3, 2, 3, 2, 3);
        assertThat(log).singleElement().asString().contains("openai", "key 1 of 3", "429").doesNotContain("sk-1");

        advance(Duration.ofSeconds(30));
        assertThat(picks(p, 3)).as("back in turn once rested").contains(1);
    }

    @Test
    void without_retry_after_the_configured_cooldown_applies_and_401_rests_ten_times_as_long() {
        KeyPool p = pool(2);
        p.report(sentWith(p.pick()), 429, new DefaultHttpHeaders());
        assertThat(p.restLeft(0)).isEqualTo(Duration.ofSeconds(60));
        p.report(sentWith(p.pick()), 401, null);
        assertThat(p.restLeft(1)).isEqualTo(Duration.ofMinutes(10));
        p.report(sentWith(p.pick()), 500, retryAfter("99"));
        assertThat(p.restLeft(0)).as("a 5xx is the provider's trouble, not the key's").isEqualTo(Duration.ofSeconds(60));
    }

    @Test
    void whenEveryKeyRestsTheOneThatRecoversSoonestIsUsed() {
        KeyPool p = pool(3);
        p.report(sentWith(p.pick()), 429, retryAfter("50"));
        p.report(sentWith(p.pick()), 429, retryAfter("10"));
        assertThat(p.hasReadyKey()).isTrue();
        boolean otherReady = p.report(sentWith(p.pick()), 429, retryAfter("40"));
        assertThat(otherReady).isFalse();
        assertThat(p.hasReadyKey()).as("every key rests: a retry now would reuse a resting one").isFalse();
        assertThat(picks(p, 4)).containsOnly(2);
        advance(Duration.ofSeconds(10));
        assertThat(picks(p, 4)).containsOnly(2);
        advance(Duration.ofSeconds(30));
        assertThat(picks(p, 4)).containsOnly(2, 3);
    }

    @Test
    void aSuccessEndsARestEarlyAndALaterLongerRestWins() {
        KeyPool p = pool(2);
        KeyPool.Key k = p.pick();
        p.report(sentWith(k), 429, retryAfter("20"));
        p.report(sentWith(k), 429, retryAfter("5")); // an answer still in flight from before: the longer rest stays
        assertThat(p.restLeft(0)).isEqualTo(Duration.ofSeconds(20));
        p.report(sentWith(k), 200, null);
        assertThat(p.restLeft(0)).isEqualTo(Duration.ZERO);
    }

    @Test
    void retryAfterAsAnHttpDateAndUnreadableValues() {
        String inTwoMinutes = DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(ZoneOffset.UTC).plusSeconds(120));
        assertThat(KeyPool.parseRetryAfter(inTwoMinutes)).isBetween(Duration.ofSeconds(100), Duration.ofSeconds(121));
        assertThat(KeyPool.parseRetryAfter("1.5")).isEqualTo(Duration.ofMillis(1500));
        assertThat(KeyPool.parseRetryAfter("soon")).isNull();
        assertThat(KeyPool.parseRetryAfter(null)).isNull();
        KeyPool p = pool(2);
        p.report(sentWith(p.pick()), 429, retryAfter("99999999"));
        assertThat(p.restLeft(0)).as("capped").isEqualTo(KeyPool.MAX_REST);
    }

    @Test
    void anAnswerToAnotherCredentialOrToASingleKeyChangesNothing() {
        KeyPool p = pool(2);
        HttpHeaders foreign = new DefaultHttpHeaders().set(HttpHeaderNames.AUTHORIZATION, "Bearer someone-else");
        assertThat(p.report(foreign, 429, retryAfter("30"))).isFalse();
        assertThat(picks(p, 4)).containsExactly(1, 2, 1, 2);

        KeyPool one = pool(1);
        one.report(sentWith(one.pick()), 429, retryAfter("30"));
        assertThat(one.restLeft(0)).isEqualTo(Duration.ZERO);
        assertThat(log).isEmpty();
    }

    @Test
    void applySetsTheChosenKeysHeader() {
        KeyPool p = pool(2);
        HttpHeaders h = new DefaultHttpHeaders();
        KeyPool.Key k = p.apply(h);
        assertThat(h.get(HttpHeaderNames.AUTHORIZATION)).isEqualTo("Bearer sk-1");
        assertThat(p.keyOf(h)).isEqualTo(k);
        assertThat(k.toString()).doesNotContain("sk-");
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({
            "OPENAI, authorization, 'Bearer '", "GROQ, authorization, 'Bearer '", "BEDROCK, authorization, 'Bearer '",
            "ANTHROPIC, x-api-key, ''", "GEMINI, x-goog-api-key, ''", "AZURE, api-key, ''"})
    void everyKeyedProviderTypeRotatesItsKeysInItsOwnHeader(String type, String header, String prefix) {
        var config = new dev.skiff.config.ProviderConfig("p", dev.skiff.config.ProviderType.valueOf(type),
                java.net.URI.create("https://example.com/v1"), "k1", List.of(), type.equals("AZURE") ? "2024-10-21" : null,
                java.util.Map.of(), List.of("k1", "k2"), Duration.ofSeconds(60));
        Provider provider = new Provider(config);
        List<String> sent = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            HttpHeaders h = new DefaultHttpHeaders();
            provider.applyHeaders(h);
            sent.add(h.get(header));
            assertThat(h.names()).as("one credential header").filteredOn(n -> n.equalsIgnoreCase("authorization")
                    || n.equalsIgnoreCase("x-api-key") || n.equalsIgnoreCase("api-key") || n.equalsIgnoreCase("x-goog-api-key")).hasSize(1);
        }
        assertThat(sent).containsExactly(prefix + "k1", prefix + "k2", prefix + "k1");
        HttpHeaders withFirst = new DefaultHttpHeaders().set(header, prefix + "k1");
        assertThat(provider.reportAnswer(withFirst, 429, retryAfter("30"))).isTrue();
        HttpHeaders next = new DefaultHttpHeaders();
        provider.applyHeaders(next);
        provider.applyHeaders(next);
        assertThat(next.get(header)).isEqualTo(prefix + "k2");
        assertThat(provider.apiKey()).isEqualTo("k1");
        assertThat(config.toString()).doesNotContain("k1").doesNotContain("k2").contains("2 keys");
    }

    @Test
    void aKeyWithALineBreakStopsStartUpWithoutShowingIt() {
        // Forwarded requests set keys without a per-request header check: a line break must never reach the wire.
        var config = new dev.skiff.config.ProviderConfig("p", dev.skiff.config.ProviderType.OPENAI,
                java.net.URI.create("https://example.com/v1"), "k1", List.of(), null,
                java.util.Map.of(), List.of("k1", "sk-secret\r\nx-evil: 1"), Duration.ofSeconds(60));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new Provider(config))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("provider p: API key 2")
                .hasMessageNotContaining("sk-secret");
    }
}
