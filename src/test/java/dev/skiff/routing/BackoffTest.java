package dev.skiff.routing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.skiff.config.RoutingConfig;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BackoffTest {
    static final long MS = 1_000_000L;
    final RoutingConfig.Retry retry = new RoutingConfig.Retry(3, Duration.ofMillis(100), Duration.ofMillis(350), 2.0, Set.of(503));

    @Test
    void fullJitterStaysBelowAGrowingCeilingCappedAtTheMaximum() {
        for (int i = 0; i < 200; i++) {
            assertThat(Backoff.jitteredNanos(retry, 1)).isBetween(0L, 100 * MS);
            assertThat(Backoff.jitteredNanos(retry, 2)).isBetween(0L, 200 * MS);
            assertThat(Backoff.jitteredNanos(retry, 5)).isBetween(0L, 350 * MS);
        }
    }

    @Test
    void theProvidersWordIsTaken() {
        long now = 1_700_000_000_000L;
        HttpHeaders h = new DefaultHttpHeaders().set("retry-after-ms", "1500").set("retry-after", "9");
        assertThat(Backoff.askedNanos(h, 429, now)).isEqualTo(1500 * MS);
        assertThat(Backoff.askedNanos(new DefaultHttpHeaders().set("retry-after", "2"), 503, now)).isEqualTo(2000 * MS);
        String date = DateTimeFormatter.RFC_1123_DATE_TIME.format(Instant.ofEpochMilli(now + 3000).atZone(ZoneOffset.UTC));
        assertThat(Backoff.askedNanos(new DefaultHttpHeaders().set("retry-after", date), 503, now)).isEqualTo(3000 * MS);
        // OpenAI's resets are read for the limit that ran out, on a 429 only.
        HttpHeaders openai = new DefaultHttpHeaders().set("x-ratelimit-remaining-requests", "5").set("x-ratelimit-reset-requests", "1s")
                .set("x-ratelimit-remaining-tokens", "0").set("x-ratelimit-reset-tokens", "6m0s");
        assertThat(Backoff.askedNanos(openai, 429, now)).isEqualTo(360_000 * MS);
        assertThat(Backoff.askedNanos(openai, 503, now)).isEqualTo(-1);
        HttpHeaders anthropic = new DefaultHttpHeaders().set("anthropic-ratelimit-requests-remaining", "0")
                .set("anthropic-ratelimit-requests-reset", Instant.ofEpochMilli(now + 700).toString());
        assertThat(Backoff.askedNanos(anthropic, 429, now)).isEqualTo(700 * MS);
        assertThat(Backoff.askedNanos(new DefaultHttpHeaders().set("retry-after", "soon"), 429, now)).isEqualTo(-1);
    }

    @Test
    void goDurations() {
        assertThat(Backoff.goDurationNanos("20ms")).isEqualTo(20 * MS);
        assertThat(Backoff.goDurationNanos("1h2m3.5s")).isEqualTo((3600_000 + 120_000 + 3500) * MS);
        assertThat(Backoff.goDurationNanos("3 s")).isEqualTo(-1);
    }

    @Test
    void aBreakerOpensAfterConsecutiveFailuresAndClosesAfterProbes() {
        RoutingBreaker b = new RoutingBreaker(true, 2, 2, 1000 * MS);
        TargetState t = new TargetState("openai/gpt-x");
        long now = 0;
        for (int i = 0; i < 2; i++) {
            assertThat(t.tryAcquire(now, b)).isTrue();
            t.started();
            t.ended(now, MS, Failure.STATUS, b);
        }
        assertThat(t.circuit()).isEqualTo(TargetState.Circuit.OPEN);
        assertThat(t.available(now + 500 * MS, b)).isFalse();
        assertThat(t.tryAcquire(now + 500 * MS, b)).isFalse();
        now += 1000 * MS; // the cool-down passed: one probe at a time
        assertThat(t.tryAcquire(now, b)).isTrue();
        assertThat(t.circuit()).isEqualTo(TargetState.Circuit.HALF_OPEN);
        assertThat(t.available(now, b)).isFalse();
        t.started();
        t.ended(now, MS, null, b);
        assertThat(t.circuit()).isEqualTo(TargetState.Circuit.HALF_OPEN); // one success of the two needed
        assertThat(t.tryAcquire(now, b)).isTrue();
        t.started();
        t.ended(now, MS, null, b);
        assertThat(t.circuit()).isEqualTo(TargetState.Circuit.CLOSED);
        // A failed probe opens it again; a client error says nothing of the target.
        t.ended(now, MS, Failure.CONTEXT_LENGTH, b);
        assertThat(t.circuit()).isEqualTo(TargetState.Circuit.CLOSED);
    }
}
